//! The controllers' caches (reflector stores), registered in one place while the controllers
//! run, and what is read from them:
//!
//! - [`sync`]: which caches have had their first list, for `/readyz`;
//! - [`gauge`]: the `resources` gauge, every kind's objects by `Ready` status;
//! - [`credentials_feed`]: the credentials Secrets our resources still need, and the changes
//!   the `credentials-in-use` finalizer reacts to.
//!
//! The runtime says which caches the controllers need ([`Stores::start`], one per kind and
//! watched namespace) when it starts them, and forgets them when they stop ([`Stores::stop`]).
//! Each controller builds its `Controller` for every namespace it watches with
//! [`Stores::controller`]. What the kinds themselves decide (their `kind` label, conditions,
//! and which Secret they still need) is [`crate::crd::ManagedResource`], implemented next to
//! each custom resource; this module imports nothing from the controllers.
use std::fmt;
use std::sync::{Arc, Mutex};

use futures::TryStreamExt;
use futures::channel::mpsc;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{Controller, WatchStreamExt, watcher};
use kube::{Api, Resource, ResourceExt};
use serde::de::DeserializeOwned;

use crate::crd::ManagedResource;

pub mod credentials_feed;
pub mod gauge;
pub mod sync;

pub use credentials_feed::{Change, SecretSeen};
pub use sync::{CacheId, CacheStatus, StopOnDrop, SyncMark};

/// The running controllers' stores; clones share them.
#[derive(Clone, Debug, Default)]
pub struct Stores {
    inner: Arc<Mutex<State>>,
}

#[derive(Debug, Default)]
struct State {
    /// Incremented by every start and stop, so that a store of an earlier run never counts.
    run: u64,
    sync: sync::SyncState,
    /// The stores of this run, as a kind and a way to count their objects by `Ready` status.
    counters: Vec<(&'static str, gauge::Counter)>,
    /// The stores of this run, as a way to list the credentials Secrets their objects use.
    users: Vec<credentials_feed::Users>,
    /// Where changes go during this run (see [`Stores::subscribe`]).
    changes: Option<mpsc::UnboundedSender<Change>>,
}

impl State {
    /// A new run (or none): nothing of the previous one counts.
    fn reset(&mut self, expected: Option<std::collections::BTreeSet<CacheId>>) {
        self.run += 1;
        self.sync = sync::SyncState::expecting(expected);
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

impl Stores {
    /// The controllers start and need exactly these caches.
    pub fn start(&self, expected: impl IntoIterator<Item = CacheId>) {
        let mut s = self.inner.lock().expect("lock");
        s.reset(Some(expected.into_iter().collect()));
    }

    /// The controllers stopped: their caches are gone.
    pub fn stop(&self) {
        self.inner.lock().expect("lock").reset(None);
    }

    /// A `Controller` for `api` (one namespace, or all) whose cache counts as synced once its
    /// first list has arrived: use it instead of `Controller::new(api, wc)`.
    ///
    /// The sync is seen in the reflector's own stream (its `InitDone` event), not by awaiting
    /// `Store::wait_until_ready`: that future keeps only one waker, and the controller's own
    /// runner waits on it, so a second waiter could leave the runner asleep with work queued.
    pub fn controller<K>(&self, api: Api<K>, wc: watcher::Config) -> Controller<K>
    where
        K: ManagedResource + DeserializeOwned + fmt::Debug,
    {
        let (store, writer) = reflector::store::<K>();
        let mark = self.track(api.namespace(), &store);
        let stream = watcher(api, wc)
            // The cache keeps no managedFields (memory grows with our resources only).
            .modify(trim_metadata)
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

    /// Counts `store` in the resources gauge and the credentials feed; returns what marks its
    /// cache synced.
    pub(crate) fn track<K: ManagedResource>(
        &self,
        namespace: Option<&str>,
        store: &Store<K>,
    ) -> SyncMark {
        let mut s = self.inner.lock().expect("lock");
        s.counters
            .push((K::KIND, gauge::Counter::of(store.clone())));
        s.users.push(credentials_feed::Users::of(store.clone()));
        SyncMark {
            inner: self.inner.clone(),
            run: s.run,
            id: CacheId::of::<K>(namespace),
        }
    }
}

/// The configuration every watch of the operator starts from (one place to tune them all).
///
/// kube's default page of 500 objects is kept: with pages of 100 the restart of `make bench`'s
/// scale scenario (20,000 objects) took 19.8 s instead of 5.8 s to sync its caches, for no
/// measurable memory (the heap that looked like list pages was the stores themselves).
pub fn watch_config() -> watcher::Config {
    watcher::Config::default()
}

/// Drops what a cached object never needs: `metadata.managedFields` and the
/// `kubectl.kubernetes.io/last-applied-configuration` annotation. The reconciles never read
/// them, and they are most of an object's size (so the caches grow with our resources only).
pub fn trim_metadata<K: Resource>(obj: &mut K) {
    let meta = obj.meta_mut();
    meta.managed_fields = None;
    if let Some(a) = meta.annotations.as_mut() {
        a.remove("kubectl.kubernetes.io/last-applied-configuration");
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
