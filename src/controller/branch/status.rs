//! The status a pass leaves, and the events that go with it. Pure: from the object and what
//! the pass did (or why it failed) to the new status; the skeleton writes it once.
use kube::ResourceExt;
use planetscale_api::models::{Branch, DatabaseKind};

use super::act::Outcome;
use super::plan::{Claim, Fix, describe};
use crate::controller::reconciler::{Note, Report};
use crate::controller::{adoption, readiness};
use crate::crd::branch::{PlanetScaleBranch, PlanetScaleBranchStatus};
use crate::crd::conditions::{self, find_condition, new_condition, reason, set_condition};
use crate::error::Error;
use crate::time::{now, to_time};

pub use crate::controller::readiness::PAUSED;

/// Where a reconcile got to when it did not fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// The branch is ready and as the spec says.
    Ready,
    /// Waiting on PlanetScale (database or branch not ready yet).
    Waiting {
        reason: &'static str,
        message: String,
    },
}

/// Copies what PlanetScale says about `b` into `status`.
pub fn copy_branch(status: &mut PlanetScaleBranchStatus, b: &Branch) {
    status.id = Some(b.id.clone());
    status.branch_name = Some(b.name.clone());
    status.state = b.state.as_ref().map(|s| s.as_str().to_string());
    status.ready = Some(b.ready);
    status.production = Some(b.production);
    status.safe_migrations = Some(b.safe_migrations);
    status.deletion_protected = Some(b.deletion_protected);
    status.region = b.region.as_ref().map(|r| r.slug.clone());
    status.parent = b.parent_branch.clone();
    status.kind = b.kind.as_ref().map(|k| k.as_str().to_string());
    copy_addresses(status, b);
    status.html_url = b.html_url.clone();
    status.created_at = b.created_at.map(to_time);
    status.create_requested_at = None;
}

/// The addresses of the branch's engine (PostgreSQL: `access_host_url`, the major version and
/// the restore point; otherwise the MySQL hosts), the others cleared.
fn copy_addresses(status: &mut PlanetScaleBranchStatus, b: &Branch) {
    let postgres = b.kind == Some(DatabaseKind::Postgresql);
    let (pg, my) = (postgres.then_some(b), (!postgres).then_some(b));
    status.postgres_address = pg.and_then(|b| b.access_host_url.clone());
    status.major_version = pg.and_then(|b| b.major_version.clone());
    status.restore_point = pg.and_then(|b| b.restore_point).map(to_time);
    status.mysql_address = my.and_then(|b| b.mysql_address.clone());
    status.mysql_edge_address = my.and_then(|b| b.mysql_edge_address.clone());
}

/// Sets the summary `Ready` condition for the outcome of a reconcile. Pure.
pub fn set_ready(
    status: &mut PlanetScaleBranchStatus,
    outcome: Result<&Progress, &Error>,
    branch_name: &str,
    generation: Option<i64>,
) {
    let cond = match outcome {
        Ok(Progress::Ready) => new_condition(
            conditions::READY,
            true,
            reason::READY,
            format!("branch {branch_name} is ready"),
            now(),
        ),
        Ok(Progress::Waiting { reason, message }) => {
            new_condition(conditions::READY, false, reason, message.clone(), now())
        }
        Err(e) => new_condition(conditions::READY, false, e.reason(), e.to_string(), now()),
    };
    set_condition(&mut status.conditions, cond, generation);
    status.conditions.retain(|c| c.type_ != PAUSED);
    status.observed_generation = generation;
}

/// The status after a pass, and its events: what `act` did (`done`), then the `Ready`
/// condition for where it got to or the error that stopped it.
pub fn report(
    obj: &PlanetScaleBranch,
    done: Option<&Outcome>,
    error: Option<&Error>,
) -> Report<PlanetScaleBranchStatus> {
    let old = obj.status.clone().unwrap_or_default();
    let mut status = old.clone();
    let name = obj.spec.effective_branch_name(&obj.name_any()).to_string();
    let mut events = Vec::new();
    if let Some(o) = done {
        record(&mut status, o);
        events = done_events(&name, o);
    }
    let ready = Progress::Ready;
    let outcome = match (error, done) {
        (Some(e), _) => Err(e),
        (None, Some(o)) => Ok(&o.progress),
        (None, None) => Ok(&ready),
    };
    set_ready(&mut status, outcome, &name, obj.metadata.generation);
    events.extend(ready_events(&old, &status));
    Report { status, events }
}

