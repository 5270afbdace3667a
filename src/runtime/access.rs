//! Start-up check: may the operator list and watch what its controllers cache, in every
//! namespace it is told to watch? Without it a namespace outside the operator's RBAC (a
//! namespace missing from the chart's `watchNamespaces`) would leave the controllers retrying a
//! forbidden watch forever with `/readyz` failing; with it the operator stops at once and says
//! which namespace and what to do.
//!
//! Asked with `SelfSubjectAccessReview`s (which every authenticated user may create): nothing
//! is read, and the answer is exactly what RBAC grants.
//!
//! When the default credentials are OAuth tokens, the operator must also be allowed to `patch`
//! that Secret: PlanetScale rotates the refresh token at every refresh, and the new one is
//! written back there ([`crate::credentials::write_back`]). Without `patch` the first refresh
//! would leave a used refresh token in the Secret, and the next restart could not log in, so
//! the operator refuses to start. Secrets named by `spec.credentialsRef` are only known per
//! resource: a refused write-back to one shows on the resources using it
//! (`CredentialsWriteBack=False`).
use anyhow::{Context as _, bail};
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
};
use k8s_openapi::api::core::v1::Secret;
use kube::api::PostParams;
use kube::{Api, Client};

/// What the controllers list and watch: (API group, resource).
const CACHED: [(&str, &str); 6] = [
    ("planetscale.operator.dev", "planetscalebranches"),
    ("planetscale.operator.dev", "planetscalepasswords"),
    ("planetscale.operator.dev", "deployrequests"),
    ("planetscale.operator.dev", "planetscaledatabases"),
    ("planetscale.operator.dev", "planetscalebackups"),
    ("", "secrets"),
];
const VERBS: [&str; 2] = ["list", "watch"];
/// What every pass reads cluster-wide, whatever namespaces are watched: the access
/// policies (a watch) and a namespace's labels (for rules that select by label).
const CLUSTER: [(&str, &str, &str); 3] = [
    (
        "planetscale.operator.dev",
        "planetscaleaccesspolicies",
        "list",
    ),
    (
        "planetscale.operator.dev",
        "planetscaleaccesspolicies",
        "watch",
    ),
    ("", "namespaces", "get"),
];
/// Reviews in flight at once (one namespace's worth).
const PARALLEL: usize = 8;

/// One access the operator needs: `verb` on `group/resource` in `namespace` (`None`: all).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Need {
    namespace: Option<String>,
    /// One object by name (`None`: any).
    name: Option<String>,
    group: &'static str,
    resource: &'static str,
    verb: &'static str,
}

impl std::fmt::Display for Need {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut resource = match self.group {
            "" => self.resource.to_string(),
            g => format!("{}.{g}", self.resource),
        };
        if let Some(name) = &self.name {
            resource = format!("{resource}/{name}");
        }
        match &self.namespace {
            Some(ns) => write!(f, "{} {resource} in namespace {ns}", self.verb),
            None => write!(f, "{} {resource} in all namespaces", self.verb),
        }
    }
}

fn needs(namespaces: Option<&[String]>) -> Vec<Need> {
    let namespaces: Vec<Option<String>> = match namespaces {
        None => vec![None],
        Some(list) => list.iter().cloned().map(Some).collect(),
    };
    let mut out: Vec<Need> = CLUSTER
        .into_iter()
        .map(|(group, resource, verb)| Need {
            namespace: None,
            name: None,
            group,
            resource,
            verb,
        })
        .collect();
    for namespace in namespaces {
        for (group, resource) in CACHED {
            for verb in VERBS {
                let namespace = namespace.clone();
                out.push(Need {
                    namespace,
                    name: None,
                    group,
                    resource,
                    verb,
                });
            }
        }
    }
    out
}

/// Fails, naming every missing access, when the operator may not list or watch its kinds and
/// Secrets in one of `namespaces` (`None`: cluster-wide).
pub async fn check(client: &Client, namespaces: Option<&[String]>) -> anyhow::Result<()> {
    let api: Api<SelfSubjectAccessReview> = Api::all(client.clone());
    let answers: Vec<(Need, bool)> = futures::stream::iter(needs(namespaces))
        .map(|need| review(&api, need))
        .buffered(PARALLEL)
        .try_collect()
        .await?;
    let denied: Vec<String> = answers
        .into_iter()
        .filter(|(_, allowed)| !allowed)
        .map(|(need, _)| need.to_string())
        .collect();
    if denied.is_empty() {
        return Ok(());
    }
    let hint = match namespaces {
        Some(_) => {
            "watch only namespaces the operator has a Role in (Helm: list every namespace in \
             watchNamespaces, or leave it empty for cluster-wide access)"
        }
        None => {
            "grant the operator's ClusterRole (Helm: rbac.create=true), or set --namespaces to the \
             namespaces it has a Role in"
        }
    };
    bail!("the operator may not {} (RBAC): {hint}", denied.join(", "))
}

