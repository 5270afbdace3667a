//! The `PlanetScaleBranch` controller: creates (or adopts) the branch, waits for it to be
//! ready, keeps the settings the spec owns, recreates a branch deleted outside Kubernetes,
//! and deletes or retains it behind a finalizer.
//!
//! A reconcile reads top to bottom: observe (credentials, branch, database) → [`plan::plan`]
//! (pure) → act (create, promote, …) → report (status, events). [`schedule::Schedule`] keeps
//! reconciles that changed nothing (such as the one our own status write triggers) from
//! calling PlanetScale: a Ready branch makes no API call between resyncs.
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Secret;
use kube::api::PartialObjectMeta;
use kube::runtime::controller::{Action, Config as ControllerConfig};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::{WatchStreamExt, finalizer, watcher};
use kube::{Api, ResourceExt};
use tokio_util::sync::CancellationToken;

use super::{Context, object_key, watched_apis};
use crate::crd::branch::PlanetScaleBranch;
use crate::crd::common::is_paused;
use crate::crd::conditions::is_ready_for;
use crate::error::Error;

mod act;
mod cleanup;
pub mod plan;
pub mod poller;
pub mod schedule;
mod status;

use schedule::{Schedule, Trigger};

/// Finalizer on every `PlanetScaleBranch` the operator manages.
pub use crate::crd::branch::FINALIZER;
/// Label of the API requests this controller makes (for a fair limiter).
const CALLER: &str = "branch-controller";
/// The `controller` label of the reconcile metrics.
const CONTROLLER: &str = "branch";
/// The `kind` label of the resources gauge.
const KIND: &str = "PlanetScaleBranch";

/// The controller's own state next to the shared [`Context`].
pub struct BranchContext {
    /// The shared context.
    pub ctx: Arc<Context>,
    /// When each object may next call PlanetScale.
    pub schedule: Schedule,
    /// Shared looks at PlanetScale: pending branches and resyncs, one call per database.
    pub poller: Arc<poller::Poller>,
    /// Where the poller's wake-ups go: the controller of each watched namespace (`None`: all).
    wakes: Mutex<Vec<(Option<String>, poller::Wake)>>,
    /// The caches of every watched namespace (for the resources gauge).
    stores: Mutex<Vec<Store<PlanetScaleBranch>>>,
}

impl BranchContext {
    /// The wake-up channel of the controller that watches `namespace`.
    fn wake_for(&self, namespace: &str) -> Option<poller::Wake> {
        let wakes = self.wakes.lock().expect("lock");
        wakes
            .iter()
            .find(|(ns, _)| ns.as_deref().is_none_or(|n| n == namespace))
            .map(|(_, w)| w.clone())
    }

    /// Sets the resources gauge from the caches.
    fn count_resources(&self) {
        let stores = self.stores.lock().expect("lock");
        let objs: Vec<_> = stores.iter().flat_map(|s| s.state()).collect();
        let counts = status::ready_counts(objs.iter().map(|o| o.as_ref()));
        self.ctx.metrics.set_resources(KIND, counts);
    }
}

/// Runs the controller until `shutdown` is cancelled: one `Controller` per watched namespace.
pub async fn run(ctx: Arc<Context>, shutdown: CancellationToken) {
    let b = Arc::new(BranchContext {
        ctx: ctx.clone(),
        schedule: Schedule::default(),
        poller: Arc::default(),
        wakes: Mutex::default(),
        stores: Mutex::default(),
    });
    let namespaces: Vec<Option<String>> = match &ctx.settings.namespaces {
        None => vec![None],
        Some(list) => list.iter().cloned().map(Some).collect(),
    };
    let apis = watched_apis::<PlanetScaleBranch>(&ctx.client, &ctx.settings.namespaces);
    let runs = apis
        .into_iter()
        .zip(namespaces)
        .map(|(api, ns)| run_one(api, ns, b.clone(), shutdown.clone()));
    futures::future::join_all(runs).await;
}

