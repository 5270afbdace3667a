//! What every reconcile shares: the [`Context`] (Kubernetes client, credentials, metrics,
//! caches, the event recorder and the per-object failure streaks) and its [`Settings`].
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::core::v1::ObjectReference;
use kube::runtime::controller::Action;
use kube::runtime::events::{Event, EventType, Reporter};
use kube::{Client, Resource};

use super::FIELD_MANAGER;
use super::backoff::{SLOW_RETRY, backoff_delay};
use super::target::BRANCH_RESOURCE_WAIT;
use crate::credentials::CredentialsStore;
use crate::error::Error;
use crate::events::Recorder;

/// Settings every controller reads.
#[derive(Clone, Debug)]
pub struct Settings {
    /// How often a Ready resource is compared with PlanetScale.
    pub resync_interval: Duration,
    /// Reconciles running at once per controller.
    pub concurrency: u16,
    /// Namespaces to watch; `None` for all.
    pub namespaces: Option<Vec<String>>,
}

/// Everything a reconcile needs, shared by every controller (one `Arc`).
pub struct Context {
    pub client: Client,
    pub recorder: Recorder,
    pub credentials: CredentialsStore,
    pub settings: Settings,
    /// Reconcile, resource and API metrics served on `/metrics`.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// The caches `/readyz` waits for: every controller registers the store of its kind for
    /// each namespace it watches (`None`: all), see [`crate::stores`].
    pub caches: crate::stores::Stores,
    /// The access policies every pass is checked against before any PlanetScale call.
    pub policies: crate::policy::Policies,
    /// The `resourceVersion` of each object's last status write by the skeleton, which lets a
    /// pass skip its fresh read (see [`super::reconciler`]).
    pub last_writes: super::reconciler::LastWrites,
    /// Webhook deliveries: which databases have healthy deliveries, the hints they carry, and
    /// the databases the reconciles use ([`crate::webhooks`]).
    pub webhooks: Arc<crate::webhooks::Hub>,
    /// The webhook manager's settings; `None` leaves webhooks unmanaged.
    pub webhook_manager: Option<crate::webhooks::manager::ManagerConfig>,
    /// Each object's streak of failed passes (see [`Context::backoff_delay_for`]).
    streaks: Mutex<HashMap<String, Streak>>,
    /// How long an error only a user can fix waits before the next look (`--slow-retry`).
    slow_retry: Duration,
}

impl Context {
    pub fn new(
        client: Client,
        credentials: CredentialsStore,
        settings: Settings,
        metrics: Arc<crate::metrics::Metrics>,
    ) -> Self {
        let reporter = Reporter {
            controller: FIELD_MANAGER.into(),
            instance: crate::config::env::pod_name(),
        };
        credentials.write_backs().count_in(metrics.clone());
        Self {
            recorder: Recorder::new(client.clone(), reporter),
            client,
            credentials,
            settings,
            metrics,
            caches: Default::default(),
            policies: Default::default(),
            last_writes: Default::default(),
            webhooks: Default::default(),
            webhook_manager: None,
            streaks: Mutex::default(),
            slow_retry: SLOW_RETRY,
        }
    }

    /// Retries errors only a user can fix every `slow_retry` instead of [`SLOW_RETRY`].
    pub fn with_slow_retry(mut self, slow_retry: Duration) -> Self {
        self.slow_retry = slow_retry;
        self
    }

    /// How long a resource waits on an error only a user can fix before it looks again.
    pub fn slow_retry(&self) -> Duration {
        self.slow_retry
    }

    /// Publishes an event on `obj`. A failure to publish is logged, never fatal. Notes must
    /// never contain a password, token or connection string.
    pub async fn event<K>(
        &self,
        obj: &K,
        type_: EventType,
        reason: &str,
        action: &str,
        note: String,
    ) where
        K: Resource<DynamicType = ()>,
    {
        let reference: ObjectReference = obj.object_ref(&());
        let ev = Event {
            type_,
            reason: reason.into(),
            note: Some(truncate(note, 1000)),
            action: action.into(),
            secondary: None,
        };
        if let Err(e) = self.recorder.publish(&ev, &reference).await {
            tracing::warn!(reason, error = %e, "could not publish event");
        }
    }

    /// Forgets the failure streak of `key` after a successful reconcile.
    pub fn reset_backoff(&self, key: &str) {
        self.streaks.lock().expect("lock").remove(key);
    }

    /// Requeue after a failed reconcile: exponential backoff with jitter for transient errors
    /// (1 s, 2 s, 4 s … 5 min), the slow retry for errors only a user can fix.
    pub fn backoff(&self, key: &str, err: &Error) -> Action {
        Action::requeue(self.backoff_delay_for(key, err))
    }

    /// The delay [`Context::backoff`] requeues with (and counts the failure the same way), for
    /// controllers that also need the duration itself.
    pub fn backoff_delay_for(&self, key: &str, err: &Error) -> Duration {
        match err {
            // A wait on a resource the operator watches (its watch wakes the waiter) doubles.
            Error::Waiting { retry_after, .. } if *retry_after != BRANCH_RESOURCE_WAIT => {
                *retry_after
            }
            Error::Waiting { .. } => watched_wait(self.streak(key, |s| &mut s.waits)),
            _ if !err.is_transient() => self.slow_retry,
            _ => backoff_delay(self.streak(key, |s| &mut s.failures), rand::random::<f64>()),
        }
    }

    /// Counts one more pass of `key`'s streak (the counter `of` picks) and returns it.
    fn streak(&self, key: &str, of: impl FnOnce(&mut Streak) -> &mut u32) -> u32 {
        let mut streaks = self.streaks.lock().expect("lock");
        let n = of(streaks.entry(key.to_string()).or_default());
        *n = n.saturating_add(1);
        *n
    }
}

/// Consecutive failed passes of one object, until a pass succeeds.
#[derive(Default)]
struct Streak {
    /// Transient failures.
    failures: u32,
    /// Waits on a resource the operator watches ([`watched_wait`]).
    waits: u32,
}

/// Longest wait between safety looks at a resource waiting on one the operator watches.
pub const WATCHED_WAIT_MAX: Duration = Duration::from_secs(300);

/// The wait after the `n`th consecutive pass that found a `PlanetScaleBranch` or
/// `PlanetScaleDatabase` not Ready yet ([`BRANCH_RESOURCE_WAIT`]): 15 s, doubling up to
/// [`WATCHED_WAIT_MAX`]. That resource's watch wakes the waiter as soon as it changes, so the
/// timer is only a safety net. With a fixed 15 s, 10,000 passwords applied beside their
/// branches asked for 600 passes a second while they waited, and a password whose branch had
/// become Ready waited minutes behind that queue (`make bench`, scale setup).
pub fn watched_wait(n: u32) -> Duration {
    BRANCH_RESOURCE_WAIT
        .saturating_mul(1u32 << n.saturating_sub(1).min(16))
        .min(WATCHED_WAIT_MAX)
}

/// `s` cut to at most `max` bytes, on a character boundary.
pub(crate) fn truncate(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wait_on_a_watched_resource_doubles_up_to_five_minutes() {
        let waits: Vec<u64> = (1..=7).map(|n| watched_wait(n).as_secs()).collect();
        assert_eq!(waits, [15, 30, 60, 120, 240, 300, 300]);
        assert_eq!(watched_wait(u32::MAX), WATCHED_WAIT_MAX);
    }

    #[test]
    fn truncate_respects_char_boundaries() {
        assert_eq!(truncate("héllo".into(), 2), "h");
        assert_eq!(truncate("abc".into(), 10), "abc");
    }
}
