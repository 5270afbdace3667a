//! Reporting: the conditions `Ready`, `BranchReady` and `SecretSynced` for the outcome of a
//! reconcile, and the events that go with a change of `Ready`.
use kube::ResourceExt;

use super::act::{Ended, Outcome};
use crate::controller::reconciler::{Note, Report};
use crate::crd::PAUSED_ANNOTATION;
use crate::crd::conditions::{
    self, ConditionStatus, find_condition, new_condition, reason, set_condition,
};
use crate::crd::password::condition::{BRANCH_READY, SECRET_SYNCED};
use crate::crd::password::{PlanetScalePassword, PlanetScalePasswordStatus};
use crate::error::Error;
use crate::time::now;
use ConditionStatus::{False, True};

/// Condition that is `True` while the paused annotation is set.
pub const PAUSED: &str = "Paused";

/// The status after a pass, from what it did (`None`: it could not look) and the error that
/// stopped it, with the events for a change of `Ready`.
pub fn report(
    obj: &PlanetScalePassword,
    done: Option<&Outcome>,
    error: Option<&Error>,
) -> Report<PlanetScalePasswordStatus> {
    let before = obj.status.clone().unwrap_or_default();
    let mut status = done.map_or_else(|| before.clone(), |o| o.status.clone());
    let ended = done.and_then(|o| o.ended.as_ref());
    let result = match (error, ended) {
        (Some(e), _) => Err(e),
        (None, Some(ended)) => Ok(ended),
        (None, None) => return Report::quiet(status),
    };
    let resolved = done.is_some_and(|o| o.resolved);
    let secret = obj.spec.secret.effective_name(&obj.name_any()).to_string();
    let generation = obj.metadata.generation;
    set_conditions(&mut status, result, resolved, &secret, generation);
    let events = ready_events(&before, &status);
    Report { status, events }
}

/// The status while deletion fails, with its event.
pub fn deletion_failed(obj: &PlanetScalePassword, e: &Error) -> Report<PlanetScalePasswordStatus> {
    let before = obj.status.clone().unwrap_or_default();
    let mut status = before.clone();
    set_deletion_failed(&mut status, e, obj.metadata.generation);
    let events = ready_events(&before, &status);
    Report { status, events }
}

/// The status of a paused resource: only the `Paused` condition changes.
pub fn paused(obj: &PlanetScalePassword) -> PlanetScalePasswordStatus {
    let mut status = obj.status.clone().unwrap_or_default();
    set_paused(&mut status, obj.metadata.generation);
    status
}

/// Sets the conditions for `outcome`. Pure.
pub fn set_conditions(
    s: &mut PlanetScalePasswordStatus,
    outcome: Result<&Ended, &Error>,
    target_resolved: bool,
    secret: &str,
    generation: Option<i64>,
) {
    let mut set = |t: &str, st: ConditionStatus, r: &str, m: String| {
        set_condition(
            &mut s.conditions,
            new_condition(t, st, r, m, now()),
            generation,
        );
    };
    match outcome {
        Err(e) if e.reason() == reason::BRANCH_NOT_READY => {
            set(BRANCH_READY, False, e.reason(), e.to_string());
        }
        _ if target_resolved => {
            let message = "the target branch is ready".to_string();
            set(BRANCH_READY, True, reason::READY, message);
        }
        _ => {}
    }
    let has_synced = find_condition(&s.conditions, SECRET_SYNCED).is_some();
    let (synced, ready) = summary(outcome, secret, has_synced);
    if let Some((st, r, m)) = synced {
        set_condition(
            &mut s.conditions,
            new_condition(SECRET_SYNCED, st, r, m, now()),
            generation,
        );
    }
    let (st, r, m) = ready;
    set_condition(
        &mut s.conditions,
        new_condition(conditions::READY, st, r, m, now()),
        generation,
    );
    s.conditions.retain(|c| c.type_ != PAUSED);
    s.observed_generation = generation;
}

type Cond<'a> = (ConditionStatus, &'a str, String);

/// `SecretSynced` (when it changes) and `Ready` for `outcome`.
fn summary<'a>(
    outcome: Result<&'a Ended, &'a Error>,
    secret: &str,
    has_synced: bool,
) -> (Option<Cond<'a>>, Cond<'a>) {
    match outcome {
        Ok(Ended::Ready { .. }) => {
            let message = format!("Secret {secret} holds the credentials of a working password");
            (
                Some((True, reason::READY, message.clone())),
                (True, reason::READY, message),
            )
        }
        Ok(Ended::Observed { .. }) => {
            let message = "the password exists in PlanetScale and is only observed \
                           (managementPolicy: Observe): no Secret is written, as its plaintext \
                           cannot be read back"
                .to_string();
            (None, (True, reason::READY, message))
        }
        Ok(Ended::Adopted) => {
            let message = "adopted the password: replacing it with one whose plaintext the \
                           operator writes to the Secret"
                .to_string();
            (None, (False, reason::PROGRESSING, message))
        }
        Ok(Ended::Conflict(why)) => {
            let (r, message) = (why.reason(), why.message(secret));
            (Some((False, r, message.clone())), (False, r, message))
        }
        Err(e) => {
            let failed = (False, e.reason(), e.to_string());
            let synced = (is_secret_error(e) || !has_synced).then(|| failed.clone());
            (synced, failed)
        }
    }
}

