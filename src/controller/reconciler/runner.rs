//! Running one kind's controllers: one `Controller` per watched namespace.
use std::sync::Arc;

use futures::StreamExt;
use kube::Api;
use kube::runtime::controller::Config as ControllerConfig;
use kube::runtime::watcher;
use tokio_util::sync::CancellationToken;

use super::{Reconciler, error_policy, reconcile};

/// Runs the controller of `R` until `shutdown` is cancelled: one `Controller` per watched
/// namespace (or one for all), each with the kind's own watches.
pub async fn run<R: Reconciler>(r: Arc<R>, shutdown: CancellationToken) {
    let namespaces: Vec<Option<String>> = match &r.context().settings.namespaces {
        None => vec![None],
        Some(list) => list.iter().cloned().map(Some).collect(),
    };
    let runs = namespaces
        .into_iter()
        .map(|ns| run_one(r.clone(), ns, shutdown.clone()));
    futures::future::join_all(runs).await;
}

async fn run_one<R: Reconciler>(r: Arc<R>, namespace: Option<String>, shutdown: CancellationToken) {
    let ctx = r.context();
    let api: Api<R::Kind> = match &namespace {
        None => Api::all(ctx.client.clone()),
        Some(ns) => Api::namespaced(ctx.client.clone(), ns),
    };
    let config = ControllerConfig::default().concurrency(ctx.settings.concurrency);
    let controller = ctx
        .caches
        .controller(api, watcher::Config::default())
        .with_config(config);
    // A policy change wakes the objects whose verdict it changed, no other.
    let wakes = ctx.policies.wakes(ctx.client.clone(), controller.store());
    let controller = controller.reconcile_on(wakes);
    r.watches(controller, namespace.as_deref())
        .graceful_shutdown_on(shutdown.cancelled_owned())
        .run(reconcile::<R>, error_policy::<R>, r.clone())
        .for_each(|result| {
            if let Err(e) = result {
                tracing::debug!(controller = R::CONTROLLER, error = %e, "reconcile did not complete");
            }
            std::future::ready(())
        })
        .await;
}
