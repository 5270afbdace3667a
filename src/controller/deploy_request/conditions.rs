//! Conditions of a `DeployRequest` from the facts (pure): the eight specific conditions and
//! the summary `Ready`, with reasons and messages a user can act on.
use planetscale_api::models::DeploymentState;

use super::observe::Facts;
use super::plan::Step;
use super::ready::ready;
use crate::crd::ConditionStatus::{self, False, True};
use crate::crd::DeployRequestSpec;
use crate::crd::conditions::READY;
use crate::crd::deploy_request::{condition as c, reason as r};

/// One condition before it is stamped with a time and generation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cond {
    /// Condition type.
    pub type_: &'static str,
    /// True, False or Unknown.
    pub status: ConditionStatus,
    /// CamelCase reason.
    pub reason: &'static str,
    /// What it means and what to do.
    pub message: String,
}

pub(super) fn cond(
    type_: &'static str,
    status: ConditionStatus,
    reason: &'static str,
    msg: String,
) -> Cond {
    Cond {
        type_,
        status,
        reason,
        message: msg,
    }
}

/// A step PlanetScale refused for a reason a user can act on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepError {
    /// The step that failed.
    pub step: Step,
    /// Condition reason.
    pub reason: &'static str,
    /// What went wrong and what to do.
    pub message: String,
}

/// Every condition, `Ready` last.
pub fn conditions(
    spec: &DeployRequestSpec,
    f: &Facts,
    refusal: Option<&str>,
    step_error: Option<&StepError>,
) -> Vec<Cond> {
    let mut approved = approved(f);
    if let Some(e) = step_error.filter(|e| e.step == Step::Approve) {
        approved = cond(c::APPROVED, False, e.reason, e.message.clone());
    }
    let ready = match (refusal, step_error) {
        (Some(msg), _) => cond(READY, False, r::ACTION_NOT_ALLOWED, msg.to_string()),
        (None, Some(e)) => cond(READY, False, e.reason, e.message.clone()),
        (None, None) => ready(spec, f),
    };
    vec![
        checks_passed(f),
        approved,
        queued(spec, f),
        deploying(f),
        awaiting_cutover(spec, f),
        deployed(f),
        revert_window(f),
        failed(f),
        ready,
    ]
}

fn checks_passed(f: &Facts) -> Cond {
    use DeploymentState::*;
    let name = f.name();
    match f.state {
        Pending => cond(
            c::CHECKS_PASSED,
            ConditionStatus::Unknown,
            r::CHECKS_RUNNING,
            format!("deploy checks (diff and lint) of {name} are running"),
        ),
        Error => cond(c::CHECKS_PASSED, False, r::CHECKS_FAILED, checks_failed(f)),
        NoChanges => cond(c::CHECKS_PASSED, True, r::NO_CHANGES, no_changes(f)),
        Unknown(_) => cond(
            c::CHECKS_PASSED,
            ConditionStatus::Unknown,
            r::UNKNOWN_STATE,
            unknown(f),
        ),
        _ => cond(
            c::CHECKS_PASSED,
            True,
            r::CHECKS_PASSED,
            format!(
                "deploy checks of {name} passed: {} table(s) change",
                f.table_count
            ),
        ),
    }
}

pub(super) fn checks_failed(f: &Facts) -> String {
    let errors = f.check_errors.as_deref().unwrap_or("no details given");
    let lint = match f.lint_count {
        0 => String::new(),
        n => format!(" ({n} lint error(s) in status.lintErrors)"),
    };
    format!(
        "deploy checks of {} failed: {errors}{lint}. Fix the schema on branch {}; the checks run again when it changes",
        f.name(),
        f.branch
    )
}

pub(super) fn no_changes(f: &Facts) -> String {
    format!(
        "branch {} has no schema changes against {}: nothing to deploy. Change the schema on {} and the checks run again",
        f.branch, f.into, f.branch
    )
}

pub(super) fn unknown(f: &Facts) -> String {
    format!(
        "PlanetScale reports deployment state {:?}, which this operator does not know; see {}",
        f.state.as_str(),
        f.html_url.as_deref().unwrap_or("the PlanetScale dashboard")
    )
}

pub(super) fn approved(f: &Facts) -> Cond {
    let n = f.number;
    if f.approved {
        cond(
            c::APPROVED,
            True,
            r::APPROVED,
            format!("deploy request #{n} is approved"),
        )
    } else if !f.approval_required {
        cond(
            c::APPROVED,
            True,
            r::APPROVAL_NOT_REQUIRED,
            "the database does not require an approval to deploy".into(),
        )
    } else if f.approval_reset {
        cond(
            c::APPROVED,
            False,
            r::APPROVAL_RESET,
            format!(
                "the approval of #{n} was dismissed because the schema of branch {} changed after it (a queued deploy leaves the queue). Approve it again in PlanetScale; with spec.approval.credentialsRef and deploy: true the operator approves again once the checks pass",
                f.branch
            ),
        )
    } else {
        cond(
            c::APPROVED,
            False,
            r::AWAITING_APPROVAL,
            format!(
                "the database requires an approval: approve #{n} in PlanetScale with another identity than the one that opened it, or set spec.approval.credentialsRef (approves when deploy is true)"
            ),
        )
    }
}

