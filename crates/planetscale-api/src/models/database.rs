//! Databases.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::Region;
use super::de::or_default;

string_enum! {
    /// Database engine.
    DatabaseKind {
        /// Vitess / MySQL.
        Mysql = "mysql",
        /// PostgreSQL.
        Postgresql = "postgresql",
    }
}

string_enum! {
    /// Lifecycle state of a database.
    DatabaseState {
        /// Being created.
        Pending = "pending",
        /// Importing data from an external database.
        Importing = "importing",
        /// Going to sleep.
        SleepInProgress = "sleep_in_progress",
        /// Asleep (hobby-style).
        Sleeping = "sleeping",
        /// Waking up.
        Awakening = "awakening",
        /// Import finished, ready to switch over.
        ImportReady = "import_ready",
        /// Serving queries.
        Ready = "ready",
    }
}

/// A PlanetScale database.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Database {
    /// Database id.
    #[serde(default, deserialize_with = "or_default")]
    pub id: String,
    /// Database name (used in paths).
    #[serde(default, deserialize_with = "or_default")]
    pub name: String,
    /// Engine.
    #[serde(default)]
    pub kind: Option<DatabaseKind>,
    /// Lifecycle state.
    #[serde(default)]
    pub state: Option<DatabaseState>,
    /// Whether the database is ready (branches may be created).
    #[serde(default, deserialize_with = "or_default")]
    pub ready: bool,
    /// Name of the default branch (e.g. `main`).
    #[serde(default)]
    pub default_branch: Option<String>,
    /// The database's region (the default for new branches).
    #[serde(default)]
    pub region: Option<Region>,
    /// Plan name.
    #[serde(default)]
    pub plan: Option<String>,
    /// Whether the database is sharded.
    #[serde(default)]
    pub sharded: Option<bool>,
    /// Number of branches.
    #[serde(default)]
    pub branches_count: Option<u64>,
    /// Number of development branches.
    #[serde(default)]
    pub development_branches_count: Option<u64>,
    /// Number of production branches.
    #[serde(default)]
    pub production_branches_count: Option<u64>,
    /// Whether deploy requests need an approval.
    #[serde(default)]
    pub require_approval_for_deploy: Option<bool>,
    /// Whether the database is protected from deletion.
    #[serde(default)]
    pub deletion_protected: Option<bool>,
    /// Whether `seed_data` (data branching) is allowed.
    #[serde(default)]
    pub allow_data_branching: Option<bool>,
    /// Whether branches must use the database's region.
    #[serde(default)]
    pub restrict_branch_region: Option<bool>,
    /// Whether the database is at the limit of 100 development branches.
    #[serde(default)]
    pub at_development_branch_usage_limit: Option<bool>,
    /// Whether the database is at the limit of branches restored from backups.
    #[serde(default)]
    pub at_backup_restore_branches_limit: Option<bool>,
    /// Whether migration data is copied to new branches and deploy requests (Vitess).
    #[serde(default)]
    pub automatic_migrations: Option<bool>,
    /// Migration framework (Vitess).
    #[serde(default)]
    pub migration_framework: Option<String>,
    /// Migration table name (Vitess).
    #[serde(default)]
    pub migration_table_name: Option<String>,
    /// Whether foreign key constraints are allowed.
    #[serde(default)]
    pub foreign_keys_enabled: Option<bool>,
    /// Whether Insights collect full queries.
    #[serde(default)]
    pub insights_raw_queries: Option<bool>,
    /// Whether the web console may be used on the production branch.
    #[serde(default)]
    pub production_branch_web_console: Option<bool>,
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
    /// Last schema change.
    #[serde(default)]
    pub schema_last_updated_at: Option<DateTime<Utc>>,
}

/// Body of `POST …/databases` (`create_database`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CreateDatabase {
    /// Database name.
    pub name: String,
    /// Region slug (server default: the organization's default region).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Cluster size SKU, e.g. `PS_10`.
    pub cluster_size: String,
    /// Number of replicas: 0 for no high availability, 2 or more for HA.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i64>,
    /// Engine (server default: `mysql`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<DatabaseKind>,
    /// PostgreSQL major version (server default: the latest).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub major_version: Option<String>,
}

/// Body of `PATCH …/databases/{db}` (`update_database_settings`): only the settings set
/// are changed.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UpdateDatabase {
    /// Copy migration data to new branches and deploy requests (Vitess only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub automatic_migrations: Option<bool>,
    /// Migration framework (Vitess only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub migration_framework: Option<String>,
    /// Migration table name (Vitess only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub migration_table_name: Option<String>,
    /// Deploy requests need an approval by another administrator.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub require_approval_for_deploy: Option<bool>,
    /// Branches only in the database's region.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restrict_branch_region: Option<bool>,
    /// Data branching allowed (Vitess only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_data_branching: Option<bool>,
    /// Foreign key constraints allowed (Vitess only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_foreign_key_constraints: Option<bool>,
    /// Insights collect full queries.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub insights_raw_queries: Option<bool>,
    /// Deletion protection.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deletion_protected: Option<bool>,
    /// The web console may be used on the production branch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub production_branch_web_console: Option<bool>,
    /// The default branch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_branch: Option<String>,
}

impl UpdateDatabase {
    /// Whether the body changes nothing.
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_with_only_the_relaxed_required_fields() {
        let json = r#"{"id":"d1","url":"https://api.planetscale.com/v1/organizations/acme/databases/shop",
            "branches_url":"https://api.planetscale.com/v1/organizations/acme/databases/shop/branches",
            "region":{"id":"r","slug":"us-east"},"html_url":"https://app.planetscale.com/acme/shop",
            "name":"shop","state":"ready","created_at":"2023-10-25T16:54:12.879Z",
            "updated_at":"2023-10-25T16:54:12.879Z","kind":"mysql","ready":true}"#;
        let db: Database = serde_json::from_str(json).unwrap();
        assert_eq!(db.state, Some(DatabaseState::Ready));
        assert_eq!(db.kind, Some(DatabaseKind::Mysql));
        assert!(db.ready);
        assert_eq!(db.default_branch, None);
    }

    #[test]
    fn database_with_null_ready_and_unknown_state() {
        let json = r#"{"id":"d1","name":"shop","state":"migrating_to_metal","ready":null,"kind":"vector"}"#;
        let db: Database = serde_json::from_str(json).unwrap();
        assert_eq!(
            db.state,
            Some(DatabaseState::Unknown("migrating_to_metal".into()))
        );
        assert_eq!(db.kind, Some(DatabaseKind::Unknown("vector".into())));
        assert!(!db.ready);
    }
}
