//! When each branch resource may next talk to PlanetScale, kept in memory.
//!
//! Every status write triggers another reconcile of the same object; the schedule turns those
//! (and any other event that changes nothing the reconcile depends on) into a requeue without
//! API calls. A change of generation, of the paused annotation, a deletion, or a change of the
//! credentials Secret (see [`Schedule::wake`]) lets the next reconcile through at once.
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// First poll delay while a branch (or its database) is pending.
pub const FIRST_POLL: Duration = Duration::from_secs(2);
/// Longest poll delay while pending.
pub const MAX_POLL: Duration = Duration::from_secs(30);

/// What the next reconcile of an object depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trigger {
    /// `metadata.generation`.
    pub generation: Option<i64>,
    /// Whether the paused annotation is set.
    pub paused: bool,
    /// Whether the object is being deleted.
    pub deleting: bool,
}

#[derive(Debug)]
struct Entry {
    trigger: Trigger,
    not_before: Instant,
    /// Set by [`Schedule::wake`], consumed by the next [`Schedule::wait`]: a wake during a
    /// reconcile is not lost when that reconcile sets the schedule afterwards.
    woken: bool,
    polls: u32,
    created_id: Option<String>,
}

/// Per-object schedule, keyed by `object_key`.
#[derive(Debug, Default)]
pub struct Schedule {
    entries: Mutex<HashMap<String, Entry>>,
}

impl Schedule {
    /// How long to wait before the object may be reconciled again, if nothing it depends on
    /// changed since the schedule was set and it was not woken. Consumes a wake.
    pub fn wait(&self, key: &str, trigger: Trigger) -> Option<Duration> {
        let mut entries = self.entries.lock().expect("lock");
        let e = entries.get_mut(key)?;
        if std::mem::take(&mut e.woken) || e.trigger != trigger {
            return None;
        }
        let left = e.not_before.checked_duration_since(Instant::now())?;
        (!left.is_zero()).then_some(left)
    }

    /// Time left until `not_before` (for the requeue after a failed reconcile).
    pub fn remaining(&self, key: &str) -> Option<Duration> {
        let entries = self.entries.lock().expect("lock");
        let left = entries
            .get(key)?
            .not_before
            .checked_duration_since(Instant::now())?;
        (!left.is_zero()).then_some(left)
    }

    /// No API calls for `after` unless what `trigger` records changes.
    pub fn set(&self, key: &str, trigger: Trigger, after: Duration) {
        let mut entries = self.entries.lock().expect("lock");
        let e = entries.entry(key.to_string()).or_insert_with(|| Entry {
            trigger,
            not_before: Instant::now(),
            woken: false,
            polls: 0,
            created_id: None,
        });
        e.trigger = trigger;
        e.not_before = Instant::now() + after;
    }

    /// The next delay while waiting on PlanetScale: 2 s, 4 s, 8 s, 16 s, then 30 s.
    pub fn next_poll(&self, key: &str) -> Duration {
        let mut entries = self.entries.lock().expect("lock");
        let polls = entries.get(key).map_or(0, |e| e.polls);
        if let Some(e) = entries.get_mut(key) {
            e.polls = e.polls.saturating_add(1);
        }
        poll_delay(polls)
    }

    /// Forget the polling streak (the branch is ready, or a new wait starts).
    pub fn reset_polls(&self, key: &str) {
        if let Some(e) = self.entries.lock().expect("lock").get_mut(key) {
            e.polls = 0;
        }
    }

    /// Lets the next reconcile of `key` through at once (its credentials changed), even if a
    /// reconcile running now sets the schedule after this call — also the first reconcile of
    /// `key`, whose failure sets the schedule only after its status write (a fix made in that
    /// gap must not wait for the slow retry).
    pub fn wake(&self, key: &str) {
        let mut entries = self.entries.lock().expect("lock");
        let e = entries.entry(key.to_string()).or_insert_with(|| Entry {
            trigger: Trigger {
                generation: None,
                paused: false,
                deleting: false,
            },
            not_before: Instant::now(),
            woken: false,
            polls: 0,
            created_id: None,
        });
        e.woken = true;
    }

