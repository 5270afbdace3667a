//! The `PlanetScaleBackup` controller: takes an on-demand backup of a branch (or adopts or
//! observes an existing one by id), waits for it to succeed, keeps its protection, and on
//! deletion retains it (the default: it expires with its retention) or deletes it.
//!
//! The steps of the skeleton ([`crate::controller::reconciler`]): [`observe`] (the branch
//! target, then the backup by id, or by name after a crash) → [`plan`] (pure) → the intent
//! (`createRequestedAt`, written before the create) → [`act`] → [`status`] (pure). Deletion
//! is [`cleanup`].
use std::sync::Arc;

use kube::ResourceExt;
use kube::runtime::controller::Action;
use tokio_util::sync::CancellationToken;

use super::Context;
use super::reconciler::{self, Acted, Plan, Reconciler, Report};
use crate::crd::ManagementPolicy;
use crate::crd::backup::{FINALIZER, PlanetScaleBackup, PlanetScaleBackupStatus};
use crate::error::Error;

pub mod act;
pub mod cleanup;
pub mod observe;
pub mod plan;
pub mod status;

use act::Outcome;
use observe::Observed;
use plan::Step;

/// Label of the API requests this controller makes (for a fair limiter).
const CALLER: &str = "backup-controller";

/// The backup controller: only the shared [`Context`].
pub struct BackupReconciler {
    ctx: Arc<Context>,
}

impl BackupReconciler {
    /// A backup controller on `ctx`.
    pub fn new(ctx: Arc<Context>) -> Self {
        Self { ctx }
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
    reconciler::run(Arc::new(BackupReconciler::new(ctx)), shutdown).await;
}

/// Who and where one object is: derived from the object, never written back.
#[derive(Debug, Clone)]
pub struct Target {
    namespace: String,
    /// The name of a backup this resource takes.
    name: String,
    credentials_ref: Option<crate::crd::SecretRef>,
    /// `managementPolicy: Observe`: never write.
    observe: bool,
}

impl Target {
    fn of(obj: &PlanetScaleBackup) -> Self {
        Self {
            namespace: obj.namespace().unwrap_or_default(),
            name: obj
                .spec
                .backup_name
                .clone()
                .unwrap_or_else(|| obj.name_any()),
            credentials_ref: obj.spec.credentials_ref.clone(),
            observe: obj.spec.management_policy == ManagementPolicy::Observe,
        }
    }
}

impl Reconciler for BackupReconciler {
    type Kind = PlanetScaleBackup;
    type Observed = Observed;
    type Step = Step;
    type Outcome = Outcome;
    const CONTROLLER: &'static str = "backup";
    const FINALIZER: &'static str = FINALIZER;

    fn context(&self) -> &Context {
        &self.ctx
    }

    /// A `PlanetScaleDatabase` named by `databaseRef` wakes the backups waiting on it.
    fn watches(
        self: &Arc<Self>,
        controller: kube::runtime::Controller<PlanetScaleBackup>,
        namespace: Option<&str>,
    ) -> kube::runtime::Controller<PlanetScaleBackup> {
        super::target::watch_databases(
            self,
            controller,
            namespace,
            |b: &PlanetScaleBackup| b.spec.target.database_ref.as_ref(),
            |b| super::watch::not_ready(b.status.as_ref().map(|s| s.conditions.as_slice())),
        )
    }

    async fn observe(&self, obj: &PlanetScaleBackup) -> Result<Observed, Error> {
        observe::observe(self, &Target::of(obj), obj).await
    }

    fn plan(&self, obj: &PlanetScaleBackup, observed: &Observed) -> Plan<Step> {
        plan::plan(obj, observed.backup.as_ref())
    }

    fn intent(
        &self,
        obj: &PlanetScaleBackup,
        plan: &Plan<Step>,
    ) -> Option<PlanetScaleBackupStatus> {
        plan::intent(obj, plan)
    }

    async fn act(
        &self,
        obj: &PlanetScaleBackup,
        observed: Observed,
        plan: Plan<Step>,
    ) -> Acted<Outcome> {
        act::act(&Target::of(obj), observed, plan).await
    }

    fn status(
        &self,
        obj: &PlanetScaleBackup,
        done: Option<&Outcome>,
        error: Option<&Error>,
    ) -> Report<PlanetScaleBackupStatus> {
        status::report(obj, done, error)
    }

    fn paused_status(&self, obj: &PlanetScaleBackup) -> PlanetScaleBackupStatus {
        status::paused(obj)
    }

    async fn cleanup(&self, obj: &PlanetScaleBackup) -> Result<Action, Error> {
        cleanup::cleanup(self, &Target::of(obj), obj).await
    }

    fn cleanup_status(
        &self,
        obj: &PlanetScaleBackup,
        err: &Error,
    ) -> Option<Report<PlanetScaleBackupStatus>> {
        Some(status::deletion_failed(obj, err))
    }
}
