//! Observe: what PlanetScale and Kubernetes say about a deploy request, read once per pass
//! into an [`Observed`] value (no decisions, no writes), and the [`Facts`] the plan and the
//! status derive from it (pure, unit-tested without a network).
use chrono::{DateTime, Duration, Utc};
use planetscale_api::Client;
use planetscale_api::models::{DeployRequest, DeployRequestState, DeploymentState};

use super::request::{self, Source};
use crate::controller::Context;
use crate::crd::ManagementPolicy;
use crate::crd::deploy_request::{condition, reason};
use crate::crd::{DeployRequest as DeployRequestResource, DeployRequestStatus};
use crate::error::{Error, Result};

/// Everything one pass reads.
#[derive(Clone)]
pub struct Observed {
    /// PlanetScale client with the resource's credentials.
    pub client: Client,
    /// The source branch and where it lives.
    pub src: Source,
    /// The deploy request, if there is one.
    pub request: Request,
    /// The database requires an approval before a deploy (read only for a tracked request
    /// that is not approved yet, and for a missing one: the pass that opens it records the
    /// answer with its number, so the next pass need not read the database again).
    pub approval_required: bool,
    /// The last status recorded an approval (or its reset) — see [`approved_before`].
    pub approved_before: bool,
    /// The database's webhook deliveries are healthy: a state change PlanetScale announces
    /// wakes the resource, so waiting for one needs only the slow safety poll.
    pub webhooks: bool,
}

/// The deploy request of a resource, as observed.
#[derive(Clone, Debug, PartialEq)]
pub enum Request {
    /// The one `status.number` names.
    Tracked(DeployRequest),
    /// One the status does not record yet, or records under another management policy: the
    /// one `spec.number` names (adopted or observed), or an open one for the same branches
    /// (opened by a pass that crashed before its status write, or by someone else).
    Adopted(DeployRequest),
    /// None yet: the plan opens one into `into`.
    Missing {
        /// Target branch.
        into: String,
    },
}

impl Observed {
    /// The facts of `dr` with what this pass knows about the approval.
    pub fn facts_of(&self, dr: &DeployRequest) -> Facts {
        Facts::new(dr, self.approval_required, self.approved_before)
    }
}

/// Reads the source branch, the deploy request (by number, or an open one for the same
/// branches) and, when it matters, whether the database requires an approval.
pub async fn observe(ctx: &Context, obj: &DeployRequestResource) -> Result<Observed> {
    let status = obj.status.clone().unwrap_or_default();
    let client = super::client(ctx, obj).await?;
    let src = request::source(&ctx.client, obj).await?;
    let observe = obj.spec.management_policy == ManagementPolicy::Observe;
    // The database's rule, where this pass read the database anyway.
    let mut rule = None;
    let request = if status.number.is_some() {
        let dr = request::existing(&client, &src, status.number, None).await?;
        let dr = dr.ok_or_else(|| Error::Invalid {
            reason: "NotFound",
            message: "deploy request vanished".into(),
        })?;
        // Observed → managed (admission requires `adopt`), or managed → observed: the new
        // claim is recorded before anything else.
        if observe == (status.observed_only == Some(true)) {
            Request::Tracked(dr)
        } else {
            Request::Adopted(dr)
        }
    } else if let Some(number) = obj.spec.number {
        Request::Adopted(request::numbered(&client, &src, number, observe).await?)
    } else {
        let db = request::database(&client, &src.at).await?;
        request::check_engine(&db, &src)?;
        let into = request::into_branch(&db, obj.spec.into_branch.as_deref());
        rule = Some(request::requires_approval(&db));
        match request::existing(&client, &src, None, Some(&into)).await? {
            Some(dr) => Request::Adopted(dr),
            None => Request::Missing { into },
        }
    };
    let approval_required = match &request {
        Request::Tracked(dr) | Request::Adopted(dr) if !dr.approved => {
            match (rule, recorded_approval_required(&status)) {
                // Read in this very pass.
                (Some(required), _) => required,
                (None, Some(required)) if !decides_on_approval(dr) => required,
                _ => request::approval_required(&client, &src.at).await?,
            }
        }
        Request::Missing { .. } => rule.unwrap_or(false),
        _ => false,
    };
    let (org, db) = (&src.at.org, &src.at.db);
    ctx.webhooks.in_use(org, db, &client);
    let webhooks = ctx.webhooks.healthy(org, db);
    Ok(Observed {
        client,
        src,
        request,
        approval_required,
        approved_before: approved_before(&status),
        webhooks,
    })
}