pub(super) fn queued(spec: &DeployRequestSpec, f: &Facts) -> Cond {
    use DeploymentState::*;
    match (&f.state, f.queue_blocked) {
        (Queued, Some(blocker)) => {
            cond(c::QUEUED, True, r::QUEUE_BLOCKED, queue_blocked(f, blocker))
        }
        (Queued, None) => cond(
            c::QUEUED,
            True,
            r::QUEUED,
            format!(
                "position {} in the deploy queue of {}",
                f.queue_position.unwrap_or(1),
                f.into
            ),
        ),
        (Ready, _) if !spec.deploy => cond(
            c::QUEUED,
            False,
            r::NOT_QUEUED,
            "deploy is false: set deploy: true to queue the deploy".into(),
        ),
        _ => cond(
            c::QUEUED,
            False,
            r::NOT_QUEUED,
            format!("deployment state {}", f.state.as_str()),
        ),
    }
}

fn queue_blocked(f: &Facts, blocker: Option<u64>) -> String {
    let who = blocker.map_or("an errored deploy".into(), |n| {
        format!("deploy request #{n}")
    });
    format!(
        "the deploy queue of {} is blocked: {who} failed and holds it until it is completed. Delete the DeployRequest of {who} (the operator then completes it) or complete it in the PlanetScale dashboard; {} then starts",
        f.into,
        f.name()
    )
}

pub(super) fn deploying(f: &Facts) -> Cond {
    use DeploymentState::*;
    let progress = format!("{}/{} table(s) done", f.tables_done, f.table_count);
    match f.state {
        Submitting | InProgress | InProgressVschema => cond(
            c::DEPLOYING,
            True,
            r::DEPLOYING,
            format!("applying the schema change: {progress}"),
        ),
        InProgressCutover => cond(
            c::DEPLOYING,
            True,
            r::DEPLOYING,
            "cutting over to the new schema".into(),
        ),
        InProgressCancel => cond(
            c::DEPLOYING,
            True,
            r::CANCELLING,
            "the deploy is being cancelled".into(),
        ),
        InProgressRevert | InProgressRevertVschema => cond(
            c::DEPLOYING,
            True,
            r::REVERTING,
            "the schema change is being reverted".into(),
        ),
        _ => cond(
            c::DEPLOYING,
            False,
            r::IDLE,
            format!("deployment state {}", f.state.as_str()),
        ),
    }
}

pub(super) fn awaiting_cutover(spec: &DeployRequestSpec, f: &Facts) -> Cond {
    if !f.state.is_awaiting_cutover() {
        return cond(
            c::AWAITING_CUTOVER,
            False,
            r::IDLE,
            format!("deployment state {}", f.state.as_str()),
        );
    }
    let msg = if spec.cutover {
        "the deploy is ready; cutting over (cutover: true)".to_string()
    } else {
        format!(
            "the deploy is ready and holds the deploy queue of {}: set cutover: true to apply it",
            f.into
        )
    };
    cond(c::AWAITING_CUTOVER, True, r::AWAITING_CUTOVER, msg)
}

fn deployed(f: &Facts) -> Cond {
    use DeploymentState::*;
    let into = &f.into;
    match f.state {
        Complete | CompletePendingRevert => cond(
            c::DEPLOYED,
            True,
            r::DEPLOYED,
            format!("the schema change is applied to {into}"),
        ),
        InProgressRevert | InProgressRevertVschema => cond(
            c::DEPLOYED,
            True,
            r::REVERTING,
            format!("the schema change is applied to {into} and being reverted"),
        ),
        CompleteRevert => cond(
            c::DEPLOYED,
            False,
            r::REVERTED,
            format!("the schema change was reverted on {into}"),
        ),
        CompleteRevertError => cond(
            c::DEPLOYED,
            ConditionStatus::Unknown,
            r::REVERT_FAILED,
            format!("the revert failed; check the schema of {into}"),
        ),
        NoChanges => cond(
            c::DEPLOYED,
            False,
            r::NO_CHANGES,
            format!(
                "nothing to deploy: {into} already has the schema of {}",
                f.branch
            ),
        ),
        _ => cond(
            c::DEPLOYED,
            False,
            r::NOT_DEPLOYED,
            format!("deployment state {}", f.state.as_str()),
        ),
    }
}

fn revert_window(f: &Facts) -> Cond {
    if !f.state.can_revert() {
        return cond(
            c::REVERT_WINDOW_OPEN,
            False,
            r::REVERT_WINDOW_CLOSED,
            format!("deployment state {}", f.state.as_str()),
        );
    }
    let until = f
        .revert_window_ends_at()
        .map_or(String::new(), |t| format!(" until {}", t.to_rfc3339()));
    cond(
        c::REVERT_WINDOW_OPEN,
        True,
        r::REVERT_WINDOW_OPEN,
        format!(
            "the change can be reverted{until}: set revert: true to undo it, or skipRevert: true to close the window now"
        ),
    )
}

pub(super) fn failed(f: &Facts) -> Cond {
    use DeploymentState::*;
    let errors = f.deploy_errors.as_deref().unwrap_or("no details given");
    let unblock = format!(
        "It blocks the deploy queue of {} until it is completed: delete this DeployRequest (the operator completes it, unblocking the queue) or complete it in the PlanetScale dashboard",
        f.into
    );
    match f.state {
        Error => cond(c::FAILED, True, r::CHECKS_FAILED, checks_failed(f)),
        CompleteError => cond(
            c::FAILED,
            True,
            r::DEPLOY_FAILED,
            format!("the deploy of {} failed: {errors}. {unblock}", f.name()),
        ),
        CompleteRevertError => cond(
            c::FAILED,
            True,
            r::REVERT_FAILED,
            format!("the revert of {} failed: {errors}. {unblock}", f.name()),
        ),
        _ => cond(
            c::FAILED,
            False,
            r::NO_FAILURE,
            format!("deployment state {}", f.state.as_str()),
        ),
    }
}

#[cfg(test)]
#[path = "conditions_tests.rs"]
mod tests;
