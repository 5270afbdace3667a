//! `PlanetScaleBackup`: an on-demand backup of a branch, with its retention; or an existing
//! backup adopted or observed by id. A `PlanetScaleBranch` can be restored from it
//! (`backupRef`).
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::branch_target::BranchTarget;
use super::common::{
    DeletionPolicy, ManagementPolicy, SecretRef, immutable_rule, pattern_rule, plain_enum,
    presence_immutable_rule, spec_rule,
};

/// Reasons specific to `PlanetScaleBackup` conditions.
pub mod reason {
    /// The backup is pending or running in PlanetScale.
    pub const BACKUP_NOT_READY: &str = "BackupNotReady";
    /// The backup ended in state failed, canceled or ignored: it will not become usable.
    pub const BACKUP_FAILED: &str = "BackupFailed";
    /// PlanetScale has no backup `spec.backupId` on the branch (or it was deleted).
    pub const BACKUP_NOT_FOUND: &str = "BackupNotFound";
    /// The backup is protected in PlanetScale and cannot be deleted.
    pub const BACKUP_PROTECTED: &str = "BackupProtected";
}

/// Unit of a retention period.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RetentionUnit {
    /// Hours.
    Hour,
    /// Days.
    Day,
    /// Weeks.
    Week,
    /// Months.
    Month,
    /// Years.
    Year,
}

/// How long PlanetScale keeps the backup before it expires.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Retention {
    /// Number of `unit`s, 1 to 1000.
    #[schemars(range(min = 1, max = 1000))]
    pub value: i32,
    /// `hour`, `day`, `week`, `month` or `year`.
    #[schemars(schema_with = "plain_enum::<RetentionUnit>")]
    pub unit: RetentionUnit,
}

/// A backup of a PlanetScale branch.
// The kube attributes repeat `type_`/`priority` per printer column by design.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, kube::KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "planetscale.operator.dev",
    version = "v1alpha1",
    kind = "PlanetScaleBackup",
    plural = "planetscalebackups",
    namespaced,
    status = "PlanetScaleBackupStatus",
    shortname = "psbackup",
    category = "planetscale",
    derive = "PartialEq",
    doc = "A backup of a PlanetScale branch: taken on demand with a retention, or an existing one adopted or observed by id.",
    printcolumn(name = "Branch", type_ = "string", json_path = ".status.branch"),
    printcolumn(name = "Backup", type_ = "string", json_path = ".status.backupName"),
    printcolumn(name = "State", type_ = "string", json_path = ".status.state"),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(name = "Size", type_ = "integer", json_path = ".status.size"),
    printcolumn(
        name = "Expires",
        type_ = "date",
        json_path = ".status.expiresAt",
        priority = 1
    ),
    printcolumn(
        name = "Database",
        type_ = "string",
        json_path = ".status.database",
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
    validation = spec_rule("self.managementPolicy != 'Observe' || has(self.backupId)",
        "managementPolicy: Observe needs backupId: the operator only reports an existing backup")
        .field_path(".backupId"),
    validation = spec_rule("!has(self.backupId) || !(has(self.retention) || has(self.backupName) || has(self.emergency))",
        "retention, backupName and emergency describe a new backup: they cannot be set with backupId, which names an existing one")
        .field_path(".backupId"),
    validation = spec_rule("!(self.managementPolicy == 'Observe' && (has(self.protected) || self.deletionPolicy == 'Delete'))",
        "protected and deletionPolicy: Delete change the backup: not allowed with managementPolicy: Observe")
        .field_path(".managementPolicy"),
    validation = presence_immutable_rule("backupId", "a resource stands for one backup for its whole life"),
    validation = presence_immutable_rule("backupName", "the name is used when the backup is taken"),
    validation = presence_immutable_rule("retention", "the retention is set when the backup is taken"),
    validation = presence_immutable_rule("emergency", "used only when the backup is taken"),
)]
pub struct PlanetScaleBackupSpec {
    /// The branch to back up: `branchRef`, or `organization` + `database` + `branch`.
    #[serde(flatten)]
    pub target: BranchTarget,

