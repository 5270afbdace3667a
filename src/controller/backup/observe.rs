//! What PlanetScale says about the backup. Decides nothing.
//!
//! The branch comes from the status once a backup is recorded (a backup never moves), else
//! from the spec (`branchRef` waits for its `PlanetScaleBranch` to be Ready). The backup is
//! read by id (`spec.backupId` or `status.id`); after a crash between the create call and the
//! status write, it is found by name among the branch's backups taken since the intent.
use planetscale_api::models::Backup;
use planetscale_api::{Client, ErrorKind};

use super::{BackupReconciler, Target};
use crate::controller::planetscale::{BranchPath, PlanetScale};
use crate::controller::target::{self, Target as BranchTarget};
use crate::crd::backup::PlanetScaleBackup;
use crate::error::Error;

/// What a pass read.
pub struct Observed {
    /// The client for the resource's credentials.
    pub client: Client,
    /// The branch backed up.
    pub branch: BranchTarget,
    /// The backup (`None`: not taken yet, or gone).
    pub backup: Option<Backup>,
}

impl Observed {
    /// The branch as the API paths take it.
    pub fn path(&self) -> BranchPath<'_> {
        path(&self.branch)
    }
}

/// `branch` as the API paths take it.
pub fn path(branch: &BranchTarget) -> BranchPath<'_> {
    (&branch.organization, &branch.database, &branch.branch)
}

/// Reads what the plan needs.
pub async fn observe(
    r: &BackupReconciler,
    t: &Target,
    obj: &PlanetScaleBackup,
) -> Result<Observed, Error> {
    let branch = match recorded(obj) {
        Some(b) => b,
        None => target::resolve(&r.ctx.client, &t.namespace, &obj.spec.target).await?,
    };
    let client = r.client(t).await?;
    let status = obj.status.clone().unwrap_or_default();
    let id = obj.spec.backup_id.clone().or(status.id);
    let backup = match (id, status.create_requested_at) {
        (Some(id), _) => get_backup(&client, path(&branch), &id).await?,
        (None, Some(since)) => find_taken(&client, path(&branch), &t.name, since).await?,
        (None, None) => None,
    };
    Ok(Observed {
        client,
        branch,
        backup,
    })
}

/// The branch recorded in status once a backup is.
pub fn recorded(obj: &PlanetScaleBackup) -> Option<BranchTarget> {
    let s = obj.status.as_ref()?;
    s.id.as_ref()?;
    Some(BranchTarget {
        organization: s.organization.clone()?,
        database: s.database.clone()?,
        branch: s.branch.clone()?,
        known_ready: true,
        kind: None,
    })
}

/// The backup, `None` for a 404.
pub async fn get_backup(
    ps: &impl PlanetScale,
    b: BranchPath<'_>,
    id: &str,
) -> Result<Option<Backup>, Error> {
    match ps.get_backup(b, id).await {
        Ok(k) => Ok(Some(k)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// A backup named `name` taken since `since` (less a minute of clock skew): ours, when the
/// operator stopped before recording it.
async fn find_taken(
    ps: &impl PlanetScale,
    b: BranchPath<'_>,
    name: &str,
    since: k8s_openapi::apimachinery::pkg::apis::meta::v1::Time,
) -> Result<Option<Backup>, Error> {
    let since = crate::time::from_time(&since) - chrono::Duration::minutes(1);
    let all = ps.list_backups_all(b).await?;
    Ok(all
        .into_iter()
        .find(|k| k.name == name && k.created_at.is_none_or(|c| c >= since)))
}
