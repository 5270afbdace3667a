//! The controllers, one folder per kind, all on one skeleton ([`reconciler`]); and what they
//! share, one file per concern: the [`context`] of every reconcile, [`backoff`] timing, what
//! they [`watch`], status [`write`](mod@write)s.
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

pub mod adoption;
pub mod backoff;
pub mod backup;
pub mod branch;
pub mod context;
pub mod credentials_in_use;
pub mod database;
pub mod deletion;
pub mod deploy_request;
pub mod password;
pub mod planetscale;
pub mod readiness;
pub mod reconciler;
pub mod snapshot;
pub mod target;
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
        ctx.policies.run(ctx.client.clone(), shutdown.clone()),
        branch::run(ctx.clone(), shutdown.clone()),
        password::run(ctx.clone(), shutdown.clone()),
        deploy_request::run(ctx.clone(), shutdown.clone()),
        database::run(ctx.clone(), shutdown.clone()),
        backup::run(ctx.clone(), shutdown.clone()),
        credentials_in_use::run(ctx.clone(), changes, shutdown.clone()),
        manage_webhooks(ctx.clone(), shutdown),
    );
}

/// The webhook manager, when configured (it runs on the leader, like the controllers).
async fn manage_webhooks(ctx: Arc<Context>, shutdown: CancellationToken) {
    if let Some(cfg) = ctx.webhook_manager.clone() {
        let kube = ctx.client.clone();
        crate::webhooks::manager::run(ctx.webhooks.clone(), kube, cfg, shutdown).await;
    }
}
