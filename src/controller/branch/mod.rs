//! The `PlanetScaleBranch` controller: creates (or adopts) the branch, waits for it to be
//! ready, keeps the settings the spec owns, recreates a branch deleted outside Kubernetes,
//! and deletes or retains it behind a finalizer.
//!
//! The steps of the skeleton ([`crate::controller::reconciler`]): [`observe`] (the branch,
//! and its database when it is missing) → [`plan`] (pure) → the intent (`createRequestedAt`,
//! written before a create) → [`act`] (create, claim, fix) → [`status`] (pure). Deletion is
//! [`cleanup`]. The database's engine (Vitess or PostgreSQL) decides which spec fields apply
//! and the create request ([`engine`]). Two helpers keep the API budget: the branch's
//! [`Schedule`] lets the skeleton answer the reconciles that changed nothing (such as the one
//! our own status write triggers) without calling PlanetScale, and [`poller::Poller`] looks at every pending branch of a database
//! at once and wakes exactly the resources whose branch changed.
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kube::ResourceExt;
use kube::runtime::Controller;
use kube::runtime::controller::Action;
use tokio_util::sync::CancellationToken;

use super::reconciler::{self, Acted, Ended, Plan, Reconciler, Report, Schedule};
use super::{Context, object_key};
use crate::controller::target::database_named;
use crate::crd::branch::{PlanetScaleBranch, PlanetScaleBranchStatus};
use crate::error::Error;

pub mod act;
pub mod backup_ref;
pub mod cleanup;
pub mod engine;
pub mod observe;
pub mod plan;
pub mod poller;
pub mod status;
mod watches;

use act::Outcome;
use observe::Observed;
use plan::Step;
use status::Progress;

/// Finalizer on every `PlanetScaleBranch` the operator manages.
pub use crate::crd::branch::FINALIZER;
/// Label of the API requests this controller makes (for a fair limiter).
const CALLER: &str = "branch-controller";

/// How long a branch registered with the poller waits before it looks on its own.
pub const SAFETY_LOOK: Duration = Duration::from_secs(120);

/// The branch controller's own state next to the shared [`Context`].
pub struct BranchReconciler {
    ctx: Arc<Context>,
    /// When each object may next call PlanetScale.
    pub schedule: Schedule,
    /// Shared looks at PlanetScale: pending branches and resyncs, one call per database.
    pub poller: Arc<poller::Poller>,
    /// Where the poller's wake-ups go: the controller of each watched namespace (`None`: all).
    /// Filled once per controller when it starts ([`Reconciler::watches`]).
    wakes: Mutex<Vec<(Option<String>, poller::Wake)>>,
}

impl BranchReconciler {
    /// A branch controller on `ctx`, with an empty schedule and no registrations.
    pub fn new(ctx: Arc<Context>) -> Self {
        let poller = poller::Poller::with_webhooks(ctx.webhooks.clone());
        Self {
            ctx,
            schedule: Schedule::default(),
            poller: Arc::new(poller),
            wakes: Mutex::default(),
        }
    }

    /// The wake-up channel of the controller that watches `namespace` (`None` when no
    /// controller runs, e.g. in a reconciler test: then the branch is polled by requeues).
    fn wake_for(&self, namespace: &str) -> Option<poller::Wake> {
        let wakes = self.wakes.lock().expect("lock");
        wakes
            .iter()
            .find(|(ns, _)| ns.as_deref().is_none_or(|n| n == namespace))
            .map(|(_, w)| w.clone())
    }

    /// The PlanetScale client for the resource's credentials.
    async fn client(&self, t: &Target) -> Result<planetscale_api::Client, Error> {
        let creds = t.credentials_ref.as_ref();
        let client = self.ctx.credentials.client_for(&t.namespace, creds).await?;
        Ok(client.with_caller(CALLER))
    }
}

/// Runs the controller until `shutdown` is cancelled.
pub async fn run(ctx: Arc<Context>, shutdown: CancellationToken) {
    reconciler::run(Arc::new(BranchReconciler::new(ctx)), shutdown).await;
}

/// Who and where one object is: derived from the object, never written back.
#[derive(Debug, Clone)]
pub struct Target {
    key: String,
    namespace: String,
    /// The branch name in PlanetScale.
    name: String,
    org: String,
    db: String,
    generation: Option<i64>,
    credentials_ref: Option<crate::crd::SecretRef>,
}

impl Target {
    /// `obj`'s branch in `org`/`db`.
    fn at(obj: &PlanetScaleBranch, org: &str, db: &str) -> Self {
        Self {
            key: object_key(obj),
            namespace: obj.namespace().unwrap_or_default(),
            name: obj.spec.effective_branch_name(&obj.name_any()).to_string(),
            org: org.to_string(),
            db: db.to_string(),
            generation: obj.metadata.generation,
            credentials_ref: obj.spec.credentials_ref.clone(),
        }
    }

