//! Which of the controllers' caches (reflector stores) have synced, for `/readyz`.
//!
//! The runtime says which caches the controllers need ([`Caches::start`], one per kind and
//! watched namespace) when it starts them, and forgets them when they stop ([`Caches::stop`]).
//! Each controller builds its `Controller` for every namespace it watches with
//! [`Caches::controller`]; its cache counts as synced once its first list has arrived. A cache
//! of an earlier run never counts for a later one.
//!
//! The same stores give the `resources` gauge ([`Caches::publish_resources`]): every kind's
//! objects by `Ready` status, counted when `/metrics` is scraped; and the credentials Secrets
//! our resources still need ([`Caches::credentials_in_use`]), for the finalizer that keeps
//! them ([`crate::controller::credentials_in_use`]). What changes in the caches (and the
//! credentials Secrets the controllers see) goes to [`Caches::subscribe`]'s receiver.
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::{Arc, Mutex};

use futures::TryStreamExt;
use futures::channel::mpsc;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, ObjectMeta};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{Controller, WatchStreamExt, watcher};
use kube::{Api, Resource, ResourceExt};
use serde::de::DeserializeOwned;

use crate::controller::credentials_in_use::{Change, SecretSeen};
use crate::controller::{branch, deploy_request, password};
use crate::crd::conditions::{READY, find_condition};
use crate::crd::{DeletionPolicy, SecretRef};
use crate::crd::{DeployRequest, PlanetScaleBranch, PlanetScalePassword};
use crate::metrics::{Metrics, ReadyCounts};

/// A kind the controllers cache: its `kind` label, its status conditions, and the credentials
/// Secret it still needs.
pub trait Cached: Resource<DynamicType = ()> + Clone + Send + Sync + 'static {
    /// The `kind` label of the resources gauge.
    const KIND: &'static str;
    /// The status conditions (empty without a status).
    fn conditions(&self) -> &[Condition];
    /// The Secret named in `spec.credentialsRef`, while the object's deletion would need it:
    /// it has something in PlanetScale its cleanup deletes or closes, and it lives or is
    /// being deleted with its finalizer still on (the cleanup has not finished).
    fn credentials_in_use(&self) -> Option<&str>;
}

/// `credentials_ref` while an object with `meta` whose cleanup would call PlanetScale
/// (`calls_on_cleanup`) lives, or is being deleted and still has `finalizer`.
fn in_use<'a>(
    meta: &ObjectMeta,
    finalizer: &str,
    credentials_ref: Option<&'a SecretRef>,
    calls_on_cleanup: bool,
) -> Option<&'a str> {
    let finalizing = meta.finalizers.iter().flatten().any(|f| f == finalizer);
    let needed = calls_on_cleanup && (meta.deletion_timestamp.is_none() || finalizing);
    credentials_ref.filter(|_| needed).map(|r| r.name.as_str())
}

impl Cached for PlanetScaleBranch {
    const KIND: &'static str = "PlanetScaleBranch";
    fn conditions(&self) -> &[Condition] {
        self.status.as_ref().map_or(&[], |s| &s.conditions)
    }
    /// With `deletionPolicy: Delete`, once a branch was created or adopted (or asked for).
    fn credentials_in_use(&self) -> Option<&str> {
        let s = self.status.as_ref();
        let created = s.is_some_and(|s| s.id.is_some() || s.create_requested_at.is_some());
        let deletes = self.spec.deletion_policy == DeletionPolicy::Delete && created;
        let r = self.spec.credentials_ref.as_ref();
        in_use(&self.metadata, branch::FINALIZER, r, deletes)
    }
}

impl Cached for PlanetScalePassword {
    const KIND: &'static str = "PlanetScalePassword";
    fn conditions(&self) -> &[Condition] {
        self.status.as_ref().map_or(&[], |s| &s.conditions)
    }
    /// With `deletionPolicy: Delete`, once the branch of its passwords is recorded.
    fn credentials_in_use(&self) -> Option<&str> {
        let s = self.status.as_ref();
        let recorded = s.and_then(password::target::recorded).is_some();
        let deletes = self.spec.deletion_policy == DeletionPolicy::Delete && recorded;
        let r = self.spec.credentials_ref.as_ref();
        in_use(&self.metadata, password::FINALIZER, r, deletes)
    }
}

impl Cached for DeployRequest {
    const KIND: &'static str = "DeployRequest";
    fn conditions(&self) -> &[Condition] {
        self.status.as_ref().map_or(&[], |s| &s.conditions)
    }
    /// Once a deploy request was opened or adopted (its deletion closes or cancels it).
    fn credentials_in_use(&self) -> Option<&str> {
        let s = self.status.as_ref();
        let opened = s.is_some_and(|s| s.number.is_some() || s.id.is_some());
        let r = self.spec.credentials_ref.as_ref();
        in_use(&self.metadata, deploy_request::FINALIZER, r, opened)
    }
}

