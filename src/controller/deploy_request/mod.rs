//! The `DeployRequest` controller: opens a PlanetScale deploy request from a branch into its
//! base and takes it as far as the spec allows, every step visible in status.
//!
//! A pass reads top to bottom: [`observe`] (source branch, the deploy request by number or an
//! open one to adopt) → [`plan`] (pure: open, record, or at most one action) → [`act`] (an
//! outcome) → [`status`] (pure, written once, with [`events`]). Deletion is in [`cleanup`].
use std::sync::Arc;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, PartialObjectMeta};
use kube::runtime::controller::{self, Action};
use kube::runtime::finalizer::{Event as FinalizerEvent, finalizer};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher;
use kube::{Resource, ResourceExt};
use tokio_util::sync::CancellationToken;

use super::{Context, apply_status, object_key, watched_apis};
use crate::crd::{DeployRequest, DeployRequestStatus, PlanetScaleBranch, is_paused};
use crate::error::{Error, Result};

mod act;
mod cleanup;
mod conditions;
mod events;
mod observe;
mod plan;
mod ready;
mod status;
mod target;
#[cfg(test)]
mod test_support;

use act::Outcome;

/// The `controller` label of the reconcile metrics.
const CONTROLLER: &str = "deploy_request";
/// Label of this controller's API requests: the rate limiter serves them before the others
/// (`planetscale_api::DEFAULT_HIGH_PRIORITY_CALLERS`), so a cutover never waits behind a burst.
pub const CALLER: &str = "deploy-request-controller";

/// Finalizer that lets the operator close or cancel the deploy request on deletion.
pub const FINALIZER: &str = "planetscale.operator.dev/deploy-request";

/// Runs the controller until `shutdown` is cancelled (one controller per watched namespace).
pub async fn run(ctx: Arc<Context>, shutdown: CancellationToken) {
    let apis = watched_apis::<DeployRequest>(&ctx.client, &ctx.settings.namespaces);
    let branches = watched_apis::<PlanetScaleBranch>(&ctx.client, &ctx.settings.namespaces);
    let secrets = watched_apis::<PartialObjectMeta<Secret>>(&ctx.client, &ctx.settings.namespaces);
    let runs = apis
        .into_iter()
        .zip(branches)
        .zip(secrets)
        .map(|((api, branches), secrets)| {
            run_one(ctx.clone(), api, branches, secrets, shutdown.clone())
        });
    futures::future::join_all(runs).await;
}

async fn run_one(
    ctx: Arc<Context>,
    api: Api<DeployRequest>,
    branches: Api<PlanetScaleBranch>,
    secrets: Api<PartialObjectMeta<Secret>>,
    shutdown: CancellationToken,
) {
    let controller = ctx.caches.controller(api, watcher::Config::default());
    let store = controller.store();
    let (creds_store, creds_ctx) = (store.clone(), ctx.clone());
    let config = controller::Config::default().concurrency(ctx.settings.concurrency);
    controller
        .with_config(config)
        .graceful_shutdown_on(shutdown.cancelled_owned())
        .watches(branches, watcher::Config::default(), move |b| {
            waiting_on(&store, &b)
        })
        // Credentials Secrets (metadata only): a fixed Secret wakes the requests that wait on it.
        .watches(secrets, watcher::Config::default(), move |s| {
            super::waiting_on_credentials(
                &creds_store,
                &creds_ctx,
                &s,
                |d: &DeployRequest| d.spec.credentials_ref.as_ref(),
                |d| super::not_ready(d.status.as_ref().map(|s| s.conditions.as_slice())),
            )
        })
        .run(reconcile, error_policy, ctx)
        .for_each(|result| async move {
            if let Err(e) = result {
                tracing::debug!(error = %e, "deploy request reconcile did not complete");
            }
        })
        .await;
}