    /// Remembers the id of a branch just created for `key`, until the status holds it.
    pub fn remember_created(&self, key: &str, id: &str, trigger: Trigger) {
        self.set(key, trigger, Duration::ZERO);
        if let Some(e) = self.entries.lock().expect("lock").get_mut(key) {
            e.created_id = Some(id.to_string());
        }
    }

    /// The id remembered by [`Schedule::remember_created`].
    pub fn created_id(&self, key: &str) -> Option<String> {
        let entries = self.entries.lock().expect("lock");
        entries.get(key).and_then(|e| e.created_id.clone())
    }

    /// Drops everything about `key` (the object is gone).
    pub fn forget(&self, key: &str) {
        self.entries.lock().expect("lock").remove(key);
    }
}

/// Delay of the `n`th poll (from 0): doubling from [`FIRST_POLL`], capped at [`MAX_POLL`].
pub fn poll_delay(n: u32) -> Duration {
    FIRST_POLL.saturating_mul(1 << n.min(8)).min(MAX_POLL)
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Trigger = Trigger {
        generation: Some(1),
        paused: false,
        deleting: false,
    };

    #[test]
    fn polls_back_off_from_2s_to_30s() {
        let got: Vec<u64> = (0..7).map(|n| poll_delay(n).as_secs()).collect();
        assert_eq!(got, vec![2, 4, 8, 16, 30, 30, 30]);
        let s = Schedule::default();
        s.set("k", T, Duration::ZERO);
        assert_eq!(s.next_poll("k"), Duration::from_secs(2));
        assert_eq!(s.next_poll("k"), Duration::from_secs(4));
        s.reset_polls("k");
        assert_eq!(s.next_poll("k"), Duration::from_secs(2));
    }

    #[test]
    fn waits_only_while_nothing_changed() {
        let s = Schedule::default();
        assert_eq!(s.wait("k", T), None, "unknown objects go through");
        s.set("k", T, Duration::from_secs(60));
        assert!(s.wait("k", T).is_some());
        let newer = Trigger {
            generation: Some(2),
            ..T
        };
        assert_eq!(s.wait("k", newer), None, "a spec change goes through");
        let paused = Trigger { paused: true, ..T };
        assert_eq!(s.wait("k", paused), None, "pausing goes through");
        s.wake("k");
        assert_eq!(s.wait("k", T), None, "a credentials change goes through");
        assert!(s.wait("k", T).is_some(), "once");
    }

    #[test]
    fn a_wake_during_a_reconcile_survives_the_schedule_it_sets() {
        let s = Schedule::default();
        s.set("k", T, Duration::from_secs(300));
        s.wake("k"); // the Secret changes while a reconcile runs …
        s.set("k", T, Duration::from_secs(300)); // … which then schedules the slow retry
        assert_eq!(s.wait("k", T), None);
        assert!(
            s.remaining("k").is_some(),
            "remaining() does not consume wakes"
        );
    }

    #[test]
    fn a_wake_before_the_first_schedule_is_kept() {
        let s = Schedule::default();
        s.wake("k"); // the Secret is fixed between the first failure's status write …
        s.set("k", T, Duration::from_secs(300)); // … and its slow retry being scheduled
        assert_eq!(s.wait("k", T), None, "the fix is picked up at once");
        assert!(s.wait("k", T).is_some(), "once");
    }

    #[test]
    fn remembers_created_ids_until_forgotten() {
        let s = Schedule::default();
        s.remember_created("k", "b1", T);
        assert_eq!(s.created_id("k").as_deref(), Some("b1"));
        s.set("k", T, Duration::from_secs(1));
        assert_eq!(s.created_id("k").as_deref(), Some("b1"));
        s.forget("k");
        assert_eq!(s.created_id("k"), None);
    }
}
