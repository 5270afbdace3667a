//! When each object is next due a pass, kept in memory, for the kinds that keep a schedule
//! ([`Reconciler::schedule`](super::Reconciler::schedule): branches and deploy requests).
//!
//! Every status write of ours triggers another reconcile of the same object, and so do a
//! finalizer added, a label changed, an unrelated watch. The skeleton asks [`Schedule::due`]
//! first; a pass is due when
//!
//! - nothing is remembered of the object (its first pass since the operator started);
//! - what the pass depends on in the object changed since the schedule was set ([`Trigger`]:
//!   the generation, the annotations — the paused one, or any a user sets to make the
//!   operator look now —, a deletion);
//! - something outside the object woke it ([`Schedule::wake`]: a changed credentials Secret,
//!   a branch or database it waits on, the branch poller), or a webhook delivery announced
//!   something the last pass did not see in PlanetScale ([`Schedule::hint`]);
//! - the time the last pass asked for came ([`Schedule::set`]).
//!
//! Otherwise (the pass our own status write triggers, typically) the skeleton requeues the
//! object for the time left, with no call at all.
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Resource;
use kube::runtime::reflector::ObjectRef;

use crate::controller::backoff::object_ref_key;
use crate::crd::common::is_paused;

/// First poll delay of a streak ([`Schedule::next_poll`]).
pub const FIRST_POLL: Duration = Duration::from_secs(2);
/// Longest poll delay of a streak.
pub const MAX_POLL: Duration = Duration::from_secs(30);

/// What a pass depends on in the object itself. Our own writes (the status, the finalizer)
/// change none of it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Trigger {
    /// `metadata.generation`.
    pub generation: Option<i64>,
    /// Whether the paused annotation is set.
    pub paused: bool,
    /// Whether the object is being deleted.
    pub deleting: bool,
    /// A digest of the annotations, how a user speaks to the operator: any change goes
    /// through (`kubectl annotate` makes it look now, e.g. after a fix in PlanetScale).
    /// Labels are for selecting and are not part of it.
    pub annotations: u64,
}

impl Trigger {
    /// The trigger of the object with metadata `meta`.
    pub fn of(meta: &ObjectMeta) -> Self {
        use std::hash::{Hash, Hasher};
        let mut annotations = std::collections::hash_map::DefaultHasher::new();
        meta.annotations.hash(&mut annotations);
        Self {
            generation: meta.generation,
            paused: is_paused(meta),
            deleting: meta.deletion_timestamp.is_some(),
            annotations: annotations.finish(),
        }
    }
}

/// Whether a pass is due ([`Schedule::due`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// Now.
    Now,
    /// After this long, unless something changes or wakes the object first.
    After(Duration),
    /// Only when something changes or wakes the object.
    OnChange,
}

/// Wakes since the last [`Schedule::due`].
#[derive(Debug, Default)]
enum Woken {
    #[default]
    No,
    /// Only by deliveries, which announced these states.
    Announced(Vec<String>),
    /// By something that is news in any case.
    Yes,
}

impl Woken {
    /// Whether these wakes bring anything the last pass did not see (`seen`).
    fn news(&self, seen: Option<&str>) -> bool {
        match self {
            Woken::No => false,
            Woken::Announced(states) => states.iter().any(|s| Some(s.as_str()) != seen),
            Woken::Yes => true,
        }
    }
}

#[derive(Debug, Default)]
struct Entry {
    trigger: Trigger,
    /// `None`: no timer, only a change or a wake.
    not_before: Option<Instant>,
    /// Kept until the next [`Schedule::due`]: a wake during a pass is not lost when that pass
    /// sets the schedule afterwards.
    woken: Woken,
    polls: u32,
    /// What the last pass saw of the object in PlanetScale ([`Schedule::saw`]).
    seen: Option<String>,
}

/// Per-object schedule, keyed by `object_key`.
#[derive(Debug, Default)]
pub struct Schedule {
    entries: Mutex<HashMap<String, Entry>>,
}

