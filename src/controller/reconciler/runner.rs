//! Running one kind's controllers: one `Controller` per watched namespace, each calling
//! [`reconcile`] for the objects that changed or were woken, and [`error_policy`] after a
//! failed pass.
use std::sync::Arc;

use futures::StreamExt;
use kube::runtime::controller::{Action, Config as ControllerConfig};
use kube::{Api, Resource, ResourceExt};
use tokio_util::sync::CancellationToken;

use super::{Due, Reconciler, Trigger, pass};
use crate::controller::backoff::object_key;
use crate::error::Error;

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
        .controller(api, crate::stores::watch_config())
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

/// One reconcile as the controller runs it: [`pass`] when it is due (see the schedule).
pub async fn reconcile<R: Reconciler>(obj: Arc<R::Kind>, r: Arc<R>) -> Result<Action, Error> {
    let key = object_key(obj.as_ref());
    let policy_changed = r.context().policies.woken(&key);
    let due = r.schedule().map(|s| s.due(&key, Trigger::of(obj.meta())));
    match due {
        _ if policy_changed => {}
        None | Some(Due::Now) => {}
        Some(Due::After(wait)) => return Ok(Action::requeue(wait)),
        Some(Due::OnChange) => return Ok(Action::await_change()),
    }
    pass(obj.as_ref(), r.as_ref()).await
}

/// After a failed pass: back off per object, tell the kind, requeue.
// The signature is the one `Controller::run` takes.
#[allow(clippy::needless_pass_by_value)]
pub fn error_policy<R: Reconciler>(obj: Arc<R::Kind>, err: &Error, r: Arc<R>) -> Action {
    let (name, namespace) = (obj.name_any(), obj.namespace().unwrap_or_default());
    let reason = err.reason();
    if let Error::Waiting { .. } = err {
        tracing::info!(controller = R::CONTROLLER, %name, %namespace, reason, error = %err, "waiting");
    } else {
        tracing::warn!(controller = R::CONTROLLER, %name, %namespace, reason, error = %err, "reconcile failed");
    }
    let key = object_key(obj.as_ref());
    let retry_in = r.context().backoff_delay_for(&key, err);
    if let Some(s) = r.schedule() {
        s.set(&key, Trigger::of(obj.meta()), Some(retry_in));
    }
    r.failed(&obj, err, retry_in);
    Action::requeue(retry_in)
}
