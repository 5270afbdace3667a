//! The emulator's world: every organization, database, branch, password, deploy request and
//! credential, behind one mutex. Time-driven transitions are advanced lazily (see `advance`).

pub(crate) mod backup_policy;
mod deploy;
mod lookup;
mod postgres;
mod webhook;

pub use backup_policy::BackupPolicy;
pub use deploy::{DeployOp, DeployRequest, DeployState, Deployment, Review};
pub use postgres::{MAJOR_VERSIONS, POSTGRESQL, PgBranch, Role};
pub use webhook::{EVENTS, Webhook};

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::schema::Schema;

/// Who did something: a user or a service token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// User id or service token id.
    pub id: String,
    /// Name shown in the UI.
    pub display_name: String,
}

/// Everything the emulator knows. Serialized as the `--state-file`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct World {
    /// Emulator clock offset from real time, in milliseconds.
    pub clock_offset_ms: i64,
    /// Users.
    pub users: Vec<User>,
    /// Organizations.
    pub orgs: Vec<Org>,
    /// Databases.
    pub databases: Vec<Database>,
    /// Branches (deleted branches are removed).
    pub branches: Vec<Branch>,
    /// Passwords, including deleted ones (`deleted_at` set).
    pub passwords: Vec<Password>,
    /// Postgres roles, including deleted ones (`deleted_at` set).
    pub roles: Vec<Role>,
    /// Postgres attributes of branches of PostgreSQL databases.
    pub pg_branches: Vec<PgBranch>,
    /// Backups.
    pub backups: Vec<Backup>,
    /// Backup policies (schedules) of databases.
    pub backup_policies: Vec<BackupPolicy>,
    /// Deploy requests.
    pub deploy_requests: Vec<DeployRequest>,
    /// Service tokens.
    pub service_tokens: Vec<ServiceToken>,
    /// OAuth applications.
    pub oauth_apps: Vec<OAuthApp>,
    /// OAuth access/refresh token pairs.
    pub oauth_tokens: Vec<OAuthToken>,
    /// Outstanding authorization codes.
    pub auth_codes: Vec<AuthCode>,
    /// Webhooks of databases.
    pub webhooks: Vec<Webhook>,
}

/// A user (OAuth identity).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct User {
    /// Public id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Email.
    pub email: String,
    /// Ids of the organizations the user belongs to.
    pub org_ids: Vec<String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

/// An organization.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Org {
    /// Public id.
    pub id: String,
    /// Name (URL slug).
    pub name: String,
    /// Plan.
    pub plan: String,
    /// Billing email.
    pub billing_email: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last update.
    pub updated_at: DateTime<Utc>,
}

/// Database settings changeable with `update_database_settings`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DbSettings {
    /// Deploy requests need an approving review.
    pub require_approval_for_deploy: bool,
    /// `seed_data` allowed.
    pub allow_data_branching: bool,
    /// Database deletion refused.
    pub deletion_protected: bool,
    /// Branch regions restricted to the database region.
    pub restrict_branch_region: bool,
    /// Foreign keys allowed.
    pub foreign_keys_enabled: bool,
    /// Raw queries in insights.
    pub insights_raw_queries: bool,
    /// Web console on production branches.
    pub production_branch_web_console: bool,
    /// Automatic migrations.
    pub automatic_migrations: Option<bool>,
    /// Migration framework.
    pub migration_framework: Option<String>,
    /// Migration table name.
    pub migration_table_name: Option<String>,
}

/// A database.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Database {
    /// Public id.
    pub id: String,
    /// Owning organization id.
    pub org_id: String,
    /// Name.
    pub name: String,
    /// `mysql` or `postgresql`.
    pub kind: String,
    /// Region slug.
    pub region: String,
    /// Cluster size of production branches.
    pub cluster_size: String,
    /// Name of the default branch.
    pub default_branch: String,
    /// Settings.
    pub settings: DbSettings,
    /// When the database becomes `ready`.
    pub ready_at: DateTime<Utc>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last update.
    pub updated_at: DateTime<Utc>,
    /// Last schema change of any branch.
    pub schema_last_updated_at: Option<DateTime<Utc>>,
    /// Next deploy request number.
    pub next_deploy_request_number: u64,
}

/// A branch.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Branch {
    /// Public id.
    pub id: String,
    /// Database id.
    pub db_id: String,
    /// Name.
    pub name: String,
    /// Parent branch name at creation.
    pub parent: Option<String>,
    /// Production branch.
    pub production: bool,
    /// Safe migrations on.
    pub safe_migrations: bool,
    /// Deletion protection.
    pub deletion_protected: bool,
    /// Region slug.
    pub region: String,
    /// Cluster size name.
    pub cluster_name: String,
    /// When the branch becomes `ready`.
    pub ready_at: DateTime<Utc>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last update.
    pub updated_at: DateTime<Utc>,
    /// Last schema change.
    pub schema_last_updated_at: Option<DateTime<Utc>>,
    /// Current schema.
    pub schema: Schema,
    /// Schema of the parent when the branch was created (base of the three-way diff).
    pub base_schema: Schema,
    /// Who created it.
    pub actor: Option<Actor>,
    /// Backup the branch was restored from: (branch id, branch name).
    pub restored_from: Option<(String, String)>,
    /// Address of the branch's real server (`--realdb`), reported instead of the
    /// `*.connect.psdb.cloud` names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mysql_host: Option<String>,
}