async fn run_one(
    api: Api<PlanetScaleBranch>,
    namespace: Option<String>,
    b: Arc<BranchContext>,
    shutdown: CancellationToken,
) {
    let config = ControllerConfig::default().concurrency(b.ctx.settings.concurrency);
    let mut controller = b
        .ctx
        .caches
        .controller(api, watcher::Config::default())
        .with_config(config);
    let store = controller.store();
    b.stores.lock().expect("lock").push(store.clone());
    let (wake, woken) = futures::channel::mpsc::unbounded();
    b.wakes
        .lock()
        .expect("lock")
        .push((namespace.clone(), wake));
    let woken_b = b.clone();
    controller = controller.reconcile_on(woken.map(move |r: ObjectRef<PlanetScaleBranch>| {
        // Let the woken reconcile through the schedule.
        woken_b.schedule.wake(&super::object_ref_key(&r));
        r
    }));
    for (secrets, wc) in secret_apis(&b.ctx, namespace.as_deref()) {
        let mapper = secret_mapper(store.clone(), b.clone());
        controller = controller.watches(secrets, wc, mapper);
    }
    if let Some(changes) = default_secret_changes(&b, namespace.as_deref(), store.clone()) {
        controller = controller.reconcile_all_on(changes);
    }
    controller
        .graceful_shutdown_on(shutdown.cancelled_owned())
        .run(reconcile, error_policy, b.clone())
        .for_each(|result| {
            b.count_resources();
            async move {
                match result {
                    Ok((obj, _)) => tracing::debug!(name = %obj.name, namespace = ?obj.namespace, "branch reconciled"),
                    Err(e) => tracing::warn!(error = %e, "branch reconcile failed"),
                }
            }
        })
        .await;
}

/// The Secrets of the watched namespace (or all namespaces), metadata only: nothing of a
/// Secret's data is read or cached.
fn secret_apis(
    ctx: &Context,
    namespace: Option<&str>,
) -> Vec<(Api<PartialObjectMeta<Secret>>, watcher::Config)> {
    let client = ctx.client.clone();
    let api = match namespace {
        None => Api::all(client),
        Some(ns) => Api::namespaced(client, ns),
    };
    vec![(api, watcher::Config::default())]
}

/// Changes of the default credentials Secret when it lives outside the watched namespace. Its
/// own watch with backoff (the chart may grant no `list`/`watch` there: then fixes of that
/// Secret are picked up by the slow retry), so that a failure cannot stall the main watch.
fn default_secret_changes(
    b: &Arc<BranchContext>,
    namespace: Option<&str>,
    store: Store<PlanetScaleBranch>,
) -> Option<impl futures::Stream<Item = ()> + Send + 'static> {
    let ns = namespace?;
    let (dns, dname) = b.ctx.credentials.defaults().secret.clone()?;
    if dns == ns {
        return None;
    }
    let api: Api<PartialObjectMeta<Secret>> = Api::namespaced(b.ctx.client.clone(), &dns);
    let wc = watcher::Config::default().fields(&format!("metadata.name={dname}"));
    let mapper = secret_mapper(store, b.clone());
    let warned = AtomicBool::new(false);
    let changes = watcher::watcher(api, wc)
        .default_backoff()
        .touched_objects()
        .filter_map(move |r| {
            let out = match r {
                Ok(secret) => {
                    mapper(secret); // wakes the resources that use it
                    Some(())
                }
                Err(e) if !warned.swap(true, Ordering::Relaxed) => {
                    tracing::warn!(error = %e, "cannot watch the default credentials Secret: fixes to it are picked up by the next retry");
                    None
                }
                Err(e) => {
                    tracing::debug!(error = %e, "default credentials Secret watch failed");
                    None
                }
            };
            std::future::ready(out)
        });
    Some(changes)
}

/// Maps a changed credentials Secret to the resources that use it and are not Ready (a Ready
/// branch does not need its credentials until the next resync), and lets them through the
/// schedule so that a fixed Secret is picked up at once.
fn secret_mapper(
    store: Store<PlanetScaleBranch>,
    b: Arc<BranchContext>,
) -> impl Fn(PartialObjectMeta<Secret>) -> Vec<ObjectRef<PlanetScaleBranch>> + Send + Sync + 'static
{
    move |secret| {
        let woken = super::waiting_on_credentials(
            &store,
            &b.ctx,
            &secret,
            |o: &PlanetScaleBranch| o.spec.credentials_ref.as_ref(),
            |o| {
                let ready = o
                    .status
                    .as_ref()
                    .is_some_and(|s| is_ready_for(&s.conditions, o.metadata.generation));
                !ready || o.metadata.deletion_timestamp.is_some()
            },
        );
        for r in &woken {
            b.schedule.wake(&super::object_ref_key(r));
        }
        woken
    }
}

/// One object's reconcile: what it is, where, and what its next reconcile depends on.
pub(crate) struct Target<'a> {
    obj: &'a PlanetScaleBranch,
    api: Api<PlanetScaleBranch>,
    key: String,
    namespace: String,
    /// The branch name in PlanetScale.
    name: String,
    trigger: Trigger,
    /// When the shared list this reconcile used was taken (the resync counts from it).
    listed_at: Mutex<Option<std::time::Instant>>,
    /// Whether the branch was handed to the poller in this reconcile.
    registered: AtomicBool,
}

