//! Branches and the bodies to create, update and list them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::de::or_default;
use super::{Actor, DatabaseKind, Region, ResourceRef};

string_enum! {
    /// Lifecycle state of a branch.
    BranchState {
        /// Being created.
        Pending = "pending",
        /// Going to sleep.
        SleepInProgress = "sleep_in_progress",
        /// Asleep.
        Sleeping = "sleeping",
        /// Waking up.
        Awakening = "awakening",
        /// Serving queries.
        Ready = "ready",
    }
}

impl BranchState {
    /// Whether the branch serves queries.
    pub fn is_ready(&self) -> bool {
        matches!(self, BranchState::Ready)
    }

    /// Whether the branch is changing state on its own (worth polling soon).
    pub fn is_transitioning(&self) -> bool {
        matches!(
            self,
            BranchState::Pending | BranchState::SleepInProgress | BranchState::Awakening
        )
    }
}

/// A database branch (spec `DatabaseBranch`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Branch {
    /// Branch id.
    #[serde(default, deserialize_with = "or_default")]
    pub id: String,
    /// Branch name (used in paths).
    #[serde(default, deserialize_with = "or_default")]
    pub name: String,
    /// Engine.
    #[serde(default)]
    pub kind: Option<DatabaseKind>,
    /// Parent branch name (`None` for the first branch).
    #[serde(default)]
    pub parent_branch: Option<String>,
    /// Region (cannot change after creation).
    #[serde(default)]
    pub region: Option<Region>,
    /// Lifecycle state.
    #[serde(default)]
    pub state: Option<BranchState>,
    /// Whether the branch is ready to serve queries. Poll until true before using it.
    #[serde(default, deserialize_with = "or_default")]
    pub ready: bool,
    /// Whether the schema is ready.
    #[serde(default)]
    pub schema_ready: Option<bool>,
    /// Whether this is a production branch (read it; do not assume from how it was created).
    #[serde(default, deserialize_with = "or_default")]
    pub production: bool,
    /// Whether safe migrations are on (required on a deploy request's target).
    #[serde(default, deserialize_with = "or_default")]
    pub safe_migrations: bool,
    /// Whether the branch is protected from deletion.
    #[serde(default, deserialize_with = "or_default")]
    pub deletion_protected: bool,
    /// Whether the branch is sharded.
    #[serde(default)]
    pub sharded: Option<bool>,
    /// Number of shards.
    #[serde(default)]
    pub shard_count: Option<u32>,
    /// Cluster size SKU, e.g. `PS_10`.
    #[serde(default)]
    pub cluster_name: Option<String>,
    /// PostgreSQL major version, e.g. `17` (not in the spec's branch object: `None` when the
    /// API does not send it, and for MySQL).
    #[serde(default)]
    pub major_version: Option<String>,
    /// Moment a PostgreSQL branch's data was restored from (point-in-time recovery; not in
    /// the spec's branch object: `None` when the API does not send it).
    #[serde(default)]
    pub restore_point: Option<DateTime<Utc>>,
    /// Host to connect to, e.g. `us-east.pg.psdb.cloud` for a PostgreSQL branch (in real
    /// payloads, not in the spec's branch object).
    #[serde(default)]
    pub access_host_url: Option<String>,
    /// MySQL host, e.g. `us-east.connect.psdb.cloud`.
    #[serde(default)]
    pub mysql_address: Option<String>,
    /// MySQL edge host, e.g. `aws.connect.psdb.cloud`.
    #[serde(default)]
    pub mysql_edge_address: Option<String>,
    /// Whether the schema is stale.
    #[serde(default)]
    pub stale_schema: Option<bool>,
    /// Who created the branch.
    #[serde(default)]
    pub actor: Option<Actor>,
    /// Branch this one was restored from.
    #[serde(default)]
    pub restored_from_branch: Option<ResourceRef>,
    /// Dashboard URL.
    #[serde(default)]
    pub html_url: Option<String>,
    /// API URL.
    #[serde(default)]
    pub url: Option<String>,
    /// Creation time.
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
    /// Last update.
    #[serde(default)]
    pub updated_at: Option<DateTime<Utc>>,
    /// Deletion time.
    #[serde(default)]
    pub deleted_at: Option<DateTime<Utc>>,
    /// Last schema change.
    #[serde(default)]
    pub schema_last_updated_at: Option<DateTime<Utc>>,
}

/// Body of `POST …/branches`. Only `name` is required; unset fields are not sent.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CreateBranch {
    /// New branch name.
    pub name: String,
    /// Parent branch (server default: the database's default branch).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_branch: Option<String>,
    /// Region slug (server default: the database's region; ignored with `backup_id`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Restore this backup (state `success`) into the new branch; needs `cluster_size`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backup_id: Option<String>,
    /// `last_successful_backup` for data branching.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed_data: Option<String>,
    /// Cluster size SKU, e.g. `PS_10`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster_size: Option<String>,
    /// Protect the branch from deletion.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deletion_protected: Option<bool>,
}

impl CreateBranch {
    /// A body with only the name set.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ..Self::default()
        }
    }
}

/// Body of `POST …/branches` on a PostgreSQL database: [`CreateBranch`] plus point-in-time
/// recovery and the major version. The API refuses both on MySQL databases.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CreatePostgresBranch {
    /// Name, parent, region, backup, cluster size, deletion protection.
    #[serde(flatten)]
    pub branch: CreateBranch,
    /// Restore the parent's data as it was at this instant (point-in-time recovery); it
    /// cannot be in the future.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restore_point: Option<DateTime<Utc>>,
    /// Major version of the new branch, e.g. `17` (server default: the parent's; ignored for
    /// branches restored from a backup).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub major_version: Option<String>,
}

/// Body of `PATCH …/branches/{branch}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UpdateBranch {
    /// Rename the branch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_name: Option<String>,
    /// Turn deletion protection on or off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deletion_protected: Option<bool>,
}

/// Filters for `GET …/branches`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListBranches {
    /// Name search.
    pub q: Option<String>,
    /// Only production (`true`) or development (`false`) branches.
    pub production: Option<bool>,
    /// Only branches with (or without) safe migrations.
    pub safe_migrations: Option<bool>,
    /// Newest first (`order=desc` by `created_at`): a caller looking for recently created
    /// branches can stop after the first page.
    pub newest_first: bool,
}

impl ListBranches {
    pub(crate) fn query(&self) -> Vec<(&'static str, String)> {
        let mut query = Vec::new();
        if let Some(q) = &self.q {
            query.push(("q", q.clone()));
        }
        if let Some(production) = self.production {
            query.push(("production", production.to_string()));
        }
        if let Some(safe) = self.safe_migrations {
            query.push(("safe_migrations", safe.to_string()));
        }
        if self.newest_first {
            query.push(("order", "desc".to_string()));
        }
        query
    }
}

#[cfg(test)]
#[path = "branch_tests.rs"]
mod tests;
