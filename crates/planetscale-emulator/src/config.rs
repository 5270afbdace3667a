//! Settings (timing knobs, limits) and the seed format used by `--config FILE`,
//! `POST /_emulator/seed` and the built-in default world.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Serde helper: durations as humantime strings such as `5s`, `30m`, `720h`.
pub mod humantime_serde {
    use super::*;

    /// Serialize as a humantime string.
    pub fn serialize<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&humantime::format_duration(*d).to_string())
    }

    /// Deserialize from a humantime string or a number of seconds.
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Secs(u64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Secs(s) => Ok(Duration::from_secs(s)),
            Raw::Text(t) => humantime::parse_duration(&t).map_err(serde::de::Error::custom),
        }
    }
}

/// A secret from a config file or request: serialized as-is, printed as `[REDACTED]`.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SecretString(pub String);

impl SecretString {
    /// The plaintext.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SecretString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[REDACTED]")
    }
}

impl From<&str> for SecretString {
    fn from(s: &str) -> Self {
        Self(s.to_string())
    }
}

/// Runtime settings; every field can be changed with `PATCH /_emulator/settings`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// How long a new database stays `pending`.
    #[serde(with = "humantime_serde")]
    pub database_ready_delay: Duration,
    /// How long a new branch stays `pending`.
    #[serde(with = "humantime_serde")]
    pub branch_ready_delay: Duration,
    /// How long a new Postgres role stays not `ready` (not accepting connections).
    #[serde(with = "humantime_serde")]
    pub role_ready_delay: Duration,
    /// How long deploy checks (diff, lint) run after a deploy request is opened or its branch changes.
    #[serde(with = "humantime_serde")]
    pub deploy_check_duration: Duration,
    /// Duration of each deploy step (submitting, in_progress, cutover, revert, cancel).
    #[serde(with = "humantime_serde")]
    pub deploy_step_duration: Duration,
    /// How long a deploy stays in `complete_pending_revert`.
    #[serde(with = "humantime_serde")]
    pub revert_window: Duration,
    /// Lifetime of OAuth access tokens issued by `/oauth/token`.
    #[serde(with = "humantime_serde")]
    pub access_token_lifetime: Duration,
    /// Lifetime of OAuth authorization codes.
    #[serde(with = "humantime_serde")]
    pub authorization_code_lifetime: Duration,
    /// How long a backup takes from `pending` to `success`.
    #[serde(with = "humantime_serde")]
    pub backup_duration: Duration,
    /// Maximum number of development branches per database.
    pub development_branch_limit: usize,
    /// Requests per minute per credential; 0 turns rate limiting off.
    pub rate_limit: u32,
    /// Whether 429 responses carry a `Retry-After` header.
    pub retry_after: bool,
    /// Webhook deliveries are dropped (never sent, as if lost on the way).
    pub webhook_drop: bool,
    /// Extra wait before each webhook delivery is sent.
    #[serde(with = "humantime_serde")]
    pub webhook_delay: Duration,
    /// Wait before the first retry of a failed delivery; each further retry waits twice as long.
    #[serde(with = "humantime_serde")]
    pub webhook_retry_backoff: Duration,
    /// Attempts per delivery (the first one included).
    pub webhook_attempts: u32,
    /// Failed deliveries in a row after which a webhook is disabled.
    pub webhook_disable_after: u32,
    /// Shortest time between two `test_webhook` calls of one webhook (PlanetScale: 20 s).
    #[serde(with = "humantime_serde")]
    pub webhook_test_interval: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            database_ready_delay: Duration::from_secs(10),
            branch_ready_delay: Duration::from_secs(5),
            role_ready_delay: Duration::from_secs(2),
            deploy_check_duration: Duration::from_secs(2),
            deploy_step_duration: Duration::from_secs(5),
            revert_window: Duration::from_secs(30 * 60),
            access_token_lifetime: Duration::from_secs(30 * 24 * 3600),
            authorization_code_lifetime: Duration::from_secs(600),
            backup_duration: Duration::from_secs(10),
            development_branch_limit: 100,
            rate_limit: 600,
            retry_after: true,
            webhook_drop: false,
            webhook_delay: Duration::ZERO,
            webhook_retry_backoff: Duration::from_secs(1),
            webhook_attempts: 4,
            webhook_disable_after: 20,
            webhook_test_interval: Duration::from_secs(20),
        }
    }
}

