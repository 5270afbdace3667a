//! The one reconcile skeleton every kind runs on.
//!
//! A pass over one object, the same for every kind:
//!
//! 1. Not before: a kind that keeps a [`Schedule`] ([`Reconciler::schedule`]) is passed over,
//!    with no call at all, when nothing it depends on changed, nothing woke it and its time
//!    has not come (e.g. the reconcile our own status write triggers): it is requeued for the
//!    time left. The skeleton keeps that schedule: [`Reconciler::next`], or the backoff of a
//!    failed pass, sets when the next pass is due.
//! 2. The fresh read: the watch cache may lag behind our own writes, so the pass works from a
//!    `GET` of the object, unless the object handed over is exactly what our own last status
//!    write stored ([`fresh`]). Gone: [`Reconciler::forget`], done.
//! 3. Pause: with the paused annotation only [`Reconciler::paused_status`] is written; no
//!    change in PlanetScale, no finalizer added or removed.
//! 4. The finalizer (`kube::runtime::finalizer`): added before the first apply; on deletion
//!    [`Reconciler::cleanup`] runs and the finalizer goes once it succeeds.
//! 5. Apply, once [`crate::policy`] allows the object: [`Reconciler::observe`] (reads,
//!    returns an `Observed` value, decides nothing) → [`Reconciler::plan`] (pure: a [`Plan`]
//!    of steps) → [`Reconciler::intent`] (the one
//!    status write made for crash safety *before* a create, so that a crash right after the
//!    create call still finds the object recorded as ours) → [`Reconciler::act`] (runs the
//!    steps, returns [`Acted`]: the `Outcome` of the steps that ran and the error that
//!    stopped the rest) → [`Reconciler::status`] (pure: the new status and the events to
//!    publish, from what was done and what failed).
//! 6. The status is written ONCE per pass (server-side apply on the status subresource),
//!    skipped when unchanged; then the events go out.
//! 7. Requeue: [`Reconciler::next`] on success; on failure [`error_policy`] backs off per
//!    object (exponential for transient errors, the slow retry for what a user must fix) and
//!    tells the kind ([`Reconciler::failed`]). Reconcile metrics are recorded here, once.
//!
//! Nothing travels back through shared mutable fields: every step returns a value. The
//! `&self` of a [`Reconciler`] is the kind's controller state (e.g. its schedule);
//! [`Reconciler::context`] is the [`Context`] all kinds share.
//!
//! # Adding a kind
//!
//! Copy `controller/branch/`: a folder with `mod.rs` (the `Reconciler` impl and the
//! kind's extra watches), `observe.rs`, `plan.rs` (+ `plan_tests.rs`), `act.rs`, `status.rs`
//! and `cleanup.rs`; add the custom resource to the `kind!` list in `reconciler/kinds.rs`
//! (its [`Kind`]); call [`run()`] from `controller::run_all`; add the kind's tests to
//! `tests/reconciler/`, which call [`pass`] directly against the emulator and the control
//! plane.
use std::fmt::Debug;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::NamespaceResourceScope;
use kube::runtime::Controller;
use kube::runtime::controller::Action;
use kube::runtime::finalizer::{Event as FinalizerEvent, finalizer};
use kube::{Api, Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::backoff::object_key;
use super::context::Context;
use super::write::apply_status_returning;
use crate::crd::ManagedResource;
use crate::crd::common::is_paused;
use crate::error::Error;
use crate::policy::Governed;

mod fresh;
mod kinds;
pub use kinds::CREDENTIALS_WRITE_BACK;
mod runner;
mod schedule;
mod values;
pub use fresh::LastWrites;
pub use runner::{error_policy, reconcile, run};
pub use schedule::{Due, Schedule, Trigger};
pub use values::{Acted, Ended, Note, Plan, Report};

/// A custom resource the skeleton can reconcile: namespaced, cached, with a status.
pub trait Kind:
    ManagedResource
    + Governed
    + Resource<Scope = NamespaceResourceScope>
    + Clone
    + Debug
    + DeserializeOwned
    + Serialize
{
    /// The status subresource.
    type Status: Serialize + Clone + PartialEq + Default + Debug + Send + Sync;
    /// The status as last written (`None` before the first write).
    fn current_status(&self) -> Option<&Self::Status>;
    /// The conditions of `status`, where the skeleton sets the kstatus ones.
    fn conditions_mut(
        status: &mut Self::Status,
    ) -> &mut Vec<k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition>;
    /// The `observedGeneration` of `status`.
    fn observed_generation_mut(status: &mut Self::Status) -> &mut Option<i64>;
}

/// The status type of reconciler `R`.
pub type StatusOf<R> = <<R as Reconciler>::Kind as Kind>::Status;

/// One kind's steps. One impl per kind; `&self` is the kind's own controller state.
pub trait Reconciler: Send + Sync + Sized + 'static {
    /// The custom resource.
    type Kind: Kind;
    /// What `observe` read.
    type Observed: Send + Sync;
    /// One step of a plan.
    type Step: Send + Sync + Debug;
    /// What `act` did.
    type Outcome: Send + Sync;

    /// The `controller` label of the reconcile metrics.
    const CONTROLLER: &'static str;
    /// The finalizer this kind puts on its objects.
    const FINALIZER: &'static str;
    /// Whether deleting a paused object runs [`Reconciler::cleanup`] (which then leaves
    /// PlanetScale alone and lets the object go) instead of keeping the finalizer until the
    /// annotation is removed.
    const CLEANUP_WHEN_PAUSED: bool = false;

    /// The context all kinds share.
    fn context(&self) -> &Context;

    /// Adds the kind's own watches (and wake-up streams) to the controller of `namespace`
    /// (`None`: all namespaces).
    fn watches(
        self: &Arc<Self>,
        controller: Controller<Self::Kind>,
        _namespace: Option<&str>,
    ) -> Controller<Self::Kind> {
        controller
    }

    /// The kind's schedule, if it keeps one: a pass that is not due ([`Schedule::due`], on the
    /// cached object, before the fresh read) is requeued without any call.
    fn schedule(&self) -> Option<&Schedule> {
        None
    }

    /// Reads what the plan needs, from PlanetScale and Kubernetes. Decides nothing.
    fn observe(
        &self,
        obj: &Self::Kind,
    ) -> impl Future<Output = Result<Self::Observed, Error>> + Send;

    /// Decides what to do. Pure.
    fn plan(&self, obj: &Self::Kind, observed: &Self::Observed) -> Plan<Self::Step>;

    /// The status to write before `act` runs, when the plan creates something whose id is
    /// known only after the create call (crash safety). Pure.
    fn intent(&self, _obj: &Self::Kind, _plan: &Plan<Self::Step>) -> Option<StatusOf<Self>> {
        None
    }

    /// Runs the planned steps, in order, until one fails.
    fn act(
        &self,
        obj: &Self::Kind,
        observed: Self::Observed,
        plan: Plan<Self::Step>,
    ) -> impl Future<Output = Acted<Self::Outcome>> + Send;

    /// The new status and the events, from what the pass did (`None`: `act` did not run, as
    /// `observe` failed) and the error that stopped it, if any. Pure.
    fn status(
        &self,
        obj: &Self::Kind,
        done: Option<&Self::Outcome>,
        error: Option<&Error>,
    ) -> Report<StatusOf<Self>>;

    /// The status of a paused object. Pure.
    fn paused_status(&self, obj: &Self::Kind) -> StatusOf<Self>;

    /// Deletion behind the finalizer; `Ok` lets the finalizer go.
    fn cleanup(&self, obj: &Self::Kind) -> impl Future<Output = Result<Action, Error>> + Send;

    /// The status to show when `cleanup` failed (`None`: leave it). Pure.
    fn cleanup_status(&self, _obj: &Self::Kind, _err: &Error) -> Option<Report<StatusOf<Self>>> {
        None
    }

    /// When to look again after a pass that did not fail (`None`: on the next change only);
    /// the skeleton records it in the kind's schedule. The default: the planned requeue, else
    /// the resync interval.
    fn next(&self, _obj: &Self::Kind, ended: Ended<'_, Self::Outcome>) -> Option<Duration> {
        let resync = self.context().settings.resync_interval;
        match ended {
            Ended::Paused => Some(resync),
            Ended::Applied { planned, .. } => Some(planned.unwrap_or(resync)),
        }
    }

    /// A pass failed; the controller retries after `retry_in` (recorded in the schedule).
    fn failed(&self, _obj: &Self::Kind, _err: &Error, _retry_in: Duration) {}

    /// The object `key` (see [`object_key`]) is gone: drop what is remembered about it.
    fn forget(&self, _key: &str) {}
}

