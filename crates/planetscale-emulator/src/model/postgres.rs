//! PostgreSQL-only state: roles (the credentials of Postgres branches) and the Postgres
//! attributes of branches (major version, point-in-time restore).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Actor, World};

/// Database `kind` of PostgreSQL databases.
pub const POSTGRESQL: &str = "postgresql";
/// Major versions a Postgres database or branch can run.
pub const MAJOR_VERSIONS: &[&str] = &["17", "18"];
/// Major version of a Postgres database created without one (the latest).
pub const DEFAULT_MAJOR_VERSION: &str = "18";

/// A Postgres role.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Role {
    /// Public id.
    pub id: String,
    /// Branch id.
    pub branch_id: String,
    /// Database id.
    pub db_id: String,
    /// Display name.
    pub name: String,
    /// User name without the branch suffix (`username` is `<base>.<branch id>`).
    pub base_username: String,
    /// SHA-256 of the current plaintext.
    pub secret_hash: String,
    /// TTL in seconds (`None` = no expiry).
    pub ttl_seconds: Option<i64>,
    /// Expiry time.
    pub expires_at: Option<DateTime<Utc>>,
    /// When the role accepts connections.
    pub ready_at: DateTime<Utc>,
    /// Inherited predefined roles.
    pub inherited_roles: Vec<String>,
    /// REPLICATION attribute.
    pub with_replication: bool,
    /// `off`, `warn` or `on`.
    pub require_where_on_delete: String,
    /// `off`, `warn` or `on`.
    pub require_where_on_update: String,
    /// The branch's default `postgres` role.
    pub default: bool,
    /// Owns database objects (tables, …): deleting it then needs a successor. Set with the
    /// admin API (`PUT /_emulator/…/roles/{id}/owns-objects`) or by a reassignment.
    pub owns_objects: bool,
    /// Who created it.
    pub actor: Option<Actor>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last update (rename, renew, reset).
    pub updated_at: DateTime<Utc>,
    /// Deletion time (deleted roles are kept for the admin listing).
    pub deleted_at: Option<DateTime<Utc>>,
}

impl Role {
    /// The user name clients connect with.
    pub fn username(&self) -> String {
        format!("{}.{}", self.base_username, self.branch_id)
    }

    /// Whether the role has expired at `now`.
    pub fn expired(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_some_and(|e| e <= now)
    }
}

/// Postgres attributes of a branch of a PostgreSQL database.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PgBranch {
    /// Branch id.
    pub branch_id: String,
    /// Major version, e.g. `17`.
    pub major_version: String,
    /// Point in time of the parent the branch was restored to.
    pub restore_point: Option<DateTime<Utc>>,
}

impl World {
    /// Whether the database with this id is a PostgreSQL database.
    pub fn is_postgres(&self, db_id: &str) -> bool {
        self.db_by_id(db_id).is_some_and(|d| d.kind == POSTGRESQL)
    }

    /// Major version of a Postgres branch: its own, else its parent's, else the default.
    pub fn major_version(&self, branch_id: &str) -> String {
        let mut id = branch_id.to_string();
        for _ in 0..64 {
            if let Some(pg) = self.pg_branches.iter().find(|p| p.branch_id == id) {
                return pg.major_version.clone();
            }
            let Some(b) = self.branch_by_id(&id) else {
                break;
            };
            let parent = b
                .parent
                .as_deref()
                .and_then(|p| self.branch_idx(&b.db_id, p).ok());
            match parent {
                Some(p) => id = self.branches[p].id.clone(),
                None => break,
            }
        }
        DEFAULT_MAJOR_VERSION.to_string()
    }

    /// The Postgres attributes recorded for a branch.
    pub fn pg_branch(&self, branch_id: &str) -> Option<&PgBranch> {
        self.pg_branches.iter().find(|p| p.branch_id == branch_id)
    }

    /// Index of a live role of a branch by id.
    pub fn role_idx(&self, branch_id: &str, id: &str) -> Option<usize> {
        self.roles
            .iter()
            .position(|r| r.branch_id == branch_id && r.id == id && r.deleted_at.is_none())
    }

    /// Mark deleted the roles for which `gone` holds, and forget the Postgres attributes of
    /// branches that no longer exist (called when branches or databases are deleted).
    pub fn drop_roles(&mut self, gone: impl Fn(&Role) -> bool, now: DateTime<Utc>) {
        for r in self.roles.iter_mut().filter(|r| r.deleted_at.is_none()) {
            if gone(r) {
                r.deleted_at = Some(now);
            }
        }
        let branches = &self.branches;
        self.pg_branches
            .retain(|p| branches.iter().any(|b| b.id == p.branch_id));
    }
}
