//! The `DeployRequest` controller: opens a PlanetScale deploy request from a branch into its
//! base and takes it as far as the spec allows, every step visible in status.
//!
//! It runs on the reconcile skeleton ([`super::reconciler`]), which does the fresh read, the
//! pause annotation, the finalizer, the single status write, metrics and backoff. A pass
//! reads top to bottom: [`observe`] (source branch, the deploy request by number or an open
//! one to adopt) → [`plan`] (pure: open, record, or at most one action) → [`act`] (an
//! outcome) → [`status`] (pure: the status and the [`events`]). Deletion is in [`cleanup`].
//! Every call to PlanetScale goes through the [`super::planetscale::PlanetScale`] trait; the
//! concrete client is only built (for the resource's credentials, or the approver's) and
//! handed on. Its [`Schedule`] lets the skeleton pass over the reconciles that bring nothing
//! new (our own status write, a webhook delivery of the state the last pass read) without
//! calling PlanetScale; its watches wake it through the schedule.
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, PartialObjectMeta};
use kube::runtime::Controller;
use kube::runtime::controller::Action;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Resource, ResourceExt};
use tokio_util::sync::CancellationToken;

use super::Context;
use super::reconciler::{self, Acted, Ended, Plan, Reconciler, Report, Schedule};
use super::{object_key, object_ref_key};
use crate::crd::{DeployRequest, DeployRequestStatus, PlanetScaleBranch};
use crate::error::Error;

mod act;
mod cleanup;
mod conditions;
mod events;
mod observe;
mod plan;
mod ready;
mod request;
mod status;
#[cfg(test)]
mod test_support;

use act::Outcome;
use observe::Observed;
use plan::Step;

/// Label of this controller's API requests: the rate limiter serves them before the others
/// (`planetscale_api::DEFAULT_HIGH_PRIORITY_CALLERS`), so a cutover never waits behind a burst.
pub const CALLER: &str = "deploy-request-controller";

/// The PlanetScale client for `obj`'s credentials, its requests labelled [`CALLER`].
async fn client(ctx: &Context, obj: &DeployRequest) -> Result<planetscale_api::Client, Error> {
    let ns = obj.namespace().unwrap_or_default();
    let creds = obj.spec.credentials_ref.as_ref();
    Ok(ctx
        .credentials
        .client_for(&ns, creds)
        .await?
        .with_caller(CALLER))
}

/// Finalizer that lets the operator close or cancel the deploy request on deletion.
pub use crate::crd::deploy_request::FINALIZER;

/// The deploy request controller: the shared [`Context`] and when each request is next due.
pub struct DeployRequests {
    ctx: Arc<Context>,
    schedule: Schedule,
}

impl DeployRequests {
    /// The controller over `ctx`, with an empty schedule.
    pub fn new(ctx: Arc<Context>) -> Self {
        Self {
            ctx,
            schedule: Schedule::default(),
        }
    }
}

/// Runs the controller until `shutdown` is cancelled (one controller per watched namespace).
pub async fn run(ctx: Arc<Context>, shutdown: CancellationToken) {
    reconciler::run(Arc::new(DeployRequests::new(ctx)), shutdown).await;
}

impl Reconciler for DeployRequests {
    type Kind = DeployRequest;
    type Observed = Observed;
    type Step = Step;
    type Outcome = Outcome;

    const CONTROLLER: &'static str = "deploy_request";
    const FINALIZER: &'static str = FINALIZER;
    const CLEANUP_WHEN_PAUSED: bool = true;

    fn context(&self) -> &Context {
        &self.ctx
    }

