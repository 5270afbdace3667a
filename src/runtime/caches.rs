//! Which of the controllers' caches (reflector stores) have synced, for `/readyz`.
//!
//! The runtime says which caches the controllers need ([`Caches::start`], one per kind and
//! watched namespace) when it starts them, and forgets them when they stop ([`Caches::stop`]).
//! Each controller builds its `Controller` for every namespace it watches with
//! [`Caches::controller`]; its cache counts as synced once its first list has arrived. A cache
//! of an earlier run never counts for a later one.
//!
//! The same stores give the `resources` gauge ([`Caches::publish_resources`]): every kind's
//! objects by `Ready` status, counted when `/metrics` is scraped.
use std::collections::BTreeSet;
use std::fmt;
use std::sync::{Arc, Mutex};

use futures::TryStreamExt;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{Controller, WatchStreamExt, watcher};
use kube::{Api, Resource};
use serde::de::DeserializeOwned;

use crate::crd::conditions::{READY, find_condition};
use crate::crd::{DeployRequest, PlanetScaleBranch, PlanetScalePassword};
use crate::metrics::{Metrics, ReadyCounts};

/// A kind the controllers cache: its `kind` label and its status conditions.
pub trait Cached: Resource<DynamicType = ()> + Clone + Send + Sync + 'static {
    /// The `kind` label of the resources gauge.
    const KIND: &'static str;
    /// The status conditions (empty without a status).
    fn conditions(&self) -> &[Condition];
}

impl Cached for PlanetScaleBranch {
    const KIND: &'static str = "PlanetScaleBranch";
    fn conditions(&self) -> &[Condition] {
        self.status.as_ref().map_or(&[], |s| &s.conditions)
    }
}

impl Cached for PlanetScalePassword {
    const KIND: &'static str = "PlanetScalePassword";
    fn conditions(&self) -> &[Condition] {
        self.status.as_ref().map_or(&[], |s| &s.conditions)
    }
}

impl Cached for DeployRequest {
    const KIND: &'static str = "DeployRequest";
    fn conditions(&self) -> &[Condition] {
        self.status.as_ref().map_or(&[], |s| &s.conditions)
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
        s.run += 1;
        s.expected = Some(expected.into_iter().collect());
        s.synced.clear();
        s.counters.clear();
    }

    /// The controllers stopped: their caches are gone.
    pub fn stop(&self) {
        let mut s = self.inner.lock().expect("lock");
        s.run += 1;
        s.expected = None;
        s.synced.clear();
        s.counters.clear();
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
            .inspect_ok(move |event| {
                if matches!(event, watcher::Event::InitDone) {
                    mark.synced();
                }
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

/// Marks one cache synced, unless the run it belongs to has ended.
pub(crate) struct SyncMark {
    inner: Arc<Mutex<State>>,
    run: u64,
    id: CacheId,
}

impl SyncMark {
    pub(crate) fn synced(&self) {
        let mut s = self.inner.lock().expect("lock");
        if s.run == self.run {
            s.synced.insert(self.id.clone());
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
mod tests {
    use super::*;
    use crate::crd::branch::PlanetScaleBranch;
    use crate::crd::password::PlanetScalePassword;
    use kube::runtime::watcher::Event;

    fn id<K: Resource<DynamicType = ()>>(ns: &str) -> CacheId {
        CacheId::of::<K>(Some(ns))
    }

    #[test]
    fn synced_only_once_every_expected_cache_has_listed() {
        let caches = Caches::default();
        assert_eq!(caches.status(), CacheStatus::NotRunning);
        caches.start([id::<PlanetScaleBranch>("a"), id::<PlanetScalePassword>("a")]);
        let (branches, _) = reflector::store::<PlanetScaleBranch>();
        let (passwords, _) = reflector::store::<PlanetScalePassword>();
        let branches_listed = caches.track(Some("a"), &branches);
        let passwords_listed = caches.track(Some("a"), &passwords);
        let both = vec![id::<PlanetScaleBranch>("a"), id::<PlanetScalePassword>("a")];
        assert_eq!(caches.status(), CacheStatus::Waiting(both));

        branches_listed.synced();
        let waiting = vec![id::<PlanetScalePassword>("a")];
        assert_eq!(caches.status(), CacheStatus::Waiting(waiting));
        assert_eq!(
            id::<PlanetScalePassword>("a").to_string(),
            "PlanetScalePassword in a"
        );

        passwords_listed.synced();
        assert_eq!(caches.status(), CacheStatus::Synced);
        drop(StopOnDrop(caches.clone()));
        assert_eq!(caches.status(), CacheStatus::NotRunning);
    }

    fn branch(name: &str, ready: Option<&str>) -> PlanetScaleBranch {
        let conditions: Vec<serde_json::Value> = ready
            .into_iter()
            .map(|status| {
                serde_json::json!({"type": "Ready", "status": status, "reason": "R", "message": "",
                    "lastTransitionTime": "2026-01-01T00:00:00Z"})
            })
            .collect();
        serde_json::from_value(serde_json::json!({
            "apiVersion": "planetscale.operator.dev/v1alpha1", "kind": "PlanetScaleBranch",
            "metadata": {"name": name, "namespace": "a"},
            "spec": {"organization": "o", "database": "d"},
            "status": {"conditions": conditions},
        }))
        .unwrap()
    }

    #[test]
    fn the_resources_gauge_counts_the_running_stores_and_drops_to_zero_after() {
        let (caches, metrics) = (Caches::default(), Metrics::new());
        let gauge = |kind: &str, ready: &str| {
            let line =
                format!("planetscale_operator_resources{{kind=\"{kind}\",ready=\"{ready}\"}} ");
            let text = metrics.encode();
            let value = text
                .lines()
                .find_map(|l| l.strip_prefix(&line).map(str::to_owned));
            value.unwrap_or_else(|| panic!("no {line} in\n{text}"))
        };
        caches.start([CacheId::of::<PlanetScaleBranch>(Some("a"))]);
        let (store, mut writer) = reflector::store::<PlanetScaleBranch>();
        caches.track(Some("a"), &store);
        for (name, ready) in [("x", Some("True")), ("y", Some("False")), ("z", None)] {
            writer.apply_watcher_event(&Event::Apply(branch(name, ready)));
        }
        caches.publish_resources(&metrics);
        assert_eq!(gauge("PlanetScaleBranch", "True"), "1");
        assert_eq!(gauge("PlanetScaleBranch", "False"), "1");
        assert_eq!(gauge("PlanetScaleBranch", "Unknown"), "1");
        assert_eq!(gauge("DeployRequest", "True"), "0");
        caches.stop();
        caches.publish_resources(&metrics);
        assert_eq!(gauge("PlanetScaleBranch", "True"), "0");
    }

    #[test]
    fn a_cache_of_an_earlier_run_does_not_count() {
        let caches = Caches::default();
        caches.start([CacheId::of::<PlanetScaleBranch>(None)]);
        let (old, _) = reflector::store::<PlanetScaleBranch>();
        let old_listed = caches.track(None, &old);
        caches.stop();
        caches.start([CacheId::of::<PlanetScaleBranch>(None)]);
        old_listed.synced();
        let all = CacheId::of::<PlanetScaleBranch>(None);
        assert_eq!(all.to_string(), "PlanetScaleBranch in all namespaces");
        assert_eq!(caches.status(), CacheStatus::Waiting(vec![all]));
    }
}
