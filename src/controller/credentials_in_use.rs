//! The `planetscale.operator.dev/credentials-in-use` finalizer on credentials Secrets.
//!
//! A resource's cleanup calls PlanetScale with the credentials in its `spec.credentialsRef`
//! Secret. Deleting a namespace deletes that Secret together with the resources, often before
//! their cleanup has run: without the Secret the cleanup could not delete the branch or the
//! passwords, which would be left in PlanetScale and keep the namespace `Terminating`. So
//! while any of our resources names a Secret (and has not finished its cleanup), the Secret
//! carries this finalizer: deleting it only marks it, the operator keeps reading it, and the
//! finalizer goes once the last such resource is gone or names another Secret.
//!
//! No extra watch: the resources come from the controllers' caches and the Secrets (metadata
//! only) from their existing credentials-Secret watches, both through
//! [`Stores::subscribe`](crate::stores::Stores::subscribe). The only calls are, when
//! the finalizer must change, one metadata read and one patch of that Secret. The default credentials (without
//! `credentialsRef`) live in the operator's namespace and get no finalizer: deleting a
//! resource's namespace does not delete them.
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use futures::StreamExt;
use futures::channel::mpsc::UnboundedReceiver;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, PartialObjectMeta, Patch, PatchParams};
use kube::runtime::events::{Event, EventType};
use kube::{Resource, ResourceExt};
use tokio_util::sync::CancellationToken;

use super::Context;
pub use crate::stores::{Change, SecretSeen};

/// Finalizer on a credentials Secret that one of our resources still needs.
pub const FINALIZER: &str = "planetscale.operator.dev/credentials-in-use";
/// Event on a Secret being deleted that is kept for the resources that still use it.
pub const KEPT: &str = "CredentialsInUse";
/// When a failed patch is tried again.
const RETRY: Duration = Duration::from_secs(5);

// The feed's types live with the caches that send them; what a Secret's metadata means for
// this finalizer is decided here.
impl SecretSeen {
    /// What a controller's Secret watch saw, with [`FINALIZER`] recognised.
    pub fn of(secret: &PartialObjectMeta<Secret>) -> Self {
        Self {
            namespace: secret.namespace().unwrap_or_default(),
            name: secret.name_any(),
            uid: secret.uid(),
            finalized: secret.finalizers().iter().any(|f| f == FINALIZER),
            deleting: secret.metadata.deletion_timestamp.is_some(),
        }
    }
}

/// One Secret: (namespace, name).
pub type Key = (String, String);

/// What to do to one Secret.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Step {
    /// Add the finalizer (a resource uses the Secret).
    Protect(Key),
    /// Remove the finalizer (no resource needs the Secret any more).
    Release(Key),
    /// Tell whoever deleted the Secret why it stays: (Secret, uid, its users as `Kind/name`).
    Explain(Key, String, Vec<String>),
}

impl Step {
    fn key(&self) -> &Key {
        match self {
            Step::Protect(k) | Step::Release(k) | Step::Explain(k, ..) => k,
        }
    }
}

/// The decisions, from what the caches and the Secret watch said (pure: no I/O).
#[derive(Debug, Default)]
pub struct Plan {
    /// Whether the caches have synced: before that, nothing is known to be unused.
    synced: bool,
    /// The Secrets in use, by namespace, with their users, as last looked up.
    used: BTreeMap<String, BTreeMap<String, Vec<String>>>,
    /// The Secrets last seen with the finalizer.
    finalized: BTreeSet<Key>,
    /// Namespaces that changed before the caches synced.
    pending: BTreeSet<String>,
    /// Steps asked for and not yet seen done (so that the same event from the Secret watch of
    /// each controller asks once).
    asked: BTreeSet<Step>,
}

impl Plan {
    /// The steps after `change`; `lookup` gives the Secrets in use in a namespace.
    pub fn change(
        &mut self,
        change: Change,
        lookup: &dyn Fn(&str) -> BTreeMap<String, Vec<String>>,
    ) -> Vec<Step> {
        match change {
            Change::Secret(seen) => self.secret(seen).into_iter().collect(),
            Change::Objects { namespace } if !self.synced => {
                self.pending.insert(namespace);
                vec![]
            }
            Change::Objects { namespace } => {
                let used = lookup(&namespace);
                self.objects(&namespace, used)
            }
            Change::Synced => {
                self.synced = true;
                let mut all = std::mem::take(&mut self.pending);
                all.extend(self.finalized.iter().map(|(ns, _)| ns.clone()));
                let mut out = vec![];
                for ns in all {
                    out.extend(self.objects(&ns, lookup(&ns)));
                }
                out
            }
        }
    }

    /// A step failed, or found no Secret: it may be asked again.
    pub fn forget(&mut self, step: &Step) {
        self.asked.remove(step);
    }