/// The config file / seed document. Every section is optional.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Seed {
    /// Settings; when absent the current settings are kept.
    pub settings: Option<Settings>,
    /// Users (OAuth identities).
    pub users: Vec<SeedUser>,
    /// Organizations with their databases.
    pub organizations: Vec<SeedOrg>,
    /// Service tokens with their accesses.
    pub service_tokens: Vec<SeedToken>,
    /// OAuth applications.
    pub oauth_applications: Vec<SeedOAuthApp>,
}

/// A user who can authorize OAuth applications.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SeedUser {
    /// Fixed id (12 chars); random when absent.
    pub id: Option<String>,
    /// Display name.
    pub name: String,
    /// Email address.
    pub email: Option<String>,
    /// Names of the organizations the user belongs to.
    pub organizations: Vec<String>,
}

/// An organization.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SeedOrg {
    /// Organization name (the URL slug).
    pub name: String,
    /// Fixed id; random when absent.
    pub id: Option<String>,
    /// Plan name (default `scaler_pro`).
    pub plan: Option<String>,
    /// Databases, all `ready` at start.
    pub databases: Vec<SeedDatabase>,
}

/// A database with its default branch and optional extra branches.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SeedDatabase {
    /// Database name.
    pub name: String,
    /// Fixed id; random when absent.
    pub id: Option<String>,
    /// Region slug (default `us-east`).
    pub region: Option<String>,
    /// Cluster size of production branches (default `PS_10`).
    pub cluster_size: Option<String>,
    /// Engine: `mysql` (default) or `postgresql`. PostgreSQL databases take no `schema` and
    /// no safe migrations (Vitess only); their branches use roles instead of passwords.
    pub kind: Option<String>,
    /// Deploy requests need an approving review.
    pub require_approval_for_deploy: bool,
    /// Branches may be seeded with data (`seed_data`).
    pub allow_data_branching: bool,
    /// Deleting the database is refused.
    pub deletion_protected: bool,
    /// New branches must use the database region.
    pub restrict_branch_region: bool,
    /// Foreign key constraints are allowed (otherwise lint reports FOREIGN_KEYS_DISALLOWED).
    pub foreign_keys_enabled: bool,
    /// Name of the production default branch (default `main`).
    pub default_branch: String,
    /// Safe migrations on the default branch.
    pub safe_migrations: bool,
    /// `CREATE TABLE` statements of the default branch.
    pub schema: Vec<String>,
    /// Extra branches, created in order.
    pub branches: Vec<SeedBranch>,
}

impl Default for SeedDatabase {
    fn default() -> Self {
        Self {
            name: String::new(),
            id: None,
            region: None,
            cluster_size: None,
            kind: None,
            require_approval_for_deploy: false,
            allow_data_branching: false,
            deletion_protected: false,
            restrict_branch_region: false,
            foreign_keys_enabled: false,
            default_branch: "main".into(),
            safe_migrations: false,
            schema: Vec::new(),
            branches: Vec::new(),
        }
    }
}

/// An extra branch of a seeded database.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SeedBranch {
    /// Branch name.
    pub name: String,
    /// Parent branch (default: the database's default branch).
    pub parent: Option<String>,
    /// Production branch.
    pub production: bool,
    /// Safe migrations (production branches only).
    pub safe_migrations: bool,
    /// Deletion protection.
    pub deletion_protected: bool,
    /// Schema; when absent it is copied from the parent.
    pub schema: Option<Vec<String>>,
}

/// A service token.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SeedToken {
    /// Token id (12 chars); random when absent.
    pub id: Option<String>,
    /// Secret; random `pscale_tkn_…` when absent (then only usable if printed elsewhere).
    pub token: Option<SecretString>,
    /// Display name.
    pub name: Option<String>,
    /// Owning organization.
    pub organization: String,
    /// Accesses, per organization (no `database`) or per database.
    pub accesses: Vec<SeedAccess>,
}

