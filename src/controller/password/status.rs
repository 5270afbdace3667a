//! Reporting: the conditions `Ready`, `BranchReady` and `SecretSynced` for the outcome of a
//! reconcile, and the events that go with a change of `Ready`.
use std::time::Duration;

use kube::runtime::events::EventType;

use super::run::Run;
use crate::crd::conditions::{
    self, ConditionStatus, find_condition, new_condition, reason, set_condition,
};
use crate::crd::password::condition::{BRANCH_READY, SECRET_SYNCED};
use crate::crd::password::{PlanetScalePasswordStatus, reason as pw_reason};
use crate::crd::{PAUSED_ANNOTATION, password_secret::CreationPolicy};
use crate::error::Error;
use crate::time::now;
use ConditionStatus::{False, True};

/// Condition that is `True` while the paused annotation is set.
pub const PAUSED: &str = "Paused";

/// How a reconcile that did not fail ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The Secret holds a working password; look again after `next` (a renewal, rotation or
    /// deletion coming due), if any.
    Ready { next: Option<Duration> },
    /// The Secret belongs to someone else: another `PlanetScalePassword` (`holder`), or no
    /// resource of ours.
    Conflict { holder: Option<String> },
    /// Still working (the step budget of one reconcile ran out).
    Converging,
}

/// Sets the conditions for `outcome`. Pure.
pub fn set_conditions(
    s: &mut PlanetScalePasswordStatus,
    outcome: &Result<Outcome, Error>,
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
    outcome: &'a Result<Outcome, Error>,
    secret: &str,
    has_synced: bool,
) -> (Option<Cond<'a>>, Cond<'a>) {
    match outcome {
        Ok(Outcome::Ready { .. }) => {
            let message = format!("Secret {secret} holds the credentials of a working password");
            (
                Some((True, reason::READY, message.clone())),
                (True, reason::READY, message),
            )
        }
        Ok(Outcome::Conflict { holder }) => {
            let message = conflict_message(secret, holder.as_deref());
            let r = pw_reason::SECRET_CONFLICT;
            (Some((False, r, message.clone())), (False, r, message))
        }
        Ok(Outcome::Converging) => {
            let message = "creating or replacing the password".to_string();
            (None, (False, reason::PROGRESSING, message))
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

/// What a user reads when the Secret is not ours.
pub fn conflict_message(secret: &str, holder: Option<&str>) -> String {
    if let Some(holder) = holder {
        return format!(
            "Secret {secret} holds the credentials of PlanetScalePassword {holder}: two resources \
             cannot share a Secret. Choose another secret.name"
        );
    }
    format!(
        "Secret {secret} exists and was not written by this PlanetScalePassword: it is left \
         untouched. Choose another secret.name, delete that Secret, or set \
         secret.creationPolicy: {:?} to write the credentials into it",
        CreationPolicy::Merge
    )
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

/// Writes the status when it changed, with an event when `Ready` changes: `Ready` when it
/// turns true, the reason of a new failure, and (as a normal event) waiting on the branch.
pub async fn report(run: &mut Run<'_>) -> Result<(), Error> {
    let before = run.obj.status.clone().unwrap_or_default();
    run.save().await?;
    let after = run.status.clone();
    let (was, is) = (
        find_condition(&before.conditions, conditions::READY),
        find_condition(&after.conditions, conditions::READY),
    );
    let Some(is) = is else { return Ok(()) };
    if was.is_some_and(|w| w.status == is.status && w.reason == is.reason) {
        return Ok(());
    }
    if is.status == "True" {
        run.event(EventType::Normal, reason::READY, is.message.clone())
            .await;
    } else if is.reason == reason::BRANCH_NOT_READY {
        // Waiting on the branch is not a failure, but say once what the password waits for
        // (e.g. a branchRef naming a PlanetScaleBranch that does not exist).
        run.event(EventType::Normal, &is.reason, is.message.clone())
            .await;
    } else if is.reason != reason::PROGRESSING {
        run.event(EventType::Warning, &is.reason, is.message.clone())
            .await;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::conditions::is_condition_true;

    fn cond<'a>(s: &'a PlanetScalePasswordStatus, t: &str) -> (&'a str, &'a str) {
        let c = find_condition(&s.conditions, t).expect(t);
        (c.status.as_str(), c.reason.as_str())
    }

    #[test]
    fn ready_sets_all_three() {
        let mut s = PlanetScalePasswordStatus::default();
        set_conditions(
            &mut s,
            &Ok(Outcome::Ready { next: None }),
            true,
            "db",
            Some(2),
        );
        for t in ["Ready", "BranchReady", "SecretSynced"] {
            assert!(is_condition_true(&s.conditions, t), "{t}");
        }
        assert_eq!(s.observed_generation, Some(2));
    }

    #[test]
    fn waiting_on_the_branch() {
        let mut s = PlanetScalePasswordStatus::default();
        let err = super::super::target::waiting("PlanetScaleBranch pr-1 is not Ready".into());
        set_conditions(&mut s, &Err(err), false, "db", Some(1));
        assert_eq!(cond(&s, "BranchReady"), ("False", "BranchNotReady"));
        assert_eq!(cond(&s, "Ready"), ("False", "BranchNotReady"));
    }

    #[test]
    fn a_foreign_secret_is_a_conflict() {
        let mut s = PlanetScalePasswordStatus::default();
        let conflict = Outcome::Conflict { holder: None };
        set_conditions(&mut s, &Ok(conflict), true, "db", Some(1));
        assert_eq!(cond(&s, "SecretSynced"), ("False", "SecretConflict"));
        assert_eq!(cond(&s, "Ready"), ("False", "SecretConflict"));
        assert!(cond(&s, "Ready").1.contains("Conflict"));
        let msg = &find_condition(&s.conditions, "Ready").unwrap().message;
        assert!(msg.contains("creationPolicy: Merge"), "{msg}");
        let shared = conflict_message("db", Some("other"));
        assert!(shared.contains("PlanetScalePassword other"), "{shared}");
    }

    #[test]
    fn a_template_error_shows_on_secret_synced() {
        let mut s = PlanetScalePasswordStatus::default();
        set_conditions(
            &mut s,
            &Ok(Outcome::Ready { next: None }),
            true,
            "db",
            Some(1),
        );
        let err = Error::Invalid {
            reason: "TemplateFailed",
            message: "template x does not render".into(),
        };
        set_conditions(&mut s, &Err(err), true, "db", Some(2));
        assert_eq!(cond(&s, "SecretSynced"), ("False", "TemplateFailed"));
        assert_eq!(cond(&s, "BranchReady"), ("True", "Ready"));
    }
}
