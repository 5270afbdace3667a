//! The `resources` gauge: every kind's objects by `Ready` status, counted from the running
//! controllers' stores when `/metrics` is scraped.
use std::fmt;
use std::sync::Arc;

use kube::runtime::reflector::Store;

use super::Stores;
use crate::crd::conditions::{READY, find_condition};
use crate::crd::{DeployRequest, ManagedResource, PlanetScaleBranch, PlanetScalePassword};
use crate::metrics::{Metrics, ReadyCounts};

/// The kinds of the resources gauge.
const KINDS: [&str; 5] = [
    PlanetScaleBranch::KIND,
    PlanetScalePassword::KIND,
    DeployRequest::KIND,
    crate::crd::PlanetScaleDatabase::KIND,
    crate::crd::PlanetScaleBackup::KIND,
];

/// Counts one store's objects by `Ready` status.
pub(super) struct Counter(Box<dyn Fn() -> ReadyCounts + Send>);

impl Counter {
    pub(super) fn of<K: ManagedResource>(store: Store<K>) -> Self {
        Self(Box::new(move || ready_counts(&store.state())))
    }
}

impl fmt::Debug for Counter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Counter")
    }
}

/// How many of `objs` have each `Ready` status.
fn ready_counts<K: ManagedResource>(objs: &[Arc<K>]) -> ReadyCounts {
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

impl Stores {
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