impl Schedule {
    /// Whether a pass of `key`, whose object now has `trigger`, is due (see the module).
    /// Consumes the wakes.
    pub fn due(&self, key: &str, trigger: Trigger) -> Due {
        let mut entries = self.lock();
        let Some(e) = entries.get_mut(key) else {
            return Due::Now;
        };
        let woken = std::mem::take(&mut e.woken);
        if e.trigger != trigger || woken.news(e.seen.as_deref()) {
            return Due::Now;
        }
        match e.not_before {
            None => Due::OnChange,
            Some(at) => match at.checked_duration_since(Instant::now()) {
                Some(left) if !left.is_zero() => Due::After(left),
                _ => Due::Now,
            },
        }
    }

    /// No pass for `after` (`None`: until something changes or wakes it) unless what
    /// `trigger` records changes.
    pub fn set(&self, key: &str, trigger: Trigger, after: Option<Duration>) {
        let mut entries = self.lock();
        let e = entry(&mut entries, key);
        e.trigger = trigger;
        e.not_before = after.map(|d| Instant::now() + d);
    }

    /// Lets the next pass of `key` through, even if a pass running now sets the schedule
    /// after this call — also before its first pass set any (a fix made between a first
    /// failure's status write and its slow retry being scheduled must not wait for it).
    pub fn wake(&self, key: &str) {
        entry(&mut self.lock(), key).woken = Woken::Yes;
    }

    /// [`Schedule::wake`] for each object of `refs`; returns them, for a watch's mapper.
    pub fn woken<K: Resource<DynamicType = ()>>(
        &self,
        refs: Vec<ObjectRef<K>>,
    ) -> Vec<ObjectRef<K>> {
        for r in &refs {
            self.wake(&object_ref_key(r));
        }
        refs
    }

    /// A webhook delivery about `key`'s object that shows it in state `shows` (`None`: it
    /// does not say): lets the next pass through unless the last pass already saw that state
    /// ([`Schedule::saw`]) — a delivery of what a pass has just read is no news.
    pub fn hint(&self, key: &str, shows: Option<&str>) {
        let mut entries = self.lock();
        let e = entry(&mut entries, key);
        e.woken = match (std::mem::take(&mut e.woken), shows) {
            (Woken::Yes, _) | (_, None) => Woken::Yes,
            (Woken::No, Some(s)) => Woken::Announced(vec![s.to_string()]),
            (Woken::Announced(mut states), Some(s)) => {
                if !states.iter().any(|x| x == s) {
                    states.push(s.to_string());
                }
                Woken::Announced(states)
            }
        };
    }

    /// The pass of `key` saw its object in PlanetScale in state `state` (as deliveries spell
    /// it for [`Schedule::hint`]).
    pub fn saw(&self, key: &str, state: String) {
        entry(&mut self.lock(), key).seen = Some(state);
    }

    /// The next delay while waiting on PlanetScale: 2 s, 4 s, 8 s, 16 s, then 30 s.
    pub fn next_poll(&self, key: &str) -> Duration {
        let mut entries = self.lock();
        let e = entry(&mut entries, key);
        let delay = poll_delay(e.polls);
        e.polls = e.polls.saturating_add(1);
        delay
    }

    /// Forget the polling streak (the wait is over, or a new one starts).
    pub fn reset_polls(&self, key: &str) {
        if let Some(e) = self.lock().get_mut(key) {
            e.polls = 0;
        }
    }

    /// Drops everything about `key` (the object is gone).
    pub fn forget(&self, key: &str) {
        self.lock().remove(key);
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Entry>> {
        // A panic while holding this lock leaves a map that is still consistent.
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn entry<'a>(entries: &'a mut HashMap<String, Entry>, key: &str) -> &'a mut Entry {
    entries.entry(key.to_string()).or_default()
}

/// Delay of the `n`th poll (from 0): doubling from [`FIRST_POLL`], capped at [`MAX_POLL`].
pub fn poll_delay(n: u32) -> Duration {
    FIRST_POLL.saturating_mul(1 << n.min(8)).min(MAX_POLL)
}

#[cfg(test)]
#[path = "schedule_tests.rs"]
mod tests;