/// The kinds of the resources gauge.
const KINDS: [&str; 3] = [
    PlanetScaleBranch::KIND,
    PlanetScalePassword::KIND,
    DeployRequest::KIND,
];

/// How many of `objs` have each `Ready` status.
fn ready_counts<K: Cached>(objs: &[Arc<K>]) -> ReadyCounts {
    let mut c = ReadyCounts::default();
    for o in objs {
        match find_condition(o.conditions(), READY).map(|r| r.status.as_str()) {
            Some("True") => c.ready += 1,
            Some("False") => c.not_ready += 1,
            _ => c.unknown += 1,
        }
    }
    c
}

/// One cache: the kind it holds and the namespace it watches (`None`: all namespaces).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct CacheId {
    /// The kind, e.g. `PlanetScaleBranch`.
    pub kind: String,
    /// The watched namespace; `None` for all namespaces.
    pub namespace: Option<String>,
}

impl CacheId {
    /// The cache of `K` in `namespace` (`None`: all namespaces).
    pub fn of<K: Resource<DynamicType = ()>>(namespace: Option<&str>) -> Self {
        Self {
            kind: K::kind(&()).into_owned(),
            namespace: namespace.map(str::to_owned),
        }
    }
}

impl fmt::Display for CacheId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} in {ns}", self.kind),
            None => write!(f, "{} in all namespaces", self.kind),
        }
    }
}

/// Where the caches stand, as `/readyz` reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CacheStatus {
    /// The controllers are not running (not started yet, or this replica does not lead).
    NotRunning,
    /// The controllers run; these caches have not synced yet.
    Waiting(Vec<CacheId>),
    /// Every cache the controllers need has synced.
    Synced,
}

/// Shared cache-sync state; clones share it.
#[derive(Clone, Debug, Default)]
pub struct Caches {
    inner: Arc<Mutex<State>>,
}

#[derive(Debug, Default)]
struct State {
    /// Incremented by every start and stop, so that a store of an earlier run never counts.
    run: u64,
    /// The caches the running controllers need; `None` while they do not run.
    expected: Option<BTreeSet<CacheId>>,
    synced: BTreeSet<CacheId>,
    /// The stores of this run, as a kind and a way to count their objects by `Ready` status.
    counters: Vec<(&'static str, Counter)>,
    /// The stores of this run, as a way to list the credentials Secrets their objects use.
    users: Vec<Users>,
    /// Where changes go during this run (see [`Caches::subscribe`]).
    changes: Option<mpsc::UnboundedSender<Change>>,
}

impl State {
    /// A new run (or none): nothing of the previous one counts.
    fn reset(&mut self, expected: Option<BTreeSet<CacheId>>) {
        self.run += 1;
        self.expected = expected;
        self.synced.clear();
        self.counters.clear();
        self.users.clear();
        self.changes = None;
    }

    fn send(&self, change: Change) {
        if let Some(tx) = &self.changes {
            let _ = tx.unbounded_send(change);
        }
    }
}

/// One object that uses a credentials Secret: (Secret name, `Kind/name`).
type User = (String, String);

/// Lists one store's objects in a namespace that use a credentials Secret.
type ListUsers = dyn Fn(&str) -> Vec<User> + Send;

/// [`ListUsers`] of one store.
struct Users(Box<ListUsers>);

impl fmt::Debug for Users {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Users")
    }
}

/// Counts one store's objects by `Ready` status.
struct Counter(Box<dyn Fn() -> ReadyCounts + Send>);

impl fmt::Debug for Counter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Counter")
    }
}

impl Caches {
    /// The controllers start and need exactly these caches.
    pub fn start(&self, expected: impl IntoIterator<Item = CacheId>) {
        let mut s = self.inner.lock().expect("lock");
        s.reset(Some(expected.into_iter().collect()));
    }

    /// The controllers stopped: their caches are gone.
    pub fn stop(&self) {
        self.inner.lock().expect("lock").reset(None);
    }

    /// From now until the run ends: which namespaces' cached objects changed, which
    /// credentials Secrets the controllers saw ([`Caches::secret_seen`]), and when every cache
    /// has synced. Call it before the controllers start, so that nothing is missed.
    pub fn subscribe(&self) -> mpsc::UnboundedReceiver<Change> {
        let (tx, rx) = mpsc::unbounded();
        self.inner.lock().expect("lock").changes = Some(tx);
        rx
    }

    /// A controller's Secret watch saw `secret` (metadata only).
    pub fn secret_seen(&self, seen: SecretSeen) {
        self.inner.lock().expect("lock").send(Change::Secret(seen));
    }

