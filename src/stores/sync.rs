//! Which caches have had their first list, for `/readyz`. A cache of an earlier run never
//! counts for a later one.
use std::collections::BTreeSet;
use std::fmt;
use std::sync::{Arc, Mutex};

use kube::Resource;

use super::{Change, State, Stores};

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

/// The caches of one run: expected and synced.
#[derive(Debug, Default)]
pub(super) struct SyncState {
    /// The caches the running controllers need; `None` while they do not run.
    expected: Option<BTreeSet<CacheId>>,
    synced: BTreeSet<CacheId>,
}

impl SyncState {
    pub(super) fn expecting(expected: Option<BTreeSet<CacheId>>) -> Self {
        Self {
            expected,
            synced: BTreeSet::new(),
        }
    }

    fn all_synced(&self) -> bool {
        self.expected
            .as_ref()
            .is_some_and(|e| e.is_subset(&self.synced))
    }
}

impl Stores {
    /// Where the caches stand.
    pub fn status(&self) -> CacheStatus {
        let s = self.inner.lock().expect("lock");
        let Some(expected) = &s.sync.expected else {
            return CacheStatus::NotRunning;
        };
        let waiting: Vec<CacheId> = expected.difference(&s.sync.synced).cloned().collect();
        if waiting.is_empty() {
            CacheStatus::Synced
        } else {
            CacheStatus::Waiting(waiting)
        }
    }
}

/// Marks one cache synced, and reports its changes, unless the run it belongs to has ended.
pub struct SyncMark {
    pub(super) inner: Arc<Mutex<State>>,
    pub(super) run: u64,
    pub(super) id: CacheId,
}

impl SyncMark {
    /// The cache has its first list.
    pub fn synced(&self) {
        let mut s = self.inner.lock().expect("lock");
        if s.run != self.run {
            return;
        }
        s.sync.synced.insert(self.id.clone());
        if s.sync.all_synced() {
            s.send(Change::Synced);
        }
    }

    /// An object in `namespace` was added, changed or deleted.
    pub(super) fn changed(&self, namespace: String) {
        let s = self.inner.lock().expect("lock");
        if s.run == self.run {
            s.send(Change::Objects { namespace });
        }
    }
}

/// Calls [`Stores::stop`] when dropped: the controllers stopped, whichever way.
#[derive(Debug)]
pub struct StopOnDrop(pub Stores);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.stop();
    }
}
