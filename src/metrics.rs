//! Prometheus metrics served on `/metrics` (OpenMetrics text format).
//!
//! One [`Metrics`] per process, shared in an `Arc` by the controllers (reconciles, failures,
//! durations, resources by Ready status), the leader elector (leader gauge) and the PlanetScale
//! API client (requests, retries, rate-limit waits, token refreshes). Every label value that a
//! caller passes is a `&'static str` or an HTTP status, so the number of series stays bounded:
//! error texts never become labels, only their stable reason.
//!
//! Series (all prefixed `planetscale_operator_`):
//!
//! | series | type | labels |
//! |---|---|---|
//! | `reconciles_total` | counter | `controller` |
//! | `reconcile_failures_total` | counter | `controller`, `reason` |
//! | `reconcile_duration_seconds` | histogram | `controller` |
//! | `api_requests_total` | counter | `operation`, `status` |
//! | `api_request_duration_seconds` | histogram | `operation` |
//! | `api_retries_total` | counter | `operation`, `reason` |
//! | `api_rate_limit_wait_seconds` | histogram | — |
//! | `api_token_refreshes_total` | counter | `result` (`success` \| `failure`) |
//! | `credentials_write_back_failures_total` | counter | `secret` (`namespace/name` of an OAuth credentials Secret the refreshed tokens could not be written to) |
//! | `resources` | gauge | `kind`, `ready` (`True` \| `False` \| `Unknown`); counted from the running controllers' caches at every scrape, 0 on a standby |
//! | `leader` | gauge | — (1 on the replica that holds the lease) |
//! | `webhook_deliveries_total` | counter | `result` (`accepted`, `unsigned`, `bad_signature`, `stale`, `replay`, `too_large`, `malformed`, `unknown_database`) |
//! | `webhook_databases` | gauge | `mode` (`webhooks` \| `polling`) |
use std::time::{Duration, Instant};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

/// Prefix of every series name.
pub const PREFIX: &str = "planetscale_operator";