/// A branch password.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Password {
    /// Public id.
    pub id: String,
    /// Branch id.
    pub branch_id: String,
    /// Database id.
    pub db_id: String,
    /// Display name.
    pub name: String,
    /// Role: reader, writer, readwriter, admin.
    pub role: String,
    /// MySQL username.
    pub username: String,
    /// SHA-256 of the plaintext.
    pub secret_hash: String,
    /// TTL in seconds (`None`/0 = no expiry).
    pub ttl_seconds: Option<i64>,
    /// Expiry time.
    pub expires_at: Option<DateTime<Utc>>,
    /// Replica password.
    pub replica: bool,
    /// Allowed CIDRs.
    pub cidrs: Option<Vec<String>>,
    /// Direct VTGate.
    pub direct_vtgate: bool,
    /// Who created it.
    pub actor: Option<Actor>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Deletion time (deleted passwords are kept for the admin listing).
    pub deleted_at: Option<DateTime<Utc>>,
    /// Last renewal time.
    pub renewed_at: Option<DateTime<Utc>>,
}

/// A backup.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Backup {
    /// Public id.
    pub id: String,
    /// Branch id.
    pub branch_id: String,
    /// Database id.
    pub db_id: String,
    /// Name.
    pub name: String,
    /// Creation time (state `pending` until `started_at`).
    pub created_at: DateTime<Utc>,
    /// Start (state `running` until `completed_at`).
    pub started_at: DateTime<Utc>,
    /// Completion (state `success` after).
    pub completed_at: DateTime<Utc>,
    /// Expiry.
    pub expires_at: Option<DateTime<Utc>>,
    /// Protected from deletion.
    pub protected: bool,
    /// Schema snapshot taken at creation.
    pub schema: Schema,
    /// Who created it.
    pub actor: Option<Actor>,
    /// The policy that took it (`None`: taken on demand).
    #[serde(default)]
    pub policy_id: Option<String>,
}

/// One access held by a service token, organization-wide (`db_id: None`) or on one database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    /// Public id of the access record.
    pub id: String,
    /// Organization id.
    pub org_id: String,
    /// Database id, or `None` for an organization-wide grant.
    pub db_id: Option<String>,
    /// Access name, e.g. `read_branch`.
    pub access: String,
}

/// A service token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServiceToken {
    /// Public id (the part before `:` in the header).
    pub id: String,
    /// Owning organization id.
    pub org_id: String,
    /// Name.
    pub name: Option<String>,
    /// SHA-256 of the secret.
    pub secret_hash: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Expiry.
    pub expires_at: Option<DateTime<Utc>>,
    /// Last use.
    pub last_used_at: Option<DateTime<Utc>>,
    /// Accesses.
    pub grants: Vec<Grant>,
    /// The token printed at startup (replaced on every start).
    pub is_default: bool,
}

/// An OAuth application.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OAuthApp {
    /// Public id.
    pub id: String,
    /// Owning organization id.
    pub org_id: String,
    /// Name.
    pub name: String,
    /// Client id.
    pub client_id: String,
    /// SHA-256 of the client secret.
    pub client_secret_hash: String,
    /// Registered redirect URI.
    pub redirect_uri: String,
    /// Scopes granted to tokens of this app.
    pub scopes: Vec<String>,
    /// User id `/oauth/authorize` approves as.
    pub user_id: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

/// An OAuth access token with its refresh token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OAuthToken {
    /// Public id.
    pub id: String,
    /// Application id.
    pub app_id: String,
    /// User id.
    pub user_id: String,
    /// SHA-256 of the access token.
    pub access_hash: String,
    /// SHA-256 of the refresh token.
    pub refresh_hash: String,
    /// Scopes.
    pub scopes: Vec<String>,
    /// Issue time.
    pub created_at: DateTime<Utc>,
    /// Access token expiry.
    pub expires_at: DateTime<Utc>,
    /// Access token revoked.
    pub access_revoked: bool,
    /// Refresh token revoked or already used (it rotates).
    pub refresh_spent: bool,
    /// Last use of the access token.
    pub last_used_at: Option<DateTime<Utc>>,
}

/// An authorization code.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuthCode {
    /// SHA-256 of the code.
    pub code_hash: String,
    /// Application id.
    pub app_id: String,
    /// User id.
    pub user_id: String,
    /// Redirect URI the code was issued for.
    pub redirect_uri: String,
    /// Expiry.
    pub expires_at: DateTime<Utc>,
    /// Already exchanged.
    pub used: bool,
}

/// Map of table name → previous statement, kept for reverts.
pub type PreviousTables = BTreeMap<String, Option<String>>;

impl World {
    /// Current emulator time: real time plus the clock offset.
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + chrono::Duration::milliseconds(self.clock_offset_ms)
    }
}
