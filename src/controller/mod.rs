//! The controllers, one folder per kind, all on one skeleton ([`reconciler`]); and what they
//! share, one file per concern: the [`context`] of every reconcile, [`backoff`] timing, what
//! they [`watch`], status [`write`]s.
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

pub mod backoff;
pub mod branch;
pub mod context;
pub mod credentials_in_use;
pub mod deploy_request;
pub mod password;
pub mod planetscale;
pub mod reconciler;
pub mod snapshot;
pub mod watch;
pub mod write;

pub use backoff::{MAX_BACKOFF, SLOW_RETRY, backoff_delay, object_key, object_ref_key};
pub use context::{Context, Settings};
pub use watch::{not_ready, trim_metadata, waiting_on_credentials, watched_apis};
pub use write::apply_status;

/// Field manager of every write the operator makes.
pub const FIELD_MANAGER: &str = "planetscale-operator";
/// Label on every Secret the operator manages (so its Secret watch sees only those).
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
/// Value of [`MANAGED_BY_LABEL`].
pub const MANAGED_BY_VALUE: &str = "planetscale-operator";

/// Runs every controller, and the finalizer on the credentials Secrets in use, until
/// `shutdown` is cancelled; returns when all have stopped.
pub async fn run_all(ctx: Arc<Context>, shutdown: CancellationToken) {
    let changes = ctx.caches.subscribe();
    tokio::join!(
        branch::run(ctx.clone(), shutdown.clone()),
        password::run(ctx.clone(), shutdown.clone()),
        deploy_request::run(ctx.clone(), shutdown.clone()),
        credentials_in_use::run(ctx, changes, shutdown),
    );
}

/// A PlanetScale time as a Kubernetes `Time`, truncated to whole seconds: `Time` serialises
/// with second precision, so a sub-second value would never compare equal to what the API
/// server stores, and every resync would rewrite an unchanged status.
pub fn k8s_time(
    t: chrono::DateTime<chrono::Utc>,
) -> k8s_openapi::apimachinery::pkg::apis::meta::v1::Time {
    let ts = k8s_openapi::jiff::Timestamp::from_second(t.timestamp())
        .unwrap_or(k8s_openapi::jiff::Timestamp::UNIX_EPOCH);
    k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(ts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn k8s_time_survives_a_round_trip_through_the_api_server() {
        let t = chrono::DateTime::parse_from_rfc3339("2026-11-28T12:34:56.789Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let time = k8s_time(t);
        let json = serde_json::to_value(&time).unwrap();
        assert_eq!(json, "2026-11-28T12:34:56Z");
        let back: k8s_openapi::apimachinery::pkg::apis::meta::v1::Time =
            serde_json::from_value(json).unwrap();
        assert_eq!(
            back, time,
            "an unchanged status must compare equal after a round trip"
        );
    }
}