    /// The credentials Secrets in `namespace` that cached objects still need (see
    /// [`Cached::credentials_in_use`]), each with its users as `Kind/name`.
    pub fn credentials_in_use(&self, namespace: &str) -> BTreeMap<String, Vec<String>> {
        let s = self.inner.lock().expect("lock");
        let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (secret, user) in s.users.iter().flat_map(|u| (u.0)(namespace)) {
            out.entry(secret).or_default().push(user);
        }
        out
    }

    /// A `Controller` for `api` (one namespace, or all) whose cache counts as synced once its
    /// first list has arrived: use it instead of `Controller::new(api, wc)`.
    ///
    /// The sync is seen in the reflector's own stream (its `InitDone` event), not by awaiting
    /// `Store::wait_until_ready`: that future keeps only one waker, and the controller's own
    /// runner waits on it, so a second waiter could leave the runner asleep with work queued.
    pub fn controller<K>(&self, api: Api<K>, wc: watcher::Config) -> Controller<K>
    where
        K: Cached + DeserializeOwned + fmt::Debug,
    {
        let (store, writer) = reflector::store::<K>();
        let mark = self.track(api.namespace(), &store);
        let stream = watcher(api, wc)
            // The cache keeps no managedFields (memory grows with our resources only).
            .modify(crate::controller::trim_metadata)
            .reflect(writer)
            .inspect_ok(move |event| match event {
                watcher::Event::InitDone => mark.synced(),
                watcher::Event::Apply(o)
                | watcher::Event::InitApply(o)
                | watcher::Event::Delete(o) => mark.changed(o.namespace().unwrap_or_default()),
                watcher::Event::Init => {}
            })
            .applied_objects();
        Controller::for_stream(stream, store)
    }

    /// Counts `store` in the resources gauge; returns what marks its cache synced.
    pub(crate) fn track<K: Cached>(&self, namespace: Option<&str>, store: &Store<K>) -> SyncMark {
        let mut s = self.inner.lock().expect("lock");
        let counted = store.clone();
        let counter = Counter(Box::new(move || ready_counts(&counted.state())));
        s.counters.push((K::KIND, counter));
        let listed = store.clone();
        s.users
            .push(Users(Box::new(move |ns| users_in(&listed, ns))));
        SyncMark {
            inner: self.inner.clone(),
            run: s.run,
            id: CacheId::of::<K>(namespace),
        }
    }

    /// Where the caches stand.
    pub fn status(&self) -> CacheStatus {
        let s = self.inner.lock().expect("lock");
        let Some(expected) = &s.expected else {
            return CacheStatus::NotRunning;
        };
        let waiting: Vec<CacheId> = expected.difference(&s.synced).cloned().collect();
        if waiting.is_empty() {
            CacheStatus::Synced
        } else {
            CacheStatus::Waiting(waiting)
        }
    }
}

impl Caches {
    /// Sets the `resources` gauge of every kind from the stores of the running controllers
    /// (all 0 while they do not run, so that only the leader counts).
    pub fn publish_resources(&self, metrics: &Metrics) {
        let s = self.inner.lock().expect("lock");
        for kind in KINDS {
            let mut total = ReadyCounts::default();
            for (_, count) in s.counters.iter().filter(|(k, _)| *k == kind) {
                let c = (count.0)();
                total.ready += c.ready;
                total.not_ready += c.not_ready;
                total.unknown += c.unknown;
            }
            metrics.set_resources(kind, total);
        }
    }
}

/// The objects of `store` in `namespace` that use a credentials Secret: (Secret, `Kind/name`).
fn users_in<K: Cached>(store: &Store<K>, namespace: &str) -> Vec<User> {
    store
        .state()
        .iter()
        .filter(|o| o.meta().namespace.as_deref() == Some(namespace))
        .filter_map(|o| {
            let secret = o.credentials_in_use()?;
            Some((secret.to_string(), format!("{}/{}", K::KIND, o.name_any())))
        })
        .collect()
}

/// Marks one cache synced, and reports its changes, unless the run it belongs to has ended.
pub(crate) struct SyncMark {
    inner: Arc<Mutex<State>>,
    run: u64,
    id: CacheId,
}

impl SyncMark {
    pub(crate) fn synced(&self) {
        let mut s = self.inner.lock().expect("lock");
        if s.run != self.run {
            return;
        }
        s.synced.insert(self.id.clone());
        let all = s.expected.as_ref().is_some_and(|e| e.is_subset(&s.synced));
        if all {
            s.send(Change::Synced);
        }
    }

    /// An object in `namespace` was added, changed or deleted.
    fn changed(&self, namespace: String) {
        let s = self.inner.lock().expect("lock");
        if s.run == self.run {
            s.send(Change::Objects { namespace });
        }
    }
}

/// Calls [`Caches::stop`] when dropped: the controllers stopped, whichever way.
#[derive(Debug)]
pub struct StopOnDrop(pub Caches);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.stop();
    }
}

#[cfg(test)]
#[path = "caches_tests.rs"]
mod tests;