    /// Name of the new backup in PlanetScale. Default: `metadata.name`. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 255))]
    #[x_kube(validation = immutable_rule("backupName", "the name is used when the backup is taken"))]
    pub backup_name: Option<String>,

    /// How long PlanetScale keeps the new backup. Default: PlanetScale's. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = immutable_rule("retention", "the retention is set when the backup is taken"))]
    pub retention: Option<Retention>,

    /// Take the backup at once even if it affects performance (PostgreSQL only). Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = immutable_rule("emergency", "used only when the backup is taken"))]
    pub emergency: Option<bool>,

    /// Id of an existing backup of the branch to adopt (or observe) instead of taking a new
    /// one. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 64))]
    #[x_kube(
        validation = pattern_rule("backupId", "^[a-zA-Z0-9_-]+$", "a PlanetScale backup id (letters, digits, '-' and '_')"),
        validation = immutable_rule("backupId", "a resource stands for one backup for its whole life")
    )]
    pub backup_id: Option<String>,

    /// Protection from deletion in PlanetScale. Unset: left as it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protected: Option<bool>,

    /// `Manage` (default) takes (or adopts) the backup and keeps `protected`; `Observe` only
    /// reports the backup `backupId` and never writes to PlanetScale.
    #[serde(default)]
    #[schemars(schema_with = "plain_enum::<ManagementPolicy>")]
    pub management_policy: ManagementPolicy,

    /// What happens to the backup in PlanetScale when this resource is deleted: `Retain`
    /// (default: the backup expires with its retention) or `Delete`.
    #[serde(default = "retain")]
    #[schemars(schema_with = "plain_enum::<DeletionPolicy>")]
    pub deletion_policy: DeletionPolicy,

    /// Secret (in this namespace) with the PlanetScale credentials to use. Default: the
    /// operator's default credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials_ref: Option<SecretRef>,
}

fn retain() -> DeletionPolicy {
    DeletionPolicy::Retain
}

/// Observed state of a `PlanetScaleBackup`, copied from PlanetScale.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlanetScaleBackupStatus {
    /// PlanetScale's id of the backup (what `backupId` of a `PlanetScaleBranch` takes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Name of the backup in PlanetScale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_name: Option<String>,
    /// Organization of the branch backed up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    /// Database of the branch backed up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    /// Branch backed up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// State in PlanetScale: pending, running, success, failed, canceled or ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<i64>,
    /// Whether the backup is protected from deletion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protected: Option<bool>,
    /// When the backup was asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<Time>,
    /// When it started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Time>,
    /// When it completed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<Time>,
    /// When PlanetScale deletes it (its retention).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Time>,
    /// Whether the backup existed before (`backupId`) rather than taken by this resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adopted: Option<bool>,
    /// When the operator asked PlanetScale for the backup. Written just before the create
    /// call and cleared once `id` is recorded, so that a backup found in between (by name,
    /// taken after this time) is recognised as this resource's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_requested_at: Option<Time>,
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Conditions: the summary `Ready` (True once the backup succeeded and can be restored),
    /// and `DeletionBlocked` while a deletion cannot happen.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
}

/// The finalizer the backup controller keeps while the backup may need deleting.
pub const FINALIZER: &str = "planetscale.operator.dev/backup";

impl super::ManagedResource for PlanetScaleBackup {
    const KIND: &'static str = "PlanetScaleBackup";
    const FINALIZER: &'static str = FINALIZER;
    fn conditions(&self) -> &[Condition] {
        self.status.as_ref().map_or(&[], |s| &s.conditions)
    }
    /// With `deletionPolicy: Delete`, once a backup was taken or adopted (or asked for).
    fn credentials_in_use(&self) -> Option<&str> {
        let s = self.status.as_ref();
        let created = s.is_some_and(|s| s.id.is_some() || s.create_requested_at.is_some());
        let deletes = self.spec.deletion_policy == DeletionPolicy::Delete && created;
        let r = self.spec.credentials_ref.as_ref();
        super::managed::in_use(&self.metadata, FINALIZER, r, deletes)
    }
}
