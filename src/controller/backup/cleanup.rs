//! Deletion behind the finalizer: `Retain` (the default) leaves the backup, which expires
//! with its retention; `Delete` deletes it. An observed backup is never deleted. A protected
//! backup is unprotected first only when the spec says `protected: false`; otherwise the
//! deletion is blocked (`DeletionBlocked`) and retried slowly.
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use planetscale_api::ErrorKind;
use planetscale_api::models::UpdateBackup;

use super::observe::{get_backup, path, recorded};
use super::{BackupReconciler, Target};
use crate::controller::planetscale::{BranchPath, PlanetScale};
use crate::crd::backup::{PlanetScaleBackup, reason};
use crate::crd::{DeletionPolicy, ManagementPolicy};
use crate::error::Error;

/// Runs when the resource is being deleted; `Ok` lets the finalizer go.
pub async fn cleanup(
    r: &BackupReconciler,
    t: &Target,
    obj: &PlanetScaleBackup,
) -> Result<Action, Error> {
    let name = &t.name;
    let (why, note) = if obj.spec.management_policy == ManagementPolicy::Observe {
        (
            "Released",
            format!("backup {name} was only observed: left in PlanetScale"),
        )
    } else if obj.spec.deletion_policy == DeletionPolicy::Retain {
        let note = format!(
            "backup {name} left in PlanetScale until its retention ends (deletionPolicy: Retain)"
        );
        ("Retained", note)
    } else if delete(r, t, obj).await.map_err(|e| blocked(t, e))? {
        ("Deleted", format!("deleted backup {name} from PlanetScale"))
    } else {
        ("Deleted", format!("backup {name} was already gone"))
    };
    r.ctx
        .event(obj, EventType::Normal, why, "Delete", note)
        .await;
    Ok(Action::await_change())
}

/// Deletes the recorded backup; `false` when there was none (never taken, or gone).
async fn delete(r: &BackupReconciler, t: &Target, obj: &PlanetScaleBackup) -> Result<bool, Error> {
    let Some(branch) = recorded(obj) else {
        return Ok(false);
    };
    let id = obj
        .status
        .as_ref()
        .and_then(|s| s.id.clone())
        .unwrap_or_default();
    let client = r.client(t).await?;
    delete_from(&client, path(&branch), &id, t, obj.spec.protected).await
}

/// Deletes backup `id` of branch `at`, unprotecting it first when `protected: false` is asked.
async fn delete_from(
    ps: &impl PlanetScale,
    at: BranchPath<'_>,
    id: &str,
    t: &Target,
    want_protected: Option<bool>,
) -> Result<bool, Error> {
    let Some(backup) = get_backup(ps, at, id).await? else {
        return Ok(false);
    };
    if backup.protected == Some(true) {
        if want_protected != Some(false) {
            return Err(Error::Invalid {
                reason: reason::BACKUP_PROTECTED,
                message: format!("backup {} is protected in PlanetScale", t.name),
            });
        }
        let body = UpdateBackup { protected: false };
        ps.update_backup(at, id, &body).await?;
    }
    match ps.delete_backup(at, id).await {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// A transient error as it is; anything else with a message that says how to let go.
fn blocked(t: &Target, err: Error) -> Error {
    if err.is_transient() {
        return err;
    }
    let extra = if err.reason() == reason::BACKUP_PROTECTED {
        "; or set spec.protected: false to unprotect and delete it"
    } else {
        ""
    };
    Error::Invalid {
        reason: err.reason(),
        message: format!(
            "cannot delete backup {} from PlanetScale: {err}. To keep the backup and let this \
             resource go, set spec.deletionPolicy: Retain{extra}",
            t.name
        ),
    }
}
