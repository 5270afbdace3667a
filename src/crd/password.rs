//! `PlanetScalePassword`: a branch password whose credentials live in a Secret that
//! applications mount. The Secret's shape is in [`super::password_secret`].
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::branch_target::BranchTarget;
use super::common::{
    DeletionPolicy, ManagementPolicy, SecretRef, default_false, immutable_rule, k8s_name_rule,
    pattern_rule, plain_enum, spec_rule,
};
use super::duration::{duration_bounds_rule, duration_format_rule};
use super::password_postgres::PasswordPostgres;
use super::password_secret::{PasswordRotation, PasswordSecret};

/// Condition types of a `PlanetScalePassword` (besides the summary `Ready`).
pub mod condition {
    /// The target branch is ready (for `branchRef`: the `PlanetScaleBranch` is Ready).
    pub const BRANCH_READY: &str = "BranchReady";
    /// The Secret holds the current, working credentials.
    pub const SECRET_SYNCED: &str = "SecretSynced";
}

/// Reasons specific to `PlanetScalePassword` conditions.
pub mod reason {
    /// The Secret exists and is not ours; `creationPolicy: Merge` would allow writing into it.
    pub const SECRET_CONFLICT: &str = "SecretConflict";
    /// The Secret was deleted or edited and has been rewritten with a new password.
    pub const SECRET_HEALED: &str = "SecretHealed";
    /// A `secret.template` entry does not render.
    pub const TEMPLATE_INVALID: &str = "TemplateInvalid";
    /// The password expired or could not be renewed and was replaced.
    pub const PASSWORD_REPLACED: &str = "PasswordReplaced";
    /// A new password was minted and the Secret updated.
    pub const ROTATED: &str = "Rotated";
    /// The password `spec.passwordId` to adopt does not exist on the branch.
    pub const PASSWORD_NOT_FOUND: &str = "PasswordNotFound";
}

/// The PlanetScale role a password grants.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PasswordRole {
    /// Read-only queries.
    #[default]
    Reader,
    /// Writes only.
    Writer,
    /// Reads and writes.
    Readwriter,
    /// Reads, writes and DDL (DDL is still refused on branches with safe migrations).
    Admin,
}

impl PasswordRole {
    /// The API's spelling: `reader`, `writer`, `readwriter` or `admin`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reader => "reader",
            Self::Writer => "writer",
            Self::Readwriter => "readwriter",
            Self::Admin => "admin",
        }
    }
}

/// A password for a PlanetScale branch, delivered in a Secret.
// The kube attributes repeat `type_`/`priority` per printer column by design.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, kube::KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "planetscale.operator.dev",
    version = "v1alpha1",
    kind = "PlanetScalePassword",
    plural = "planetscalepasswords",
    namespaced,
    status = "PlanetScalePasswordStatus",
    shortname = "pspassword",
    category = "planetscale",
    derive = "PartialEq",
    doc = "A PlanetScale branch password whose credentials the operator keeps in a Secret.",
    printcolumn(name = "Branch", type_ = "string", json_path = ".status.branch"),
    printcolumn(name = "Role", type_ = "string", json_path = ".spec.role"),
    printcolumn(name = "Secret", type_ = "string", json_path = ".status.secretName"),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(name = "Expires", type_ = "string", json_path = ".status.expiresAt"),
    printcolumn(
        name = "Database",
        type_ = "string",
        json_path = ".status.database",
        priority = 1
    ),
    printcolumn(
        name = "Username",
        type_ = "string",
        json_path = ".status.username",
        priority = 1
    ),
    printcolumn(
        name = "Policy",
        type_ = "string",
        json_path = ".spec.managementPolicy",
        priority = 1
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = spec_rule("self.managementPolicy != 'Observe' || has(self.passwordId)",
        "managementPolicy: Observe needs passwordId: the operator only reports an existing password")
        .field_path(".passwordId"),
    validation = spec_rule("!has(self.passwordId) || self.managementPolicy == 'Observe' || self.adopt",
        "passwordId names an existing password: set adopt: true to take it over (the operator replaces it with one whose plaintext it knows), or managementPolicy: Observe to only report it")
        .field_path(".adopt"),
)]
pub struct PlanetScalePasswordSpec {
    /// The branch to create the password on.
    #[serde(flatten)]
    pub target: BranchTarget,