/// How long PlanetScale keeps the revert window open after a deploy.
pub const REVERT_WINDOW: Duration = Duration::minutes(30);

/// The facts of one deploy request at one moment.
#[derive(Clone, Debug, PartialEq)]
pub struct Facts {
    /// Per-database number.
    pub number: u64,
    /// Source branch.
    pub branch: String,
    /// Target branch.
    pub into: String,
    /// `deployment_state`.
    pub state: DeploymentState,
    /// The deploy request is open (PlanetScale closes it after a deploy, or a user closed it).
    pub open: bool,
    /// The checks passed and the deploy can be queued.
    pub deployable: bool,
    /// An approving review is on the request.
    pub approved: bool,
    /// The database requires an approval before a deploy.
    pub approval_required: bool,
    /// An earlier approval was dismissed by a schema change and not given again.
    pub approval_reset: bool,
    /// Auto-apply (cut over without `apply-deploy`).
    pub auto_cutover: bool,
    /// Deployed with instant DDL (no revert window).
    pub instant: bool,
    /// Deploy check errors (`error` state).
    pub check_errors: Option<String>,
    /// Errors of the deploy itself (`complete_error`, `complete_revert_error`).
    pub deploy_errors: Option<String>,
    /// Number of lint errors.
    pub lint_count: usize,
    /// Number of tables the change touches.
    pub table_count: usize,
    /// Tables whose operation is complete (while deploying).
    pub tables_done: usize,
    /// 1 + the deploys ahead in the queue, while queued.
    pub queue_position: Option<i32>,
    /// The queue of `into` is blocked by an errored deploy (with its number, when known).
    pub queue_blocked: Option<Option<u64>>,
    /// When the change was applied.
    pub deployed_at: Option<DateTime<Utc>>,
    /// Link to the request in the dashboard.
    pub html_url: Option<String>,
}

impl Facts {
    /// Facts of `dr`. `approval_required` comes from the database; `approved_before` is
    /// whether the last status recorded an approval (or an approval reset) that `dr` no longer
    /// has.
    pub fn new(dr: &DeployRequest, approval_required: bool, approved_before: bool) -> Self {
        let d = dr.deployment.clone().unwrap_or_default();
        let state = deployment_state(dr)
            .cloned()
            .unwrap_or_else(|| DeploymentState::Unknown(String::new()));
        let queued = state == DeploymentState::Queued;
        let deploy_errors = d
            .deploy_operations
            .iter()
            .find_map(|op| op.deploy_errors.clone().filter(|e| !e.is_empty()));
        let tables_done = d
            .deploy_operations
            .iter()
            .filter(|op| op.state.as_ref().is_some_and(|s| s.as_str() == "complete"))
            .count();
        let preceding = preceding(&d.preceding_deployments);
        Self {
            number: dr.number,
            branch: dr.branch.clone(),
            into: dr.into_branch.clone(),
            open: dr.state.as_ref() != Some(&DeployRequestState::Closed),
            deployable: d.deployable,
            approved: dr.approved,
            approval_required,
            approval_reset: approved_before && !dr.approved,
            auto_cutover: d.auto_cutover,
            instant: d.instant_ddl.unwrap_or(false),
            check_errors: d.deploy_check_errors.clone().filter(|e| !e.is_empty()),
            deploy_errors,
            lint_count: d.lint_errors.len(),
            table_count: d.deploy_operations.len(),
            tables_done,
            queue_position: queued.then(|| i32::try_from(preceding.len() + 1).unwrap_or(i32::MAX)),
            queue_blocked: queued
                .then(|| blocker(&preceding, d.queue_paused.unwrap_or(false)))
                .flatten(),
            deployed_at: dr
                .deployed_at
                .or(d.times.finished_at.filter(|_| state.is_deployed())),
            html_url: dr.html_url.clone(),
            state,
        }
    }

