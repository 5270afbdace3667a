//! The status a pass leaves, and the events that go with it. Pure: from the object and what
//! the pass did (or why it failed) to the new status; the skeleton writes it once.
use kube::ResourceExt;
use planetscale_api::models::Backup;

use super::act::Outcome;
use super::plan::Claim;
use crate::controller::reconciler::{Note, Report};
use crate::controller::{adoption, readiness};
use crate::crd::backup::{PlanetScaleBackup, PlanetScaleBackupStatus, reason};
use crate::error::Error;
use crate::time::to_time;

/// Reasons of `Ready=False` that are waits, not failures (no warning event).
const WAITS: [&str; 2] = [
    reason::BACKUP_NOT_READY,
    crate::crd::conditions::reason::BRANCH_NOT_READY,
];

/// Copies what PlanetScale says about `b` into `status`.
pub fn copy_backup(status: &mut PlanetScaleBackupStatus, b: &Backup) {
    status.id = Some(b.id.clone());
    status.backup_name = Some(b.name.clone());
    status.state = b.state.as_ref().map(|s| s.as_str().to_string());
    status.size = b.size.and_then(|s| i64::try_from(s).ok());
    status.protected = b.protected;
    status.created_at = b.created_at.map(to_time);
    status.started_at = b.started_at.map(to_time);
    status.completed_at = b.completed_at.map(to_time);
    status.expires_at = b.expires_at.map(to_time);
    status.create_requested_at = None;
}

/// The status after a pass, and its events.
pub fn report(
    obj: &PlanetScaleBackup,
    done: Option<&Outcome>,
    error: Option<&Error>,
) -> Report<PlanetScaleBackupStatus> {
    let fold = |status: &mut PlanetScaleBackupStatus| {
        done.map(|o| {
            record(status, o);
            done_events(o)
        })
        .unwrap_or_default()
    };
    let progress = done.map(|o| &o.progress);
    readiness::report(obj, fold, progress, error, &WAITS)
}

/// What `act` did, into `status`.
fn record(status: &mut PlanetScaleBackupStatus, o: &Outcome) {
    if let Some(b) = &o.backup {
        copy_backup(status, b);
        status.organization = Some(o.branch.organization.clone());
        status.database = Some(o.branch.database.clone());
        status.branch = Some(o.branch.branch.clone());
        let claimed = o.claim.map(|c| c != Claim::Record);
        status.adopted = adoption::adopted(status.adopted, claimed, o.created);
    }
    if o.create_refused {
        status.create_requested_at = None;
    }
}

/// Events for what was done: the backup taken, adopted or observed, its protection.
fn done_events(o: &Outcome) -> Vec<Note> {
    let Some(b) = &o.backup else {
        return Vec::new();
    };
    let at = format!(
        "{}/{}/{}",
        o.branch.organization, o.branch.database, o.branch.branch
    );
    let (name, id) = (&b.name, &b.id);
    let mut out = Vec::new();
    if o.created {
        let note = format!("took backup {name} ({id}) of {at}");
        out.push(Note::normal("Created", "Create", note));
    }
    match o.claim {
        Some(Claim::Adopt) => out.push(Note::normal(
            "Adopted",
            "Adopt",
            format!("adopted backup {name} ({id}) of {at} (spec.backupId)"),
        )),
        Some(Claim::Observe) => out.push(Note::normal(
            "Observed",
            "Observe",
            format!("observing backup {name} ({id}) of {at}: never changed by the operator"),
        )),
        _ => {}
    }
    if let Some(on) = o.protected {
        let what = if on { "protected" } else { "unprotected" };
        out.push(Note::normal(
            "Updated",
            "Update",
            format!("backup {name} {what}"),
        ));
    }
    out
}

/// The status of a paused object.
pub fn paused(obj: &PlanetScaleBackup) -> PlanetScaleBackupStatus {
    readiness::paused(obj, &format!("backup {}", obj.name_any()))
}

/// The status after a failed deletion.
pub fn deletion_failed(obj: &PlanetScaleBackup, err: &Error) -> Report<PlanetScaleBackupStatus> {
    readiness::deletion_failed_report(obj, err, &WAITS)
}