    /// `obj`'s branch where the spec names it, or where status recorded it (`databaseRef`);
    /// else the `PlanetScaleDatabase` of `databaseRef` once it is Ready (`DatabaseNotReady`
    /// until then). A recorded database stays: `databaseRef` is immutable, and the branch
    /// must be found (and deleted) where it was created even if the database resource goes.
    async fn resolve(kube: &kube::Client, obj: &PlanetScaleBranch) -> Result<Self, Error> {
        if let Some((org, db)) = obj.location() {
            return Ok(Self::at(obj, org, db));
        }
        let Some(r) = &obj.spec.database_ref else {
            // Admission refuses this; an object stored before the rule says what to fix.
            return Err(Error::Invalid {
                reason: "InvalidSpec",
                message: "set either organization and database, or databaseRef".into(),
            });
        };
        let ns = obj.namespace().unwrap_or_default();
        let found = database_named(kube, &ns, &r.name, "").await??;
        Ok(Self::at(obj, &found.organization, &found.database))
    }

    /// The database as the poller keys it (with the credentials used to look at it).
    fn db_key(&self, ctx: &Context) -> Result<poller::DbKey, Error> {
        let creds = self.credentials_ref.as_ref();
        let credentials =
            crate::credentials::locate(ctx.credentials.defaults(), &self.namespace, creds)?;
        Ok(poller::DbKey {
            credentials,
            organization: self.org.clone(),
            database: self.db.clone(),
        })
    }
}

impl Reconciler for BranchReconciler {
    type Kind = PlanetScaleBranch;
    type Observed = Observed;
    type Step = Step;
    type Outcome = Outcome;
    const CONTROLLER: &'static str = "branch";
    const FINALIZER: &'static str = FINALIZER;

    fn context(&self) -> &Context {
        &self.ctx
    }

    fn watches(
        self: &Arc<Self>,
        controller: Controller<PlanetScaleBranch>,
        namespace: Option<&str>,
    ) -> Controller<PlanetScaleBranch> {
        watches::add(self, controller, namespace)
    }

    fn schedule(&self) -> Option<&Schedule> {
        Some(&self.schedule)
    }

    async fn observe(&self, obj: &PlanetScaleBranch) -> Result<Observed, Error> {
        let t = Target::resolve(&self.ctx.client, obj).await?;
        observe::observe(self, t, obj).await
    }

    fn plan(&self, obj: &PlanetScaleBranch, observed: &Observed) -> Plan<Step> {
        let plan = plan::plan(obj, &observed.look);
        let plan = backup_ref::restore(plan, observed.restore.as_ref());
        plan::located(plan, &observed.target.org, &observed.target.db)
    }

    fn intent(
        &self,
        obj: &PlanetScaleBranch,
        plan: &Plan<Step>,
    ) -> Option<PlanetScaleBranchStatus> {
        plan::intent(obj, plan)
    }

    async fn act(
        &self,
        obj: &PlanetScaleBranch,
        observed: Observed,
        plan: Plan<Step>,
    ) -> Acted<Outcome> {
        let t = observed.target.clone();
        act::act(self, &t, obj, observed, plan).await
    }

    fn status(
        &self,
        obj: &PlanetScaleBranch,
        done: Option<&Outcome>,
        error: Option<&Error>,
    ) -> Report<PlanetScaleBranchStatus> {
        status::report(obj, done, error)
    }

    fn paused_status(&self, obj: &PlanetScaleBranch) -> PlanetScaleBranchStatus {
        status::paused(obj)
    }

    async fn cleanup(&self, obj: &PlanetScaleBranch) -> Result<Action, Error> {
        let status = obj.status.clone().unwrap_or_default();
        if obj.location().is_none() && observe::never_created(&status) {
            // Its `databaseRef` was never resolved: nothing was created in PlanetScale.
            return Ok(Action::await_change());
        }
        cleanup::cleanup(self, &Target::resolve(&self.ctx.client, obj).await?, obj).await
    }

    fn cleanup_status(
        &self,
        obj: &PlanetScaleBranch,
        err: &Error,
    ) -> Option<Report<PlanetScaleBranchStatus>> {
        Some(status::deletion_failed(obj, err))
    }

    /// Ready: the next resync (counted from the shared list the resync used). Waiting on the
    /// branch: the poller wakes the resource; its own look is only a safety net. Waiting on
    /// the database: the next poll (2 s … 30 s).
    fn next(&self, obj: &PlanetScaleBranch, ended: Ended<'_, Outcome>) -> Option<Duration> {
        let key = object_key(obj);
        let resync = self.ctx.settings.resync_interval;
        let delay = match ended {
            Ended::Paused => resync,
            Ended::Applied { outcome, .. } => match &outcome.progress {
                Progress::Ready => {
                    self.schedule.reset_polls(&key);
                    resync_after(outcome.listed_at, resync)
                }
                Progress::Waiting { .. } if outcome.registered => SAFETY_LOOK,
                Progress::Waiting { .. } => self.schedule.next_poll(&key),
            },
        };
        Some(delay)
    }

    fn failed(&self, obj: &PlanetScaleBranch, _err: &Error, _retry_in: Duration) {
        self.schedule.reset_polls(&object_key(obj));
    }
}

/// The resync of a Ready branch, counted from when the shared list it used was taken (so
/// that the resources of a database converge on one list per interval).
fn resync_after(listed_at: Option<Instant>, resync: Duration) -> Duration {
    match listed_at {
        Some(at) => (at + resync)
            .saturating_duration_since(Instant::now())
            .max(resync / 2),
        None => resync,
    }
}
