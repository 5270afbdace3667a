//! The policies as the operator sees them (a watch of every `PlanetScaleAccessPolicy`), the
//! check every reconcile pass makes before it calls PlanetScale, and the signal that makes
//! the controllers look at every resource again when a policy changes.
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use futures::{Stream, StreamExt};
use k8s_openapi::api::core::v1::Namespace;
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, ResourceExt};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::{Governed, POLICY_DENIED, Production, Request, Verdict, Where, decide};
use crate::crd::branch::PlanetScaleBranch;
use crate::crd::database::PlanetScaleDatabase;
use crate::crd::policy::{PlanetScaleAccessPolicy, PlanetScaleAccessPolicySpec};
use crate::error::Error;

/// How long a pass waits for the first list of the policies before it reports `Waiting`.
const LOAD_WAIT: Duration = Duration::from_secs(10);

/// The cluster's access policies, kept by [`Policies::run`]; shared by every controller.
pub struct Policies {
    /// By name; `None` until the first complete list.
    loaded: Mutex<Option<BTreeMap<String, PlanetScaleAccessPolicy>>>,
    /// Bumped at every change (0: never loaded).
    changes: watch::Sender<u64>,
    /// The version of the policies each object (by key) was last looked at under.
    seen: Mutex<HashMap<String, u64>>,
}

impl Default for Policies {
    fn default() -> Self {
        Self {
            loaded: Mutex::default(),
            changes: watch::channel(0).0,
            seen: Mutex::default(),
        }
    }
}

impl Policies {
    /// Watches every `PlanetScaleAccessPolicy` until `shutdown` is cancelled.
    pub async fn run(&self, client: Client, shutdown: CancellationToken) {
        let api: Api<PlanetScaleAccessPolicy> = Api::all(client);
        let mut buffer = BTreeMap::new();
        let events = watcher(api, watcher::Config::default()).default_backoff();
        let mut events = std::pin::pin!(events.take_until(shutdown.cancelled_owned()));
        while let Some(event) = events.next().await {
            match event {
                Ok(e) => self.apply(e, &mut buffer),
                Err(e) => tracing::warn!(error = %e, "watching PlanetScaleAccessPolicies"),
            }
        }
    }

    /// Applies one watch event; tells the controllers only when a rule changed (a relist
    /// that finds the same policies wakes nobody).
    fn apply(
        &self,
        event: watcher::Event<PlanetScaleAccessPolicy>,
        buffer: &mut BTreeMap<String, PlanetScaleAccessPolicy>,
    ) {
        use watcher::Event as E;
        let mut loaded = self.loaded.lock().expect("lock");
        let before = rules(loaded.as_ref());
        match (event, loaded.as_mut()) {
            (E::Init, _) => buffer.clear(),
            (E::InitApply(p), _) => {
                buffer.insert(p.name_any(), p);
            }
            (E::InitDone, _) => *loaded = Some(std::mem::take(buffer)),
            (E::Apply(p), Some(map)) => {
                map.insert(p.name_any(), p);
            }
            (E::Delete(p), Some(map)) => {
                map.remove(&p.name_any());
            }
            (E::Apply(_) | E::Delete(_), None) => {}
        }
        let after = rules(loaded.as_ref());
        drop(loaded);
        if before != after {
            self.changes.send_modify(|n| *n += 1);
        }
    }

    /// One item per change of the policies (after the first list): the controllers look at
    /// every resource again.
    pub fn changed(&self) -> impl Stream<Item = ()> + Send + 'static {
        let mut rx = self.changes.subscribe();
        rx.mark_unchanged();
        futures::stream::unfold(rx, |mut rx| async move {
            rx.changed().await.ok().map(|()| ((), rx))
        })
    }

    /// Whether the policies changed since the object `key` was last looked at (then a kind
    /// that answers from memory must look again: the policy may now refuse or allow it).
    /// Records the current version for `key`.
    pub fn changed_for(&self, key: &str) -> bool {
        let now = *self.changes.borrow();
        let before = self.seen.lock().expect("lock").insert(key.to_string(), now);
        before.is_some_and(|v| v != now)
    }

    /// The object `key` is gone.
    pub fn forget(&self, key: &str) {
        self.seen.lock().expect("lock").remove(key);
    }

    /// `Ok` when a policy allows `obj`; otherwise the `PolicyDenied` error to show. Makes no
    /// PlanetScale call: it reads the policies in memory, and from Kubernetes the namespace's
    /// labels (when a rule selects by label) and the `PlanetScaleBranch` a `branchRef` names.
    pub async fn admit<K: Governed>(&self, client: &Client, obj: &K) -> Result<(), Error> {
        self.check(client, obj.request()).await
    }

    /// [`Policies::admit`] for `obj` doing `production` to a production branch as well.
    pub async fn admit_production<K: Governed>(
        &self,
        client: &Client,
        obj: &K,
        production: Production,
    ) -> Result<(), Error> {
        let mut req = obj.request();
        req.production.push(production);
        self.check(client, req).await
    }

    async fn check(&self, client: &Client, mut req: Request) -> Result<(), Error> {
        let policies = self.snapshot().await?;
        if let Some(Where::DatabaseRef { database, branch }) = &req.target {
            req.target = database_target(client, &req.namespace, database, branch).await?;
        }
        if let Some(Where::BranchRef(name)) = &req.target {
            let (target, production) = branch_target(client, &req.namespace, name).await?;
            req.target = target;
            if production && req.role.is_some() {
                req.production.push(Production::Passwords);
            }
        }
        // The labels are read only when a rule's decision depends on them.
        let by_label = policies.iter().flat_map(|p| &p.spec.rules).any(|r| {
            let n = &r.namespaces;
            let listed = n.names.contains(&req.namespace);
            !listed && n.selector.as_ref().is_some_and(|s| !s.selects_all())
        });
        let labels = if by_label {
            namespace_labels(client, &req.namespace).await?
        } else {
            BTreeMap::new()
        };
        match decide(&policies, &labels, &req) {
            Verdict::Allowed { .. } => Ok(()),
            Verdict::Denied(message) => Err(Error::Invalid {
                reason: POLICY_DENIED,
                message,
            }),
        }
    }

    /// The policies, once the first list is in.
    async fn snapshot(&self) -> Result<Vec<PlanetScaleAccessPolicy>, Error> {
        let mut rx = self.changes.subscribe();
        let loaded = tokio::time::timeout(LOAD_WAIT, rx.wait_for(|n| *n > 0)).await;
        let current = self.loaded.lock().expect("lock").clone();
        match (loaded, current) {
            (Ok(Ok(_)), Some(map)) => Ok(map.into_values().collect()),
            _ => Err(Error::Waiting {
                reason: crate::crd::conditions::reason::POLICIES_NOT_LOADED,
                message: "the PlanetScaleAccessPolicies are not loaded yet".into(),
                retry_after: Duration::from_secs(5),
            }),
        }
    }
}

