//! Which of the controllers' caches (reflector stores) have synced, for `/readyz`.
//!
//! The runtime says which caches the controllers need ([`Caches::start`], one per kind and
//! watched namespace) when it starts them, and forgets them when they stop ([`Caches::stop`]).
//! Each controller registers the store of its kind for every namespace it watches
//! ([`Caches::register`]); a store counts as synced once its first list has arrived
//! (`Store::wait_until_ready`). A store of an earlier run never counts for a later one.
use std::collections::BTreeSet;
use std::fmt;
use std::sync::{Arc, Mutex};

use kube::Resource;
use kube::runtime::reflector::Store;

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
}

impl Caches {
    /// The controllers start and need exactly these caches.
    pub fn start(&self, expected: impl IntoIterator<Item = CacheId>) {
        let mut s = self.inner.lock().expect("lock");
        s.run += 1;
        s.expected = Some(expected.into_iter().collect());
        s.synced.clear();
    }

    /// The controllers stopped: their caches are gone.
    pub fn stop(&self) {
        let mut s = self.inner.lock().expect("lock");
        s.run += 1;
        s.expected = None;
        s.synced.clear();
    }

    /// A controller's store of `K` for `namespace` (`None`: all namespaces); it counts as
    /// synced once its first list has arrived. Call it from inside the Tokio runtime.
    pub fn register<K>(&self, namespace: Option<&str>, store: &Store<K>)
    where
        K: Resource<DynamicType = ()> + Clone + Send + Sync + 'static,
    {
        let id = CacheId::of::<K>(namespace);
        let run = self.inner.lock().expect("lock").run;
        let (store, inner) = (store.clone(), self.inner.clone());
        tokio::spawn(async move {
            // Fails only when the controller stopped before the first list: nothing to record.
            if store.wait_until_ready().await.is_ok() {
                let mut s = inner.lock().expect("lock");
                if s.run == run {
                    s.synced.insert(id);
                }
            }
        });
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

    async fn settle() {
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test]
    async fn synced_only_once_every_expected_store_has_listed() {
        let caches = Caches::default();
        assert_eq!(caches.status(), CacheStatus::NotRunning);
        caches.start([id::<PlanetScaleBranch>("a"), id::<PlanetScalePassword>("a")]);
        let (branches, mut bw) = kube::runtime::reflector::store::<PlanetScaleBranch>();
        let (passwords, mut pw) = kube::runtime::reflector::store::<PlanetScalePassword>();
        caches.register(Some("a"), &branches);
        caches.register(Some("a"), &passwords);
        settle().await;
        let both = vec![id::<PlanetScaleBranch>("a"), id::<PlanetScalePassword>("a")];
        assert_eq!(caches.status(), CacheStatus::Waiting(both));

        bw.apply_watcher_event(&Event::InitDone);
        settle().await;
        let waiting = vec![id::<PlanetScalePassword>("a")];
        assert_eq!(caches.status(), CacheStatus::Waiting(waiting));
        assert_eq!(
            id::<PlanetScalePassword>("a").to_string(),
            "PlanetScalePassword in a"
        );

        pw.apply_watcher_event(&Event::InitDone);
        settle().await;
        assert_eq!(caches.status(), CacheStatus::Synced);
        drop(StopOnDrop(caches.clone()));
        assert_eq!(caches.status(), CacheStatus::NotRunning);
    }

    #[tokio::test]
    async fn a_store_of_an_earlier_run_does_not_count() {
        let caches = Caches::default();
        caches.start([CacheId::of::<PlanetScaleBranch>(None)]);
        let (old, mut writer) = kube::runtime::reflector::store::<PlanetScaleBranch>();
        caches.register(None, &old);
        caches.stop();
        caches.start([CacheId::of::<PlanetScaleBranch>(None)]);
        writer.apply_watcher_event(&Event::InitDone);
        settle().await;
        let all = CacheId::of::<PlanetScaleBranch>(None);
        assert_eq!(all.to_string(), "PlanetScaleBranch in all namespaces");
        assert_eq!(caches.status(), CacheStatus::Waiting(vec![all]));
    }
}
