//! Postgres roles: the credentials of PostgreSQL branches (MySQL branches use passwords).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};

use super::Actor;
use super::ResourceRef;
use super::de::or_default;
use crate::Secret;

string_enum! {
    /// A predefined Postgres role a PlanetScale role can inherit (`inherited_roles`).
    InheritedRole {
        /// Run `CHECKPOINT`.
        PgCheckpoint = "pg_checkpoint",
        /// Create subscriptions (logical replication).
        PgCreateSubscription = "pg_create_subscription",
        /// `VACUUM`, `ANALYZE`, `REINDEX` … on every relation.
        PgMaintain = "pg_maintain",
        /// Read monitoring views and functions.
        PgMonitor = "pg_monitor",
        /// Read every table, view and sequence.
        PgReadAllData = "pg_read_all_data",
        /// Read every configuration setting.
        PgReadAllSettings = "pg_read_all_settings",
        /// Read every `pg_stat_*` view.
        PgReadAllStats = "pg_read_all_stats",
        /// Signal other backends (cancel queries, terminate sessions).
        PgSignalBackend = "pg_signal_backend",
        /// Run monitoring functions that take table locks.
        PgStatScanTables = "pg_stat_scan_tables",
        /// Use the connections reserved by `reserved_connections`.
        PgUseReservedConnections = "pg_use_reserved_connections",
        /// Write every table, view and sequence.
        PgWriteAllData = "pg_write_all_data",
        /// Everything the branch's default `postgres` role can do (administrator).
        Postgres = "postgres",
    }
}

string_enum! {
    /// Whether `UPDATE`/`DELETE` statements of a role need a `WHERE` clause.
    WhereClauseRule {
        /// Not required.
        Off = "off",
        /// Statements without `WHERE` run, with a warning.
        Warn = "warn",
        /// Statements without `WHERE` are refused.
        On = "on",
    }
}

/// Reads a [`WhereClauseRule`] sent as a string or as a JSON boolean (`true` = `on`).
fn rule_or_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<WhereClauseRule>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Wire {
        Bool(bool),
        Text(String),
    }
    Ok(match Option::<Wire>::deserialize(d)? {
        None => None,
        Some(Wire::Bool(true)) => Some(WhereClauseRule::On),
        Some(Wire::Bool(false)) => Some(WhereClauseRule::Off),
        Some(Wire::Text(text)) => Some(WhereClauseRule::from(text.as_str())),
    })
}

/// Reads the plaintext password: a non-empty string, else `None` (the API sends `""` or
/// `null` everywhere but the create and reset responses).
fn password<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Secret>, D::Error> {
    Ok(Option::<Secret>::deserialize(d)?.filter(|s| !s.is_empty()))
}

/// A role's query safety settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct QuerySafetySettings {
    /// `DELETE` without `WHERE`.
    #[serde(default, deserialize_with = "rule_or_bool")]
    pub require_where_on_delete: Option<WhereClauseRule>,
    /// `UPDATE` without `WHERE`.
    #[serde(default, deserialize_with = "rule_or_bool")]
    pub require_where_on_update: Option<WhereClauseRule>,
}

/// A Postgres role (the API's credentials for a PostgreSQL branch).
///
/// `password` is set **only** in the responses of create and reset; store it at once.
/// Connect only once `ready` is true.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Role {
    /// Role id (path parameter of the role endpoints; not the username).
    #[serde(default, deserialize_with = "or_default")]
    pub id: String,
    /// Display name (can be renamed).
    #[serde(default, deserialize_with = "or_default")]
    pub name: String,
    /// Postgres user name to connect with (may carry a branch routing suffix).
    #[serde(default)]
    pub username: Option<String>,
    /// User name without the branch routing suffix.
    #[serde(default)]
    pub base_username: Option<String>,
    /// The password itself: only in the create and reset responses.
    #[serde(default, deserialize_with = "password")]
    pub password: Option<Secret>,
    /// Host to connect to.
    #[serde(default)]
    pub access_host_url: Option<String>,
    /// Host for private connections.
    #[serde(default)]
    pub private_access_host_url: Option<String>,
    /// Service name for private connectivity.
    #[serde(default)]
    pub private_connection_service_name: Option<String>,
    /// Database name to connect to.
    #[serde(default)]
    pub database_name: Option<String>,
    /// Whether the role accepts connections yet.
    #[serde(default, deserialize_with = "or_default")]
    pub ready: bool,
    /// Whether the role has expired.
    #[serde(default, deserialize_with = "or_default")]
    pub expired: bool,
    /// Whether this is the branch's default `postgres` role.
    #[serde(default, deserialize_with = "or_default")]
    pub default: bool,
    /// TTL in seconds; `None` or 0 means it never expires.
    #[serde(default)]
    pub ttl: Option<u64>,
    /// When it expires.
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
    /// Roles it inherits.
    #[serde(default, deserialize_with = "or_default")]
    pub inherited_roles: Vec<InheritedRole>,
    /// Whether it has the `REPLICATION` attribute.
    #[serde(default, deserialize_with = "or_default")]
    pub with_replication: bool,
    /// `WHERE` clause rules.
    #[serde(default)]
    pub query_safety_settings: Option<QuerySafetySettings>,
    /// The branch it belongs to.
    #[serde(default)]
    pub branch: Option<ResourceRef>,
    /// Who created it.
    #[serde(default)]
    pub actor: Option<Actor>,
    /// Creation time.
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
    /// Last update.
    #[serde(default)]
    pub updated_at: Option<DateTime<Utc>>,
    /// Deletion time.
    #[serde(default)]
    pub deleted_at: Option<DateTime<Utc>>,
    /// When the Postgres role was dropped.
    #[serde(default)]
    pub dropped_at: Option<DateTime<Utc>>,
    /// When it was disabled.
    #[serde(default)]
    pub disabled_at: Option<DateTime<Utc>>,
    /// Why dropping the role failed, if it did.
    #[serde(default)]
    pub drop_failed: Option<String>,
}

impl Role {
    /// Whether the role can be renewed: it has a TTL and has not expired.
    pub fn renewable(&self) -> bool {
        self.ttl.is_some_and(|t| t > 0) && !self.expired
    }
}

/// Body of `POST …/roles`. Unset fields are not sent.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CreateRole {
    /// Display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// TTL in seconds (unset or 0: never expires).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttl: Option<u64>,
    /// Roles to inherit (e.g. `pg_read_all_data`, or `postgres` for an administrator).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub inherited_roles: Vec<InheritedRole>,
    /// Give the role the `REPLICATION` attribute.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub with_replication: Option<bool>,
    /// `DELETE` without `WHERE`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub require_where_on_delete: Option<WhereClauseRule>,
    /// `UPDATE` without `WHERE`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub require_where_on_update: Option<WhereClauseRule>,
}

/// Body of `PATCH …/roles/{id}`: the name and the `WHERE` clause rules can change.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UpdateRole {
    /// New display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `DELETE` without `WHERE`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub require_where_on_delete: Option<WhereClauseRule>,
    /// `UPDATE` without `WHERE`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub require_where_on_update: Option<WhereClauseRule>,
}

/// Filters for `GET …/roles` (the same as for passwords).
pub type ListRoles = super::CredentialFilters;

#[cfg(test)]
#[path = "role_tests.rs"]
mod tests;
