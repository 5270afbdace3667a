//! The `Ready`, `Paused` and `DeletionBlocked` conditions of a status, and the events a
//! change of `Ready` deserves: pure functions over a condition list, so that every kind
//! whose status has `conditions` shares them (the database and backup kinds use them).
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;

use super::reconciler::{Kind, Note, Report};
use crate::crd::conditions::{self, find_condition, new_condition, reason, set_condition};
use crate::error::Error;
use crate::time::now;

/// Condition that is `True` while deletion cannot complete.
pub const DELETION_BLOCKED: &str = "DeletionBlocked";
/// Condition that is `True` while the paused annotation is set.
pub const PAUSED: &str = "Paused";

/// Where a pass got to when it did not fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// The object is ready and as the spec says; the message says so.
    Ready(String),
    /// Waiting on PlanetScale (e.g. a database or a backup not ready yet).
    Waiting {
        reason: &'static str,
        message: String,
    },
}

/// Sets `Ready` for where a pass got to (or the error that stopped it), drops `Paused`.
pub fn set_ready(
    conds: &mut Vec<Condition>,
    outcome: Result<&Progress, &Error>,
    generation: Option<i64>,
) {
    let cond = match outcome {
        Ok(Progress::Ready(message)) => new_condition(
            conditions::READY,
            true,
            reason::READY,
            message.clone(),
            now(),
        ),
        Ok(Progress::Waiting { reason, message }) => {
            new_condition(conditions::READY, false, reason, message.clone(), now())
        }
        Err(e) => new_condition(conditions::READY, false, e.reason(), e.to_string(), now()),
    };
    set_condition(conds, cond, generation);
    conds.retain(|c| c.type_ != PAUSED && c.type_ != DELETION_BLOCKED);
}

/// Sets `Ready` after a pass that got to `progress` or stopped on `error`, and returns the
/// events its change deserves, compared with the conditions before the pass (`old`). With
/// neither (the skeleton never passes that: a pass without an outcome has an error) `Ready`
/// is left alone.
pub fn conclude(
    old: &[Condition],
    conds: &mut Vec<Condition>,
    progress: Option<&Progress>,
    error: Option<&Error>,
    waits: &[&str],
    generation: Option<i64>,
) -> Vec<Note> {
    let outcome = match (error, progress) {
        (Some(e), _) => Err(e),
        (None, Some(p)) => Ok(p),
        (None, None) => return Vec::new(),
    };
    set_ready(conds, outcome, generation);
    ready_events(old, conds, waits)
}

/// The events a change of `Ready` deserves: `Ready` when it turns true, a warning with the
/// reason of a new failure (not of a wait, whose reasons are `waits`).
pub fn ready_events(old: &[Condition], new: &[Condition], waits: &[&str]) -> Vec<Note> {
    let before = find_condition(old, conditions::READY);
    let Some(after) = find_condition(new, conditions::READY) else {
        return Vec::new();
    };
    if before.is_some_and(|b| b.status == after.status && b.reason == after.reason) {
        return Vec::new();
    }
    let message = after.message.clone();
    if after.status == "True" {
        vec![Note::normal(reason::READY, "Reconcile", message)]
    } else if after.reason != reason::PROGRESSING && !waits.contains(&after.reason.as_str()) {
        vec![Note::warning(after.reason.clone(), "Reconcile", message)]
    } else {
        Vec::new()
    }
}

/// Marks the object paused; `Ready` and `observedGeneration` stay as they were, so a spec
/// change shows as not yet observed. `what` names the object ("database shop").
pub fn set_paused(conds: &mut Vec<Condition>, what: &str, generation: Option<i64>) {
    let message = format!(
        "the annotation {}: \"true\" is set: the operator makes no change to {what} until it is \
         removed",
        crate::crd::common::PAUSED_ANNOTATION
    );
    let cond = new_condition(PAUSED, true, reason::PAUSED, message, now());
    set_condition(conds, cond, generation);
}

/// Marks deletion as blocked: `DeletionBlocked` carries the cause, `Ready` the reason
/// `DeletionBlocked`; both the message that says how to release the resource.
pub fn set_deletion_blocked(
    conds: &mut Vec<Condition>,
    cause: &str,
    message: &str,
    generation: Option<i64>,
) {
    let blocked = new_condition(DELETION_BLOCKED, true, cause, message, now());
    set_condition(conds, blocked, generation);
    let ready = new_condition(
        conditions::READY,
        false,
        reason::DELETION_BLOCKED,
        message,
        now(),
    );
    set_condition(conds, ready, generation);
}

/// After a failed deletion: a transient error in `Ready` (retried with backoff), anything
/// else as a blocked deletion.
pub fn deletion_failed(conds: &mut Vec<Condition>, err: &Error, generation: Option<i64>) {
    if err.is_transient() {
        set_ready(conds, Err(err), generation);
    } else {
        set_deletion_blocked(conds, err.reason(), &err.to_string(), generation);
    }
}

/// The status of `obj` after a pass, and its events: `record` folds what `act` did into the
/// status and returns its events; then `Ready` for where the pass got to (`progress`) or the
/// `error` that stopped it ([`conclude`]), and `observedGeneration`.
pub fn report<K: Kind>(
    obj: &K,
    record: impl FnOnce(&mut K::Status) -> Vec<Note>,
    progress: Option<&Progress>,
    error: Option<&Error>,
    waits: &[&str],
) -> Report<K::Status> {
    let mut old = obj.current_status().cloned().unwrap_or_default();
    let mut status = old.clone();
    let mut events = record(&mut status);
    let generation = obj.meta().generation;
    let conds = K::conditions_mut(&mut status);
    events.extend(conclude(
        K::conditions_mut(&mut old),
        conds,
        progress,
        error,
        waits,
        generation,
    ));
    *K::observed_generation_mut(&mut status) = generation;
    Report { status, events }
}

/// The status of a paused `obj` (`what`, e.g. `database main`): `Paused` set, the rest as it was.
pub fn paused<K: Kind>(obj: &K, what: &str) -> K::Status {
    let mut status = obj.current_status().cloned().unwrap_or_default();
    set_paused(K::conditions_mut(&mut status), what, obj.meta().generation);
    status
}

/// The status of `obj` after a failed deletion ([`deletion_failed`]), and its events.
pub fn deletion_failed_report<K: Kind>(obj: &K, err: &Error, waits: &[&str]) -> Report<K::Status> {
    let mut old = obj.current_status().cloned().unwrap_or_default();
    let mut status = old.clone();
    deletion_failed(K::conditions_mut(&mut status), err, obj.meta().generation);
    let events = ready_events(
        K::conditions_mut(&mut old),
        K::conditions_mut(&mut status),
        waits,
    );
    Report { status, events }
}