/// Accesses granted on the organization (no `database`) or on one database.
/// The access name `all` expands to every access.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SeedAccess {
    /// Database name; absent means organization-wide.
    pub database: Option<String>,
    /// Access names, e.g. `read_branch`, `connect_production_branch`, or `all`.
    pub accesses: Vec<String>,
}

/// An OAuth application.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SeedOAuthApp {
    /// Owning organization.
    pub organization: String,
    /// Application name.
    pub name: String,
    /// Fixed id; random when absent.
    pub id: Option<String>,
    /// OAuth client id.
    pub client_id: String,
    /// OAuth client secret.
    pub client_secret: SecretString,
    /// Registered redirect URI (loopback URIs match any port).
    pub redirect_uri: String,
    /// Granted scopes, e.g. `read_databases` or `organization:read_branches`.
    pub scopes: Vec<String>,
    /// Name or id of the user `/oauth/authorize` approves as (default: the first user).
    pub user: Option<String>,
}

/// Client id of the built-in OAuth application.
pub const DEFAULT_CLIENT_ID: &str = "emulator-client";
/// Client secret of the built-in OAuth application.
pub const DEFAULT_CLIENT_SECRET: &str = "emulator-client-secret";

impl Seed {
    /// The built-in world: org `acme`, ready MySQL database `shop` whose production default
    /// branch `main` has safe migrations on and a small schema, ready PostgreSQL database
    /// `ledger` (branch `main`), one user, one OAuth app.
    pub fn builtin() -> Self {
        let shop = SeedDatabase {
            name: "shop".into(),
            safe_migrations: true,
            schema: default_schema(),
            ..SeedDatabase::default()
        };
        let ledger = SeedDatabase {
            name: "ledger".into(),
            kind: Some("postgresql".into()),
            ..SeedDatabase::default()
        };
        Self {
            settings: None,
            users: vec![SeedUser {
                id: None,
                name: "Emulator User".into(),
                email: Some("user@example.com".into()),
                organizations: vec!["acme".into()],
            }],
            organizations: vec![SeedOrg {
                name: "acme".into(),
                databases: vec![shop, ledger],
                ..SeedOrg::default()
            }],
            service_tokens: Vec::new(),
            oauth_applications: vec![SeedOAuthApp {
                organization: "acme".into(),
                name: "emulator-app".into(),
                id: None,
                client_id: DEFAULT_CLIENT_ID.into(),
                client_secret: DEFAULT_CLIENT_SECRET.into(),
                redirect_uri: "http://127.0.0.1/callback".into(),
                scopes: crate::auth::ALL_OAUTH_SCOPES
                    .iter()
                    .map(std::string::ToString::to_string)
                    .collect(),
                user: None,
            }],
        }
    }

    /// Parse a seed from YAML (JSON is valid YAML too).
    pub fn from_yaml(text: &str) -> Result<Self, serde_norway::Error> {
        serde_norway::from_str(text)
    }
}

/// The schema of the built-in `shop` database.
pub fn default_schema() -> Vec<String> {
    vec![
        "CREATE TABLE `customers` (\n  `id` bigint unsigned NOT NULL AUTO_INCREMENT,\n  `email` varchar(255) NOT NULL,\n  `created_at` datetime NOT NULL DEFAULT CURRENT_TIMESTAMP,\n  PRIMARY KEY (`id`),\n  UNIQUE KEY `idx_email` (`email`)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci".into(),
        "CREATE TABLE `orders` (\n  `id` bigint unsigned NOT NULL AUTO_INCREMENT,\n  `customer_id` bigint unsigned NOT NULL,\n  `total_cents` int NOT NULL,\n  `created_at` datetime NOT NULL DEFAULT CURRENT_TIMESTAMP,\n  PRIMARY KEY (`id`),\n  KEY `idx_customer` (`customer_id`)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci".into(),
    ]
}
