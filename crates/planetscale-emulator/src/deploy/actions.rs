//! Deploy-request actions called by the API handlers and the admin API.

use chrono::{DateTime, Utc};

use super::{later, machine, step_due};
use crate::config::Settings;
use crate::error::{ApiError, ApiResult};
use crate::ids::new_id;
use crate::model::{Actor, DeployRequest, DeployState, Deployment, Review, World};

/// Parameters of a new deploy request.
pub struct NewDeployRequest {
    /// Database index.
    pub db: usize,
    /// Source branch index.
    pub branch: usize,
    /// Target branch index.
    pub into: usize,
    /// Notes.
    pub notes: String,
    /// Auto-apply (cut over without waiting for `apply-deploy`).
    pub auto_cutover: bool,
    /// Delete the branch after a successful deploy.
    pub auto_delete_branch: bool,
}

fn new_deployment(
    new: &NewDeployRequest,
    s: &Settings,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Deployment {
    Deployment {
        id: new_id(),
        state: DeployState::Pending,
        auto_cutover: new.auto_cutover,
        auto_delete_branch: new.auto_delete_branch,
        instant_ddl: false,
        created_at: now,
        updated_at: now,
        queued_at: None,
        submitted_at: None,
        started_at: None,
        ready_to_cutover_at: None,
        cutover_at: None,
        finished_at: None,
        force_cutover_requested_at: None,
        deploy_check_errors: None,
        lint_errors: Vec::new(),
        operations: Vec::new(),
        next_at: Some(later(now, s.deploy_check_duration)),
        injected_error: None,
        previous_tables: Default::default(),
        actor: Some(actor.clone()),
        cutover_actor: None,
        cancelled_actor: None,
    }
}

fn check_new(w: &World, new: &NewDeployRequest, now: DateTime<Utc>) -> ApiResult<()> {
    let (branch, into) = (&w.branches[new.branch], &w.branches[new.into]);
    if branch.id == into.id {
        return Err(ApiError::unprocessable(
            "A deploy request cannot deploy a branch into itself",
        ));
    }
    if branch.production {
        return Err(ApiError::unprocessable(
            "Deploy requests can only be opened from development branches",
        ));
    }
    if !into.safe_migrations {
        return Err(ApiError::unprocessable(format!(
            "Safe migrations must be enabled on branch {} to open deploy requests into it",
            into.name
        )));
    }
    if branch.ready_at > now {
        return Err(ApiError::unprocessable("The branch is not ready yet"));
    }
    let open_exists = w
        .deploy_requests
        .iter()
        .any(|r| r.is_open() && r.branch_id == branch.id && r.into_branch_id == into.id);
    if open_exists {
        return Err(ApiError::unprocessable(
            "An open deploy request already exists for this branch",
        ));
    }
    Ok(())
}

/// Open a deploy request; it starts in `pending` while checks run.
pub fn create(
    w: &mut World,
    s: &Settings,
    new: NewDeployRequest,
    actor: Actor,
    now: DateTime<Utc>,
) -> ApiResult<usize> {
    check_new(w, &new, now)?;
    let db = &mut w.databases[new.db];
    db.next_deploy_request_number += 1;
    let number = db.next_deploy_request_number;
    let deployment = new_deployment(&new, s, &actor, now);
    let (branch, into) = (&w.branches[new.branch], &w.branches[new.into]);
    w.deploy_requests.push(DeployRequest {
        id: new_id(),
        number,
        db_id: branch.db_id.clone(),
        branch_id: branch.id.clone(),
        branch: branch.name.clone(),
        into_branch_id: into.id.clone(),
        into_branch: into.name.clone(),
        actor,
        state: "open".into(),
        approved: false,
        notes: new.notes,
        created_at: now,
        updated_at: now,
        closed_at: None,
        closed_by: None,
        deployed_at: None,
        branch_deleted: false,
        branch_deleted_at: None,
        branch_deleted_by: None,
        reviews: Vec::new(),
        deployment,
    });
    Ok(w.deploy_requests.len() - 1)
}

fn state_error(state: DeployState, action: &str) -> ApiError {
    ApiError::unprocessable(format!(
        "Cannot {action} a deploy request in state {}",
        state.as_str()
    ))
}

fn touch(
    w: &mut World,
    i: usize,
    state: DeployState,
    now: DateTime<Utc>,
    next: Option<DateTime<Utc>>,
) {
    let r = &mut w.deploy_requests[i];
    r.deployment.state = state;
    r.deployment.next_at = next;
    r.deployment.updated_at = now;
    r.updated_at = now;
}

fn instant_eligible(r: &DeployRequest) -> bool {
    r.deployment.operations.iter().all(|op| {
        let ddl = op.change.ddl.to_ascii_uppercase();
        op.change.kind == crate::schema::OpKind::Create
            || (op.change.kind == crate::schema::OpKind::Alter
                && ddl.split(", ").all(|c| c.contains("ADD COLUMN")))
    })
}

/// Whether instant DDL could deploy this request.
pub fn is_instant_eligible(r: &DeployRequest) -> bool {
    !r.deployment.operations.is_empty() && instant_eligible(r)
}

/// `POST …/deploy`: queue a ready deploy request.
pub fn queue(
    w: &mut World,
    s: &Settings,
    i: usize,
    instant: bool,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let r = &w.deploy_requests[i];
    let state = r.deployment.state;
    if !r.is_open() {
        return Err(ApiError::unprocessable("The deploy request is closed"));
    }
    match state {
        DeployState::Pending => {
            return Err(ApiError::unprocessable("Deploy checks are still running"));
        }
        DeployState::NoChanges => {
            return Err(ApiError::unprocessable(
                "The deploy request has no changes to deploy",
            ));
        }
        DeployState::Error => {
            return Err(ApiError::unprocessable(
                "The deploy request has errors and cannot be deployed",
            ));
        }
        s if !s.deployable() => return Err(state_error(s, "deploy")),
        _ => {}
    }
    let needs_approval = w
        .db_by_id(&r.db_id)
        .is_some_and(|d| d.settings.require_approval_for_deploy);
    if needs_approval && !r.approved {
        return Err(ApiError::unprocessable(
            "The deploy request must be approved before it can be deployed",
        ));
    }
    if instant && !is_instant_eligible(r) {
        return Err(ApiError::unprocessable(
            "The deploy request is not eligible for instant deployment",
        ));
    }
    touch(w, i, DeployState::Queued, now, None);
    let d = &mut w.deploy_requests[i].deployment;
    d.queued_at = Some(now);
    d.instant_ddl = instant;
    machine::schedule(w, s, now);
    Ok(())
}

/// `POST …/cancel`.
pub fn cancel(
    w: &mut World,
    s: &Settings,
    i: usize,
    actor: Actor,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    match w.deploy_requests[i].deployment.state {
        DeployState::Queued => touch(w, i, DeployState::Cancelled, now, None),
        DeployState::Submitting | DeployState::InProgress | DeployState::PendingCutover => {
            touch(w, i, DeployState::InProgressCancel, now, step_due(s, now));
        }
        other => return Err(state_error(other, "cancel")),
    }
    w.deploy_requests[i].deployment.cancelled_actor = Some(actor);
    machine::schedule(w, s, now);
    Ok(())
}

/// `POST …/apply-deploy`: cut over a gated deploy waiting in `pending_cutover`.
pub fn apply(
    w: &mut World,
    s: &Settings,
    i: usize,
    actor: Actor,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    match w.deploy_requests[i].deployment.state {
        DeployState::PendingCutover => {
            touch(w, i, DeployState::InProgressCutover, now, step_due(s, now));
            let d = &mut w.deploy_requests[i].deployment;
            d.cutover_at = Some(now);
            d.cutover_actor = Some(actor);
            Ok(())
        }
        other => Err(state_error(other, "apply")),
    }
}

/// `PUT …/auto-apply`.
pub fn set_auto_apply(w: &mut World, s: &Settings, i: usize, enable: bool, now: DateTime<Utc>) {
    w.deploy_requests[i].deployment.auto_cutover = enable;
    w.deploy_requests[i].deployment.updated_at = now;
    if enable && w.deploy_requests[i].deployment.state == DeployState::PendingCutover {
        touch(w, i, DeployState::InProgressCutover, now, step_due(s, now));
        w.deploy_requests[i].deployment.cutover_at = Some(now);
    }
}

/// `POST …/complete-deploy`: acknowledge an errored deploy and unblock the queue.
pub fn complete_errored(
    w: &mut World,
    s: &Settings,
    i: usize,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    match w.deploy_requests[i].deployment.state {
        DeployState::CompleteError | DeployState::CompleteRevertError => {
            touch(w, i, DeployState::Complete, now, None);
            machine::schedule(w, s, now);
            Ok(())
        }
        other => Err(state_error(other, "complete")),
    }
}

/// `POST …/revert`: only during the revert window.
pub fn revert(w: &mut World, s: &Settings, i: usize, now: DateTime<Utc>) -> ApiResult<()> {
    match w.deploy_requests[i].deployment.state {
        DeployState::CompletePendingRevert => {
            touch(w, i, DeployState::InProgressRevert, now, step_due(s, now));
            Ok(())
        }
        other => Err(state_error(other, "revert")),
    }
}

/// `POST …/skip-revert`: close the revert window now.
pub fn skip_revert(w: &mut World, i: usize, now: DateTime<Utc>) -> ApiResult<()> {
    match w.deploy_requests[i].deployment.state {
        DeployState::CompletePendingRevert => {
            touch(w, i, DeployState::Complete, now, None);
            Ok(())
        }
        other => Err(state_error(other, "skip the revert of")),
    }
}

/// `POST …/force-cutover`.
pub fn force_cutover(w: &mut World, i: usize, now: DateTime<Utc>) -> ApiResult<()> {
    match w.deploy_requests[i].deployment.state {
        DeployState::InProgress | DeployState::InProgressCutover | DeployState::PendingCutover => {
            w.deploy_requests[i].deployment.force_cutover_requested_at = Some(now);
            Ok(())
        }
        other => Err(state_error(other, "force the cutover of")),
    }
}

/// `PATCH …` with `{state: "closed"}`.
pub fn close(
    w: &mut World,
    s: &Settings,
    i: usize,
    actor: Actor,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let r = &w.deploy_requests[i];
    if !r.is_open() {
        return Ok(());
    }
    if r.deployment.state.running() {
        return Err(ApiError::unprocessable(
            "A deploy request cannot be closed while it is deploying",
        ));
    }
    if r.deployment.state == DeployState::Queued {
        touch(w, i, DeployState::Cancelled, now, None);
    }
    let r = &mut w.deploy_requests[i];
    r.state = "closed".into();
    r.closed_at = Some(now);
    r.closed_by = Some(actor);
    r.updated_at = now;
    if r.deployment.state == DeployState::Pending {
        r.deployment.next_at = None;
    }
    machine::schedule(w, s, now);
    Ok(())
}

/// `POST …/reviews`: comment, or approve (never one's own request).
pub fn review(
    w: &mut World,
    i: usize,
    approve: bool,
    body: String,
    actor: Actor,
    now: DateTime<Utc>,
) -> ApiResult<usize> {
    let r = &mut w.deploy_requests[i];
    if approve {
        if !r.is_open() {
            return Err(ApiError::unprocessable(
                "A closed deploy request cannot be approved",
            ));
        }
        if r.actor.id == actor.id {
            return Err(ApiError::unprocessable(
                "You cannot approve your own deploy request",
            ));
        }
        r.approved = true;
    }
    let state = if approve { "approved" } else { "commented" };
    r.reviews.push(Review {
        id: new_id(),
        state: state.into(),
        body,
        actor,
        created_at: now,
    });
    r.updated_at = now;
    Ok(r.reviews.len() - 1)
}

/// Admin: make the deploy fail. A running deploy (or revert) fails now; a request that has
/// not started yet fails when its copy step ends.
pub fn inject_error(w: &mut World, i: usize, message: String, now: DateTime<Utc>) -> ApiResult<()> {
    use DeployState::*;
    let state = w.deploy_requests[i].deployment.state;
    w.deploy_requests[i].deployment.injected_error = Some(message);
    match state {
        Submitting
        | InProgress
        | InProgressVschema
        | PendingCutover
        | InProgressCutover
        | InProgressRevert
        | InProgressRevertVschema => {
            machine::fail(w, i, now);
            Ok(())
        }
        Pending | Ready | Queued | Cancelled | CompleteCancel | CompletePendingRevert => Ok(()),
        other => {
            w.deploy_requests[i].deployment.injected_error = None;
            Err(ApiError::conflict(
                "invalid_state",
                format!("cannot inject an error in state {}", other.as_str()),
            ))
        }
    }
}