/// What the decision reads of the policies (`None`: not loaded).
fn rules(
    loaded: Option<&BTreeMap<String, PlanetScaleAccessPolicy>>,
) -> Option<Vec<(String, PlanetScaleAccessPolicySpec)>> {
    loaded.map(|m| m.iter().map(|(n, p)| (n.clone(), p.spec.clone())).collect())
}

/// The branch a `branchRef` names, from its `PlanetScaleBranch` (`None` while it does not
/// exist: the kind waits for it without calling PlanetScale), and whether PlanetScale last
/// reported it a production branch.
async fn branch_target(
    client: &Client,
    ns: &str,
    name: &str,
) -> Result<(Option<Where>, bool), Error> {
    let api: Api<PlanetScaleBranch> = Api::namespaced(client.clone(), ns);
    let Some(b) = api.get_opt(name).await? else {
        return Ok((None, false));
    };
    let production = b.status.as_ref().and_then(|s| s.production) == Some(true);
    let target = Where::Branch {
        organization: b.spec.organization.clone(),
        database: b.spec.database.clone(),
        branch: b.spec.effective_branch_name(&b.name_any()).to_string(),
    };
    Ok((Some(target), production))
}

/// Branch `branch` of the database a `databaseRef` names, from its `PlanetScaleDatabase`
/// (`None` while it does not exist: the kind waits for it without calling PlanetScale).
async fn database_target(
    client: &Client,
    ns: &str,
    name: &str,
    branch: &str,
) -> Result<Option<Where>, Error> {
    let api: Api<PlanetScaleDatabase> = Api::namespaced(client.clone(), ns);
    Ok(api.get_opt(name).await?.map(|d| Where::Branch {
        organization: d.spec.organization.clone(),
        database: d.spec.effective_name(&d.name_any()).to_string(),
        branch: branch.to_string(),
    }))
}

async fn namespace_labels(client: &Client, ns: &str) -> Result<BTreeMap<String, String>, Error> {
    let api: Api<Namespace> = Api::all(client.clone());
    Ok(api
        .get_opt(ns)
        .await?
        .map(|n| n.labels().clone())
        .unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::policy::PlanetScaleAccessPolicySpec;

    fn policy(org: &str) -> PlanetScaleAccessPolicy {
        let spec: PlanetScaleAccessPolicySpec = serde_json::from_value(serde_json::json!({
            "rules": [{"name": "r", "namespaces": {"names": ["a"]},
                       "credentials": {"default": true}, "organizations": [org]}]
        }))
        .unwrap();
        PlanetScaleAccessPolicy::new("p", spec)
    }

    #[test]
    fn only_a_change_of_rules_wakes_the_controllers() {
        use watcher::Event as E;
        let p = Policies::default();
        let version = || *p.changes.borrow();
        let mut buffer = BTreeMap::new();
        let relist = |p: &Policies, buffer: &mut BTreeMap<_, _>, org: &str| {
            p.apply(E::Init, buffer);
            p.apply(E::InitApply(policy(org)), buffer);
            p.apply(E::InitDone, buffer);
        };
        relist(&p, &mut buffer, "acme");
        assert_eq!(version(), 1, "the first list");
        relist(&p, &mut buffer, "acme");
        assert_eq!(version(), 1, "the same policies again");
        let mut touched = policy("acme");
        touched.metadata.resource_version = Some("2".into());
        p.apply(E::Apply(touched), &mut buffer);
        assert_eq!(version(), 1, "metadata only");
        p.apply(E::Apply(policy("other")), &mut buffer);
        assert_eq!(version(), 2, "a rule changed");
        p.apply(E::Delete(policy("other")), &mut buffer);
        assert_eq!(version(), 3, "deleted");
        assert!(!p.changed_for("ns/x"), "a first look is no change");
        p.apply(E::Apply(policy("acme")), &mut buffer);
        assert!(p.changed_for("ns/x"));
        assert!(!p.changed_for("ns/x"), "seen now");
    }
}
