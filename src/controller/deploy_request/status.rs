//! Status: the report of a pass (pure). PlanetScale's fields, bounded in size, and the
//! conditions ([`super::conditions`], [`super::ready`]) stamped with time and generation; the
//! pass writes it once, with events for what changed ([`super::events`]).
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::Resource;
use planetscale_api::models::{DeployOperation, DeployRequest, Deployment};

use super::act::Outcome;
use super::conditions::{Cond, conditions};
use super::events;
use super::observe::Facts;
use super::plan::decide;
use crate::controller::reconciler::Report;
use crate::crd::ConditionStatus::{False, True};
use crate::crd::PAUSED_ANNOTATION;
use crate::crd::conditions::{READY, new_condition, reason as common, set_condition};
use crate::crd::deploy_request_status::{
    MAX_DDL_LEN, MAX_LINT_ERRORS, MAX_TABLES, MAX_TEXT_LEN, truncate_chars,
};
use crate::crd::{DeployRequest as DeployRequestResource, DeployRequestSpec};
use crate::crd::{DeployRequestStatus, LintError, TableDiff, TableOperation};
use crate::error::Error;
use crate::time::to_time;

/// Condition type present while the paused annotation is set.
pub const PAUSED: &str = "Paused";

/// Organization and database of the deploy request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    /// Organization.
    pub org: String,
    /// Database.
    pub db: String,
}

/// The report of a pass: the new status and its events. An error is shown in `Ready`
/// (whatever was done before it is retried by the next pass).
pub fn report(
    obj: &DeployRequestResource,
    done: Option<&Outcome>,
    error: Option<&Error>,
    now: Time,
) -> Report<DeployRequestStatus> {
    let prev = obj.status.clone().unwrap_or_default();
    let generation = obj.meta().generation;
    let mut notes = Vec::new();
    let new = match (done, error) {
        (_, Some(e)) => with_error(&prev, generation, e.reason(), e.to_string(), now),
        (Some(outcome), None) => {
            if let Outcome::Synced {
                dr,
                step: Some(step),
                step_error: None,
                ..
            } = outcome
            {
                notes.push(events::step_done(step, dr.number));
            }
            next(&prev, &obj.spec, generation, outcome, now)
        }
        (None, None) => prev.clone(),
    };
    notes.extend(events::changed(&prev, &new));
    if let Some(Outcome::Recorded { dr, adopted, .. }) = done.filter(|_| error.is_none()) {
        let observed = new.observed_only == Some(true);
        notes.push(events::opened(dr, *adopted, observed));
    }
    Report {
        status: new,
        events: notes,
    }
}

/// The status after a pass: the recorded identity of a request opened or adopted now, else
/// every field of the request after the step, with the conditions of its facts.
pub fn next(
    prev: &DeployRequestStatus,
    spec: &DeployRequestSpec,
    generation: Option<i64>,
    outcome: &Outcome,
    now: Time,
) -> DeployRequestStatus {
    match outcome {
        Outcome::Stopped => prev.clone(),
        Outcome::Recorded { at, dr, facts, .. } => {
            let mut status = record(prev, at, dr);
            let observe = spec.management_policy == crate::crd::ManagementPolicy::Observe;
            status.observed_only = observe.then_some(true);
            // The database's rule as read by this pass (see `recorded_approval_required`).
            let c = super::conditions::approved(facts);
            let c = new_condition(c.type_, c.status, c.reason, c.message, now);
            set_condition(&mut status.conditions, c, generation);
            status
        }
        Outcome::Synced {
            at,
            dr,
            facts,
            step_error,
            ..
        } => {
            let refusal = decide(spec, facts).refusal;
            let conds = conditions(spec, facts, refusal.as_deref(), step_error.as_ref());
            build(prev, generation, at, dr, facts, conds, now)
        }
    }
}

/// `prev` with the identity fields of `dr`.
pub fn record(
    prev: &DeployRequestStatus,
    at: &Location,
    dr: &DeployRequest,
) -> DeployRequestStatus {
    let mut status = prev.clone();
    status.number = i64::try_from(dr.number).ok();
    status.id = Some(dr.id.clone());
    status.html_url = dr.html_url.clone();
    status.organization = Some(at.org.clone());
    status.database = Some(at.db.clone());
    status.branch = Some(dr.branch.clone());
    status.into_branch = Some(dr.into_branch.clone());
    status.state = dr.state.as_ref().map(|s| s.as_str().to_string());
    status.deployment_state = dr.deployment_state.as_ref().map(|s| s.as_str().to_string());
    status
}

/// The new status: `prev` with every PlanetScale field replaced and `conds` set.
pub fn build(
    prev: &DeployRequestStatus,
    generation: Option<i64>,
    at: &Location,
    dr: &DeployRequest,
    facts: &Facts,
    conds: Vec<Cond>,
    now: Time,
) -> DeployRequestStatus {
    let d = dr.deployment.clone().unwrap_or_default();
    let (schema_diff, schema_diff_truncated) = schema_diff(&d.deploy_operations);
    let times = &d.times;
    let mut status = DeployRequestStatus {
        number: i64::try_from(dr.number).ok(),
        id: Some(dr.id.clone()).filter(|s| !s.is_empty()),
        html_url: dr.html_url.clone(),
        organization: Some(at.org.clone()),
        database: Some(at.db.clone()),
        branch: Some(dr.branch.clone()),
        into_branch: Some(dr.into_branch.clone()),
        state: dr.state.as_ref().map(|s| s.as_str().to_string()),
        deployment_state: Some(facts.state.as_str().to_string()),
        deployable: Some(d.deployable),
        approved: Some(dr.approved),
        deploy_check_errors: facts
            .check_errors
            .as_deref()
            .map(|e| truncate_chars(e, MAX_TEXT_LEN).0),
        lint_errors: lint_errors(&d),
        schema_diff,
        schema_diff_truncated,
        operations: operations(facts, &d.deploy_operations),
        queue_position: facts.queue_position,
        created_at: dr.created_at.map(to_time),
        queued_at: times.queued_at.map(to_time),
        started_at: times.started_at.map(to_time),
        ready_to_cutover_at: times.ready_to_cutover_at.map(to_time),
        deployed_at: facts.deployed_at.map(to_time),
        finished_at: times.finished_at.map(to_time),
        revert_window_ends_at: facts.revert_window_ends_at().map(to_time),
        observed_only: prev.observed_only,
        observed_generation: generation,
        conditions: without_paused(prev),
    };
    set_conditions(&mut status, conds, generation, now);
    status
}

