//! Events (pure, published by the skeleton after the status write): one when the deploy
//! request is opened or adopted, one per step taken, one per deployment state change, and one
//! when the summary `Ready` changes its reason (a warning when it needs a human).
use planetscale_api::models::DeployRequest as ApiDeployRequest;

use super::plan::Step;
use crate::controller::reconciler::Note;
use crate::crd::DeployRequestStatus;
use crate::crd::conditions::{READY, find_condition, reason as common};
use crate::crd::deploy_request::reason as r;

/// Reasons of a `Ready=False` that only say "in progress" (a Normal event, not a Warning).
const PROGRESS: &[&str] = &[
    r::CHECKS_RUNNING,
    r::QUEUED,
    r::DEPLOYING,
    r::AWAITING_CUTOVER,
    r::AWAITING_APPROVAL,
    r::REVERTING,
    common::BRANCH_NOT_READY,
    common::PAUSED,
];

/// The deploy request was opened (or an open one adopted).
pub fn opened(dr: &ApiDeployRequest, adopted: bool, observed: bool) -> Note {
    let (reason, verb) = match (observed, adopted) {
        (true, _) => ("Observed", "observing (never changing)"),
        (false, true) => ("Adopted", "adopted the"),
        (false, false) => ("Created", "opened"),
    };
    let note = format!(
        "{verb} deploy request #{} from {} into {}",
        dr.number, dr.branch, dr.into_branch
    );
    Note::normal(reason, "Create", note)
}

/// `step` was done on deploy request `n`.
pub fn step_done(step: &Step, n: u64) -> Note {
    let (reason, note) = done(step, n);
    Note::normal(reason, step_action(step), note)
}

/// Events for what changed between two statuses.
pub fn changed(old: &DeployRequestStatus, new: &DeployRequestStatus) -> Vec<Note> {
    let mut notes = Vec::new();
    if let (Some(from), Some(to)) = (&old.deployment_state, &new.deployment_state)
        && from != to
    {
        let n = new.number.unwrap_or_default();
        let note = format!("deploy request #{n}: deployment state {from} → {to}");
        notes.push(Note::normal("DeploymentState", "Track", note));
    }
    let before = find_condition(&old.conditions, READY);
    let Some(after) = find_condition(&new.conditions, READY) else {
        return notes;
    };
    if before.is_some_and(|b| b.reason == after.reason && b.status == after.status) {
        return notes;
    }
    let warning = after.status == "False" && !PROGRESS.contains(&after.reason.as_str());
    let message = after.message.clone();
    notes.push(if warning {
        Note::warning(after.reason.clone(), "Reconcile", message)
    } else {
        Note::normal(after.reason.clone(), "Reconcile", message)
    });
    notes
}

/// Reason and note of the event for `step` done on deploy request `n`.
fn done(step: &Step, n: u64) -> (&'static str, String) {
    match *step {
        Step::Open { .. } => ("Created", format!("opened deploy request #{n}")),
        Step::Approve => (
            "Approved",
            format!("approved deploy request #{n} with approval.credentialsRef"),
        ),
        Step::Queue => (
            "DeployQueued",
            format!("queued the deploy of deploy request #{n}"),
        ),
        Step::SetAutoApply(on) => (
            "AutoApplySet",
            format!("set auto-apply of deploy request #{n} to {on}"),
        ),
        Step::Cutover => (
            "CutOver",
            format!("applied the gated deploy of deploy request #{n} (cutover: true)"),
        ),
        Step::Revert => (
            "Reverting",
            format!("started reverting deploy request #{n} (revert: true)"),
        ),
        Step::SkipRevert => (
            "RevertSkipped",
            format!("closed the revert window of deploy request #{n} (skipRevert: true)"),
        ),
    }
}

fn step_action(step: &Step) -> &'static str {
    match step {
        Step::Open { .. } => "Create",
        Step::Approve => "Approve",
        Step::Queue => "Deploy",
        Step::SetAutoApply(_) => "SetAutoApply",
        Step::Cutover => "ApplyDeploy",
        Step::Revert => "Revert",
        Step::SkipRevert => "SkipRevert",
    }
}