    /// Whether a step that failed earlier is still wanted now (the Secret's users or its
    /// finalizer may have changed while it waited to be tried again).
    pub fn still_wanted(&self, step: &Step) -> bool {
        match step {
            Step::Protect(key) => self.is_used(key).is_some() && !self.finalized.contains(key),
            Step::Release(key) => self.is_used(key).is_none() && self.finalized.contains(key),
            Step::Explain(..) => true,
        }
    }

    fn is_used(&self, (ns, name): &Key) -> Option<&Vec<String>> {
        self.used.get(ns).and_then(|m| m.get(name))
    }

    fn secret(&mut self, seen: SecretSeen) -> Option<Step> {
        let key = (seen.namespace, seen.name);
        // The opposite step is done (or moot): asking for it again is allowed.
        if seen.finalized {
            self.finalized.insert(key.clone());
            self.asked.remove(&Step::Protect(key.clone()));
        } else if seen.deleting {
            // Deleted without the finalizer: gone for good, nothing to ask for any more.
            self.finalized.remove(&key);
            self.asked.retain(|s| s.key() != &key);
        } else {
            self.finalized.remove(&key);
            self.asked
                .retain(|s| !matches!(s, Step::Release(k) | Step::Explain(k, ..) if *k == key));
        }
        if !self.synced {
            return None;
        }
        let step = match (seen.finalized, self.is_used(&key)) {
            (true, None) => Step::Release(key),
            (true, Some(users)) if seen.deleting => {
                Step::Explain(key, seen.uid.unwrap_or_default(), users.clone())
            }
            (false, Some(_)) if !seen.deleting => Step::Protect(key),
            _ => return None,
        };
        self.ask(step)
    }

    fn objects(&mut self, ns: &str, now: BTreeMap<String, Vec<String>>) -> Vec<Step> {
        let before = self.used.remove(ns).unwrap_or_default();
        let mut steps = vec![];
        for name in now.keys().filter(|n| !before.contains_key(*n)) {
            let key = (ns.to_string(), name.clone());
            if !self.finalized.contains(&key) {
                steps.push(Step::Protect(key));
            }
        }
        for key in self.finalized.iter().filter(|(n, _)| n == ns) {
            if !now.contains_key(&key.1) {
                steps.push(Step::Release(key.clone()));
            }
        }
        if !now.is_empty() {
            self.used.insert(ns.to_string(), now);
        }
        steps.into_iter().filter_map(|s| self.ask(s)).collect()
    }

    fn ask(&mut self, step: Step) -> Option<Step> {
        self.asked.insert(step.clone()).then_some(step)
    }
}

/// Keeps the finalizer on the credentials Secrets in use until `shutdown` (or until the
/// caches' run ends and `changes` closes).
pub async fn run(
    ctx: Arc<Context>,
    mut changes: UnboundedReceiver<Change>,
    shutdown: CancellationToken,
) {
    let mut plan = Plan::default();
    // Failed steps, tried again at `retry_at` (set by the first failure, so that a stream of
    // unrelated changes cannot put the retry off).
    let mut retry: BTreeSet<Step> = BTreeSet::new();
    let mut retry_at: Option<Instant> = None;
    let lookup = |ns: &str| ctx.caches.credentials_in_use(ns);
    loop {
        let wait = async move {
            match retry_at {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending::<()>().await,
            }
        };
        let steps: Vec<Step> = tokio::select! {
            _ = shutdown.cancelled() => return,
            () = wait => {
                retry_at = None;
                let due = std::mem::take(&mut retry);
                due.into_iter().filter(|s| plan.still_wanted(s)).collect()
            }
            change = changes.next() => match change {
                Some(change) => batch(&mut plan, change, &mut changes, &lookup),
                None => return,
            },
        };
        for step in steps {
            match act(&ctx, &step).await {
                Outcome::Done => {}
                Outcome::NoSecret => plan.forget(&step),
                Outcome::Failed => {
                    plan.forget(&step);
                    retry.insert(step);
                    retry_at.get_or_insert_with(|| Instant::now() + RETRY);
                }
            }
        }
    }
}

/// The steps for `first` and every change already queued behind it, as one batch: the
/// resources of a namespace are looked up once per batch however many of them changed (the
/// lookup reads the caches as they are now).
fn batch(
    plan: &mut Plan,
    first: Change,
    changes: &mut UnboundedReceiver<Change>,
    lookup: &dyn Fn(&str) -> BTreeMap<String, Vec<String>>,
) -> Vec<Step> {
    let mut queued = vec![first];
    while let Ok(change) = changes.try_recv() {
        queued.push(change);
    }
    let mut looked_up = BTreeSet::new();
    let mut steps = vec![];
    for change in queued {
        if let Change::Objects { namespace } = &change
            && !looked_up.insert(namespace.clone())
        {
            continue;
        }
        steps.extend(plan.change(change, lookup));
    }
    steps
}

