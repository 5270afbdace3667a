//! The `DeployRequest` controller: opens a PlanetScale deploy request from a branch into its
//! base and takes it as far as the spec allows, every step visible in status.
//!
//! A reconcile reads top to bottom: observe (source branch, the deploy request — read by
//! number, adopted, or opened) → plan (pure, [`plan`]) → act (at most one step, [`act`]) →
//! report (status from [`conditions`] and [`status`], events). Deletion is in [`cleanup`].
use std::sync::Arc;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, PartialObjectMeta};
use kube::runtime::controller::{self, Action};
use kube::runtime::finalizer::{Event as FinalizerEvent, finalizer};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher;
use kube::{Resource, ResourceExt};
use planetscale_api::Client;
use planetscale_api::models::DeployRequest as ApiDeployRequest;
use tokio_util::sync::CancellationToken;

use super::{Context, apply_status, object_key, watched_apis};
use crate::crd::{DeployRequest, DeployRequestStatus, PlanetScaleBranch, is_paused};
use crate::error::{Error, Result};

mod act;
mod cleanup;
mod conditions;
mod events;
mod facts;
mod plan;
mod ready;
mod status;
mod target;
#[cfg(test)]
mod test_support;

use conditions::StepError;
use facts::Facts;
use plan::SLOW_POLL;
use status::Location;

/// The `controller` label of the reconcile metrics.
const CONTROLLER: &str = "deploy_request";
/// Label of this controller's API requests: the rate limiter serves them before the others
/// (`planetscale_api::DEFAULT_HIGH_PRIORITY_CALLERS`), so a cutover never waits behind a burst.
pub const CALLER: &str = "deploy-request-controller";

/// Finalizer that lets the operator close or cancel the deploy request on deletion.
pub use crate::crd::deploy_request::FINALIZER;

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
    let mut current = obj.status.clone().unwrap_or_default();
    if is_paused(&obj.metadata) {
        let paused = status::paused(&current, obj.meta().generation, crate::time::now());
        report(ctx, api, obj, &mut current, paused).await?;
        return Ok(Action::await_change());
    }
    match sync(obj, ctx, api, &mut current).await {
        Ok(action) => Ok(action),
        Err(e) => {
            let failed = status::with_error(
                &current,
                obj.meta().generation,
                e.reason(),
                e.to_string(),
                crate::time::now(),
            );
            if let Err(write) = report(ctx, api, obj, &mut current, failed).await {
                tracing::warn!(error = %write, "could not write the deploy request status");
            }
            Err(e)
        }
    }
}

/// Observe → plan → act → report.
async fn sync(
    obj: &DeployRequest,
    ctx: &Context,
    api: &Api<DeployRequest>,
    current: &mut DeployRequestStatus,
) -> Result<Action> {
    let ns = obj.namespace().unwrap_or_default();
    let client = ctx
        .credentials
        .client_for(&ns, obj.spec.credentials_ref.as_ref())
        .await?
        .with_caller(CALLER);
    let src = target::source(&ctx.client, obj).await?;
    let dr = observe(ctx, &client, obj, api, &src, current).await?;
    let required = !dr.approved && target::approval_required(&client, &src.at).await?;
    let before = facts::approved_before(current);
    let first = plan::plan(&obj.spec, &Facts::new(&dr, required, before));
    let (dr, step_error) = match first.step {
        Some(step) => take_step(ctx, &client, obj, &src.at, dr, step).await?,
        None => (dr, None),
    };
    let facts = Facts::new(&dr, required, before);
    let after = plan::plan(&obj.spec, &facts);
    let refusal = after.refusal.as_deref();
    let conds = conditions::conditions(&obj.spec, &facts, refusal, step_error.as_ref());
    let generation = obj.meta().generation;
    let new = status::build(
        current,
        generation,
        &src.at,
        &dr,
        &facts,
        conds,
        crate::time::now(),
    );
    report(ctx, api, obj, current, new).await?;
    Ok(match (first.step, step_error) {
        (Some(_), Some(_)) => Action::requeue(SLOW_POLL),
        (Some(_), None) => Action::requeue(plan::QUICK_POLL),
        (None, _) => after
            .poll
            .interval()
            .map_or_else(Action::await_change, Action::requeue),
    })
}

/// Takes `step`; on success re-reads the deploy request, on a refusal a user must look at
/// returns it as a [`StepError`] (transient failures are errors, retried with backoff).
async fn take_step(
    ctx: &Context,
    client: &Client,
    obj: &DeployRequest,
    at: &Location,
    dr: ApiDeployRequest,
    step: plan::Step,
) -> Result<(ApiDeployRequest, Option<StepError>)> {
    match act::perform(ctx, client, obj, at, dr.number, step).await {
        Ok(()) => {
            let dr = client
                .get_deploy_request(&at.org, &at.db, dr.number)
                .await?;
            Ok((dr, None))
        }
        Err(e) => {
            let refused = act::classify(step, dr.number, e)?;
            Ok((dr, Some(refused)))
        }
    }
}

/// The deploy request of `obj`: by number, adopted (an open one for the same branches), or
/// opened now. A new number is written to status right away.
async fn observe(
    ctx: &Context,
    client: &Client,
    obj: &DeployRequest,
    api: &Api<DeployRequest>,
    src: &target::Source,
    current: &mut DeployRequestStatus,
) -> Result<ApiDeployRequest> {
    if current.number.is_some() {
        let dr = target::existing(client, src, current.number, None).await?;
        return dr.ok_or_else(|| Error::Invalid {
            reason: "NotFound",
            message: "deploy request vanished".into(),
        });
    }
    let into = target::into_branch(client, src, obj.spec.into_branch.as_deref()).await?;
    let (dr, adopted) = match target::existing(client, src, None, Some(&into)).await? {
        Some(dr) => (dr, true),
        None => (target::open(client, src, &into, obj).await?, false),
    };
    let mut recorded = current.clone();
    record(&mut recorded, &src.at, &dr);
    report(ctx, api, obj, current, recorded).await?;
    events::opened(ctx, obj, &dr, adopted).await;
    Ok(dr)
}

/// Identity fields of `dr` into `status`.
fn record(status: &mut DeployRequestStatus, at: &Location, dr: &ApiDeployRequest) {
    status.number = i64::try_from(dr.number).ok();
    status.id = Some(dr.id.clone());
    status.html_url = dr.html_url.clone();
    status.organization = Some(at.org.clone());
    status.database = Some(at.db.clone());
    status.branch = Some(dr.branch.clone());
    status.into_branch = Some(dr.into_branch.clone());
    status.state = dr.state.as_ref().map(|s| s.as_str().to_string());
    status.deployment_state = dr.deployment_state.as_ref().map(|s| s.as_str().to_string());
}

/// Writes `new` when it differs from `current` (then `current` becomes `new`), with events for
/// what changed.
async fn report(
    ctx: &Context,
    api: &Api<DeployRequest>,
    obj: &DeployRequest,
    current: &mut DeployRequestStatus,
    new: DeployRequestStatus,
) -> Result<()> {
    if new == *current {
        return Ok(());
    }
    apply_status(api, &obj.name_any(), &new).await?;
    events::changed(ctx, obj, current, &new).await;
    *current = new;
    Ok(())
}
