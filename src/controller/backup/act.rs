//! Runs the planned steps against PlanetScale, in order, until one fails; returns what was
//! done ([`Outcome`]) for `status` to record and announce.
use planetscale_api::models::{Backup, BackupState, CreateBackup, UpdateBackup};
use planetscale_api::{Error as ApiError, ErrorKind};

use super::Target;
use super::observe::Observed;
use super::plan::{Claim, Step};
use crate::controller::planetscale::{BranchPath, PlanetScale};
use crate::controller::readiness::Progress;
use crate::controller::reconciler::{Acted, Plan};
use crate::controller::target::Target as BranchTarget;
use crate::crd::backup::reason;
use crate::error::Error;

/// What a pass did.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The branch backed up.
    pub branch: BranchTarget,
    /// The backup as last seen or changed, once it is ours (copied into status).
    pub backup: Option<Backup>,
    /// Where the pass got to.
    pub progress: Progress,
    /// How the backup became ours in this pass, if it did.
    pub claim: Option<Claim>,
    /// Taken in this pass.
    pub created: bool,
    /// A create was refused: nothing was taken, the intent is void.
    pub create_refused: bool,
    /// The protection set in this pass.
    pub protected: Option<bool>,
}

/// Runs `plan`'s steps.
pub async fn act(t: &Target, observed: Observed, plan: Plan<Step>) -> Acted<Outcome> {
    let mut out = Outcome {
        branch: observed.branch.clone(),
        backup: None,
        progress: Progress::Ready(String::new()),
        claim: None,
        created: false,
        create_refused: false,
        protected: None,
    };
    let (ps, at) = (&observed.client, observed.path());
    for step in plan.steps {
        let done = match step {
            Step::Create(body) => create(ps, at, t, &body, &mut out).await,
            Step::Missing { taken } => Err(missing(t, &observed, taken)),
            Step::Record(claim) => {
                out.backup.clone_from(&observed.backup);
                out.claim = claim;
                Ok(())
            }
            Step::Protect(on) => protect(ps, at, on, &mut out).await,
        };
        if let Err(e) = done {
            return Acted::failed(out, e);
        }
    }
    match progress(t, out.backup.as_ref()) {
        Ok(p) => {
            out.progress = p;
            Acted::done(out)
        }
        Err(e) => Acted::failed(out, e),
    }
}

async fn create(
    ps: &impl PlanetScale,
    at: BranchPath<'_>,
    t: &Target,
    body: &CreateBackup,
    out: &mut Outcome,
) -> Result<(), Error> {
    let taken = ps.create_backup(at, body).await.map_err(|e| {
        out.create_refused = matches!(e.status(), Some(400 | 401 | 403 | 404 | 409 | 422));
        create_failed(t, at, e)
    })?;
    out.created = true;
    out.backup = Some(taken);
    Ok(())
}

async fn protect(
    ps: &impl PlanetScale,
    at: BranchPath<'_>,
    on: bool,
    out: &mut Outcome,
) -> Result<(), Error> {
    let Some(id) = out.backup.as_ref().map(|b| b.id.clone()) else {
        return Ok(());
    };
    let body = UpdateBackup { protected: on };
    out.backup = Some(ps.update_backup(at, &id, &body).await?);
    out.protected = Some(on);
    Ok(())
}

/// Where the backup is: ready once it succeeded, waiting while pending or running, failed
/// for good otherwise.
fn progress(t: &Target, backup: Option<&Backup>) -> Result<Progress, Error> {
    let Some(b) = backup else {
        return Ok(Progress::Ready(String::new()));
    };
    let observed = if t.observe { " (observed only)" } else { "" };
    match &b.state {
        Some(BackupState::Success) => Ok(Progress::Ready(format!(
            "backup {} ({}) succeeded and can be restored{observed}",
            b.name, b.id
        ))),
        Some(s @ (BackupState::Failed | BackupState::Canceled | BackupState::Ignored)) => {
            Err(Error::Invalid {
                reason: reason::BACKUP_FAILED,
                message: format!(
                    "backup {} ({}) ended in state {}: it cannot be restored; delete this \
                     resource and create another to take a new backup",
                    b.name,
                    b.id,
                    s.as_str()
                ),
            })
        }
        s => Ok(Progress::Waiting {
            reason: reason::BACKUP_NOT_READY,
            message: format!(
                "waiting for backup {} to complete (state {})",
                b.name,
                s.as_ref().map_or("unknown", |s| s.as_str())
            ),
        }),
    }
}

fn create_failed(t: &Target, (org, db, branch): BranchPath<'_>, e: ApiError) -> Error {
    let details = e.message().unwrap_or("no details").to_string();
    match e.kind() {
        ErrorKind::NotFound => Error::Invalid {
            reason: "BranchNotFound",
            message: format!(
                "cannot take backup {}: PlanetScale answered 404 — branch {branch} does not \
                 exist in {org}/{db}, or the credentials lack the write_backups access",
                t.name
            ),
        },
        _ if matches!(e.status(), Some(400 | 422)) => Error::Invalid {
            reason: Error::from(e).reason(),
            message: format!("PlanetScale refused to take backup {}: {details}", t.name),
        },
        _ => e.into(),
    }
}

fn missing(t: &Target, o: &Observed, taken: bool) -> Error {
    let (org, db, branch) = o.path();
    let message = if taken {
        format!(
            "backup {} of {org}/{db}/{branch} no longer exists in PlanetScale (it expired or \
             was deleted); it is not taken again: create another resource for a new backup",
            t.name
        )
    } else {
        format!(
            "PlanetScale has no backup with spec.backupId on {org}/{db}/{branch} (or the \
             credentials lack the read_backups access): check spec.backupId and the branch"
        )
    };
    Error::Invalid {
        reason: reason::BACKUP_NOT_FOUND,
        message,
    }
}