    fn watches(
        self: &Arc<Self>,
        controller: Controller<DeployRequest>,
        namespace: Option<&str>,
    ) -> Controller<DeployRequest> {
        let client = self.ctx.client.clone();
        let (branches, secrets): (Api<PlanetScaleBranch>, Api<PartialObjectMeta<Secret>>) =
            match namespace {
                Some(ns) => (
                    Api::namespaced(client.clone(), ns),
                    Api::namespaced(client, ns),
                ),
                None => (Api::all(client.clone()), Api::all(client)),
            };
        let store = controller.store();
        let (creds_store, r) = (store.clone(), self.clone());
        let controller = crate::controller::target::watch_databases(
            self,
            controller,
            namespace,
            |d: &DeployRequest| d.spec.target.database_ref.as_ref(),
            |d| d.status.as_ref().and_then(|s| s.number).is_none(),
        );
        let hinted = hinted(self, store.clone());
        let waking = self.clone();
        controller
            .reconcile_on(hinted)
            .watches(branches, crate::stores::watch_config(), move |b| {
                waking.schedule.woken(waiting_on(&store, &b))
            })
            // Credentials Secrets (metadata only): a fixed Secret wakes the requests that wait
            // on it.
            .watches(secrets, crate::stores::watch_config(), move |s| {
                r.schedule.woken(super::waiting_on_credentials(
                    &creds_store,
                    &r.ctx,
                    &s,
                    |d: &DeployRequest| d.spec.credentials_ref.as_ref(),
                    |d| super::not_ready(d.status.as_ref().map(|s| s.conditions.as_slice())),
                ))
            })
    }

    fn schedule(&self) -> Option<&Schedule> {
        Some(&self.schedule)
    }

    async fn observe(&self, obj: &DeployRequest) -> Result<Observed, Error> {
        observe::observe(&self.ctx, obj).await
    }

    fn plan(&self, obj: &DeployRequest, observed: &Observed) -> Plan<Step> {
        plan::plan(&obj.spec, observed)
    }

    async fn act(
        &self,
        obj: &DeployRequest,
        observed: Observed,
        plan: Plan<Step>,
    ) -> Acted<Outcome> {
        act::act(&self.ctx, obj, observed, plan).await
    }

    fn status(
        &self,
        obj: &DeployRequest,
        done: Option<&Outcome>,
        error: Option<&Error>,
    ) -> Report<DeployRequestStatus> {
        status::report(obj, done, error, crate::time::now())
    }

    fn paused_status(&self, obj: &DeployRequest) -> DeployRequestStatus {
        let prev = obj.status.clone().unwrap_or_default();
        status::paused(&prev, obj.meta().generation, crate::time::now())
    }

    async fn cleanup(&self, obj: &DeployRequest) -> Result<Action, Error> {
        cleanup::run(obj, &self.ctx).await
    }

    /// A paused request waits for a change; otherwise as the outcome says. What the pass read
    /// of the deploy request is remembered: a delivery of that same state is no news.
    fn next(&self, obj: &DeployRequest, ended: Ended<'_, Outcome>) -> Option<Duration> {
        match ended {
            Ended::Paused => None,
            Ended::Applied { outcome, planned } => {
                if let Some(dr) = outcome.read() {
                    let state = crate::webhooks::deploy_request_state(dr);
                    self.schedule.saw(&object_key(obj), state);
                }
                outcome.requeue(planned)
            }
        }
    }
}

/// The deploy requests webhook deliveries name (by organization, database and number), each
/// hinted in the schedule with the state the delivery shows.
fn hinted(
    r: &Arc<DeployRequests>,
    store: Store<DeployRequest>,
) -> impl futures::Stream<Item = ObjectRef<DeployRequest>> + Send + 'static {
    use futures::StreamExt;
    let r = r.clone();
    r.ctx.webhooks.subscribe().flat_map(move |hint| {
        let crate::webhooks::Hint::DeployRequest {
            organization,
            database,
            number,
            shows,
        } = hint
        else {
            return futures::stream::iter(Vec::new());
        };
        let named = |d: &&Arc<DeployRequest>| {
            d.status.as_ref().is_some_and(|s| {
                s.number == Some(number)
                    && s.organization.as_deref() == Some(organization.as_str())
                    && s.database.as_deref() == Some(database.as_str())
            })
        };
        let woken: Vec<_> = store
            .state()
            .iter()
            .filter(named)
            .map(|d| ObjectRef::from_obj(d.as_ref()))
            .collect();
        for o in &woken {
            r.schedule.hint(&object_ref_key(o), shows.as_deref());
        }
        futures::stream::iter(woken)
    })
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
                .target
                .branch_ref
                .as_ref()
                .is_some_and(|b| b.name == branch.name_any())
        })
        .filter(|d| d.status.as_ref().and_then(|s| s.number).is_none())
        .map(|d| ObjectRef::from_obj(d.as_ref()))
        .collect()
}
