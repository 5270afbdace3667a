//! What a change of the policies wakes: only the resources whose verdict changes.
//!
//! Every controller (one per kind and watched namespace) gets a stream of the objects to look
//! at again ([`Policies::wakes`]). At each new [`Version`] of the policies it compares, for
//! every object in the controller's cache, the verdicts under the policies it last compared
//! with and under the new ones, and yields the objects where one differs. The verdicts are
//! those of every request the object's passes may make: its plain request (what the
//! skeleton checks) and that request with each production action its kind may check later,
//! when PlanetScale has said the branch is a production branch ([`Governed::may_ask`]: an
//! adoption, a deletion, passwords on a named branch). Whether the branch is one is not
//! asked here (no PlanetScale call): both verdicts count. An object whose facts could not be
//! read from Kubernetes is woken. The resources of other namespaces and other operators,
//! whose verdicts a policy change leaves alone, get no extra pass.
//!
//! The first list of the policies wakes nothing: a pass waits for it before deciding.
use std::sync::{Arc, Mutex};

use futures::{Stream, StreamExt};
use kube::Client;
use kube::runtime::reflector::{ObjectRef, Store};
use std::collections::{BTreeMap, HashSet};

use super::facts::Facts;
use super::store::Version;
use super::{Governed, Policies, Request, Verdict, decide};
use crate::crd::policy::PlanetScaleAccessPolicy;

type PolicySet = Arc<[PlanetScaleAccessPolicy]>;

impl Policies {
    /// The objects of `store` whose verdict a change of the policies changed, as they change.
    /// Marks each one [`Policies::woken`].
    pub fn wakes<K>(
        &self,
        client: Client,
        store: Store<K>,
    ) -> impl Stream<Item = ObjectRef<K>> + Send + 'static
    where
        K: Governed + Clone + 'static,
    {
        let mut rx = self.current.subscribe();
        let seen = rx.borrow_and_update().policies.clone();
        let woken = self.woken.clone();
        let state = (rx, seen, client, store, woken);
        futures::stream::unfold(state, |(mut rx, seen, client, store, woken)| async move {
            rx.changed().await.ok()?;
            let now: Version = rx.borrow_and_update().clone();
            let wake = match (&seen, &now.policies) {
                (Some(before), Some(after)) => changed(&client, &store, before, after).await,
                _ => Vec::new(),
            };
            mark(&woken, &wake);
            let refs: Vec<ObjectRef<K>> = wake.iter().map(|o| ObjectRef::from_obj(&**o)).collect();
            let state = (rx, now.policies.or(seen), client, store, woken);
            Some((futures::stream::iter(refs), state))
        })
        .flatten()
    }
}

fn mark<K: Governed>(woken: &Mutex<HashSet<String>>, objects: &[Arc<K>]) {
    let mut woken = woken.lock().expect("lock");
    for o in objects {
        woken.insert(crate::controller::object_key(o.as_ref()));
    }
}

/// The objects of `store` with a verdict under `after` other than under `before`.
async fn changed<K: Governed + Clone + 'static>(
    client: &Client,
    store: &Store<K>,
    before: &PolicySet,
    after: &PolicySet,
) -> Vec<Arc<K>> {
    let mut facts = Facts::new(client.clone());
    let mut wake = Vec::new();
    for obj in store.state() {
        if differs(&mut facts, before, after, obj.as_ref()).await {
            wake.push(obj);
        }
    }
    wake
}

async fn differs<K: Governed>(
    facts: &mut Facts,
    before: &[PlanetScaleAccessPolicy],
    after: &[PlanetScaleAccessPolicy],
    obj: &K,
) -> bool {
    let (req, labels) = match facts.resolve(&[before, after], obj.request()).await {
        Ok(resolved) => resolved,
        Err(e) => {
            tracing::warn!(error = %e, "reading what a policy decides on; looking at the resource again");
            return true;
        }
    };
    requests(req, &obj.may_ask())
        .iter()
        .any(|r| outcome(before, &labels, r) != outcome(after, &labels, r))
}

/// `req`, and `req` with each production action of `may_ask` added.
fn requests(req: Request, may_ask: &[super::Production]) -> Vec<Request> {
    let mut all = vec![req];
    for p in may_ask {
        let mut r = all[0].clone();
        r.production.push(*p);
        all.push(r);
    }
    all
}

/// What a user sees of a verdict: allowed (by whichever rule), or the refusal's message.
fn outcome(
    policies: &[PlanetScaleAccessPolicy],
    labels: &BTreeMap<String, String>,
    req: &Request,
) -> Option<String> {
    match decide(policies, labels, req) {
        Verdict::Allowed { .. } => None,
        Verdict::Denied(message) => Some(message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Production;
    use crate::policy::decide_tests::request;

    // Takes `json!(..)` values by value so that call sites stay short.
    #[allow(clippy::needless_pass_by_value)]
    fn policy(name: &str, rule: serde_json::Value) -> PlanetScaleAccessPolicy {
        let spec = serde_json::from_value(serde_json::json!({ "rules": [rule] })).unwrap();
        PlanetScaleAccessPolicy::new(name, spec)
    }

    fn differ(
        before: &[PlanetScaleAccessPolicy],
        after: &[PlanetScaleAccessPolicy],
        req: &Request,
        may: &[Production],
    ) -> bool {
        let labels = BTreeMap::new();
        requests(req.clone(), may)
            .iter()
            .any(|r| outcome(before, &labels, r) != outcome(after, &labels, r))
    }

    #[test]
    fn only_a_change_of_what_a_resource_may_do_wakes_it() {
        let rule = |ns: &str, extra: serde_json::Value| {
            let mut r = serde_json::json!({"name": "r", "namespaces": {"names": [ns]},
                "credentials": {"default": true}, "organizations": ["acme"]});
            for (k, v) in extra.as_object().unwrap() {
                r[k] = v.clone();
            }
            r
        };
        let team_a = policy("a", rule("team-a", serde_json::json!({})));
        let team_b = policy("b", rule("team-b", serde_json::json!({})));
        let (a, b) = (request("team-a"), request("team-b"));
        let only_a = [team_a.clone()];
        // A policy for another namespace: nothing changes for team-a.
        let both = [team_a.clone(), team_b];
        assert!(!differ(&only_a, &both, &a, &[]));
        assert!(differ(&only_a, &both, &b, &[]));
        // Allowed by another rule now: still allowed, no wake.
        let wider = [
            policy("w", rule("team-a", serde_json::json!({"databases": ["*"]}))),
            team_a,
        ];
        assert!(!differ(&only_a, &wider, &a, &[]));
        // Allowing adoption of production branches changes only what may adopt.
        let adopt = [policy(
            "a",
            rule("team-a", serde_json::json!({"production": {"adopt": true}})),
        )];
        assert!(!differ(&only_a, &adopt, &a, &[]));
        assert!(differ(&only_a, &adopt, &a, &[Production::Adopt]));
        assert!(!differ(&only_a, &adopt, &a, &[Production::Passwords]));
        // Another refusal message is a change a user sees.
        let other_db = [policy(
            "a",
            rule("team-a", serde_json::json!({"databases": ["other"]})),
        )];
        let third_db = [policy(
            "a",
            rule("team-a", serde_json::json!({"databases": ["third"]})),
        )];
        assert!(differ(&other_db, &third_db, &a, &[]));
        assert!(differ(&only_a, &other_db, &a, &[]));
    }
}
