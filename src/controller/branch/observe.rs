//! What PlanetScale says about the branch, at the lowest cost. Decides nothing.
//!
//! - A branch never created (and not to be adopted or observed) is not looked at: the plan creates it. Only
//!   its database's engine is needed, read once per database and resync interval for all its
//!   resources ([`super::poller::Poller::database_kind`]).
//! - A pending branch the poller watches is not looked at either: the poller wakes the
//!   resource when it changes (and hands over what it saw).
//! - The resync of a Ready branch reads the database's shared list; anything else one `GET`
//!   (plus the database when the branch is missing: its readiness and default branch).
use std::time::Instant;

use planetscale_api::models::{Branch, Database};
use planetscale_api::{Client, ErrorKind};

use super::engine::Engine;
use super::poller::DbKey;
use super::{BranchReconciler, Target};
use crate::controller::planetscale::PlanetScale;
use crate::crd::branch::{PlanetScaleBranch, PlanetScaleBranchStatus};
use crate::crd::conditions::{is_ready_for, reason};
use crate::error::Error;

/// What a reconcile read.
pub struct Observed {
    /// Who and where the branch is (its database resolved).
    pub target: Target,
    /// The client for the resource's credentials.
    pub client: Client,
    /// The database as the poller keys it.
    pub db: DbKey,
    /// What was seen of the branch.
    pub look: Look,
    /// The backup `spec.backupRef` names, while the branch is still to be created.
    pub restore: Option<super::backup_ref::Restore>,
}

/// What was seen of the branch.
// One value per reconcile, moved once, never stored in bulk: its size does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Look {
    /// Never created by this resource and not to be adopted: not looked at; the database's
    /// engine (`None`: one the operator does not know).
    New { engine: Option<Engine> },
    /// Pending, and the poller watches it: not looked at.
    Pending,
    /// Looked at: the branch (`None`: missing), the database when the branch is missing, and
    /// when the shared list the branch was found in was taken.
    Seen {
        branch: Option<Branch>,
        database: Option<Database>,
        listed_at: Option<Instant>,
    },
}

/// Reads what the plan needs.
pub async fn observe(
    r: &BranchReconciler,
    target: Target,
    obj: &PlanetScaleBranch,
) -> Result<Observed, Error> {
    let t = &target;
    let client = r.client(t).await?;
    r.ctx.webhooks.in_use(&t.org, &t.db, &client);
    let db = t.db_key(&r.ctx)?;
    let status = obj.status.clone().unwrap_or_default();
    let observe = obj.spec.management_policy == crate::crd::ManagementPolicy::Observe;
    let look = if never_created(&status) && !obj.spec.adopt && !observe {
        let max_age = r.ctx.settings.resync_interval;
        let kind = r.poller.database_kind(&db, &client, max_age).await;
        let kind = kind.map_err(|e| database_error(e, t))?;
        Look::New {
            engine: kind.as_ref().and_then(Engine::of),
        }
    } else if status.observed_generation == t.generation && r.poller.is_waiting(&db, &t.name) {
        Look::Pending
    } else {
        look(r, t, &db, &client, &status).await?
    };
    let created = !never_created(&status);
    let restore = super::backup_ref::resolve(&r.ctx.client, t, obj, created).await?;
    Ok(Observed {
        target,
        client,
        db,
        look,
        restore,
    })
}

/// Whether this resource never created (or asked to create) a branch.
pub fn never_created(status: &PlanetScaleBranchStatus) -> bool {
    status.id.is_none() && status.create_requested_at.is_none()
}

/// What the poller saw when it woke the resource, the shared list for the resync of a Ready
/// branch, else one `GET`; the database when the branch is missing.
async fn look(
    r: &BranchReconciler,
    t: &Target,
    db: &DbKey,
    client: &Client,
    status: &PlanetScaleBranchStatus,
) -> Result<Look, Error> {
    let mut listed_at = None;
    let mut branch = None;
    if let Some(Some(seen)) = r.poller.take_seen(db, &t.name) {
        branch = Some(seen);
    } else if status.id.is_some() && is_ready_for(&status.conditions, t.generation) {
        let max_age = r.ctx.settings.resync_interval / 2;
        let snapshot = r.poller.snapshot(db, client, max_age).await?;
        // Not in the list: confirmed with a GET before it is treated as deleted.
        if let Some(b) = snapshot.items.get(&t.name) {
            branch = Some(b.clone());
            listed_at = Some(snapshot.taken);
        }
    }
    if branch.is_none() {
        branch = get_branch(client, t).await?;
    }
    let database = match branch {
        None => Some(get_database(client, t).await?),
        Some(_) => None,
    };
    Ok(Look::Seen {
        branch,
        database,
        listed_at,
    })
}

/// The branch, `None` for a 404.
pub async fn get_branch(ps: &impl PlanetScale, t: &Target) -> Result<Option<Branch>, Error> {
    match ps.get_branch(&t.org, &t.db, &t.name).await {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The database; a 404 is something the user must fix.
pub async fn get_database(ps: &impl PlanetScale, t: &Target) -> Result<Database, Error> {
    ps.get_database(&t.org, &t.db)
        .await
        .map_err(|e| database_error(e, t))
}

/// A failed read of the database: a 404 says which names to check.
fn database_error(e: planetscale_api::Error, t: &Target) -> Error {
    if e.kind() != ErrorKind::NotFound {
        return e.into();
    }
    Error::Invalid {
        reason: reason::DATABASE_NOT_FOUND,
        message: format!(
            "database {} does not exist in organization {}, or the credentials have no access \
             to it: check spec.organization and spec.database (or the PlanetScaleDatabase of \
             spec.databaseRef)",
            t.db, t.org
        ),
    }
}
