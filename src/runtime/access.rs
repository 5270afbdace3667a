//! Start-up check: may the operator list and watch what its controllers cache, in every
//! namespace it is told to watch? Without it a namespace outside the operator's RBAC (a
//! namespace missing from the chart's `watchNamespaces`) would leave the controllers retrying a
//! forbidden watch forever with `/readyz` failing; with it the operator stops at once and says
//! which namespace and what to do.
//!
//! Asked with `SelfSubjectAccessReview`s (which every authenticated user may create): nothing
//! is read, and the answer is exactly what RBAC grants.
use anyhow::{Context as _, bail};
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
};
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
    group: &'static str,
    resource: &'static str,
    verb: &'static str,
}

impl std::fmt::Display for Need {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let resource = match self.group {
            "" => self.resource.to_string(),
            g => format!("{}.{g}", self.resource),
        };
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

async fn review(api: &Api<SelfSubjectAccessReview>, need: Need) -> anyhow::Result<(Need, bool)> {
    let review = SelfSubjectAccessReview {
        spec: SelfSubjectAccessReviewSpec {
            resource_attributes: Some(ResourceAttributes {
                namespace: need.namespace.clone(),
                group: Some(need.group.into()),
                resource: Some(need.resource.into()),
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
}
