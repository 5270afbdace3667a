//! Counters of API traffic for the operator's metrics, without depending on a metrics crate.
//!
//! Two ways to read them: [`ApiMetrics::snapshot`] (pull), or an [`Observer`] registered on the
//! client builder that is called on every event (push, e.g. into prometheus-client).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Status label for an attempt that got no HTTP response because it timed out.
pub const STATUS_TIMEOUT: &str = "timeout";
/// Status label for an attempt that got no HTTP response because the connection failed.
pub const STATUS_TRANSPORT: &str = "transport";

/// Receives every client event. All methods have empty defaults.
pub trait Observer: Send + Sync {
    /// One HTTP attempt finished. `status` is the HTTP status (`"200"`, `"429"`) or
    /// [`STATUS_TIMEOUT`] / [`STATUS_TRANSPORT`].
    fn request(&self, _operation: &'static str, _status: &str, _elapsed: Duration) {}
    /// A request waited for the rate limiter.
    fn throttled(&self, _operation: &'static str, _waited: Duration) {}
    /// A failed attempt is being retried; `reason` is [`crate::Error::reason`].
    fn retry(&self, _operation: &'static str, _reason: &'static str) {}
    /// An OAuth token refresh finished.
    fn token_refresh(&self, _success: bool) {}
}

/// Built-in counters, shared by clients through an `Arc`.
#[derive(Debug, Default)]
pub struct ApiMetrics {
    requests: Mutex<BTreeMap<(&'static str, String), u64>>,
    throttled_waits: AtomicU64,
    throttled_micros: AtomicU64,
    retries: AtomicU64,
    token_refreshes: AtomicU64,
    token_refresh_failures: AtomicU64,
}

/// Requests counted for one `(operation, status)` pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestCount {
    /// Operation name, e.g. `create_password`.
    pub operation: &'static str,
    /// HTTP status or [`STATUS_TIMEOUT`] / [`STATUS_TRANSPORT`].
    pub status: String,
    /// Number of attempts.
    pub count: u64,
}

/// A copy of the counters at one moment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetricsSnapshot {
    /// Attempts by operation and status, sorted.
    pub requests: Vec<RequestCount>,
    /// How many requests had to wait for the rate limiter.
    pub throttled_waits: u64,
    /// Total time spent waiting for the rate limiter.
    pub throttled_time: Duration,
    /// How many attempts were retried.
    pub retries: u64,
    /// Successful OAuth token refreshes.
    pub token_refreshes: u64,
    /// Failed OAuth token refreshes.
    pub token_refresh_failures: u64,
}

impl MetricsSnapshot {
    /// Attempts for one operation and status (0 when none).
    pub fn count(&self, operation: &str, status: &str) -> u64 {
        self.requests
            .iter()
            .find(|r| r.operation == operation && r.status == status)
            .map_or(0, |r| r.count)
    }

    /// Attempts for one operation, any status.
    pub fn count_operation(&self, operation: &str) -> u64 {
        self.requests
            .iter()
            .filter(|r| r.operation == operation)
            .map(|r| r.count)
            .sum()
    }

    /// All attempts.
    pub fn total_requests(&self) -> u64 {
        self.requests.iter().map(|r| r.count).sum()
    }
}

impl ApiMetrics {
    /// Empty counters.
    pub fn new() -> Self {
        Self::default()
    }

    /// A copy of the current counters.
    pub fn snapshot(&self) -> MetricsSnapshot {
        let requests = self
            .requests
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        MetricsSnapshot {
            requests: requests
                .iter()
                .map(|((operation, status), count)| RequestCount {
                    operation,
                    status: status.clone(),
                    count: *count,
                })
                .collect(),
            throttled_waits: self.throttled_waits.load(Ordering::Relaxed),
            throttled_time: Duration::from_micros(self.throttled_micros.load(Ordering::Relaxed)),
            retries: self.retries.load(Ordering::Relaxed),
            token_refreshes: self.token_refreshes.load(Ordering::Relaxed),
            token_refresh_failures: self.token_refresh_failures.load(Ordering::Relaxed),
        }
    }
}

impl Observer for ApiMetrics {
    fn request(&self, operation: &'static str, status: &str, _elapsed: Duration) {
        let mut requests = self
            .requests
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *requests.entry((operation, status.to_owned())).or_default() += 1;
    }

    fn throttled(&self, _operation: &'static str, waited: Duration) {
        self.throttled_waits.fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(waited.as_micros()).unwrap_or(u64::MAX);
        self.throttled_micros.fetch_add(micros, Ordering::Relaxed);
    }

    fn retry(&self, _operation: &'static str, _reason: &'static str) {
        self.retries.fetch_add(1, Ordering::Relaxed);
    }

    fn token_refresh(&self, success: bool) {
        let counter = if success {
            &self.token_refreshes
        } else {
            &self.token_refresh_failures
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// The built-in counters plus an optional caller observer: every event goes to both.
#[derive(Clone, Default)]
pub(crate) struct Events {
    pub(crate) metrics: Arc<ApiMetrics>,
    pub(crate) observer: Option<Arc<dyn Observer>>,
}

impl Events {
    /// Calls `event` on the counters and on the observer.
    pub(crate) fn emit(&self, event: impl Fn(&dyn Observer)) {
        event(&*self.metrics);
        if let Some(observer) = &self.observer {
            event(&**observer);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_accumulate_by_operation_and_status() {
        let metrics = ApiMetrics::new();
        metrics.request("get_branch", "200", Duration::ZERO);
        metrics.request("get_branch", "200", Duration::ZERO);
        metrics.request("get_branch", STATUS_TIMEOUT, Duration::ZERO);
        metrics.request("create_password", "201", Duration::ZERO);
        metrics.throttled("get_branch", Duration::from_millis(5));
        metrics.retry("get_branch", "Timeout");
        metrics.token_refresh(true);
        metrics.token_refresh(false);
        let snap = metrics.snapshot();
        assert_eq!(snap.count("get_branch", "200"), 2);
        assert_eq!(snap.count_operation("get_branch"), 3);
        assert_eq!(snap.total_requests(), 4);
        assert_eq!(snap.count("delete_branch", "204"), 0);
        assert_eq!(
            (snap.throttled_waits, snap.throttled_time),
            (1, Duration::from_millis(5))
        );
        assert_eq!(
            (
                snap.retries,
                snap.token_refreshes,
                snap.token_refresh_failures
            ),
            (1, 1, 1)
        );
    }
}