/// How a step went.
enum Outcome {
    Done,
    /// The Secret does not exist (yet): a Secret created later is handled when it is seen.
    NoSecret,
    /// To be tried again.
    Failed,
}

/// Carries out `step`: reads the Secret's metadata, and patches it (with that version as a
/// precondition) only when the finalizer is not as wanted yet.
async fn act(ctx: &Context, step: &Step) -> Outcome {
    let ((ns, name), add) = match step {
        Step::Protect(key) => (key, true),
        Step::Release(key) => (key, false),
        Step::Explain(key, uid, users) => {
            explain(ctx, key, uid, users).await;
            return Outcome::Done;
        }
    };
    let api: Api<Secret> = Api::namespaced(ctx.client.clone(), ns);
    let current = match api.get_metadata_opt(name).await {
        Ok(Some(current)) => current,
        Ok(None) => return Outcome::NoSecret,
        Err(e) => return failed(ns, name, &e),
    };
    let has = current.finalizers().iter().any(|f| f == FINALIZER);
    // Being deleted without it: no finalizer can be added any more.
    let too_late = add && current.metadata.deletion_timestamp.is_some();
    if has == add || too_late {
        return Outcome::Done;
    }
    let from = current.resource_version().unwrap_or_default();
    let change = if add {
        serde_json::json!({"finalizers": [FINALIZER]})
    } else {
        serde_json::json!({"$deleteFromPrimitiveList/finalizers": [FINALIZER]})
    };
    let mut patch = serde_json::json!({"metadata": change});
    patch["metadata"]["resourceVersion"] = serde_json::json!(from);
    // Only the finalizer changes: a client built from `from` stays current, and the watch
    // event of the new version wakes nothing. The guard ends the announcement even when this
    // future is dropped mid-patch (leadership lost), so a later version is never taken for ours.
    ctx.credentials.own_patch(ns, name, &from, add);
    let mut announced = OwnPatch {
        ctx,
        ns,
        name,
        from: &from,
        to: None,
    };
    let params = PatchParams::default();
    let result = api
        .patch_metadata(name, &params, &Patch::Strategic(&patch))
        .await;
    announced.to = result
        .as_ref()
        .ok()
        .and_then(kube::ResourceExt::resource_version);
    drop(announced);
    match result {
        Ok(_) => {
            let done = if add { "added" } else { "removed" };
            tracing::info!(namespace = %ns, secret = %name, finalizer = FINALIZER, "credentials Secret finalizer {done}");
            Outcome::Done
        }
        Err(kube::Error::Api(e)) if e.code == 404 => Outcome::NoSecret,
        // 409: changed since it was read; 422: deleted meanwhile. Looked at again.
        Err(e) => failed(ns, name, &e),
    }
}

/// Ends an own-patch announcement ([`crate::credentials::CredentialsStore::own_patch_done`])
/// when dropped, with the version the patch made (`None`: failed or abandoned).
struct OwnPatch<'a> {
    ctx: &'a Context,
    ns: &'a str,
    name: &'a str,
    from: &'a str,
    to: Option<String>,
}

impl Drop for OwnPatch<'_> {
    fn drop(&mut self) {
        self.ctx
            .credentials
            .own_patch_done(self.ns, self.name, self.from, self.to.as_deref());
    }
}

fn failed(ns: &str, name: &str, e: &kube::Error) -> Outcome {
    tracing::warn!(namespace = %ns, secret = %name, error = %e, "cannot change the finalizer of the credentials Secret; trying again");
    Outcome::Failed
}

/// An event on the Secret being deleted: which resources keep it, and until when. Not
/// published when its namespace is being deleted too (the API server refuses new objects
/// there), which is only worth a debug line.
async fn explain(ctx: &Context, (ns, name): &Key, uid: &str, users: &[String]) {
    let mut secret = Secret::default();
    secret.metadata.name = Some(name.clone());
    secret.metadata.namespace = Some(ns.clone());
    secret.metadata.uid = Some(uid.to_string()).filter(|u| !u.is_empty());
    let note = format!(
        "kept (finalizer {FINALIZER}) until {} no longer use it: their deletion needs these credentials to delete what they created in PlanetScale",
        users.join(", ")
    );
    let event = Event {
        type_: EventType::Normal,
        reason: KEPT.into(),
        note: Some(note),
        action: "Delete".into(),
        secondary: None,
    };
    let reference = secret.object_ref(&());
    if let Err(e) = ctx.recorder.publish(&event, &reference).await {
        tracing::debug!(namespace = %ns, secret = %name, error = %e, "could not publish the CredentialsInUse event");
    }
}

#[cfg(test)]
#[path = "credentials_in_use_tests.rs"]
mod tests;