/// `Content-Type` of [`Metrics::encode`]'s output.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Upper bounds (seconds) of the reconcile and API request duration buckets.
const DURATION_BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];
/// Upper bounds (seconds) of the rate-limit wait buckets.
const WAIT_BUCKETS: [f64; 9] = [0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ControllerLabels {
    controller: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FailureLabels {
    controller: &'static str,
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    operation: &'static str,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabels {
    operation: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RetryLabels {
    operation: &'static str,
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SecretLabels {
    secret: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResourceLabels {
    kind: &'static str,
    ready: &'static str,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

fn duration_histogram() -> Histogram {
    Histogram::new(DURATION_BUCKETS)
}

/// How many resources of one kind have each `Ready` status; see [`Metrics::set_resources`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReadyCounts {
    /// `Ready=True`.
    pub ready: i64,
    /// `Ready=False`.
    pub not_ready: i64,
    /// No `Ready` condition yet, or `Ready=Unknown`.
    pub unknown: i64,
}

/// The operator's metrics registry. Create one, wrap it in an `Arc`, hand clones to every part.
pub struct Metrics {
    registry: Registry,
    reconciles: Family<ControllerLabels, Counter>,
    failures: Family<FailureLabels, Counter>,
    reconcile_duration: HistogramFamily<ControllerLabels>,
    api_requests: Family<RequestLabels, Counter>,
    api_duration: HistogramFamily<OperationLabels>,
    api_retries: Family<RetryLabels, Counter>,
    rate_limit_wait: Histogram,
    token_refreshes: Family<ResultLabels, Counter>,
    write_back_failures: Family<SecretLabels, Counter>,
    resources: Family<ResourceLabels, Gauge>,
    leader: Gauge,
    /// Webhook deliveries and modes.
    pub webhooks: crate::webhooks::WebhookMetrics,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A registry with every series registered (families start empty).
    pub fn new() -> Self {
        let mut m = Self {
            registry: Registry::with_prefix(PREFIX),
            reconciles: Family::default(),
            failures: Family::default(),
            reconcile_duration: Family::new_with_constructor(duration_histogram),
            api_requests: Family::default(),
            api_duration: Family::new_with_constructor(duration_histogram),
            api_retries: Family::default(),
            rate_limit_wait: Histogram::new(WAIT_BUCKETS),
            token_refreshes: Family::default(),
            write_back_failures: Family::default(),
            resources: Family::default(),
            leader: Gauge::default(),
            webhooks: Default::default(),
        };
        m.register();
        // Both results exist from the start, so that `increase(…{result="failure"}[30m])`
        // alerts work before the first refresh (and without OAuth they stay 0).
        for result in ["success", "failure"] {
            let _ = m.token_refreshes.get_or_create(&ResultLabels { result });
        }
        m
    }

    fn register(&mut self) {
        let r = &mut self.registry;
        r.register(
            "reconciles",
            "Reconciles started, by controller",
            self.reconciles.clone(),
        );
        r.register(
            "reconcile_failures",
            "Reconciles that ended in an error, by controller and reason",
            self.failures.clone(),
        );
        r.register_with_unit(
            "reconcile_duration",
            "Time spent in one reconcile, by controller",
            Unit::Seconds,
            self.reconcile_duration.clone(),
        );
        r.register(
            "api_requests",
            "PlanetScale API HTTP attempts, by operation and HTTP status (or timeout/transport)",
            self.api_requests.clone(),
        );
        r.register_with_unit(
            "api_request_duration",
            "Duration of PlanetScale API HTTP attempts, by operation",
            Unit::Seconds,
            self.api_duration.clone(),
        );
        r.register(
            "api_retries",
            "Retried PlanetScale API attempts, by operation and reason",
            self.api_retries.clone(),
        );
        r.register_with_unit(
            "api_rate_limit_wait",
            "Time requests waited for the client-side PlanetScale API rate limit",
            Unit::Seconds,
            self.rate_limit_wait.clone(),
        );
        r.register(
            "api_token_refreshes",
            "OAuth token refreshes, by result",
            self.token_refreshes.clone(),
        );
        r.register(
            "credentials_write_back_failures",
            "OAuth token write-backs that failed, by credentials Secret (namespace/name)",
            self.write_back_failures.clone(),
        );
        r.register(
            "resources",
            "Custom resources by kind and Ready status",
            self.resources.clone(),
        );
        r.register(
            "leader",
            "1 when this replica holds the leader lease (or leader election is off)",
            self.leader.clone(),
        );
        self.webhooks.register(r);
    }

    /// Counts a reconcile of `controller` and returns a guard that records its duration when
    /// dropped (also on early return or panic).
    pub fn reconcile_started(&self, controller: &'static str) -> ReconcileTimer {
        let labels = ControllerLabels { controller };
        self.reconciles.get_or_create(&labels).inc();
        ReconcileTimer {
            histogram: self.reconcile_duration.get_or_create_owned(&labels),
            started: Instant::now(),
        }
    }

    /// Counts a reconcile of `controller` that failed with the error's stable `reason`.
    pub fn reconcile_failed(&self, controller: &'static str, reason: &'static str) {
        self.failures
            .get_or_create(&FailureLabels { controller, reason })
            .inc();
    }

    /// Records one PlanetScale API HTTP attempt. `status` is the HTTP status (`"200"`, `"429"`)
    /// or `"timeout"` / `"transport"` when there was no response.
    pub fn observe_api_request(&self, operation: &'static str, status: &str, elapsed: Duration) {
        let labels = RequestLabels {
            operation,
            status: status.to_owned(),
        };
        self.api_requests.get_or_create(&labels).inc();
        self.api_duration
            .get_or_create(&OperationLabels { operation })
            .observe(elapsed.as_secs_f64());
    }

    /// Records a request that waited `waited` for the client-side rate limiter.
    pub fn observe_rate_limit_wait(&self, waited: Duration) {
        self.rate_limit_wait.observe(waited.as_secs_f64());
    }

    /// Records an API attempt that is retried because of `reason` (the API error's reason).
    pub fn observe_api_retry(&self, operation: &'static str, reason: &'static str) {
        self.api_retries
            .get_or_create(&RetryLabels { operation, reason })
            .inc();
    }

    /// Records an OAuth token refresh.
    pub fn observe_token_refresh(&self, success: bool) {
        let result = if success { "success" } else { "failure" };
        self.token_refreshes
            .get_or_create(&ResultLabels { result })
            .inc();
    }

    /// Records a failed write-back of refreshed OAuth tokens to Secret `secret`
    /// (`namespace/name`; one series per credentials Secret, so the set stays bounded).
    pub fn observe_write_back_failure(&self, secret: &str) {
        let secret = secret.to_owned();
        self.write_back_failures
            .get_or_create(&SecretLabels { secret })
            .inc();
    }

    /// Sets how many resources of `kind` are Ready, not Ready and unknown (all three series, so
    /// a status that no resource has any more drops to 0).
    pub fn set_resources(&self, kind: &'static str, counts: ReadyCounts) {
        for (ready, n) in [
            ("True", counts.ready),
            ("False", counts.not_ready),
            ("Unknown", counts.unknown),
        ] {
            self.resources
                .get_or_create(&ResourceLabels { kind, ready })
                .set(n);
        }
    }

    /// Sets the leader gauge.
    pub fn set_leader(&self, leader: bool) {
        self.leader.set(i64::from(leader));
    }

    /// The whole registry in the OpenMetrics text format (see [`CONTENT_TYPE`]).
    pub fn encode(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String cannot fail");
        out
    }
}

/// Feeds the PlanetScale API client's events into the registry: register an `Arc<Metrics>`
/// with `planetscale_api::ClientBuilder::observer`.
impl planetscale_api::Observer for Metrics {
    fn request(&self, operation: &'static str, status: &str, elapsed: Duration) {
        self.observe_api_request(operation, status, elapsed);
    }

    fn throttled(&self, _operation: &'static str, waited: Duration) {
        self.observe_rate_limit_wait(waited);
    }

    fn retry(&self, operation: &'static str, reason: &'static str) {
        self.observe_api_retry(operation, reason);
    }

    fn token_refresh(&self, success: bool) {
        self.observe_token_refresh(success);
    }
}

/// Records the duration of one reconcile when dropped; see [`Metrics::reconcile_started`].
#[must_use = "the duration is recorded when the guard is dropped"]
#[derive(Debug)]
pub struct ReconcileTimer {
    histogram: Histogram,
    started: Instant,
}

impl Drop for ReconcileTimer {
    fn drop(&mut self) {
        self.histogram.observe(self.started.elapsed().as_secs_f64());
    }
}

#[cfg(test)]
mod tests;
