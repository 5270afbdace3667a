//! Time-driven transitions: deploy checks, deploy steps, revert window expiry.

use chrono::{DateTime, Utc};

use super::{later, step_due};
use crate::config::Settings;
use crate::model::{DeployOp, DeployRequest, DeployState, World};
use crate::schema::{self, Lint};

/// Apply every deploy transition due at or before `now`, in time order.
pub fn advance(w: &mut World, s: &Settings, now: DateTime<Utc>) {
    loop {
        let due = w
            .deploy_requests
            .iter()
            .enumerate()
            .filter_map(|(i, r)| {
                r.deployment
                    .next_at
                    .filter(|t| *t <= now)
                    .map(|t| (t, r.number, i))
            })
            .min();
        let Some((t, _, i)) = due else { break };
        step(w, s, i, t);
        schedule(w, s, t);
    }
}

fn set_state(
    w: &mut World,
    i: usize,
    state: DeployState,
    t: DateTime<Utc>,
    next: Option<DateTime<Utc>>,
) {
    let r = &mut w.deploy_requests[i];
    r.deployment.state = state;
    r.deployment.next_at = next;
    r.deployment.updated_at = t;
    r.updated_at = t;
}

fn step(w: &mut World, s: &Settings, i: usize, t: DateTime<Utc>) {
    let d = &w.deploy_requests[i].deployment;
    match d.state {
        DeployState::Pending => run_checks(w, i, t),
        DeployState::Submitting => {
            set_state(w, i, DeployState::InProgress, t, step_due(s, t));
            w.deploy_requests[i].deployment.started_at = Some(t);
        }
        DeployState::InProgress => after_copy(w, s, i, t),
        DeployState::InProgressCutover => finish_deploy(w, s, i, t),
        DeployState::CompletePendingRevert => set_state(w, i, DeployState::Complete, t, None),
        DeployState::InProgressRevert => finish_revert(w, i, t),
        DeployState::InProgressCancel => {
            set_state(w, i, DeployState::CompleteCancel, t, None);
            w.deploy_requests[i].deployment.finished_at = Some(t);
        }
        _ => w.deploy_requests[i].deployment.next_at = None,
    }
}

fn after_copy(w: &mut World, s: &Settings, i: usize, t: DateTime<Utc>) {
    let d = &w.deploy_requests[i].deployment;
    if d.injected_error.is_some() {
        fail(w, i, t);
    } else if d.auto_cutover || d.instant_ddl {
        set_state(w, i, DeployState::InProgressCutover, t, step_due(s, t));
        w.deploy_requests[i].deployment.cutover_at = Some(t);
    } else {
        set_state(w, i, DeployState::PendingCutover, t, None);
        w.deploy_requests[i].deployment.ready_to_cutover_at = Some(t);
    }
}

/// Fail the running deploy (or revert) with its injected error; this blocks the queue.
pub(super) fn fail(w: &mut World, i: usize, t: DateTime<Utc>) {
    let reverting = matches!(
        w.deploy_requests[i].deployment.state,
        DeployState::InProgressRevert | DeployState::InProgressRevertVschema
    );
    let state = if reverting {
        DeployState::CompleteRevertError
    } else {
        DeployState::CompleteError
    };
    set_state(w, i, state, t, None);
    let d = &mut w.deploy_requests[i].deployment;
    let message = d
        .injected_error
        .take()
        .unwrap_or_else(|| "deploy failed".into());
    d.finished_at = Some(t);
    for op in &mut d.operations {
        op.deploy_errors = Some(message.clone());
    }
}

/// Outcome of deploy checks: state, `deploy_check_errors`, operations, lint errors.
type Checked = (DeployState, Option<String>, Vec<schema::Change>, Vec<Lint>);

fn evaluate(w: &World, r: &DeployRequest) -> Checked {
    let (branch, target) = (
        w.branch_by_id(&r.branch_id),
        w.branch_by_id(&r.into_branch_id),
    );
    let (Some(branch), Some(target)) = (branch, target) else {
        let text = "the branch or the target branch no longer exists".to_string();
        return (DeployState::Error, Some(text), Vec::new(), Vec::new());
    };
    let fk = w
        .db_by_id(&r.db_id)
        .is_some_and(|d| d.settings.foreign_keys_enabled);
    let changes = match schema::changes(&branch.base_schema, &branch.schema, &target.schema) {
        Err(conflicts) => {
            return (
                DeployState::Error,
                Some(conflicts.join("; ")),
                Vec::new(),
                Vec::new(),
            );
        }
        Ok(changes) if changes.is_empty() => {
            return (DeployState::NoChanges, None, changes, Vec::new());
        }
        Ok(changes) => changes,
    };
    let lints: Vec<Lint> = changes
        .iter()
        .filter_map(|c| {
            c.new_raw
                .as_ref()
                .map(|raw| schema::lint_table(&c.table, raw, fk))
        })
        .flatten()
        .collect();
    if lints.is_empty() {
        return (DeployState::Ready, None, changes, lints);
    }
    let text = lints
        .iter()
        .map(|l| l.description.as_str())
        .collect::<Vec<_>>()
        .join("; ");
    (DeployState::Error, Some(text), changes, lints)
}

