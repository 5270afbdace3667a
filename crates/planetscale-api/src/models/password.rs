//! Branch passwords (MySQL credentials).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::de::or_default;
use super::{Actor, Region};
use crate::Secret;

string_enum! {
    /// What a password may do. Cannot be changed after creation.
    PasswordRole {
        /// Read only.
        Reader = "reader",
        /// Write only.
        Writer = "writer",
        /// Read and write.
        Readwriter = "readwriter",
        /// Everything, including DDL where safe migrations allow it.
        Admin = "admin",
    }
}

/// The branch a password belongs to.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PasswordBranch {
    /// Branch id.
    #[serde(default, deserialize_with = "or_default")]
    pub id: String,
    /// Branch name.
    #[serde(default, deserialize_with = "or_default")]
    pub name: String,
    /// Whether the branch is a production branch.
    #[serde(default)]
    pub production: Option<bool>,
    /// MySQL edge host of the branch.
    #[serde(default)]
    pub mysql_edge_address: Option<String>,
}

/// A branch password.
///
/// `plain_text` is set **only** in the create response; store it at once.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Password {
    /// Password id (not the username).
    #[serde(default, deserialize_with = "or_default")]
    pub id: String,
    /// Display name (can be renamed).
    #[serde(default, deserialize_with = "or_default")]
    pub name: String,
    /// MySQL username; always use this in connection strings.
    #[serde(default)]
    pub username: Option<String>,
    /// The password itself: only in the create response.
    #[serde(default)]
    pub plain_text: Option<Secret>,
    /// Role.
    #[serde(default)]
    pub role: Option<PasswordRole>,
    /// Host to connect to, e.g. `aws.connect.psdb.cloud`.
    #[serde(default)]
    pub access_host_url: Option<String>,
    /// Regional host.
    #[serde(default)]
    pub access_host_regional_url: Option<String>,
    /// All regional hosts.
    #[serde(default, deserialize_with = "or_default")]
    pub access_host_regional_urls: Vec<String>,
    /// Allowed client CIDRs (`None`: any).
    #[serde(default)]
    pub cidrs: Option<Vec<String>>,
    /// Whether it connects to replicas.
    #[serde(default, deserialize_with = "or_default")]
    pub replica: bool,
    /// TTL in seconds; `None` or 0 means it never expires.
    #[serde(default)]
    pub ttl_seconds: Option<u64>,
    /// When it expires.
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
    /// Whether it has expired.
    #[serde(default, deserialize_with = "or_default")]
    pub expired: bool,
    /// Whether it can be renewed.
    #[serde(default, deserialize_with = "or_default")]
    pub renewable: bool,
    /// The branch it belongs to.
    #[serde(default)]
    pub database_branch: Option<PasswordBranch>,
    /// Region.
    #[serde(default)]
    pub region: Option<Region>,
    /// Who created it.
    #[serde(default)]
    pub actor: Option<Actor>,
    /// Creation time.
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
    /// Deletion time.
    #[serde(default)]
    pub deleted_at: Option<DateTime<Utc>>,
    /// Last use.
    #[serde(default)]
    pub last_used_at: Option<DateTime<Utc>>,
}

/// Body of `POST …/passwords`. Unset fields are not sent.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CreatePassword {
    /// Display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Role (the server's default when unset is undocumented; set it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<PasswordRole>,
    /// TTL in seconds (0: never expires).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttl: Option<u64>,
    /// Allowed client CIDRs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cidrs: Option<Vec<String>>,
    /// Connect to replicas.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replica: Option<bool>,
}

/// Body of `PATCH …/passwords/{id}`: only the name and CIDRs can change.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UpdatePassword {
    /// New display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// New CIDR list.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cidrs: Option<Vec<String>>,
}

/// Filters for `GET …/passwords`.
pub type ListPasswords = super::CredentialFilters;

#[cfg(test)]
#[path = "password_tests.rs"]
mod tests;
