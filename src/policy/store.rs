//! The policies as the operator sees them (a watch of every `PlanetScaleAccessPolicy`) and
//! the check every reconcile pass makes before it calls PlanetScale. What a change of the
//! policies wakes is in [`super::wake`].
use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, ResourceExt};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::facts::Facts;
use super::{Governed, POLICY_DENIED, Production, Request, Verdict, decide};
use crate::crd::policy::{PlanetScaleAccessPolicy, PlanetScaleAccessPolicySpec};
use crate::error::Error;

/// How long a pass waits for the first list of the policies before it reports `Waiting`.
const LOAD_WAIT: Duration = Duration::from_secs(10);

/// The policies the decisions use, as of one change.
#[derive(Clone, Debug, Default)]
pub struct Version {
    /// Bumped at every change of a rule (0: never loaded).
    pub number: u64,
    /// `None` until the first complete list.
    pub policies: Option<Arc<[PlanetScaleAccessPolicy]>>,
}

/// The cluster's access policies, kept by [`Policies::run`]; shared by every controller.
pub struct Policies {
    /// By name, as the watch has them; `None` until the first complete list.
    loaded: Mutex<Option<BTreeMap<String, PlanetScaleAccessPolicy>>>,
    /// What the decisions use, replaced at every change of a rule.
    pub(super) current: watch::Sender<Version>,
    /// The objects (by key) a policy change woke because their verdict changed: their next
    /// pass looks past the kind's schedule.
    pub(super) woken: Arc<Mutex<HashSet<String>>>,
}

impl Default for Policies {
    fn default() -> Self {
        Self {
            loaded: Mutex::default(),
            current: watch::channel(Version::default()).0,
            woken: Arc::default(),
        }
    }
}

impl Policies {
    /// Watches every `PlanetScaleAccessPolicy` until `shutdown` is cancelled.
    pub async fn run(&self, client: Client, shutdown: CancellationToken) {
        let api: Api<PlanetScaleAccessPolicy> = Api::all(client);
        let mut buffer = BTreeMap::new();
        let events = watcher(api, crate::stores::watch_config()).default_backoff();
        let mut events = std::pin::pin!(events.take_until(shutdown.cancelled_owned()));
        while let Some(event) = events.next().await {
            match event {
                Ok(e) => self.apply(e, &mut buffer),
                Err(e) => tracing::warn!(error = %e, "watching PlanetScaleAccessPolicies"),
            }
        }
    }

    /// Applies one watch event; publishes a new [`Version`] only when a rule changed (a
    /// relist that finds the same policies wakes nobody).
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
        if before != rules(loaded.as_ref()) {
            let policies = loaded.as_ref().map(|m| m.values().cloned().collect());
            self.current.send_modify(|v| {
                v.number += 1;
                v.policies = policies;
            });
        }
    }

    /// Whether a policy change woke the object `key` since its last pass (then a kind that
    /// answers from memory must look again: the policy now refuses or allows it). Clears
    /// the mark.
    pub fn woken(&self, key: &str) -> bool {
        self.woken.lock().expect("lock").remove(key)
    }

    /// The object `key` is gone.
    pub fn forget(&self, key: &str) {
        self.woken.lock().expect("lock").remove(key);
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

    async fn check(&self, client: &Client, req: Request) -> Result<(), Error> {
        let policies = self.snapshot().await?;
        let mut facts = Facts::new(client.clone());
        let (req, labels) = facts.resolve(&[&policies], req).await?;
        match decide(&policies, &labels, &req) {
            Verdict::Allowed { .. } => Ok(()),
            Verdict::Denied(message) => Err(Error::Invalid {
                reason: POLICY_DENIED,
                message,
            }),
        }
    }

    /// The policies, once the first list is in.
    async fn snapshot(&self) -> Result<Arc<[PlanetScaleAccessPolicy]>, Error> {
        let mut rx = self.current.subscribe();
        let loaded = tokio::time::timeout(LOAD_WAIT, rx.wait_for(|v| v.policies.is_some())).await;
        match loaded {
            Ok(Ok(v)) => Ok(v.policies.clone().expect("loaded")),
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
    fn only_a_change_of_rules_makes_a_new_version() {
        use watcher::Event as E;
        let p = Policies::default();
        let version = || p.current.borrow().number;
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
        let current = p.current.borrow().policies.clone().expect("loaded");
        assert!(
            current.is_empty(),
            "the last version has the policy deleted"
        );
    }
}