    /// When the revert window closes (or closed): only for deploys that have one.
    pub fn revert_window_ends_at(&self) -> Option<DateTime<Utc>> {
        use DeploymentState::*;
        let has_window = matches!(
            self.state,
            CompletePendingRevert
                | Complete
                | InProgressRevert
                | InProgressRevertVschema
                | CompleteRevert
                | CompleteRevertError
        );
        (has_window && !self.instant)
            .then(|| self.deployed_at.map(|t| t + REVERT_WINDOW))
            .flatten()
    }

    /// `#42` for messages.
    pub fn name(&self) -> String {
        format!("deploy request #{}", self.number)
    }
}

/// Whether the last status recorded an approval, or an approval reset still not made good: an
/// approval missing now was then dismissed (by a schema change).
pub fn approved_before(status: &DeployRequestStatus) -> bool {
    status.approved == Some(true)
        || status
            .conditions
            .iter()
            .any(|c| c.type_ == condition::APPROVED && c.reason == reason::APPROVAL_RESET)
}

/// Whether the database's approval rule decides something for `dr` now: it is open and
/// `ready` (the pass that may queue it). In any other state the rule the last status recorded
/// is shown ([`recorded_approval_required`]) instead of reading the database on every pass,
/// which was half the requests of a polled deploy (`make bench`, webhooks scenario).
pub fn decides_on_approval(dr: &DeployRequest) -> bool {
    dr.state.as_ref() != Some(&DeployRequestState::Closed)
        && deployment_state(dr) == Some(&DeploymentState::Ready)
}

/// The deployment state PlanetScale reports for `dr`: at the top level, else in `deployment`.
fn deployment_state(dr: &DeployRequest) -> Option<&DeploymentState> {
    dr.deployment_state
        .as_ref()
        .or(dr.deployment.as_ref().and_then(|d| d.state.as_ref()))
}

/// Whether the last status recorded that the database requires an approval (its `Approved`
/// condition), `None` when it does not say (no status yet, or an approval given then).
pub fn recorded_approval_required(status: &DeployRequestStatus) -> Option<bool> {
    let approved = status
        .conditions
        .iter()
        .find(|c| c.type_ == condition::APPROVED)?;
    match approved.reason.as_str() {
        r if r == reason::APPROVAL_NOT_REQUIRED => Some(false),
        r if r == reason::AWAITING_APPROVAL || r == reason::APPROVAL_RESET => Some(true),
        _ => None,
    }
}

/// `(number, state)` of the deployments ahead in the queue.
fn preceding(items: &[serde_json::Value]) -> Vec<(Option<u64>, String)> {
    items
        .iter()
        .map(|p| {
            let number = p
                .get("deploy_request_number")
                .and_then(serde_json::Value::as_u64);
            let state = p.get("state").and_then(|s| s.as_str()).unwrap_or_default();
            (number, state.to_string())
        })
        .collect()
}

/// The errored deploy that blocks the queue, if the queue is blocked.
fn blocker(preceding: &[(Option<u64>, String)], paused: bool) -> Option<Option<u64>> {
    let errored = preceding
        .iter()
        .find(|(_, s)| DeploymentState::from(s.as_str()).blocks_queue());
    match errored {
        Some((number, _)) => Some(*number),
        None if paused => Some(None),
        None => None,
    }
}

#[cfg(test)]
#[path = "observe_tests.rs"]
mod tests;
