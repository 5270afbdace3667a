//! The password controller (being written).
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::Context;

/// Runs the controller until `shutdown` is cancelled.
pub async fn run(_ctx: Arc<Context>, shutdown: CancellationToken) {
    shutdown.cancelled().await;
}