fn is_secret_error(e: &Error) -> bool {
    matches!(e, Error::Invalid { .. }) && e.reason() != "InvalidSpec"
}

/// `Ready=False` with the reason deletion is stuck on; the finalizer stays until it succeeds.
pub fn set_deletion_failed(s: &mut PlanetScalePasswordStatus, e: &Error, generation: Option<i64>) {
    let message = format!("deleting: {e}; the finalizer stays until this succeeds");
    let cond = new_condition(conditions::READY, false, e.reason(), message, now());
    set_condition(&mut s.conditions, cond, generation);
}

/// Marks the object paused; everything else stays as it was.
pub fn set_paused(s: &mut PlanetScalePasswordStatus, generation: Option<i64>) {
    let message = format!(
        "the annotation {PAUSED_ANNOTATION}: \"true\" is set: the operator changes nothing \
         (no rotation, renewal, healing or deletion) until it is removed"
    );
    let cond = new_condition(PAUSED, true, reason::PAUSED, message, now());
    set_condition(&mut s.conditions, cond, generation);
}

/// The event for a change of `Ready`: `Ready` when it turns true, the reason of a new
/// failure, and (as a normal event) waiting on the branch.
fn ready_events(
    before: &PlanetScalePasswordStatus,
    after: &PlanetScalePasswordStatus,
) -> Vec<Note> {
    let (was, is) = (
        find_condition(&before.conditions, conditions::READY),
        find_condition(&after.conditions, conditions::READY),
    );
    let Some(is) = is else { return Vec::new() };
    if was.is_some_and(|w| w.status == is.status && w.reason == is.reason) {
        return Vec::new();
    }
    let (r, m) = (is.reason.clone(), is.message.clone());
    let note = if is.status == "True" || is.reason == reason::BRANCH_NOT_READY {
        // Waiting on the branch is not a failure, but say once what the password waits for
        // (e.g. a branchRef naming a PlanetScaleBranch that does not exist).
        Note::normal(r, "Reconcile", m)
    } else if is.reason != reason::PROGRESSING {
        Note::warning(r, "Reconcile", m)
    } else {
        return Vec::new();
    };
    vec![note]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::conditions::is_condition_true;
    use std::time::Duration;

    fn ready() -> Ended {
        Ended::Ready {
            next: None,
            resync: Duration::from_secs(600),
        }
    }

    fn cond<'a>(s: &'a PlanetScalePasswordStatus, t: &str) -> (&'a str, &'a str) {
        let c = find_condition(&s.conditions, t).expect(t);
        (c.status.as_str(), c.reason.as_str())
    }

    #[test]
    fn ready_sets_all_three() {
        let mut s = PlanetScalePasswordStatus::default();
        set_conditions(&mut s, Ok(&ready()), true, "db", Some(2));
        for t in ["Ready", "BranchReady", "SecretSynced"] {
            assert!(is_condition_true(&s.conditions, t), "{t}");
        }
        assert_eq!(s.observed_generation, Some(2));
    }

    #[test]
    fn waiting_on_the_branch() {
        let mut s = PlanetScalePasswordStatus::default();
        let err = crate::controller::target::waiting("PlanetScaleBranch pr-1 is not Ready".into());
        set_conditions(&mut s, Err(&err), false, "db", Some(1));
        assert_eq!(cond(&s, "BranchReady"), ("False", "BranchNotReady"));
        assert_eq!(cond(&s, "Ready"), ("False", "BranchNotReady"));
    }

    #[test]
    fn a_foreign_secret_is_a_conflict() {
        let mut s = PlanetScalePasswordStatus::default();
        let conflict = Ended::Conflict(super::super::ownership::Refusal::NotOurs);
        set_conditions(&mut s, Ok(&conflict), true, "db", Some(1));
        assert_eq!(cond(&s, "SecretSynced"), ("False", "SecretConflict"));
        assert_eq!(cond(&s, "Ready"), ("False", "SecretConflict"));
        assert!(cond(&s, "Ready").1.contains("Conflict"));
        let msg = &find_condition(&s.conditions, "Ready").unwrap().message;
        assert!(msg.contains("creationPolicy: Merge"), "{msg}");
        let shared = super::super::ownership::Refusal::Holder("other".into()).message("db");
        assert!(shared.contains("PlanetScalePassword other"), "{shared}");
    }

    #[test]
    fn a_template_error_shows_on_secret_synced() {
        let mut s = PlanetScalePasswordStatus::default();
        set_conditions(&mut s, Ok(&ready()), true, "db", Some(1));
        let err = Error::Invalid {
            reason: "TemplateFailed",
            message: "template x does not render".into(),
        };
        set_conditions(&mut s, Err(&err), true, "db", Some(2));
        assert_eq!(cond(&s, "SecretSynced"), ("False", "TemplateFailed"));
        assert_eq!(cond(&s, "BranchReady"), ("True", "Ready"));
    }
}