fn run_checks(w: &mut World, i: usize, t: DateTime<Utc>) {
    let (state, errors, changes, lints) = evaluate(w, &w.deploy_requests[i]);
    set_state(w, i, state, t, None);
    let d = &mut w.deploy_requests[i].deployment;
    d.deploy_check_errors = errors;
    d.lint_errors = lints;
    d.operations = changes
        .into_iter()
        .map(|change| DeployOp {
            id: crate::ids::new_id(),
            change,
            deploy_errors: None,
        })
        .collect();
}

fn finish_deploy(w: &mut World, s: &Settings, i: usize, t: DateTime<Utc>) {
    let r = &w.deploy_requests[i];
    let changes: Vec<_> = r
        .deployment
        .operations
        .iter()
        .map(|o| o.change.clone())
        .collect();
    let (into_id, db_id) = (r.into_branch_id.clone(), r.db_id.clone());
    let mut previous = Default::default();
    if let Some(target) = w.branches.iter_mut().find(|b| b.id == into_id) {
        previous = schema::apply(&mut target.schema, &changes);
        target.schema_last_updated_at = Some(t);
    }
    if let Some(db) = w.databases.iter_mut().find(|d| d.id == db_id) {
        db.schema_last_updated_at = Some(t);
    }
    let instant = w.deploy_requests[i].deployment.instant_ddl;
    let (state, next) = if instant {
        (DeployState::Complete, None)
    } else {
        (
            DeployState::CompletePendingRevert,
            Some(later(t, s.revert_window)),
        )
    };
    set_state(w, i, state, t, next);
    let r = &mut w.deploy_requests[i];
    r.deployment.previous_tables = previous;
    r.deployment.finished_at = Some(t);
    r.deployed_at = Some(t);
    r.state = "closed".into();
    r.closed_at = Some(t);
    if r.deployment.auto_delete_branch {
        let (branch_id, actor) = (r.branch_id.clone(), r.deployment.actor.clone());
        crate::routes::branches::delete_branch_cascade(w, &branch_id, actor.as_ref(), t);
    }
    recheck_targeting(w, s, &into_id, t);
}

fn finish_revert(w: &mut World, i: usize, t: DateTime<Utc>) {
    if w.deploy_requests[i].deployment.injected_error.is_some() {
        return fail(w, i, t);
    }
    let r = &w.deploy_requests[i];
    let (into_id, previous) = (
        r.into_branch_id.clone(),
        r.deployment.previous_tables.clone(),
    );
    if let Some(target) = w.branches.iter_mut().find(|b| b.id == into_id) {
        for (table, old) in previous {
            match old {
                Some(raw) => target.schema.insert(table, raw),
                None => target.schema.remove(&table),
            };
        }
        target.schema_last_updated_at = Some(t);
    }
    set_state(w, i, DeployState::CompleteRevert, t, None);
    w.deploy_requests[i].deployment.finished_at = Some(t);
}

fn restart_checks(w: &mut World, s: &Settings, i: usize, t: DateTime<Utc>) {
    set_state(
        w,
        i,
        DeployState::Pending,
        t,
        Some(later(t, s.deploy_check_duration)),
    );
    w.deploy_requests[i].deployment.queued_at = None;
}

fn recheck_targeting(w: &mut World, s: &Settings, into_id: &str, t: DateTime<Utc>) {
    use DeployState::*;
    let idx: Vec<usize> = (0..w.deploy_requests.len())
        .filter(|&i| {
            let r = &w.deploy_requests[i];
            r.is_open()
                && r.into_branch_id == into_id
                && matches!(r.deployment.state, Pending | Ready | NoChanges | Error)
        })
        .collect();
    for i in idx {
        restart_checks(w, s, i, t);
    }
}

/// A branch's schema changed (outside a deploy): open deploy requests from it lose their
/// approval, leave the queue and re-run their checks; requests into it re-run their checks.
pub fn on_branch_schema_changed(w: &mut World, s: &Settings, branch_id: &str, t: DateTime<Utc>) {
    use DeployState::*;
    let idx: Vec<usize> = (0..w.deploy_requests.len())
        .filter(|&i| {
            let r = &w.deploy_requests[i];
            r.is_open()
                && r.branch_id == branch_id
                && matches!(
                    r.deployment.state,
                    Pending | Ready | NoChanges | Error | Queued | Cancelled | CompleteCancel
                )
        })
        .collect();
    for i in idx {
        w.deploy_requests[i].approved = false;
        restart_checks(w, s, i, t);
    }
    recheck_targeting(w, s, branch_id, t);
}

/// Start the oldest queued deploy of every target branch whose queue is free.
pub fn schedule(w: &mut World, s: &Settings, t: DateTime<Utc>) {
    let mut queued: Vec<usize> = (0..w.deploy_requests.len())
        .filter(|&i| w.deploy_requests[i].deployment.state == DeployState::Queued)
        .collect();
    queued.sort_by_key(|&i| {
        (
            w.deploy_requests[i].deployment.queued_at,
            w.deploy_requests[i].number,
        )
    });
    for i in queued {
        let target = w.deploy_requests[i].into_branch_id.clone();
        let busy = w
            .deploy_requests
            .iter()
            .any(|r| r.into_branch_id == target && r.deployment.state.holds_queue());
        if !busy {
            set_state(w, i, DeployState::Submitting, t, step_due(s, t));
            w.deploy_requests[i].deployment.submitted_at = Some(t);
        }
    }
}