/// One full pass over `obj` (read fresh by name): what the reconciler tests call.
#[tracing::instrument(skip_all, fields(controller = R::CONTROLLER, name = %obj.name_any(), namespace = ?obj.namespace()))]
pub async fn pass<R: Reconciler>(obj: &R::Kind, r: &R) -> Result<Action, Error> {
    let ctx = r.context();
    let _timer = ctx.metrics.reconcile_started(R::CONTROLLER);
    let result = fresh_pass(obj, r).await;
    match &result {
        Ok(_) => ctx.reset_backoff(&object_key(obj)),
        Err(e) => ctx.metrics.reconcile_failed(R::CONTROLLER, e.reason()),
    }
    result
}

async fn fresh_pass<R: Reconciler>(obj: &R::Kind, r: &R) -> Result<Action, Error> {
    let ctx = r.context();
    let api: Api<R::Kind> =
        Api::namespaced(ctx.client.clone(), &obj.namespace().unwrap_or_default());
    let Some(fresh) = fresh::read(r, &api, obj).await? else {
        ctx.policies.forget(&object_key(obj));
        forget(r, &object_key(obj));
        return Ok(Action::await_change());
    };
    let released = R::CLEANUP_WHEN_PAUSED && fresh.meta().deletion_timestamp.is_some();
    if is_paused(fresh.meta()) && !released {
        let status = r.paused_status(&fresh);
        write(r, &api, &fresh, Report::quiet(status)).await?;
        return Ok(next(r, &fresh, Ended::Paused));
    }
    finalizer(&api, R::FINALIZER, Arc::new(fresh), |event| async {
        match event {
            FinalizerEvent::Apply(o) => apply(r, &api, o).await,
            FinalizerEvent::Cleanup(o) => cleanup(r, &api, &o).await,
        }
    })
    .await
    .map_err(Error::from)
}