/// Sets `conds` on `status` (keeping transition times of unchanged conditions).
pub fn set_conditions(
    status: &mut DeployRequestStatus,
    conds: Vec<Cond>,
    generation: Option<i64>,
    now: Time,
) {
    let times = std::iter::repeat_n(now, conds.len());
    for (c, now) in conds.into_iter().zip(times) {
        let new = new_condition(c.type_, c.status, c.reason, c.message, now);
        set_condition(&mut status.conditions, new, generation);
    }
    status.observed_generation = generation;
}

/// `prev` with `Ready=False` for an error that stopped the reconcile before PlanetScale could
/// be read (credentials, branch not ready, safe migrations …).
pub fn with_error(
    prev: &DeployRequestStatus,
    generation: Option<i64>,
    reason: &'static str,
    message: String,
    now: Time,
) -> DeployRequestStatus {
    let mut status = prev.clone();
    status.conditions = without_paused(prev);
    let ready = Cond {
        type_: READY,
        status: False,
        reason,
        message,
    };
    set_conditions(&mut status, vec![ready], generation, now);
    status
}

/// `prev` with `Paused=True` and `Ready=False` (reason `Paused`): the operator changes nothing.
pub fn paused(
    prev: &DeployRequestStatus,
    generation: Option<i64>,
    now: Time,
) -> DeployRequestStatus {
    let message = format!(
        "the annotation {PAUSED_ANNOTATION}: \"true\" is set: the operator changes nothing, in \
         Kubernetes or PlanetScale, until it is removed"
    );
    let mut status = prev.clone();
    let conds = [PAUSED, READY].map(|type_| Cond {
        type_,
        status: if type_ == PAUSED { True } else { False },
        reason: common::PAUSED,
        message: message.clone(),
    });
    set_conditions(&mut status, conds.into(), generation, now);
    status
}

/// Conditions of `prev` without `Paused` (set only while paused).
fn without_paused(prev: &DeployRequestStatus) -> Vec<Condition> {
    let mut conditions = prev.conditions.clone();
    conditions.retain(|c| c.type_ != PAUSED);
    conditions
}

fn schema_diff(ops: &[DeployOperation]) -> (Vec<TableDiff>, bool) {
    let diff = ops
        .iter()
        .take(MAX_TABLES)
        .map(|op| {
            let (ddl, truncated) =
                truncate_chars(op.ddl_statement.as_deref().unwrap_or(""), MAX_DDL_LEN);
            TableDiff {
                keyspace: non_empty(op.keyspace_name.as_deref()),
                table: bounded(op.table_name.as_deref().unwrap_or(""), 256),
                operation: bounded(op.operation_name.as_deref().unwrap_or(""), 32),
                ddl,
                truncated,
            }
        })
        .collect();
    (diff, ops.len() > MAX_TABLES)
}

/// Per-table progress, once the deploy was queued (before that the diff says it all).
fn operations(facts: &Facts, ops: &[DeployOperation]) -> Vec<TableOperation> {
    use planetscale_api::models::DeploymentState::*;
    if matches!(facts.state, Pending | Ready | NoChanges | Error) {
        return Vec::new();
    }
    ops.iter()
        .take(MAX_TABLES)
        .map(|op| TableOperation {
            keyspace: non_empty(op.keyspace_name.as_deref()),
            table: bounded(op.table_name.as_deref().unwrap_or(""), 256),
            operation: bounded(op.operation_name.as_deref().unwrap_or(""), 32),
            state: op
                .state
                .as_ref()
                .map_or("pending".into(), |s| bounded(s.as_str(), 32)),
            progress_percentage: op.progress_percentage.map(|p| p.clamp(0.0, 100.0)),
            eta_seconds: op.eta_seconds.map(|s| s.max(0.0).round() as i64),
        })
        .collect()
}

fn lint_errors(d: &Deployment) -> Vec<LintError> {
    d.lint_errors
        .iter()
        .take(MAX_LINT_ERRORS)
        .filter_map(|v| {
            serde_json::from_value::<planetscale_api::models::LintError>(v.clone()).ok()
        })
        .map(|l| LintError {
            code: bounded(&l.lint_error, 128),
            keyspace: non_empty(l.keyspace_name.as_deref()),
            table: non_empty(l.table_name.as_deref()),
            column: non_empty(l.column_name.as_deref()),
            message: bounded(l.error_description.as_deref().unwrap_or(""), MAX_TEXT_LEN),
            docs_url: non_empty(l.docs_url.as_deref()).map(|u| bounded(&u, 1024)),
        })
        .collect()
}

fn non_empty(s: Option<&str>) -> Option<String> {
    s.filter(|s| !s.is_empty()).map(|s| bounded(s, 256))
}

fn bounded(s: &str, max: usize) -> String {
    truncate_chars(s, max).0
}

#[cfg(test)]
#[path = "status_tests.rs"]
mod tests;