/// What `act` did, into `status`.
fn record(status: &mut PlanetScaleBranchStatus, o: &Outcome) {
    let (organization, database) = &o.at;
    status.organization = Some(organization.clone());
    status.database = Some(database.clone());
    if let Some(b) = &o.branch {
        copy_branch(status, b);
        if let Some(observed) = crate::crd::managed::observed_only_after(o.claim) {
            status.observed_only = observed;
        }
        let claimed = o.claim.map(|c| c != Claim::Record);
        status.adopted = adoption::adopted(status.adopted, claimed, o.created.is_some());
    }
    if o.create_refused {
        status.create_requested_at = None;
    }
}

/// Events for what was done: the create, an adoption, each corrected setting.
fn done_events(name: &str, o: &Outcome) -> Vec<Note> {
    let mut out = Vec::new();
    if let Some(c) = &o.created {
        let parent = &c.parent;
        out.push(if c.recreate {
            let note = format!(
                "branch {name} was deleted outside Kubernetes; created it again from {parent}"
            );
            Note::normal(crate::crd::branch::reason::RECREATED, "Create", note)
        } else {
            Note::normal(
                "Created",
                "Create",
                format!("created branch {name} from {parent}"),
            )
        });
    }
    if o.claim == Some(Claim::Adopt) {
        let note = format!("adopted the existing branch {name} (spec.adopt)");
        out.push(Note::normal("Adopted", "Adopt", note));
    }
    if o.claim == Some(Claim::Observe) {
        let note = format!("observing branch {name}: the operator reports it and never changes it");
        out.push(Note::normal("Observed", "Observe", note));
    }
    for fix in &o.fixed {
        out.extend(fix_events(name, *fix, o.drift));
    }
    out
}

/// Events for a fix: `Promoted`/`Demoted` for those, `Updated` for a spec change, and
/// `DriftCorrected` when PlanetScale had drifted from a spec that was already in place.
fn fix_events(name: &str, fix: Fix, drift: bool) -> Vec<Note> {
    let what = describe(fix);
    let r = match fix {
        Fix::Promote => Some("Promoted"),
        Fix::Demote => Some("Demoted"),
        _ => None,
    };
    let mut out = Vec::new();
    if let Some(r) = r {
        out.push(Note::normal(r, "Update", format!("branch {name}: {what}")));
    }
    if drift {
        let note =
            format!("branch {name} had been changed outside Kubernetes: {what} to match the spec");
        out.push(Note::normal("DriftCorrected", "Update", note));
    } else if r.is_none() {
        out.push(Note::normal(
            "Updated",
            "Update",
            format!("branch {name}: {what}"),
        ));
    }
    out
}

/// The events a change of the `Ready` condition deserves: `Ready` when it turns true, the
/// reason of a new failure (not of a wait).
fn ready_events(old: &PlanetScaleBranchStatus, new: &PlanetScaleBranchStatus) -> Vec<Note> {
    if old == new {
        return Vec::new();
    }
    let before = find_condition(&old.conditions, conditions::READY);
    let Some(after) = find_condition(&new.conditions, conditions::READY) else {
        return Vec::new();
    };
    let same = before.is_some_and(|b| b.status == after.status && b.reason == after.reason);
    if same {
        return Vec::new();
    }
    if after.status == "True" {
        vec![Note::normal(
            reason::READY,
            "Reconcile",
            after.message.clone(),
        )]
    } else if after.reason != reason::PROGRESSING && !is_waiting(&after.reason) {
        vec![Note::warning(
            after.reason.clone(),
            "Reconcile",
            after.message.clone(),
        )]
    } else {
        Vec::new()
    }
}

fn is_waiting(r: &str) -> bool {
    r == reason::BRANCH_NOT_READY || r == crate::crd::branch::reason::DATABASE_NOT_READY
}

/// The status of a paused object.
pub fn paused(obj: &PlanetScaleBranch) -> PlanetScaleBranchStatus {
    readiness::paused(obj, "this branch")
}

/// The status after a failed deletion: a transient error is shown in `Ready` (and retried
/// with backoff); anything else blocks the deletion with `DeletionBlocked` and says how to
/// release the resource (the error's message, see `cleanup`).
pub fn deletion_failed(obj: &PlanetScaleBranch, err: &Error) -> Report<PlanetScaleBranchStatus> {
    let old = obj.status.clone().unwrap_or_default();
    let mut status = old.clone();
    let generation = obj.metadata.generation;
    if err.is_transient() {
        let name = obj.spec.effective_branch_name(&obj.name_any()).to_string();
        set_ready(&mut status, Err(err), &name, generation);
    } else {
        let (cause, message) = (err.reason(), err.to_string());
        readiness::set_deletion_blocked(&mut status.conditions, cause, &message, generation);
    }
    let events = ready_events(&old, &status);
    Report { status, events }
}

#[cfg(test)]
#[path = "status_tests.rs"]
mod tests;