/// Deploy requests that wait for `branch` to become Ready before they can be opened.
fn waiting_on(
    store: &Store<DeployRequest>,
    branch: &PlanetScaleBranch,
) -> Vec<ObjectRef<DeployRequest>> {
    store
        .state()
        .iter()
        .filter(|d| d.namespace() == branch.namespace())
        .filter(|d| {
            d.spec
                .branch_ref
                .as_ref()
                .is_some_and(|b| b.name == branch.name_any())
        })
        .filter(|d| d.status.as_ref().and_then(|s| s.number).is_none())
        .map(|d| ObjectRef::from_obj(d.as_ref()))
        .collect()
}

async fn reconcile(obj: Arc<DeployRequest>, ctx: Arc<Context>) -> Result<Action> {
    let _timer = ctx.metrics.reconcile_started(CONTROLLER);
    let ns = obj.namespace().unwrap_or_default();
    let api: Api<DeployRequest> = Api::namespaced(ctx.client.clone(), &ns);
    // The watch cache may lag behind our own status writes: work from a fresh read.
    let Some(fresh) = api.get_opt(&obj.name_any()).await? else {
        return Ok(Action::await_change());
    };
    let key = object_key(obj.as_ref());
    let result = finalizer(&api, FINALIZER, Arc::new(fresh), |event| async {
        match event {
            FinalizerEvent::Apply(o) => apply(&o, &ctx, &api).await,
            FinalizerEvent::Cleanup(o) => cleanup::run(&o, &ctx).await,
        }
    })
    .await
    .map_err(Error::from);
    if result.is_ok() {
        ctx.reset_backoff(&key);
    }
    result
}

fn error_policy(obj: Arc<DeployRequest>, err: &Error, ctx: Arc<Context>) -> Action {
    tracing::warn!(
        name = %obj.name_any(),
        namespace = obj.namespace().unwrap_or_default(),
        reason = err.reason(),
        error = %err,
        "deploy request reconcile failed"
    );
    ctx.metrics.reconcile_failed(CONTROLLER, err.reason());
    ctx.backoff(&object_key(obj.as_ref()), err)
}

/// Apply: sync, and on an error show it in `Ready` before backing off.
async fn apply(obj: &DeployRequest, ctx: &Context, api: &Api<DeployRequest>) -> Result<Action> {
    let current = obj.status.clone().unwrap_or_default();
    if is_paused(&obj.metadata) {
        let paused = status::paused(&current, obj.meta().generation, status::now());
        report(ctx, api, obj, &current, &paused).await?;
        return Ok(Action::await_change());
    }
    match sync(obj, ctx, api, &current).await {
        Ok(action) => Ok(action),
        Err(e) => {
            let failed = status::with_error(
                &current,
                obj.meta().generation,
                e.reason(),
                e.to_string(),
                status::now(),
            );
            if let Err(write) = report(ctx, api, obj, &current, &failed).await {
                tracing::warn!(error = %write, "could not write the deploy request status");
            }
            Err(e)
        }
    }
}

/// Observe → plan → act → status, written once.
async fn sync(
    obj: &DeployRequest,
    ctx: &Context,
    api: &Api<DeployRequest>,
    current: &DeployRequestStatus,
) -> Result<Action> {
    let observed = observe::observe(ctx, obj).await?;
    let plan = plan::plan(&obj.spec, &observed);
    let planned = plan.requeue;
    let outcome = act::act(ctx, obj, observed, plan).await?;
    let generation = obj.meta().generation;
    let new = status::next(current, &obj.spec, generation, &outcome, status::now());
    report(ctx, api, obj, current, &new).await?;
    if let Outcome::Recorded { dr, adopted, .. } = &outcome {
        events::opened(ctx, obj, dr, *adopted).await;
    }
    Ok(outcome
        .requeue(planned)
        .map_or_else(Action::await_change, Action::requeue))
}

/// Writes `new` when it differs from `current`, with events for what changed.
async fn report(
    ctx: &Context,
    api: &Api<DeployRequest>,
    obj: &DeployRequest,
    current: &DeployRequestStatus,
    new: &DeployRequestStatus,
) -> Result<()> {
    if new == current {
        return Ok(());
    }
    apply_status(api, &obj.name_any(), new).await?;
    events::changed(ctx, obj, current, new).await;
    Ok(())
}
