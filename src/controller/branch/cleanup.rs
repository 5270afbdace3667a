//! Deletion behind the finalizer: `Delete` deletes the branch in PlanetScale, `Retain` leaves
//! it; an observed branch (`managementPolicy: Observe`) is always left. A deletion that cannot happen keeps the finalizer, says how to release it (the
//! `DeletionBlocked` condition, from [`super::status::deletion_failed`]), and is retried
//! slowly; a transient failure is retried with backoff.
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use planetscale_api::models::UpdateBranch;

use super::observe::{get_branch, never_created};
use super::plan::{Facts, Ownership, ownership};
use super::{BranchReconciler, Target};
use crate::controller::deletion::Gone;
use crate::controller::planetscale::PlanetScale;
use crate::crd::branch::PlanetScaleBranch;
use crate::crd::{DeletionPolicy, ManagementPolicy};
use crate::error::Error;

/// Cause of a blocked deletion when PlanetScale's deletion protection is on.
pub const DELETION_PROTECTED: &str = "DeletionProtected";

/// Runs when the resource is being deleted; `Ok` lets the finalizer go.
pub async fn cleanup(
    r: &BranchReconciler,
    t: &Target,
    obj: &PlanetScaleBranch,
) -> Result<Action, Error> {
    let (reason, note) = if obj.spec.management_policy == ManagementPolicy::Observe {
        let note = format!("branch {} was only observed: left in PlanetScale", t.name);
        ("Released", note)
    } else if obj.spec.deletion_policy == DeletionPolicy::Retain {
        let note = format!(
            "branch {} left in PlanetScale (deletionPolicy: Retain)",
            t.name
        );
        ("Retained", note)
    } else {
        let gone = delete(r, t, obj).await.map_err(|e| blocked(t, e))?;
        gone.announce(&format!("branch {}", t.name))
    };
    r.ctx
        .event(obj, EventType::Normal, reason, "Delete", note)
        .await;
    if let Ok(db) = t.db_key(&r.ctx) {
        r.poller.forget(&db, &t.name);
    }
    Ok(Action::await_change())
}

async fn delete(r: &BranchReconciler, t: &Target, obj: &PlanetScaleBranch) -> Result<Gone, Error> {
    let status = obj.status.clone().unwrap_or_default();
    if never_created(&status) {
        return Ok(Gone::NotOurs);
    }
    let client = r.client(t).await?;
    let Some(branch) = get_branch(&client, t).await? else {
        return Ok(Gone::Missing);
    };
    let facts = Facts {
        spec: &obj.spec,
        name: &t.name,
        status: &status,
        branch: Some(&branch),
        database: None,
    };
    if ownership(&facts, &branch) == Ownership::Foreign {
        return Ok(Gone::NotOurs);
    }
    if branch.production {
        let delete = crate::policy::Production::Delete;
        let policies = &r.ctx.policies;
        policies
            .admit_production(&r.ctx.client, obj, delete)
            .await?;
    }
    if branch.deletion_protected {
        unprotect(&client, t, obj).await?;
    }
    Gone::of_delete(client.delete_branch(&t.org, &t.db, &t.name).await)
}

/// Turns PlanetScale's deletion protection off, if the spec says so.
async fn unprotect(
    ps: &impl PlanetScale,
    t: &Target,
    obj: &PlanetScaleBranch,
) -> Result<(), Error> {
    if obj.spec.deletion_protected != Some(false) {
        return Err(Error::Invalid {
            reason: DELETION_PROTECTED,
            message: format!(
                "branch {} has deletion protection on in PlanetScale",
                t.name
            ),
        });
    }
    let body = UpdateBranch {
        deletion_protected: Some(false),
        ..UpdateBranch::default()
    };
    ps.update_branch(&t.org, &t.db, &t.name, &body).await?;
    Ok(())
}

/// A transient error as it is (retried with backoff); anything else keeps its reason (the
/// cause shown in `DeletionBlocked`) with a message that says how to let the resource go.
fn blocked(t: &Target, err: Error) -> Error {
    if err.is_transient() {
        return err;
    }
    Error::Invalid {
        reason: err.reason(),
        message: release_message(t, &err),
    }
}

/// Why deletion cannot happen and how to let the resource go.
fn release_message(t: &Target, err: &Error) -> String {
    let extra = match err.reason() {
        DELETION_PROTECTED => {
            "; or set spec.deletionProtected: false to turn protection off and delete it"
        }
        "CredentialsNotFound" | "CredentialsInvalid" | "Unauthorized" => {
            "; or fix the credentials so the operator can delete it"
        }
        _ => "",
    };
    format!(
        "cannot delete branch {} from PlanetScale: {err}. To keep the branch and let this \
         resource go, set spec.deletionPolicy: Retain{extra}",
        t.name
    )
}
