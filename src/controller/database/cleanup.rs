//! Deletion behind the finalizer. The most dangerous thing the operator can do, so it takes
//! two explicit choices: `deletionPolicy: Delete` (the default is `Retain`) and
//! `deletionConfirmation` naming the database. Without the confirmation, or with PlanetScale's
//! deletion protection on, the deletion is refused: the finalizer stays, the condition
//! `DeletionBlocked` says how to release the resource, and it is retried slowly. The access
//! policy must allow it too (`production.deleteDatabases`), else it is blocked the same way.
//! Observed databases are never deleted.
use kube::ResourceExt;
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use planetscale_api::models::UpdateDatabase;

use super::observe::get_database;
use super::{DatabaseReconciler, Target};
use crate::controller::deletion::Gone;
use crate::controller::planetscale::PlanetScale;
use crate::crd::database::{PlanetScaleDatabase, reason};
use crate::crd::{DeletionPolicy, ManagementPolicy};
use crate::error::Error;

/// Runs when the resource is being deleted; `Ok` lets the finalizer go.
pub async fn cleanup(
    r: &DatabaseReconciler,
    t: &Target,
    obj: &PlanetScaleDatabase,
) -> Result<Action, Error> {
    let name = &t.name;
    let (reason, note) = if obj.spec.management_policy == ManagementPolicy::Observe {
        let note = format!("database {name} was only observed: left in PlanetScale");
        ("Released", note)
    } else if obj.spec.deletion_policy == DeletionPolicy::Retain {
        let note = format!("database {name} left in PlanetScale (deletionPolicy: Retain)");
        ("Retained", note)
    } else {
        let gone = delete(r, t, obj).await.map_err(|e| blocked(t, e))?;
        gone.announce(&format!("database {name}"))
    };
    r.ctx
        .event(obj, EventType::Normal, reason, "Delete", note)
        .await;
    Ok(Action::await_change())
}

async fn delete(
    r: &DatabaseReconciler,
    t: &Target,
    obj: &PlanetScaleDatabase,
) -> Result<Gone, Error> {
    if !obj.spec.deletion_confirmed(&obj.name_any()) {
        return Err(Error::Invalid {
            reason: reason::DELETION_NOT_CONFIRMED,
            message: format!(
                "deletionPolicy: Delete deletes database {} and all its data, and needs \
                 spec.deletionConfirmation: {}",
                t.name, t.name
            ),
        });
    }
    let status = obj.status.clone().unwrap_or_default();
    if status.id.is_none() && status.create_requested_at.is_none() {
        return Ok(Gone::NotOurs);
    }
    let client = r.client(t).await?;
    let Some(db) = get_database(&client, t).await? else {
        return Ok(Gone::Missing);
    };
    let ours = status.id.as_deref() == Some(db.id.as_str());
    if !ours && status.create_requested_at.is_none() {
        return Ok(Gone::NotOurs);
    }
    let allowance = crate::policy::Production::DeleteDatabase;
    let policies = &r.ctx.policies;
    policies
        .admit_production(&r.ctx.client, obj, allowance)
        .await?;
    if db.deletion_protected == Some(true) {
        unprotect(&client, t, obj).await?;
    }
    Gone::of_delete(client.delete_database(&t.org, &t.name).await)
}

/// Turns deletion protection off when the spec says so (`settings.deletionProtected: false`).
async fn unprotect(
    ps: &impl PlanetScale,
    t: &Target,
    obj: &PlanetScaleDatabase,
) -> Result<(), Error> {
    let wanted = obj
        .spec
        .settings
        .as_ref()
        .and_then(|s| s.deletion_protected);
    if wanted != Some(false) {
        return Err(Error::Invalid {
            reason: reason::DELETION_PROTECTED,
            message: format!(
                "database {} has deletion protection on in PlanetScale",
                t.name
            ),
        });
    }
    let body = UpdateDatabase {
        deletion_protected: Some(false),
        ..UpdateDatabase::default()
    };
    ps.update_database_settings(&t.org, &t.name, &body).await?;
    Ok(())
}

/// A transient error as it is; anything else keeps its reason with a message that says how
/// to let the resource go.
fn blocked(t: &Target, err: Error) -> Error {
    if err.is_transient() {
        return err;
    }
    let extra = match err.reason() {
        reason::DELETION_PROTECTED => {
            "; or set spec.settings.deletionProtected: false to turn protection off and delete it"
        }
        "CredentialsNotFound" | "CredentialsInvalid" | "Unauthorized" => {
            "; or fix the credentials so the operator can delete it"
        }
        _ => "",
    };
    Error::Invalid {
        reason: err.reason(),
        message: format!(
            "cannot delete database {} from PlanetScale: {err}. To keep the database and let \
             this resource go, set spec.deletionPolicy: Retain{extra}",
            t.name
        ),
    }
}