/// observe → plan → intent → act → status → write.
async fn apply<R: Reconciler>(
    r: &R,
    api: &Api<R::Kind>,
    obj: Arc<R::Kind>,
) -> Result<Action, Error> {
    let ctx = r.context();
    let (obj, result) = match ctx.policies.admit(&ctx.client, obj.as_ref()).await {
        Ok(()) => steps(r, api, obj).await,
        Err(denied) => (obj, Err(denied)),
    };
    let (done, error, planned) = match result {
        Ok((acted, planned)) => (Some(acted.outcome), acted.error, planned),
        Err(e) => (None, Some(e), None),
    };
    let mut report = r.status(&obj, done.as_ref(), error.as_ref());
    kinds::set_kstatus(obj.as_ref(), &mut report.status, error.as_ref());
    kinds::set_write_back(ctx, obj.as_ref(), &mut report);
    let written = write(r, api, &obj, report).await;
    match (done, error, written) {
        (Some(outcome), None, Ok(())) => {
            let ended = Ended::Applied {
                outcome: &outcome,
                planned,
            };
            Ok(next(r, &obj, ended))
        }
        (_, None, Err(w)) => Err(w),
        (_, Some(e), written) => {
            if let Err(w) = written {
                tracing::warn!(error = %w, "could not write the status");
            }
            Err(e)
        }
        (None, None, Ok(())) => unreachable!("a pass without an outcome has an error"),
    }
}

/// The steps of an apply pass; returns the object as last written (after an intent write).
async fn steps<R: Reconciler>(
    r: &R,
    api: &Api<R::Kind>,
    obj: Arc<R::Kind>,
) -> (
    Arc<R::Kind>,
    Result<(Acted<R::Outcome>, Option<Duration>), Error>,
) {
    let observed = match r.observe(&obj).await {
        Ok(o) => o,
        Err(e) => return (obj, Err(e)),
    };
    let plan = r.plan(&obj, &observed);
    let obj = match r.intent(&obj, &plan) {
        None => obj,
        Some(intent) => match apply_status_returning(api, &obj.name_any(), &intent).await {
            Ok(stored) => {
                r.context().last_writes.remember(&stored);
                Arc::new(stored)
            }
            Err(e) => return (obj, Err(e.into())),
        },
    };
    let planned = plan.requeue;
    let acted = r.act(&obj, observed, plan).await;
    (obj, Ok((acted, planned)))
}

/// Deletion: the kind's cleanup; a failure is shown in status and retried.
async fn cleanup<R: Reconciler>(r: &R, api: &Api<R::Kind>, obj: &R::Kind) -> Result<Action, Error> {
    let ctx = r.context();
    let cleaned = match ctx.policies.admit(&ctx.client, obj).await {
        Ok(()) => r.cleanup(obj).await,
        Err(e) => crate::policy::release(ctx, obj, e).await,
    };
    match cleaned {
        Ok(action) => {
            let key = object_key(obj);
            r.context().last_writes.forget(&key);
            forget(r, &key);
            Ok(action)
        }
        Err(e) => {
            if let Some(report) = r.cleanup_status(obj, &e)
                && let Err(w) = write(r, api, obj, report).await
            {
                tracing::warn!(error = %w, "could not write the status");
            }
            Err(e)
        }
    }
}

/// Writes the status when it differs from the object's, then publishes the events (also
/// when the write failed: what was done in PlanetScale is announced either way).
async fn write<R: Reconciler>(
    r: &R,
    api: &Api<R::Kind>,
    obj: &R::Kind,
    report: Report<StatusOf<R>>,
) -> Result<(), Error> {
    let unchanged = obj.current_status() == Some(&report.status)
        || (obj.current_status().is_none() && report.status == StatusOf::<R>::default());
    let written = if unchanged {
        Ok(())
    } else {
        apply_status_returning(api, &obj.name_any(), &report.status)
            .await
            .map(|stored| r.context().last_writes.remember(&stored))
    };
    for n in report.events {
        r.context()
            .event(obj, n.type_, &n.reason, n.action, n.note)
            .await;
    }
    written.map_err(Error::from)
}

/// The requeue after a pass that ended as `ended`, recorded in the kind's schedule.
fn next<R: Reconciler>(r: &R, obj: &R::Kind, ended: Ended<'_, R::Outcome>) -> Action {
    let next = r.next(obj, ended);
    if let Some(s) = r.schedule() {
        s.set(&object_key(obj), Trigger::of(obj.meta()), next);
    }
    next.map_or_else(Action::await_change, Action::requeue)
}

/// The object `key` is gone: the kind and its schedule forget it.
fn forget<R: Reconciler>(r: &R, key: &str) {
    if let Some(s) = r.schedule() {
        s.forget(key);
    }
    r.forget(key);
}
