//! The `PlanetScalePassword` controller: a branch password whose plaintext lives only in a
//! Secret, created crash-safely, renewed, rotated without downtime, healed when the Secret is
//! lost or edited, and deleted with the resource.
//!
//! It runs on the reconcile skeleton ([`reconciler`]): [`observe`] → [`plan`] (pure) →
//! intent (the counter written before a create, [`mint`]) → [`act`] (steps in [`mint`],
//! [`upkeep`], [`restart`]) → [`status`] (pure); deletion is [`cleanup`]. After a step that
//! changes PlanetScale or the Secret the plan asks to look again at once, and the next pass
//! plans from what it did (from memory: [`cache`]). Deadlines (renewal, rotation, grace
//! periods) are measured with PlanetScale's clock
//! ([`crate::controller::planetscale::PlanetScale::server_now`]). Every call to PlanetScale
//! goes through the [`crate::controller::planetscale::PlanetScale`] trait; only building the
//! client for the resource's credentials ([`pass::Run::client`]) names the concrete client.
//!
//! API budget: a Ready password costs no API call between resyncs (reconciles triggered by our
//! own writes plan from the last view of the password, [`cache`]), and at a resync its
//! database's passwords share one paged list; creating one costs a create (plus a list only
//! when an earlier attempt may have created it, [`mint`]).
//!
//! Watches: the resources, the `PlanetScaleBranch`es they reference, and only the Secrets
//! labelled `app.kubernetes.io/managed-by=planetscale-operator` (metadata), so memory does not
//! grow with the cluster's other Secrets.
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use kube::api::PartialObjectMeta;
use kube::runtime::Controller;
use kube::runtime::controller::Action;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Api, ResourceExt};
use tokio_util::sync::CancellationToken;

use super::reconciler::{self, Acted, Ended as PassEnded, Plan, Reconciler, Report};
use super::snapshot::Snapshots;
use super::{Context, MANAGED_BY_LABEL, MANAGED_BY_VALUE, not_ready, waiting_on_credentials};
use crate::crd::branch::PlanetScaleBranch;
use crate::crd::conditions::{READY, is_condition_true};
use crate::crd::password::{PlanetScalePassword, PlanetScalePasswordStatus};
use crate::error::Error;

pub mod act;
pub mod adopt;
pub mod cache;
pub mod cleanup;
pub mod deadline;
pub mod engine;
pub mod mint;
pub mod observe;
pub mod ownership;
pub mod pass;
pub mod plan;
#[cfg(test)]
mod plan_tests;
pub mod production;
pub mod restart;
pub mod secret;
pub mod status;
#[cfg(test)]
mod steps_tests;
pub mod upkeep;
#[cfg(test)]
mod wake_tests;

use pass::Run;

/// Finalizer on every `PlanetScalePassword`: its passwords are deleted before it goes.
pub use crate::crd::password::FINALIZER;

/// The password controller: the shared context and what it remembers between reconciles
/// (one for every watched namespace; see [`cache`]).
pub struct Passwords {
    pub ctx: Arc<Context>,
    pub views: cache::Views,
    pub snapshots: Snapshots<cache::Listed>,
    /// Which branches are production branches (for the access policy).
    pub production: production::Kinds,
}

impl Passwords {
    pub fn new(ctx: Arc<Context>) -> Self {
        Self {
            ctx,
            views: cache::Views::default(),
            snapshots: cache::snapshots(),
            production: production::Kinds::default(),
        }
    }
}

/// Runs the controller until `shutdown` is cancelled.
pub async fn run(ctx: Arc<Context>, shutdown: CancellationToken) {
    reconciler::run(Arc::new(Passwords::new(ctx)), shutdown).await;
}

impl Reconciler for Passwords {
    type Kind = PlanetScalePassword;
    type Observed = observe::Observed;
    type Step = plan::Step;
    type Outcome = act::Outcome;

    const CONTROLLER: &'static str = "password";
    const FINALIZER: &'static str = FINALIZER;

    fn context(&self) -> &Context {
        &self.ctx
    }

