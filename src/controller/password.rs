//! The `PlanetScalePassword` controller: a branch password whose plaintext lives only in a
//! Secret, created crash-safely, renewed, rotated without downtime, healed when the Secret is
//! lost or edited, and deleted with the resource.
//!
//! A reconcile reads top to bottom: read the resource fresh → [`apply::apply`] (observe →
//! [`plan::plan`], pure → act: [`mint`], [`upkeep`], [`restart`]) → report ([`status`]).
//! Deletion is [`cleanup`]. Deadlines (renewal, rotation, grace periods) are measured with
//! PlanetScale's clock (`planetscale_api::Client::server_now`).
//!
//! API budget: a Ready password costs no API call between resyncs (reconciles triggered by our
//! own writes plan from the last view of the password, [`cache`]), and at a resync its
//! database's passwords share one paged list; creating one costs a create (plus a list only
//! when an earlier attempt may have created it, [`mint`]).
//!
//! Watches: the resources, the `PlanetScaleBranch`es they reference, and only the Secrets
//! labelled `app.kubernetes.io/managed-by=planetscale-operator` (metadata), so memory does not
//! grow with the cluster's other Secrets.
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use k8s_openapi::api::core::v1::Secret;
use kube::api::PartialObjectMeta;
use kube::runtime::controller::{Action, Config as ControllerConfig};
use kube::runtime::finalizer::{Event as FinalizerEvent, finalizer};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher;
use kube::{Api, ResourceExt};
use tokio_util::sync::CancellationToken;

use super::{Context, MANAGED_BY_LABEL, MANAGED_BY_VALUE, object_key, watched_apis};
use crate::crd::branch::PlanetScaleBranch;
use crate::crd::conditions::{READY, find_condition, is_condition_true};
use crate::crd::is_paused;
use crate::crd::password::PlanetScalePassword;
use crate::error::Error;
use crate::metrics::ReadyCounts;

pub mod apply;
pub mod cache;
pub mod cleanup;
pub mod mint;
pub mod observe;
pub mod plan;
#[cfg(test)]
mod plan_tests;
pub mod restart;
pub mod run;
pub mod secret;
pub mod status;
pub mod target;
pub mod upkeep;

use cache::Caches;
use run::Run;

/// Finalizer on every `PlanetScalePassword`: its passwords are deleted before it goes.
pub use crate::crd::password::FINALIZER;
/// Controller name in metrics.
const CONTROLLER: &str = "password";
/// The `kind` label of the resources gauge.
const KIND: &str = "PlanetScalePassword";

/// What every reconcile of this controller gets: the shared context and the controller's
/// caches (one set for every watched namespace).
pub struct Shared {
    pub ctx: Arc<Context>,
    pub caches: Caches,
}

/// Runs the controller until `shutdown` is cancelled: one `Controller` per watched namespace.
pub async fn run(ctx: Arc<Context>, shutdown: CancellationToken) {
    let ns = &ctx.settings.namespaces;
    let passwords = watched_apis::<PlanetScalePassword>(&ctx.client, ns);
    let branches = watched_apis::<PlanetScaleBranch>(&ctx.client, ns);
    let secrets = watched_apis::<PartialObjectMeta<Secret>>(&ctx.client, ns);
    let stores = Stores::default();
    let shared = Arc::new(Shared {
        ctx: ctx.clone(),
        caches: Caches::default(),
    });
    let runs = passwords
        .into_iter()
        .zip(branches)
        .zip(secrets)
        .map(|((p, b), s)| run_one(shared.clone(), p, b, s, stores.clone(), shutdown.clone()));
    futures::future::join_all(runs).await;
}

/// The caches of every watched namespace, for the resources gauge.
type Stores = Arc<Mutex<Vec<Store<PlanetScalePassword>>>>;

async fn run_one(
    shared: Arc<Shared>,
    api: Api<PlanetScalePassword>,
    branches: Api<PlanetScaleBranch>,
    secrets: Api<PartialObjectMeta<Secret>>,
    stores: Stores,
    shutdown: CancellationToken,
) {
    let ctx = shared.ctx.clone();
    let config = ControllerConfig::default().concurrency(ctx.settings.concurrency);
    let controller = ctx
        .caches
        .controller(api, watcher::Config::default())
        .with_config(config);
    let store = controller.store();
    stores.lock().expect("lock").push(store.clone());
    let managed =
        watcher::Config::default().labels(&format!("{MANAGED_BY_LABEL}={MANAGED_BY_VALUE}"));
    let gauge = ctx.clone();
    let (creds_store, creds_ctx) = (store.clone(), ctx.clone());
    controller
        .watches(branches, watcher::Config::default(), move |b| {
            waiting_on(&store, &b)
        })
        .watches(secrets.clone(), managed, |s| secret_owner(&s))
        // Credentials Secrets (metadata only): a fixed Secret wakes the passwords that wait on it.
        .watches(secrets, watcher::Config::default(), move |s| {
            super::waiting_on_credentials(
                &creds_store,
                &creds_ctx,
                &s,
                |p: &PlanetScalePassword| p.spec.credentials_ref.as_ref(),
                |p| super::not_ready(p.status.as_ref().map(|s| s.conditions.as_slice())),
            )
        })
        .graceful_shutdown_on(shutdown.cancelled_owned())
        .run(reconcile, error_policy, shared)
        .for_each(|result| {
            count_resources(&gauge, &stores);
            if let Err(e) = result {
                tracing::debug!(error = %e, "password reconcile did not complete");
            }
            std::future::ready(())
        })
        .await;
}

