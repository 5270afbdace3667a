//! Kubernetes events (`events.k8s.io/v1`) with repeats folded into a series, as
//! `kube::runtime::events::Recorder` does, but remembering only what a repeat needs.
//!
//! Why not kube's `Recorder`: it keeps a copy of every event it published for six minutes (the
//! whole `Event` object and its key, about 4 KiB each), to patch the series when the same event
//! comes again. A burst of 1,000 new branch and password pairs publishes about 4,000 events,
//! so that copy was 17.7 MiB of the operator's 51 MiB peak (heaptrack, `make bench` memory
//! scenario). A repeat needs only the event's name, its count and when it was last seen:
//! that is what is kept here, under a hash of the same key kube uses (type, action, reason,
//! reporting controller and instance, the object it regards).
use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, Hasher, RandomState};
use std::sync::Mutex;
use std::time::Duration;

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::api::events::v1::{Event as K8sEvent, EventSeries};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Patch, PatchParams, PostParams};
use kube::runtime::events::{Event, EventType, Reporter};
use kube::{Api, Client};
use serde_json::json;

/// How long a published event can still grow into a series (kube's `Recorder` uses the same).
pub const SERIES_WINDOW: Duration = Duration::from_secs(6 * 60);

/// Publishes events; clones are not needed, share it behind the controllers' `Context`.
pub struct Recorder {
    client: Client,
    reporter: Reporter,
    hasher: RandomState,
    recent: Mutex<Recent>,
}

/// The events published within [`SERIES_WINDOW`], by the hash of their key.
#[derive(Default)]
struct Recent {
    by_key: HashMap<u64, Published>,
    pruned: Option<Timestamp>,
}

/// What a repeat of a published event needs.
#[derive(Clone, Debug, PartialEq)]
struct Published {
    name: Box<str>,
    count: i32,
    last: Timestamp,
}

/// What to do with an event, given the recent ones.
#[derive(Debug, PartialEq)]
enum Publish {
    /// A new event named `name`.
    Create { name: String },
    /// The `count`th occurrence of the event `name`.
    Repeat { name: Box<str>, count: i32 },
}

impl Recent {
    /// Drops what is older than the window (at most once every 10 s: a scan per event would
    /// cost O(events) each time during a burst).
    fn prune(&mut self, now: Timestamp) {
        let due = self
            .pruned
            .is_none_or(|at| now.duration_since(at).as_secs() >= 10);
        if due {
            let window = k8s_openapi::jiff::SignedDuration::try_from(SERIES_WINDOW)
                .expect("six minutes fit");
            self.by_key.retain(|_, p| p.last + window > now);
            self.pruned = Some(now);
        }
    }

    /// A repeat of `key` when it was published within the window, else a new event.
    fn decide(&mut self, key: u64, object: &str, now: Timestamp) -> Publish {
        self.prune(now);
        match self.by_key.get(&key) {
            Some(p) => Publish::Repeat {
                name: p.name.clone(),
                count: p.count + 1,
            },
            None => Publish::Create {
                name: new_name(object, now),
            },
        }
    }

    fn remember(&mut self, key: u64, name: Box<str>, count: i32, now: Timestamp) {
        self.by_key.insert(
            key,
            Published {
                name,
                count,
                last: now,
            },
        );
    }
}

/// A new event's name, as kube's `Recorder` names it: the object's, then the time.
fn new_name(object: &str, now: Timestamp) -> String {
    format!("{object}.{:x}", now.as_nanosecond())
}

impl Recorder {
    pub fn new(client: Client, reporter: Reporter) -> Self {
        Self {
            client,
            reporter,
            hasher: RandomState::new(),
            recent: Mutex::default(),
        }
    }

    /// Publishes `ev` about `regarding`: a new event, or the next count of the same event
    /// published within [`SERIES_WINDOW`] (whose note is then left as first written, as with
    /// kube's `Recorder`).
    ///
    /// # Errors
    /// The API server's refusal.
    pub async fn publish(
        &self,
        ev: &Event,
        regarding: &ObjectReference,
    ) -> Result<(), kube::Error> {
        let now = Timestamp::now();
        let key = self.key(ev, regarding);
        let object = regarding
            .name
            .as_deref()
            .unwrap_or(&self.reporter.controller);
        let decided = self.lock().decide(key, object, now);
        let ns = regarding.namespace.as_deref().unwrap_or("default");
        let events: Api<K8sEvent> = Api::namespaced(self.client.clone(), ns);
        let (name, count) = match decided {
            Publish::Repeat { name, count } => {
                let series = json!({"series": EventSeries {
                    count,
                    last_observed_time: MicroTime(now),
                }});
                match events
                    .patch(&name, &PatchParams::default(), &Patch::Merge(&series))
                    .await
                {
                    Ok(_) => (name, count),
                    // Events expire (an hour by default): start a new one.
                    Err(kube::Error::Api(s)) if s.code == 404 => {
                        self.create(&events, ev, regarding, new_name(object, now), now)
                            .await?
                    }
                    Err(e) => return Err(e),
                }
            }
            Publish::Create { name } => self.create(&events, ev, regarding, name, now).await?,
        };
        self.lock().remember(key, name, count, now);
        Ok(())
    }

    /// Creates the event `name`: the first of its series.
    async fn create(
        &self,
        events: &Api<K8sEvent>,
        ev: &Event,
        regarding: &ObjectReference,
        name: String,
        now: Timestamp,
    ) -> Result<(Box<str>, i32), kube::Error> {
        let event = self.event(ev, regarding, &name, now);
        events.create(&PostParams::default(), &event).await?;
        Ok((name.into(), 1))
    }

    /// The same fields kube's `Recorder` writes.
    fn event(
        &self,
        ev: &Event,
        regarding: &ObjectReference,
        name: &str,
        now: Timestamp,
    ) -> K8sEvent {
        K8sEvent {
            action: Some(ev.action.clone()),
            reason: Some(ev.reason.clone()),
            event_time: Some(MicroTime(now)),
            regarding: Some(regarding.clone()),
            related: ev.secondary.clone(),
            note: ev.note.clone(),
            metadata: ObjectMeta {
                namespace: regarding.namespace.clone(),
                name: Some(name.to_string()),
                ..Default::default()
            },
            reporting_controller: Some(self.reporter.controller.clone()),
            reporting_instance: Some(
                self.reporter
                    .instance
                    .clone()
                    .unwrap_or_else(|| self.reporter.controller.clone()),
            ),
            type_: Some(
                match ev.type_ {
                    EventType::Normal => "Normal",
                    EventType::Warning => "Warning",
                }
                .into(),
            ),
            ..Default::default()
        }
    }

    /// The hash of kube's event key.
    fn key(&self, ev: &Event, regarding: &ObjectReference) -> u64 {
        let mut h = self.hasher.build_hasher();
        matches!(ev.type_, EventType::Warning).hash(&mut h);
        ev.action.hash(&mut h);
        ev.reason.hash(&mut h);
        ev.secondary.is_some().hash(&mut h);
        for r in std::iter::once(regarding).chain(ev.secondary.as_ref()) {
            r.api_version.hash(&mut h);
            r.kind.hash(&mut h);
            r.name.hash(&mut h);
            r.namespace.hash(&mut h);
            r.uid.hash(&mut h);
        }
        h.finish()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Recent> {
        // A panic while holding the lock leaves a map that is still consistent.
        self.recent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// How many events are remembered for a repeat (for tests).
    pub fn remembered(&self) -> usize {
        self.lock().by_key.len()
    }
}

#[cfg(test)]
#[path = "events_tests.rs"]
mod tests;