/// Fails when the default credentials are OAuth tokens and the operator may not `patch`
/// their Secret, where it writes refreshed tokens back. A Secret that is missing, unreadable
/// or holds a service token needs nothing here (other checks and the passes report those).
pub async fn check_write_back(
    client: &Client,
    defaults: &crate::credentials::DefaultCredentials,
) -> anyhow::Result<()> {
    let Some((ns, name)) = &defaults.secret else {
        return Ok(());
    };
    let secrets: Api<Secret> = Api::namespaced(client.clone(), ns);
    let data = match secrets.get_opt(name).await {
        Ok(Some(s)) => s.data,
        Ok(None) => return Ok(()),
        Err(e) => {
            tracing::warn!(secret = %format!("{ns}/{name}"), error = %e, "cannot read the default credentials Secret to check the OAuth write-back");
            return Ok(());
        }
    };
    let Some(need) = write_back_need(ns, name, data.as_ref()) else {
        return Ok(());
    };
    let api: Api<SelfSubjectAccessReview> = Api::all(client.clone());
    let (need, allowed) = review(&api, need).await?;
    if allowed {
        return Ok(());
    }
    bail!(
        "the operator may not {need} (RBAC), where it must write refreshed OAuth tokens back \
         (PlanetScale rotates the refresh token: without the write-back a restart cannot log \
         in): grant patch on this Secret (Helm: rbac.create=true), or use a service token"
    )
}

/// `patch` on the default credentials Secret `ns/name` when it holds OAuth tokens (`data`).
fn write_back_need(
    ns: &str,
    name: &str,
    data: Option<&std::collections::BTreeMap<String, k8s_openapi::ByteString>>,
) -> Option<Need> {
    let what = format!("{ns}/{name}");
    let creds = crate::credentials::parse_secret(&what, data).ok()?;
    matches!(creds, planetscale_api::Credentials::OAuth { .. }).then(|| Need {
        namespace: Some(ns.to_string()),
        name: Some(name.to_string()),
        group: "",
        resource: "secrets",
        verb: "patch",
    })
}

async fn review(api: &Api<SelfSubjectAccessReview>, need: Need) -> anyhow::Result<(Need, bool)> {
    let review = SelfSubjectAccessReview {
        spec: SelfSubjectAccessReviewSpec {
            resource_attributes: Some(ResourceAttributes {
                namespace: need.namespace.clone(),
                group: Some(need.group.into()),
                resource: Some(need.resource.into()),
                name: need.name.clone(),
                verb: Some(need.verb.into()),
                ..Default::default()
            }),
            ..Default::default()
        },
        ..Default::default()
    };
    let answer = api
        .create(&PostParams::default(), &review)
        .await
        .with_context(|| format!("cannot ask the API server whether the operator may {need}"))?;
    let allowed = answer.status.is_some_and(|s| s.allowed);
    Ok((need, allowed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_cached_kind_and_secrets_are_checked_per_namespace() {
        let all = needs(None);
        assert_eq!(all.len(), 3 + 12);
        assert_eq!(
            all[0].to_string(),
            "list planetscaleaccesspolicies.planetscale.operator.dev in all namespaces"
        );
        assert_eq!(all[2].to_string(), "get namespaces in all namespaces");
        assert_eq!(
            all[3].to_string(),
            "list planetscalebranches.planetscale.operator.dev in all namespaces"
        );
        let two = needs(Some(&["a".into(), "b".into()]));
        assert_eq!(two.len(), 3 + 24);
        assert_eq!(two[26].to_string(), "watch secrets in namespace b");
    }

    fn data(pairs: &[(&str, &str)]) -> std::collections::BTreeMap<String, k8s_openapi::ByteString> {
        pairs
            .iter()
            .map(|(k, v)| {
                (
                    k.to_string(),
                    k8s_openapi::ByteString(v.as_bytes().to_vec()),
                )
            })
            .collect()
    }

    #[test]
    fn patch_on_the_default_secret_is_checked_only_for_oauth_tokens() {
        let oauth = data(&[
            ("oauthClientId", "c"),
            ("oauthClientSecret", "s"),
            ("accessToken", "a"),
            ("refreshToken", "r"),
            ("expiresAt", "2026-01-31T12:00:00Z"),
        ]);
        let need = write_back_need("ops", "pscale", Some(&oauth)).expect("OAuth: patch needed");
        assert_eq!(need.to_string(), "patch secrets/pscale in namespace ops");
        let token = data(&[("serviceTokenId", "id"), ("serviceToken", "t")]);
        assert_eq!(
            write_back_need("ops", "pscale", Some(&token)),
            None,
            "service token: nothing written"
        );
        assert_eq!(
            write_back_need("ops", "pscale", None),
            None,
            "empty: reported elsewhere"
        );
    }
}