/// Sets the resources gauge (Ready, not Ready, unknown) from the caches.
fn count_resources(ctx: &Context, stores: &Stores) {
    let stores = stores.lock().expect("lock");
    let mut counts = ReadyCounts::default();
    for obj in stores.iter().flat_map(|s| s.state()) {
        let conditions = obj.status.as_ref().map(|s| s.conditions.as_slice());
        match find_condition(conditions.unwrap_or_default(), READY).map(|c| c.status.as_str()) {
            Some("True") => counts.ready += 1,
            Some("False") => counts.not_ready += 1,
            _ => counts.unknown += 1,
        }
    }
    ctx.metrics.set_resources(KIND, counts);
}

/// The passwords that reference `branch` and are not Ready (a Ready password does not need
/// its branch until the next resync).
fn waiting_on(
    store: &Store<PlanetScalePassword>,
    branch: &PlanetScaleBranch,
) -> Vec<ObjectRef<PlanetScalePassword>> {
    store
        .state()
        .iter()
        .filter(|p| p.namespace() == branch.namespace())
        .filter(|p| {
            let r = p.spec.branch_ref.as_ref();
            r.is_some_and(|r| r.name == branch.name_any())
        })
        .filter(|p| {
            let ready = p.status.as_ref().map(|s| s.conditions.as_slice());
            !ready.is_some_and(|c| is_condition_true(c, READY))
        })
        .map(|p| ObjectRef::from_obj(p.as_ref()))
        .collect()
}

/// The password a managed Secret belongs to (its annotation names it).
fn secret_owner(secret: &PartialObjectMeta<Secret>) -> Option<ObjectRef<PlanetScalePassword>> {
    let name = secret.annotations().get(secret::PASSWORD_ANNOTATION)?;
    Some(ObjectRef::new(name).within(&secret.namespace()?))
}

async fn reconcile(obj: Arc<PlanetScalePassword>, shared: Arc<Shared>) -> Result<Action, Error> {
    let (ctx, caches) = (&shared.ctx, &shared.caches);
    let _timer = ctx.metrics.reconcile_started(CONTROLLER);
    let ns = obj.namespace().unwrap_or_default();
    let api: Api<PlanetScalePassword> = Api::namespaced(ctx.client.clone(), &ns);
    let key = object_key(obj.as_ref());
    // The watch cache may lag behind our own status writes: work from a fresh read.
    let Some(fresh) = api.get_opt(&obj.name_any()).await? else {
        caches.forget(&key);
        return Ok(Action::await_change());
    };
    if is_paused(&fresh.metadata) {
        return paused(ctx, caches, &fresh).await;
    }
    let result = finalizer(&api, FINALIZER, Arc::new(fresh), |event| async {
        match event {
            FinalizerEvent::Apply(o) => apply_one(ctx, caches, &o).await,
            FinalizerEvent::Cleanup(o) => cleanup_one(ctx, caches, &o).await,
        }
    })
    .await
    .map_err(Error::from);
    if result.is_ok() {
        ctx.reset_backoff(&key);
    }
    result
}

async fn apply_one(
    ctx: &Context,
    caches: &Caches,
    obj: &PlanetScalePassword,
) -> Result<Action, Error> {
    let mut run = Run::new(ctx, caches, obj);
    let outcome = apply::apply(&mut run).await;
    let secret = obj.spec.secret.effective_name(&obj.name_any()).to_string();
    let (resolved, generation) = (run.target_resolved, run.generation());
    status::set_conditions(&mut run.status, &outcome, resolved, &secret, generation);
    if let Err(e) = status::report(&mut run).await {
        tracing::warn!(error = %e, "could not write the password status");
        if outcome.is_ok() {
            return Err(e);
        }
    }
    let outcome = outcome?;
    let resync = run.resync_in.unwrap_or(ctx.settings.resync_interval);
    Ok(Action::requeue(apply::requeue_after(&outcome, resync)))
}

async fn cleanup_one(
    ctx: &Context,
    caches: &Caches,
    obj: &PlanetScalePassword,
) -> Result<Action, Error> {
    let mut run = Run::new(ctx, caches, obj);
    caches.forget(&run.key());
    let result = cleanup::cleanup(&mut run).await;
    if let Err(e) = &result {
        let generation = run.generation();
        status::set_deletion_failed(&mut run.status, e, generation);
        if let Err(write) = status::report(&mut run).await {
            tracing::warn!(error = %write, "could not write the password status");
        }
    }
    result
}

/// Paused: no change at all, only the `Paused` condition. A paused resource being deleted
/// keeps its finalizer until the annotation is removed.
async fn paused(
    ctx: &Context,
    caches: &Caches,
    obj: &PlanetScalePassword,
) -> Result<Action, Error> {
    let mut run = Run::new(ctx, caches, obj);
    let generation = run.generation();
    status::set_paused(&mut run.status, generation);
    run.save().await?;
    Ok(Action::requeue(ctx.settings.resync_interval))
}

fn error_policy(obj: Arc<PlanetScalePassword>, err: &Error, shared: Arc<Shared>) -> Action {
    let ctx = &shared.ctx;
    let (name, namespace) = (obj.name_any(), obj.namespace().unwrap_or_default());
    if let Error::Waiting { .. } = err {
        tracing::info!(%name, %namespace, reason = err.reason(), error = %err, "password waiting");
    } else {
        let reason = err.reason();
        tracing::warn!(%name, %namespace, reason, error = %err, "password reconcile failed");
    }
    ctx.metrics.reconcile_failed(CONTROLLER, err.reason());
    ctx.backoff(&object_key(obj.as_ref()), err)
}