    /// The `PlanetScaleBranch`es the passwords reference, and only the Secrets labelled
    /// `app.kubernetes.io/managed-by=planetscale-operator` (metadata), so memory does not grow
    /// with the cluster's other Secrets; the credentials Secrets wake the passwords waiting on
    /// them.
    fn watches(
        self: &Arc<Self>,
        controller: Controller<PlanetScalePassword>,
        namespace: Option<&str>,
    ) -> Controller<PlanetScalePassword> {
        let client = self.ctx.client.clone();
        let (branches, secrets) = match namespace {
            None => (Api::all(client.clone()), Api::all(client)),
            Some(ns) => (
                Api::namespaced(client.clone(), ns),
                Api::namespaced(client, ns),
            ),
        };
        let secrets: Api<PartialObjectMeta<Secret>> = secrets;
        let store = controller.store();
        let (creds_store, ctx) = (store.clone(), self.ctx.clone());
        let managed =
            crate::stores::watch_config().labels(&format!("{MANAGED_BY_LABEL}={MANAGED_BY_VALUE}"));
        let controller = crate::controller::target::watch_databases(
            self,
            controller,
            namespace,
            |p: &PlanetScalePassword| p.spec.target.database_ref.as_ref(),
            |p| not_ready(p.status.as_ref().map(|s| s.conditions.as_slice())),
        );
        controller
            .watches(branches, crate::stores::watch_config(), move |b| {
                waiting_on(&store, &b)
            })
            .watches(secrets.clone(), managed, |s| secret_owner(&s))
            // Credentials Secrets (metadata only): a fixed Secret wakes the passwords that wait on it.
            .watches(secrets, crate::stores::watch_config(), move |s| {
                waiting_on_credentials(
                    &creds_store,
                    &ctx,
                    &s,
                    |p: &PlanetScalePassword| p.spec.credentials_ref.as_ref(),
                    |p| not_ready(p.status.as_ref().map(|s| s.conditions.as_slice())),
                )
            })
    }

    async fn observe(&self, obj: &PlanetScalePassword) -> Result<observe::Observed, Error> {
        observe::observe(&Run::new(self, obj)).await
    }

    fn plan(&self, obj: &PlanetScalePassword, observed: &observe::Observed) -> Plan<plan::Step> {
        plan::plan(obj, observed)
    }

    /// Crash safety: the counter of a password is in the status before it is created, with
    /// the branch it is created on ([`mint`]).
    fn intent(
        &self,
        obj: &PlanetScalePassword,
        plan: &Plan<plan::Step>,
    ) -> Option<PlanetScalePasswordStatus> {
        plan::intent(obj.status.as_ref(), plan)
    }

    async fn act(
        &self,
        obj: &PlanetScalePassword,
        observed: observe::Observed,
        plan: Plan<plan::Step>,
    ) -> Acted<act::Outcome> {
        act::act(&Run::new(self, obj), observed, plan).await
    }

    fn status(
        &self,
        obj: &PlanetScalePassword,
        done: Option<&act::Outcome>,
        error: Option<&Error>,
    ) -> Report<PlanetScalePasswordStatus> {
        status::report(obj, done, error)
    }

    fn paused_status(&self, obj: &PlanetScalePassword) -> PlanetScalePasswordStatus {
        status::paused(obj)
    }

    async fn cleanup(&self, obj: &PlanetScalePassword) -> Result<Action, Error> {
        let run = Run::new(self, obj);
        self.views.forget(&run.key());
        cleanup::cleanup(&run).await
    }

    fn cleanup_status(
        &self,
        obj: &PlanetScalePassword,
        err: &Error,
    ) -> Option<Report<PlanetScalePasswordStatus>> {
        Some(status::deletion_failed(obj, err))
    }

    fn next(
        &self,
        _obj: &PlanetScalePassword,
        ended: PassEnded<'_, act::Outcome>,
    ) -> Option<Duration> {
        let resync = self.ctx.settings.resync_interval;
        match ended {
            PassEnded::Applied { outcome, .. } => match &outcome.ended {
                Some(ended) => Some(act::requeue_after(ended, resync)),
                None => Some(resync),
            },
            PassEnded::Paused => Some(resync),
        }
    }

    fn forget(&self, key: &str) {
        self.views.forget(key);
    }
}

/// The passwords that reference `branch` and are not Ready (a Ready password does not need
/// its branch until the next resync).
fn waiting_on(
    store: &Store<PlanetScalePassword>,
    branch: &PlanetScaleBranch,
) -> Vec<ObjectRef<PlanetScalePassword>> {
    // Called for every branch event, also for each of the initial list at start-up: borrow,
    // compare and clone only the matches (not one `String` per cached password).
    let (ns, name) = (&branch.metadata.namespace, &branch.metadata.name);
    store
        .state_filter(|p| {
            let refers = p.spec.target.branch_ref.as_ref();
            p.metadata.namespace == *ns
                && refers.is_some_and(|r| Some(&r.name) == name.as_ref())
                && !p
                    .status
                    .as_ref()
                    .is_some_and(|s| is_condition_true(&s.conditions, READY))
        })
        .iter()
        .map(|p| ObjectRef::from_obj(p.as_ref()))
        .collect()
}

/// The password a managed Secret belongs to (its annotation names it).
fn secret_owner(secret: &PartialObjectMeta<Secret>) -> Option<ObjectRef<PlanetScalePassword>> {
    let name = secret.annotations().get(secret::PASSWORD_ANNOTATION)?;
    Some(ObjectRef::new(name).within(&secret.namespace()?))
}
