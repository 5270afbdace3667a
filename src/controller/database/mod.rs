//! The `PlanetScaleDatabase` controller: creates (or adopts, or only observes) the database,
//! waits for it to be ready, keeps the settings the spec names, and on deletion retains it
//! or, only when confirmed, deletes it.
//!
//! The steps of the skeleton ([`crate::controller::reconciler`]): [`observe`] (one `GET` of
//! the database) → [`plan`] (pure) → the intent (`createRequestedAt`, written before a
//! create) → [`act`] (create, update settings) → [`status`] (pure). Deletion is
//! [`cleanup`]. A database is a handful of objects per cluster, so each pass reads it afresh:
//! no shared snapshot or poller is needed.
use std::sync::Arc;

use kube::ResourceExt;
use kube::runtime::controller::Action;
use tokio_util::sync::CancellationToken;

use super::Context;
use super::reconciler::{self, Acted, Plan, Reconciler, Report};
use crate::crd::database::{FINALIZER, PlanetScaleDatabase, PlanetScaleDatabaseStatus};
use crate::error::Error;

pub mod act;
pub mod cleanup;
pub mod observe;
pub mod plan;
pub mod policies;
pub mod status;

use act::Outcome;
use observe::Observed;
use plan::Step;

/// Label of the API requests this controller makes (for a fair limiter).
const CALLER: &str = "database-controller";

/// The database controller: only the shared [`Context`].
pub struct DatabaseReconciler {
    ctx: Arc<Context>,
}

impl DatabaseReconciler {
    /// A database controller on `ctx`.
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
    reconciler::run(Arc::new(DatabaseReconciler::new(ctx)), shutdown).await;
}

/// Who and where one object is: derived from the object, never written back.
#[derive(Debug, Clone)]
pub struct Target {
    namespace: String,
    org: String,
    /// The database name in PlanetScale.
    name: String,
    credentials_ref: Option<crate::crd::SecretRef>,
    /// `managementPolicy: Observe`: never write.
    observe: bool,
    /// The resource names or records backup policies: the pass reads them.
    manages_policies: bool,
}

impl Target {
    fn of(obj: &PlanetScaleDatabase) -> Self {
        Self {
            namespace: obj.namespace().unwrap_or_default(),
            org: obj.spec.organization.clone(),
            name: obj.spec.effective_name(&obj.name_any()).to_string(),
            credentials_ref: obj.spec.credentials_ref.clone(),
            observe: obj.spec.management_policy == crate::crd::ManagementPolicy::Observe,
            manages_policies: !obj.spec.backup_policies.is_empty()
                || obj
                    .status
                    .as_ref()
                    .is_some_and(|s| !s.backup_policies.is_empty()),
        }
    }
}

impl Reconciler for DatabaseReconciler {
    type Kind = PlanetScaleDatabase;
    type Observed = Observed;
    type Step = Step;
    type Outcome = Outcome;
    const CONTROLLER: &'static str = "database";
    const FINALIZER: &'static str = FINALIZER;

    fn context(&self) -> &Context {
        &self.ctx
    }

    async fn observe(&self, obj: &PlanetScaleDatabase) -> Result<Observed, Error> {
        observe::observe(self, &Target::of(obj)).await
    }

    fn plan(&self, obj: &PlanetScaleDatabase, observed: &Observed) -> Plan<Step> {
        plan::plan(
            obj,
            observed.database.as_ref(),
            observed.policies.as_deref(),
        )
    }

    fn intent(
        &self,
        obj: &PlanetScaleDatabase,
        plan: &Plan<Step>,
    ) -> Option<PlanetScaleDatabaseStatus> {
        plan::intent(obj, plan)
    }

    async fn act(
        &self,
        obj: &PlanetScaleDatabase,
        observed: Observed,
        plan: Plan<Step>,
    ) -> Acted<Outcome> {
        act::act(&Target::of(obj), observed, plan).await
    }

    fn status(
        &self,
        obj: &PlanetScaleDatabase,
        done: Option<&Outcome>,
        error: Option<&Error>,
    ) -> Report<PlanetScaleDatabaseStatus> {
        status::report(obj, done, error)
    }

    fn paused_status(&self, obj: &PlanetScaleDatabase) -> PlanetScaleDatabaseStatus {
        status::paused(obj)
    }

    async fn cleanup(&self, obj: &PlanetScaleDatabase) -> Result<Action, Error> {
        cleanup::cleanup(self, &Target::of(obj), obj).await
    }

    fn cleanup_status(
        &self,
        obj: &PlanetScaleDatabase,
        err: &Error,
    ) -> Option<Report<PlanetScaleDatabaseStatus>> {
        Some(status::deletion_failed(obj, err))
    }
}