    /// Role of the password: `reader` (default), `writer`, `readwriter` or `admin`.
    /// PlanetScale cannot change a password's role: changing it mints a new password.
    #[serde(default)]
    pub role: PasswordRole,

    /// Lifetime of the password, e.g. `168h` (1 minute to 8760 hours). The operator renews it
    /// at half its lifetime. Unset: the password does not expire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 32))]
    #[x_kube(
        validation = duration_format_rule("ttl"),
        validation = duration_bounds_rule("ttl", "1m", "8760h")
    )]
    pub ttl: Option<String>,

    /// IP ranges (CIDR notation, e.g. `203.0.113.0/24`) the password may connect from; at
    /// most 32. Unset: any address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 32), inner(length(max = 43)))]
    #[x_kube(validation = kube::core::Rule::new("self.all(c, isCIDR(c))").message(
        "cidrs must be IP ranges in CIDR notation, such as 203.0.113.0/24 or 2001:db8::/32"
    ))]
    pub cidrs: Option<Vec<String>>,

    /// Create a password for the branch's replicas (read-only). Default false. Vitess
    /// (MySQL) branches only, like `cidrs`: on a PostgreSQL branch either is refused with a
    /// condition naming it.
    #[serde(default = "default_false")]
    pub replica: bool,

    /// Settings of the PostgreSQL role, for branches of PostgreSQL databases (on a Vitess
    /// branch the block is refused with a condition). There the operator creates a role
    /// instead of a password, inheriting the roles `role` maps to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postgres: Option<PasswordPostgres>,

    /// What happens to the passwords in PlanetScale when this resource is deleted:
    /// `Delete` (default) deletes them, `Retain` leaves them.
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,

    /// The Secret the credentials are written to. Default: a Secret named like this resource,
    /// owned by it, with the keys `host`, `port`, `username`, `password`, `database` and
    /// `DATABASE_URL`.
    #[serde(default)]
    pub secret: PasswordSecret,

    /// Scheduled rotation. The annotation `planetscale.operator.dev/rotate: <new value>` also
    /// rotates now.
    #[serde(default)]
    pub rotation: PasswordRotation,

    /// Deployments and StatefulSets (in this namespace) whose pods restart when the
    /// credentials change: their pod template gets an annotation with the credentials' hash.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 16))]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["kind", "name"]))]
    pub restart_on_rotation: Vec<RestartTarget>,

    /// Id of an existing password (Vitess) or role (PostgreSQL) on the branch, made outside
    /// this resource, to observe (`managementPolicy: Observe`) or adopt (`adopt: true`).
    /// Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 64))]
    #[x_kube(
        validation = pattern_rule("passwordId", "^[a-zA-Z0-9_-]+$", "a PlanetScale password or role id (letters, digits, '-' and '_')"),
        validation = immutable_rule("passwordId", "a resource stands for one password for its whole life")
    )]
    pub password_id: Option<String>,

    /// Take over the password `passwordId`. PlanetScale never shows a password's plaintext
    /// again, so the operator replaces it at once with a password of this spec that it
    /// creates and writes to the Secret, and deletes the adopted one after
    /// `rotation.gracePeriod` (a rotation). Default false.
    #[serde(default = "default_false")]
    pub adopt: bool,

    /// `Manage` (default) creates, renews, rotates and deletes the passwords; `Observe` only
    /// reports the password `passwordId` (its name, role, username and expiry) and never
    /// writes to PlanetScale; no Secret is written, as the plaintext cannot be read back.
    #[serde(default)]
    #[schemars(schema_with = "plain_enum::<ManagementPolicy>")]
    pub management_policy: ManagementPolicy,

    /// Secret (in this namespace) with the PlanetScale credentials to use. Default: the
    /// operator's default credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials_ref: Option<SecretRef>,
}

/// Kinds of workload that can be restarted on rotation.
#[derive(
    Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, JsonSchema,
)]
pub enum RestartKind {
    /// An `apps/v1` Deployment.
    Deployment,
    /// An `apps/v1` StatefulSet.
    StatefulSet,
}

/// A workload to restart when the credentials change.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, kube::KubeSchema)]
pub struct RestartTarget {
    /// `Deployment` or `StatefulSet`.
    pub kind: RestartKind,
    /// Name of the workload, in this namespace.
    #[schemars(length(max = 253))]
    #[x_kube(validation = k8s_name_rule("restartOnRotation name"))]
    pub name: String,
}

