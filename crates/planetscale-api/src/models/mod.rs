//! Serde models of PlanetScale API objects and request bodies.
//!
//! Decoding is tolerant on purpose (the live API differs from its spec): every field except
//! `id`/`name` may be missing or `null` (it becomes `None` or the type's default), unknown fields
//! are ignored, and string enums keep values they do not know in an `Unknown(String)` variant.

#[macro_use]
mod string_enum;

mod backup;
mod backup_policy;
mod branch;
mod common;
mod database;
mod deploy_request;
mod deployment;
mod organization;
mod password;
mod role;
mod schema;
mod service_token;
mod webhook;

pub use backup::{Backup, BackupState, CreateBackup, RetentionUnit, UpdateBackup};
pub use backup_policy::{BackupPolicy, BackupPolicyBody, FrequencyUnit, PolicyTarget};
pub use branch::{
    Branch, BranchState, CreateBranch, CreatePostgresBranch, ListBranches, UpdateBranch,
};
pub use common::{Actor, CredentialFilters, Page, Region, ResourceRef};
pub use database::{CreateDatabase, Database, DatabaseKind, DatabaseState, UpdateDatabase};
pub use deploy_request::{
    CreateDeployRequest, DeployRequest, DeployRequestState, ListDeployRequests, Review, ReviewState,
};
pub use deployment::{
    DeployOperation, Deployment, DeploymentState, DeploymentTimes, OperationState,
};
pub use organization::{Organization, User};
pub use password::{
    CreatePassword, ListPasswords, Password, PasswordBranch, PasswordRole, UpdatePassword,
};
pub use role::{
    CreateRole, InheritedRole, ListRoles, QuerySafetySettings, Role, UpdateRole, WhereClauseRule,
};
pub use schema::{LintError, TableSchema};
pub use service_token::ServiceToken;
pub use webhook::{Webhook, WebhookEvent, WebhookSpec};

/// Serde helpers shared by the models.
pub(crate) mod de {
    use serde::{Deserialize, Deserializer};

    /// Reads `null` (and, with `#[serde(default)]`, a missing field) as `T::default()`.
    pub(crate) fn or_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
    where
        D: Deserializer<'de>,
        T: Deserialize<'de> + Default,
    {
        Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
    }
}
