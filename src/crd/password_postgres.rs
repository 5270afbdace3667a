//! The `postgres` block of a `PlanetScalePassword`: what only a PostgreSQL role has. On a
//! PostgreSQL branch the operator creates a role (`/roles`) instead of a password; `role`
//! still chooses the privileges, through inherited roles ([`inherited_roles`]).
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::password::PasswordRole;

/// A predefined PostgreSQL role a PlanetScale role can inherit.
#[derive(
    Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum InheritedRole {
    /// Run `CHECKPOINT`.
    PgCheckpoint,
    /// Create subscriptions (logical replication).
    PgCreateSubscription,
    /// `VACUUM`, `ANALYZE`, `REINDEX` … on every relation.
    PgMaintain,
    /// Read monitoring views and functions.
    PgMonitor,
    /// Read every table, view and sequence.
    PgReadAllData,
    /// Read every configuration setting.
    PgReadAllSettings,
    /// Read every `pg_stat_*` view.
    PgReadAllStats,
    /// Signal other backends (cancel queries, terminate sessions).
    PgSignalBackend,
    /// Run monitoring functions that take table locks.
    PgStatScanTables,
    /// Use the connections reserved by `reserved_connections`.
    PgUseReservedConnections,
    /// Write every table, view and sequence.
    PgWriteAllData,
    /// Everything the branch's default `postgres` role can do (administrator).
    Postgres,
}

impl InheritedRole {
    /// The PostgreSQL name, e.g. `pg_read_all_data`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PgCheckpoint => "pg_checkpoint",
            Self::PgCreateSubscription => "pg_create_subscription",
            Self::PgMaintain => "pg_maintain",
            Self::PgMonitor => "pg_monitor",
            Self::PgReadAllData => "pg_read_all_data",
            Self::PgReadAllSettings => "pg_read_all_settings",
            Self::PgReadAllStats => "pg_read_all_stats",
            Self::PgSignalBackend => "pg_signal_backend",
            Self::PgStatScanTables => "pg_stat_scan_tables",
            Self::PgUseReservedConnections => "pg_use_reserved_connections",
            Self::PgWriteAllData => "pg_write_all_data",
            Self::Postgres => "postgres",
        }
    }
}

/// Whether `UPDATE`/`DELETE` statements of the role need a `WHERE` clause.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum WhereClauseRule {
    /// Not required.
    Off,
    /// Statements without `WHERE` run, with a warning.
    Warn,
    /// Statements without `WHERE` are refused.
    On,
}

impl WhereClauseRule {
    /// The API's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::Warn => "warn",
            Self::On => "on",
        }
    }
}

/// Settings of the PostgreSQL role (only for branches of PostgreSQL databases; on a Vitess
/// branch the block is refused with a condition).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PasswordPostgres {
    /// Predefined roles the role inherits, instead of those `role` maps to (`reader`:
    /// `pg_read_all_data`; `writer`: `pg_write_all_data`; `readwriter`: both; `admin`:
    /// `postgres`). Changing it creates a new role (with the rotation's grace period).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 12))]
    #[schemars(extend("x-kubernetes-list-type" = "set"))]
    pub inherited_roles: Option<Vec<InheritedRole>>,

    /// Who takes over the database objects (tables, …) a role owns when the operator deletes
    /// it (after a rotation, or with the resource): a role id or a user name such as
    /// `postgres`. Unset: a role that owns objects cannot be deleted, and the deletion is
    /// retried with a condition saying so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    pub successor: Option<String>,

    /// `DELETE` statements without a `WHERE` clause: `off`, `warn` or `on` (refused).
    /// Unset: PlanetScale's default. Set when the role is created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_where_on_delete: Option<WhereClauseRule>,

    /// `UPDATE` statements without a `WHERE` clause: `off`, `warn` or `on` (refused).
    /// Unset: PlanetScale's default. Set when the role is created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_where_on_update: Option<WhereClauseRule>,
}

/// The roles a PostgreSQL role inherits: `postgres.inheritedRoles` when set, else those
/// `role` maps to. Sorted, without repeats.
pub fn inherited_roles(role: PasswordRole, pg: Option<&PasswordPostgres>) -> Vec<InheritedRole> {
    let mut roles = match pg.and_then(|p| p.inherited_roles.clone()) {
        Some(roles) => roles,
        None => match role {
            PasswordRole::Reader => vec![InheritedRole::PgReadAllData],
            PasswordRole::Writer => vec![InheritedRole::PgWriteAllData],
            PasswordRole::Readwriter => {
                vec![InheritedRole::PgReadAllData, InheritedRole::PgWriteAllData]
            }
            PasswordRole::Admin => vec![InheritedRole::Postgres],
        },
    };
    roles.sort();
    roles.dedup();
    roles
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_map_to_inherited_roles_unless_overridden() {
        let r = |role| inherited_roles(role, None);
        assert_eq!(r(PasswordRole::Reader), [InheritedRole::PgReadAllData]);
        assert_eq!(r(PasswordRole::Writer), [InheritedRole::PgWriteAllData]);
        assert_eq!(
            r(PasswordRole::Readwriter),
            [InheritedRole::PgReadAllData, InheritedRole::PgWriteAllData]
        );
        assert_eq!(r(PasswordRole::Admin), [InheritedRole::Postgres]);
        let pg = PasswordPostgres {
            inherited_roles: Some(vec![InheritedRole::PgMonitor, InheritedRole::PgMonitor]),
            ..PasswordPostgres::default()
        };
        assert_eq!(
            inherited_roles(PasswordRole::Admin, Some(&pg)),
            [InheritedRole::PgMonitor]
        );
    }

    #[test]
    fn names_match_serde_and_postgres() {
        for r in [InheritedRole::PgReadAllData, InheritedRole::Postgres] {
            assert_eq!(serde_json::to_value(r).unwrap(), r.as_str());
        }
        assert_eq!(serde_json::to_value(WhereClauseRule::Warn).unwrap(), "warn");
    }
}
