//! `spec.backupRef`: a branch restored from a `PlanetScaleBackup` of the same namespace. The
//! backup resource is read only while the branch is still to be created; the branch waits
//! (`BackupNotReady`) until the backup succeeded, then its create request restores it, from
//! the branch it backed up unless `parentBranch` says otherwise.
use std::time::Duration;

use kube::Api;

use super::Target;
use super::plan::Step;
use crate::controller::reconciler::Plan;
use crate::crd::backup::{PlanetScaleBackup, reason};
use crate::crd::branch::PlanetScaleBranch;
use crate::crd::conditions::is_ready_for;
use crate::error::Error;

/// How long a branch waits before looking at a backup that is not Ready again.
pub const BACKUP_WAIT: Duration = Duration::from_secs(15);

/// The backup a new branch restores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restore {
    /// PlanetScale's id of the backup.
    pub backup_id: String,
    /// The branch it was taken from.
    pub branch: String,
}

/// The backup `spec.backupRef` names, once Ready (`Waiting` before); `None` without a
/// `backupRef` or once the branch was created (`created`).
pub async fn resolve(
    kube: &kube::Client,
    t: &Target,
    obj: &PlanetScaleBranch,
    created: bool,
) -> Result<Option<Restore>, Error> {
    let Some(r) = obj.spec.backup_ref.as_ref().filter(|_| !created) else {
        return Ok(None);
    };
    let api: Api<PlanetScaleBackup> = Api::namespaced(kube.clone(), &t.namespace);
    let backup = api.get_opt(&r.name).await?;
    restore_of((&t.org, &t.db), &r.name, backup.as_ref()).map(Some)
}

/// The restore from `backup` (the resource `name`), if it is Ready and of the branch's
/// database `at` (organization, database). Pure.
pub fn restore_of(
    at: (&str, &str),
    name: &str,
    backup: Option<&PlanetScaleBackup>,
) -> Result<Restore, Error> {
    let Some(b) = backup else {
        return Err(waiting(&format!(
            "PlanetScaleBackup {name} does not exist yet"
        )));
    };
    let s = b.status.clone().unwrap_or_default();
    if !is_ready_for(&s.conditions, b.metadata.generation) {
        return Err(waiting(&format!(
            "PlanetScaleBackup {name} is not Ready yet"
        )));
    }
    let (Some(id), Some(branch)) = (s.id, s.branch) else {
        return Err(waiting(&format!(
            "PlanetScaleBackup {name} has no backup id yet"
        )));
    };
    let (organization, database) = at;
    let same =
        s.organization.as_deref() == Some(organization) && s.database.as_deref() == Some(database);
    if !same {
        return Err(Error::Invalid {
            reason: crate::crd::branch::reason::BACKUP_NOT_FOUND,
            message: format!(
                "PlanetScaleBackup {name} is a backup of another database; a branch can only be \
                 restored from a backup of its own database ({organization}/{database})"
            ),
        });
    }
    Ok(Restore {
        backup_id: id,
        branch,
    })
}

/// The planned create restores `restore`. Pure.
pub fn restore(mut plan: Plan<Step>, restore: Option<&Restore>) -> Plan<Step> {
    let Some(r) = restore else {
        return plan;
    };
    for step in &mut plan.steps {
        if let Step::Create { body, .. } = step {
            let body = body.branch_mut();
            body.backup_id = Some(r.backup_id.clone());
            if body.parent_branch.is_none() {
                body.parent_branch = Some(r.branch.clone());
            }
        }
    }
    plan
}

fn waiting(message: &str) -> Error {
    Error::Waiting {
        reason: reason::BACKUP_NOT_READY,
        message: format!("{message}: the branch is created from it once it is"),
        retry_after: BACKUP_WAIT,
    }
}
