//! The `Reconciling` and `Stalled` conditions as kstatus defines them
//! (sigs.k8s.io/cli-utils/pkg/kstatus), so that Flux's `wait`, `kubectl wait` and Argo CD
//! tell a failure a user must fix from work in progress.
//!
//! kstatus reads, in this order: `status.observedGeneration` behind `metadata.generation`
//! → InProgress; `Reconciling=True` → InProgress; `Stalled=True` → Failed; `Ready=False`
//! → InProgress; otherwise Current. [`set_kstatus`] derives both conditions from the
//! summary `Ready` condition once per pass, for every kind (the reconcile skeleton calls it):
//! - `Stalled=True` when the pass ended on an error only a user can fix (`terminal`, e.g.
//!   `Unauthorized`, `AlreadyExists`, `PolicyDenied`, `InvalidSpec`), or `Ready` carries
//!   one of the [`TERMINAL_REASONS`] a kind reports without an error (failed checks);
//! - else `Reconciling=True` while `Ready` is not `True` for the current generation;
//! - else both `False`: Current.
//!
//! Both conditions are always present (`False` when they do not hold), with the reason and
//! message of `Ready`, which never hold a secret.
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

use super::conditions::{READY, find_condition, new_condition, set_condition};

/// kstatus: work towards the spec is in progress.
pub const RECONCILING: &str = "Reconciling";
/// kstatus: the operator cannot make progress until a user changes something.
pub const STALLED: &str = "Stalled";

/// `Ready` reasons that are terminal although the pass itself did not fail: a deploy
/// request whose checks or deploy failed waits for a new change.
pub const TERMINAL_REASONS: &[&str] = &["ChecksFailed", "DeployFailed", "RevertFailed"];

/// Sets `Reconciling` and `Stalled` in `conditions` from `Ready` (observed for `generation`)
/// and the pass's `terminal` failure, if any (its reason and message). Pure.
pub fn set_kstatus(
    conditions: &mut Vec<Condition>,
    generation: Option<i64>,
    terminal: Option<(&str, &str)>,
    now: Time,
) {
    let ready = find_condition(conditions, READY).cloned();
    let (ready_true, reason, message) = match &ready {
        Some(c) => (
            c.status == "True" && c.observed_generation == generation,
            c.reason.clone(),
            c.message.clone(),
        ),
        None => (false, "Progressing".to_string(), String::new()),
    };
    let terminal = terminal
        .map(|(r, m)| (r.to_string(), m.to_string()))
        .or_else(|| {
            let listed = !ready_true && TERMINAL_REASONS.contains(&reason.as_str());
            listed.then(|| (reason.clone(), message.clone()))
        });
    let (stalled, reconciling) = match terminal {
        Some((r, m)) => (
            new_condition(STALLED, true, &r, m, now.clone()),
            new_condition(RECONCILING, false, &r, "stalled: waiting for a change", now),
        ),
        None if ready_true => (
            new_condition(STALLED, false, &reason, "", now.clone()),
            new_condition(RECONCILING, false, &reason, "", now),
        ),
        None => (
            new_condition(STALLED, false, &reason, "", now.clone()),
            new_condition(RECONCILING, true, &reason, message, now),
        ),
    };
    set_condition(conditions, stalled, generation);
    set_condition(conditions, reconciling, generation);
}

/// What kstatus computes for an object (its `generation`, `status.observedGeneration` and
/// conditions): the rules of cli-utils' `kstatus.Compute` for a custom resource. Used by the
/// tests to check the conditions the way Flux and `kubectl wait` read them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Computed {
    InProgress,
    Failed,
    Current,
}

/// kstatus' verdict on an object. Pure.
pub fn compute(
    generation: Option<i64>,
    observed: Option<i64>,
    conditions: &[Condition],
) -> Computed {
    let is = |t: &str, s: &str| find_condition(conditions, t).is_some_and(|c| c.status == s);
    if generation.is_some() && observed != generation {
        return Computed::InProgress;
    }
    if is(RECONCILING, "True") {
        return Computed::InProgress;
    }
    if is(STALLED, "True") {
        return Computed::Failed;
    }
    if is(READY, "False") {
        return Computed::InProgress;
    }
    Computed::Current
}

#[cfg(test)]
#[path = "kstatus_tests.rs"]
mod tests;