impl<'a> Target<'a> {
    fn new(obj: &'a PlanetScaleBranch, ctx: &Context) -> Self {
        let namespace = obj.namespace().unwrap_or_default();
        Self {
            api: Api::namespaced(ctx.client.clone(), &namespace),
            key: object_key(obj),
            name: obj.spec.effective_branch_name(&obj.name_any()).to_string(),
            trigger: Trigger {
                generation: obj.metadata.generation,
                paused: is_paused(&obj.metadata),
                deleting: obj.metadata.deletion_timestamp.is_some(),
            },
            namespace,
            obj,
            listed_at: Mutex::new(None),
            registered: AtomicBool::new(false),
        }
    }

    fn org(&self) -> &str {
        &self.obj.spec.organization
    }

    fn db(&self) -> &str {
        &self.obj.spec.database
    }

    fn obj_name(&self) -> String {
        self.obj.name_any()
    }

    fn generation(&self) -> Option<i64> {
        self.obj.metadata.generation
    }

    /// The database as the poller keys it (with the credentials used to look at it).
    fn db_key(&self, b: &BranchContext) -> Result<poller::DbKey, Error> {
        let creds = self.obj.spec.credentials_ref.as_ref();
        let credentials =
            crate::credentials::locate(b.ctx.credentials.defaults(), &self.namespace, creds)?;
        Ok(poller::DbKey {
            credentials,
            organization: self.org().to_string(),
            database: self.db().to_string(),
        })
    }

    /// The PlanetScale client for the resource's credentials.
    async fn client(&self, b: &BranchContext) -> Result<planetscale_api::Client, Error> {
        let creds = self.obj.spec.credentials_ref.as_ref();
        let client = b.ctx.credentials.client_for(&self.namespace, creds).await?;
        Ok(client.with_caller(CALLER))
    }
}

/// `Ok(None)` for a 404.
fn found<T>(r: Result<T, planetscale_api::Error>) -> Result<Option<T>, Error> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(planetscale_api::Error::NotFound { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

#[tracing::instrument(skip_all, fields(name = %obj.name_any(), namespace = ?obj.namespace()))]
async fn reconcile(
    obj: Arc<PlanetScaleBranch>,
    b: Arc<BranchContext>,
) -> Result<Action, finalizer::Error<Error>> {
    let t = Target::new(&obj, &b.ctx);
    if let Some(wait) = b.schedule.wait(&t.key, t.trigger) {
        return Ok(Action::requeue(wait));
    }
    let _timer = b.ctx.metrics.reconcile_started(CONTROLLER);
    let result = if t.trigger.paused {
        paused(&b, &t).await.map_err(finalizer::Error::ApplyFailed)
    } else {
        run_finalizer(&obj, &b, &t).await
    };
    if let Err(e) = &result {
        let reason = match e {
            finalizer::Error::ApplyFailed(e) | finalizer::Error::CleanupFailed(e) => e.reason(),
            _ => "KubernetesError",
        };
        b.ctx.metrics.reconcile_failed(CONTROLLER, reason);
    }
    result
}

/// Apply or cleanup behind the finalizer (added before the first apply).
async fn run_finalizer(
    obj: &Arc<PlanetScaleBranch>,
    b: &BranchContext,
    t: &Target<'_>,
) -> Result<Action, finalizer::Error<Error>> {
    let api = t.api.clone();
    finalizer(&api, FINALIZER, obj.clone(), |event| async move {
        match event {
            finalizer::Event::Apply(_) => act::apply(b, t).await,
            finalizer::Event::Cleanup(_) => cleanup::cleanup(b, t).await,
        }
    })
    .await
}

/// Paused: no change at all, in PlanetScale or on the object (not even the finalizer); only
/// the `Paused` condition is reported. A paused object being deleted keeps its finalizer.
async fn paused(b: &BranchContext, t: &Target<'_>) -> Result<Action, Error> {
    let mut s = t.obj.status.clone().unwrap_or_default();
    status::set_paused(&mut s, t.generation());
    let resync = b.ctx.settings.resync_interval;
    b.schedule.set(&t.key, t.trigger, resync);
    status::report(&b.ctx, t.obj, s).await?;
    Ok(Action::requeue(resync))
}

fn error_policy(
    obj: Arc<PlanetScaleBranch>,
    err: &finalizer::Error<Error>,
    b: Arc<BranchContext>,
) -> Action {
    let key = object_key(obj.as_ref());
    match err {
        // The reconcile has set the schedule (backoff or slow retry) already.
        finalizer::Error::ApplyFailed(_) | finalizer::Error::CleanupFailed(_) => {
            Action::requeue(b.schedule.remaining(&key).unwrap_or(Duration::from_secs(1)))
        }
        // Adding or removing the finalizer failed: a Kubernetes API problem.
        _ => Action::requeue(Duration::from_secs(5)),
    }
}
