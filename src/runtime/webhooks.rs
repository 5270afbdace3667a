//! Starting the webhook receiver and configuring the manager from the `--webhook-*` flags.
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::config::RunArgs;
use crate::controller::Context;
use crate::metrics::Metrics;
use crate::webhooks::manager::ManagerConfig;
use crate::webhooks::server::WebhookServer;
use crate::webhooks::{Hub, server};

/// The running receiver.
pub(super) struct Receiver {
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    stop: CancellationToken,
}

/// Binds the receiver when `--webhook-addr` is set and, with `--webhook-public-url`, hands
/// the manager its settings.
pub(super) async fn start(
    args: &RunArgs,
    ctx: &mut Context,
    metrics: &Arc<Metrics>,
) -> anyhow::Result<Option<Receiver>> {
    let w = &args.webhooks;
    ctx.webhooks = Arc::new(Hub::new(w.webhook_healthy_window));
    let Some(addr) = w.webhook_addr else {
        return Ok(None);
    };
    let receiver = WebhookServer::bind(addr, ctx.webhooks.clone(), metrics.webhooks.clone())
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen for webhooks on {addr}: {e}"))?;
    tracing::info!(addr = %receiver.local_addr()?, path = server::PATH, "receiving PlanetScale webhooks");
    ctx.webhook_manager = w
        .webhook_public_url
        .clone()
        .map(|public_url| ManagerConfig {
            public_url,
            secret: (args.operator_namespace.clone(), w.webhook_secret.clone()),
            test_interval: w.webhook_test_interval,
            rotate_after: w.webhook_rotate_after,
            unused_after: args.resync_interval * 2,
            sync_interval: w.webhook_sync_interval,
        });
    let stop = CancellationToken::new();
    let task = tokio::spawn(receiver.run(stop.clone()));
    Ok(Some(Receiver { task, stop }))
}

/// Stops the receiver, if it runs.
pub(super) async fn stop(receiver: Option<Receiver>) {
    let Some(r) = receiver else { return };
    r.stop.cancel();
    match r.task.await {
        Ok(Err(e)) => tracing::warn!(error = %e, "webhook receiver failed"),
        Err(e) => tracing::warn!(error = %e, "webhook receiver task failed"),
        Ok(Ok(())) => {}
    }
}
