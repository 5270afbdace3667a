//! The status a pass leaves, and the events that go with it. Pure: from the object and what
//! the pass did (or why it failed) to the new status; the skeleton writes it once.
use kube::ResourceExt;
use planetscale_api::models::Database;

use super::act::Outcome;
use super::plan::Claim;
use super::policies::{self, PolicyStep};
use crate::controller::reconciler::{Note, Report};
use crate::controller::{adoption, readiness};
use crate::crd::database::{PlanetScaleDatabase, PlanetScaleDatabaseStatus, reason};
use crate::error::Error;
use crate::time::to_time;

/// Reasons of `Ready=False` that are waits, not failures (no warning event).
const WAITS: [&str; 1] = [reason::DATABASE_NOT_READY];

/// Copies what PlanetScale says about `d` into `status`.
pub fn copy_database(status: &mut PlanetScaleDatabaseStatus, d: &Database) {
    status.id = Some(d.id.clone());
    status.database_name = Some(d.name.clone());
    status.state = d.state.as_ref().map(|s| s.as_str().to_string());
    status.engine = d.kind.as_ref().map(|k| k.as_str().to_string());
    status.region = d.region.as_ref().map(|r| r.slug.clone());
    status.default_branch.clone_from(&d.default_branch);
    status.html_url.clone_from(&d.html_url);
    status.require_approval_for_deploy = d.require_approval_for_deploy;
    status.deletion_protected = d.deletion_protected;
    status.created_at = d.created_at.map(to_time);
    status.create_requested_at = None;
}

/// The status after a pass, and its events.
pub fn report(
    obj: &PlanetScaleDatabase,
    done: Option<&Outcome>,
    error: Option<&Error>,
) -> Report<PlanetScaleDatabaseStatus> {
    let name = obj.spec.effective_name(&obj.name_any()).to_string();
    let fold = |status: &mut PlanetScaleDatabaseStatus| {
        done.map(|o| {
            let old_policies = status.backup_policies.clone();
            record(status, o);
            let mut events = done_events(&name, o);
            events.extend(o.policy_changes.iter().map(|c| policy_event(&name, c)));
            if let Some(have) = &o.policies {
                status.backup_policies =
                    policies::status(&obj.spec.backup_policies, &old_policies, have, &created(o));
            }
            events
        })
        .unwrap_or_default()
    };
    let progress = done.map(|o| &o.progress);
    readiness::report(obj, fold, progress, error, &WAITS)
}

/// What `act` did, into `status`.
fn record(status: &mut PlanetScaleDatabaseStatus, o: &Outcome) {
    if let Some(d) = &o.database {
        copy_database(status, d);
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

/// Events for what was done: the create, an adoption, the settings changed.
fn done_events(name: &str, o: &Outcome) -> Vec<Note> {
    let mut out = Vec::new();
    match o.created {
        Some(true) => out.push(Note::normal(
            "Recreated",
            "Create",
            format!("database {name} was deleted outside Kubernetes; created it again"),
        )),
        Some(false) => out.push(Note::normal(
            "Created",
            "Create",
            format!("created database {name}"),
        )),
        None => {}
    }
    match o.claim {
        Some(Claim::Adopt) => out.push(Note::normal(
            "Adopted",
            "Adopt",
            format!("adopted the existing database {name} (spec.adopt)"),
        )),
        Some(Claim::Observe) => out.push(Note::normal(
            "Observed",
            "Observe",
            format!("observing database {name}: the operator reports it and never changes it"),
        )),
        _ => {}
    }
    if !o.updated.is_empty() {
        let what = o.updated.join(", ");
        out.push(Note::normal(
            "Updated",
            "Update",
            format!("database {name}: changed settings {what} to match the spec"),
        ));
    }
    out
}

/// Names of the backup policies created in the pass.
fn created(o: &Outcome) -> Vec<String> {
    o.policy_changes
        .iter()
        .filter_map(|c| match c {
            PolicyStep::Create(b) => b.name.clone(),
            _ => None,
        })
        .collect()
}

/// The event for one backup-policy call.
fn policy_event(db: &str, c: &PolicyStep) -> Note {
    let (reason, action, message) = match c {
        PolicyStep::Create(b) => (
            "BackupPolicyCreated",
            "Create",
            format!(
                "created backup policy {} of database {db}",
                b.name.as_deref().unwrap_or_default()
            ),
        ),
        PolicyStep::Update { name, .. } => (
            "BackupPolicyUpdated",
            "Update",
            format!("changed backup policy {name} of database {db} to match the spec"),
        ),
        PolicyStep::Delete { name, .. } => (
            "BackupPolicyDeleted",
            "Delete",
            format!("deleted backup policy {name} of database {db}: it left spec.backupPolicies"),
        ),
        PolicyStep::Release { name } => (
            "BackupPolicyReleased",
            "Release",
            format!(
                "backup policy {name} of database {db} left spec.backupPolicies but is a \
                 required PlanetScale policy: it stays, no longer managed"
            ),
        ),
    };
    Note::normal(reason, action, message)
}

/// The status of a paused object.
pub fn paused(obj: &PlanetScaleDatabase) -> PlanetScaleDatabaseStatus {
    readiness::paused(
        obj,
        &format!("database {}", obj.spec.effective_name(&obj.name_any())),
    )
}

/// The status after a failed deletion.
pub fn deletion_failed(
    obj: &PlanetScaleDatabase,
    err: &Error,
) -> Report<PlanetScaleDatabaseStatus> {
    readiness::deletion_failed_report(obj, err, &WAITS)
}