/// A password that was replaced and is deleted once its grace period ends.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PendingDeletion {
    /// PlanetScale's id of the password.
    pub password_id: String,
    /// Name of the password in PlanetScale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_name: Option<String>,
    /// When the operator deletes it (the end of the rotation's grace period).
    pub delete_after: Time,
}

/// Longest list of passwords awaiting deletion that the status holds.
pub const MAX_PENDING_DELETIONS: usize = 32;

/// Observed state of a `PlanetScalePassword`. Never holds the plaintext password or a
/// connection string: those live only in the Secret.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlanetScalePasswordStatus {
    /// PlanetScale's id of the current password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_id: Option<String>,
    /// Name of the current password in PlanetScale (see [`password_name`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_name: Option<String>,
    /// Rotation counter: the number in the name of the newest password. The operator records
    /// the next value here before it creates that password, so a crash between the create and
    /// the Secret write is found and repaired by name.
    #[serde(default)]
    pub rotation: i64,
    /// Database user name of the current password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Host applications connect to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// The branch's engine, `mysql` (a password) or `postgresql` (a role), as found when the
    /// first credentials were created. Unset on resources from before engines were told apart:
    /// `mysql`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<String>,
    /// Role of the current password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "plain_enum::<PasswordRole>")]
    pub role: Option<PasswordRole>,
    /// Organization of the target branch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    /// Database of the target branch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    /// Name of the target branch in PlanetScale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// When the current password expires (unset: never).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Time>,
    /// When the current password was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_rotated_at: Option<Time>,
    /// When the next scheduled rotation is due (with `rotation.interval`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_rotation_at: Option<Time>,
    /// The value of the rotate annotation last acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_rotate_request: Option<String>,
    /// Name of the Secret holding the credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_name: Option<String>,
    /// SHA-256 (hex) of the credentials last written to the Secret: detects edits and is the
    /// restart annotation's value. A hash, never the credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials_hash: Option<String>,
    /// True while the password `spec.passwordId` is only observed (`managementPolicy:
    /// Observe`): switching to `Manage` then takes it over only with `spec.adopt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_only: Option<bool>,
    /// Replaced passwords, deleted when their grace period ends.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 32))]
    pub pending_deletions: Vec<PendingDeletion>,
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Conditions: the summary `Ready`, `BranchReady` and `SecretSynced`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
}

/// Name of a password in PlanetScale, derived from the resource's uid and the rotation
/// counter: the same inputs always give the same name, so a password created just before a
/// crash is found again.
pub fn password_name(uid: &str, rotation: i64) -> String {
    format!("k8s-{uid}-{rotation}")
}

/// The finalizer the password controller keeps while passwords may need deleting.
pub const FINALIZER: &str = "planetscale.operator.dev/password";

impl super::ManagedResource for PlanetScalePassword {
    const KIND: &'static str = "PlanetScalePassword";
    const FINALIZER: &'static str = FINALIZER;
    fn conditions(&self) -> &[Condition] {
        self.status.as_ref().map_or(&[], |s| &s.conditions)
    }
    /// With `deletionPolicy: Delete`, once the branch of its passwords is recorded.
    fn credentials_in_use(&self) -> Option<&str> {
        let recorded = self.status.as_ref().is_some_and(|s| {
            s.organization.is_some() && s.database.is_some() && s.branch.is_some()
        });
        let deletes = self.spec.deletion_policy == DeletionPolicy::Delete
            && self.spec.management_policy == ManagementPolicy::Manage
            && recorded;
        let r = self.spec.credentials_ref.as_ref();
        super::managed::in_use(&self.metadata, FINALIZER, r, deletes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_name_is_deterministic_and_short() {
        let uid = "0b9e0f3a-6a55-4f4e-9b0e-2d2f1d6f2c11";
        assert_eq!(password_name(uid, 3), password_name(uid, 3));
        assert_ne!(password_name(uid, 3), password_name(uid, 4));
        assert!(password_name(uid, i64::MAX).len() <= 64);
    }

    #[test]
    fn role_spelling_matches_serde() {
        for role in [
            PasswordRole::Reader,
            PasswordRole::Writer,
            PasswordRole::Readwriter,
            PasswordRole::Admin,
        ] {
            let json = serde_json::to_string(&role).unwrap();
            assert_eq!(json, format!("\"{}\"", role.as_str()));
        }
        assert_eq!(PasswordRole::default(), PasswordRole::Reader);
    }
}
