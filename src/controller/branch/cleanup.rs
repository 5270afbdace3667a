//! The deletion half of the reconcile (behind the finalizer): `Delete` deletes the branch in
//! PlanetScale, `Retain` leaves it. A deletion that cannot happen keeps the finalizer, says
//! how to release it, and is retried slowly.
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use planetscale_api::Error as ApiError;
use planetscale_api::models::UpdateBranch;

use super::plan::{Observed, Ownership, ownership};
use super::status::{Progress, report, set_deletion_blocked, set_ready};
use super::{BranchContext, Target, found};
use crate::crd::DeletionPolicy;
use crate::crd::conditions::reason;
use crate::error::Error;

/// Cause of a blocked deletion when PlanetScale's deletion protection is on.
pub const DELETION_PROTECTED: &str = "DeletionProtected";

/// What deletion found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Gone {
    /// Deleted now.
    Deleted,
    /// Already deleted (outside Kubernetes, or by an earlier attempt).
    Missing,
    /// The branch was never this resource's (e.g. refused with `AlreadyExists`): left alone.
    NotOurs,
}

/// Runs when the resource is being deleted; `Ok` lets the finalizer go.
pub async fn cleanup(b: &BranchContext, t: &Target<'_>) -> Result<Action, Error> {
    if t.obj.spec.deletion_policy == DeletionPolicy::Retain {
        let note = format!(
            "branch {} left in PlanetScale (deletionPolicy: Retain)",
            t.name
        );
        b.ctx
            .event(t.obj, EventType::Normal, "Retained", "Delete", note)
            .await;
        return Ok(finished(b, t));
    }
    match delete(b, t).await {
        Ok(gone) => {
            let note = match gone {
                Gone::Deleted => format!("deleted branch {} from PlanetScale", t.name),
                Gone::Missing => format!("branch {} was already deleted", t.name),
                Gone::NotOurs => format!(
                    "branch {} was not created or adopted by this resource: left in PlanetScale",
                    t.name
                ),
            };
            let r = if gone == Gone::NotOurs {
                "Released"
            } else {
                "Deleted"
            };
            b.ctx
                .event(t.obj, EventType::Normal, r, "Delete", note)
                .await;
            Ok(finished(b, t))
        }
        Err(e) => blocked(b, t, e).await,
    }
}

fn finished(b: &BranchContext, t: &Target<'_>) -> Action {
    b.schedule.forget(&t.key);
    if let Ok(key) = t.db_key(b) {
        b.poller.forget(&key, &t.name);
    }
    b.ctx.reset_backoff(&t.key);
    Action::await_change()
}

async fn delete(b: &BranchContext, t: &Target<'_>) -> Result<Gone, Error> {
    let status = t.obj.status.clone().unwrap_or_default();
    let remembered = b.schedule.created_id(&t.key);
    if status.id.is_none() && status.create_requested_at.is_none() && remembered.is_none() {
        return Ok(Gone::NotOurs);
    }
    let client = t.client(b).await?;
    let (org, db, name) = (t.org(), t.db(), t.name.as_str());
    let Some(branch) = found(client.get_branch(org, db, name).await)? else {
        return Ok(Gone::Missing);
    };
    let observed = Observed {
        spec: &t.obj.spec,
        name,
        status: &status,
        remembered_id: remembered.as_deref(),
        branch: Some(&branch),
        database: None,
    };
    if ownership(&observed, &branch) == Ownership::Foreign {
        return Ok(Gone::NotOurs);
    }
    if branch.deletion_protected {
        if t.obj.spec.deletion_protected != Some(false) {
            return Err(Error::Invalid {
                reason: DELETION_PROTECTED,
                message: format!("branch {name} has deletion protection on in PlanetScale"),
            });
        }
        let body = UpdateBranch {
            deletion_protected: Some(false),
            ..UpdateBranch::default()
        };
        client.update_branch(org, db, name, &body).await?;
    }
    match client.delete_branch(org, db, name).await {
        Ok(()) | Err(ApiError::NotFound { .. }) => Ok(Gone::Deleted),
        Err(e) => Err(e.into()),
    }
}

/// Keeps the finalizer: transient errors back off; anything else sets `DeletionBlocked`
/// with how to release the resource, and is retried slowly.
async fn blocked(b: &BranchContext, t: &Target<'_>, err: Error) -> Result<Action, Error> {
    let mut status = t.obj.status.clone().unwrap_or_default();
    let generation = t.generation();
    if err.is_transient() {
        let delay = b.ctx.backoff_delay_for(&t.key, &err);
        b.schedule.set(&t.key, t.trigger, delay);
        let outcome: Result<Progress, Error> = Err(err);
        set_ready(&mut status, &outcome, &t.name, generation);
        report(&b.ctx, t.obj, status).await?;
        return outcome.map(|_| Action::await_change());
    }
    let message = release_message(t, &err);
    set_deletion_blocked(&mut status, err.reason(), &message, generation);
    b.schedule.set(&t.key, t.trigger, b.ctx.slow_retry());
    report(&b.ctx, t.obj, status).await?;
    Err(Error::Invalid {
        reason: reason::DELETION_BLOCKED,
        message,
    })
}

/// Why deletion cannot happen and how to let the resource go.
fn release_message(t: &Target<'_>, err: &Error) -> String {
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
