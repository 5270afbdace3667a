//! `PlanetScaleBranch`: a database branch in PlanetScale, created (or adopted) and kept as the
//! spec says, or only observed (`managementPolicy: Observe`).
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{
    BackupRef, DatabaseRef, DeletionPolicy, ManagementPolicy, SecretRef, default_false,
    immutable_rule, pattern_rule, plain_enum, presence_immutable_rule, ps_name_rule, spec_rule,
};

/// Reasons specific to `PlanetScaleBranch` conditions.
pub mod reason {
    /// A branch of that name exists that this resource did not create; set `spec.adopt: true`
    /// to take it over.
    pub const ALREADY_EXISTS: &str = "AlreadyExists";
    /// The branch was deleted outside Kubernetes and has been created again.
    pub const RECREATED: &str = "Recreated";
    /// The database exists but is still initializing; the branch is created once it is ready.
    pub const DATABASE_NOT_READY: &str = "DatabaseNotReady";
    /// PlanetScale has no branch named `spec.parentBranch` in the database.
    pub const PARENT_NOT_FOUND: &str = "ParentNotFound";
    /// PlanetScale has no backup `spec.backupId` (or not one of the parent branch).
    pub const BACKUP_NOT_FOUND: &str = "BackupNotFound";
    /// The spec sets a field the database's engine does not have (e.g. `seedData` on a
    /// PostgreSQL database, `restoreFrom` on a Vitess one); the message names the field.
    pub const FIELD_NOT_FOR_ENGINE: &str = "FieldNotForEngine";
}

/// Where a new branch takes its data from, besides a specific backup.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum SeedData {
    /// Restore the data of the parent branch's last successful backup (Data Branching®; the
    /// database must allow data branching).
    LastSuccessfulBackup,
}

impl SeedData {
    /// The value the PlanetScale API takes in `seed_data`.
    pub fn api_value(self) -> &'static str {
        match self {
            Self::LastSuccessfulBackup => "last_successful_backup",
        }
    }
}

/// Where a new PostgreSQL branch takes its data from: the parent branch as it was at an
/// earlier moment (point-in-time recovery).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RestoreFrom {
    /// The moment to restore the parent branch's data from, RFC 3339 (e.g.
    /// `2026-01-01T09:30:00Z`). It must be in the past and after the parent branch was
    /// created; PlanetScale keeps a limited history (see the plan's retention).
    #[schemars(length(max = 64))]
    pub point_in_time: Time,
}

/// A database branch in PlanetScale.
// The kube attributes repeat `type_`/`priority` per printer column by design.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, kube::KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "planetscale.operator.dev",
    version = "v1alpha1",
    kind = "PlanetScaleBranch",
    plural = "planetscalebranches",
    namespaced,
    status = "PlanetScaleBranchStatus",
    shortname = "psbranch",
    category = "planetscale",
    derive = "PartialEq",
    doc = "A PlanetScale database branch, created or adopted and kept as the spec says, or only observed.",
    printcolumn(name = "Database", type_ = "string", json_path = ".status.database"),
    printcolumn(name = "Engine", type_ = "string", json_path = ".status.kind"),
    printcolumn(name = "Branch", type_ = "string", json_path = ".status.branchName"),
    printcolumn(name = "Parent", type_ = "string", json_path = ".status.parent"),
    printcolumn(name = "Ready", type_ = "string", json_path = ".status.conditions[?(@.type==\"Ready\")].status"),
    printcolumn(name = "State", type_ = "string", json_path = ".status.state"),
    printcolumn(name = "Organization", type_ = "string", json_path = ".status.organization", priority = 1),
    printcolumn(name = "Region", type_ = "string", json_path = ".status.region", priority = 1),
    printcolumn(name = "Production", type_ = "boolean", json_path = ".status.production", priority = 1),
    printcolumn(name = "Version", type_ = "string", json_path = ".status.majorVersion", priority = 1),
    printcolumn(name = "Policy", type_ = "string", json_path = ".spec.managementPolicy", priority = 1),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"),
    validation = Rule::new(BRANCH_NAME_FROM_METADATA).message(
        "metadata.name is used as the PlanetScale branch name when spec.branchName is unset, so it \
         must be at most 63 lowercase letters, digits, '-' or '_': set spec.branchName"
    ).field_path(".spec.branchName"),
)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = spec_rule("has(self.databaseRef) || (has(self.organization) && has(self.database))",
        "set the database: either organization and database together, or databaseRef"),
    validation = spec_rule("!has(self.databaseRef) || !(has(self.organization) || has(self.database))",
        "databaseRef cannot be combined with organization or database: the PlanetScaleDatabase names them")
        .field_path(".databaseRef"),
    validation = presence_immutable_rule("databaseRef", "create a new resource for a branch of another database"),
    validation = presence_immutable_rule("organization", "create a new resource for a branch in another organization"),
    validation = presence_immutable_rule("database", "create a new resource for a branch of another database"),
    validation = spec_rule("!(has(self.backupId) && has(self.seedData))",
        "backupId and seedData are mutually exclusive: restore from one specific backup or from the last successful one")
        .field_path(".seedData"),
    validation = spec_rule("!has(self.backupId) || has(self.clusterSize)",
        "clusterSize is required with backupId: PlanetScale needs the size of the cluster to restore into (e.g. PS_10)")
        .field_path(".clusterSize"),
    validation = spec_rule("!(has(self.backupId) && has(self.region))",
        "region cannot be set with backupId: a branch restored from a backup is created in the backup's region")
        .field_path(".region"),
    validation = spec_rule("!(has(self.restoreFrom) && (has(self.backupId) || has(self.seedData)))",
        "restoreFrom cannot be combined with backupId or seedData: a branch takes its data from one source")
        .field_path(".restoreFrom"),
    validation = spec_rule("!(has(self.majorVersion) && has(self.backupId))",
        "majorVersion cannot be set with backupId: a branch restored from a backup keeps the backup's major version")
        .field_path(".majorVersion"),
    validation = spec_rule("!has(self.backupRef) || !(has(self.backupId) || has(self.seedData) || has(self.restoreFrom))",
        "backupRef cannot be combined with backupId, seedData or restoreFrom: restore from one source")
        .field_path(".backupRef"),
    validation = spec_rule("!has(self.backupRef) || has(self.clusterSize)",
        "clusterSize is required with backupRef: PlanetScale needs the size of the cluster to restore into (e.g. PS_10)")
        .field_path(".clusterSize"),
    validation = spec_rule("!(has(self.backupRef) && has(self.region))",
        "region cannot be set with backupRef: a branch restored from a backup is created in the backup's region")
        .field_path(".region"),
    validation = spec_rule("self.managementPolicy != 'Observe' || !(has(self.production) || has(self.safeMigrations) || has(self.deletionProtected))",
        "production, safeMigrations and deletionProtected change the branch: not allowed with managementPolicy: Observe, which never writes to PlanetScale")
        .field_path(".managementPolicy"),
    validation = presence_immutable_rule("backupRef", "the source of a branch's data is fixed at creation"),
    validation = presence_immutable_rule("branchName", "the branch name is fixed at creation; create a new resource for another branch"),
    validation = presence_immutable_rule("parentBranch", "a branch cannot be re-parented"),
    validation = presence_immutable_rule("region", "a branch cannot move region"),
    validation = presence_immutable_rule("backupId", "the source of a branch's data is fixed at creation"),
    validation = presence_immutable_rule("seedData", "the source of a branch's data is fixed at creation"),
    validation = presence_immutable_rule("clusterSize", "the cluster size is only used when the branch is created"),
    validation = presence_immutable_rule("restoreFrom", "the source of a branch's data is fixed at creation"),
    validation = presence_immutable_rule("majorVersion", "the major version is chosen when the branch is created"),
)]
pub struct PlanetScaleBranchSpec {
    /// PlanetScale organization (the name in `app.planetscale.com/<organization>`), with
    /// `database`; or use `databaseRef`. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 63))]
    #[x_kube(
        validation = ps_name_rule("organization"),
        validation = immutable_rule("organization", "create a new resource for a branch in another organization")
    )]
    pub organization: Option<String>,

    /// Database the branch belongs to, with `organization`; or use `databaseRef`. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 63))]
    #[x_kube(
        validation = ps_name_rule("database"),
        validation = immutable_rule("database", "create a new resource for a branch of another database")
    )]
    pub database: Option<String>,

    /// The `PlanetScaleDatabase` (in this namespace) the branch belongs to, instead of
    /// `organization` + `database`: the operator waits until it is Ready and records the
    /// organization and database it names in status. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = immutable_rule("databaseRef", "create a new resource for a branch of another database"))]
    pub database_ref: Option<DatabaseRef>,

    /// Name of the branch in PlanetScale. Default: `metadata.name`. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 63))]
    #[x_kube(
        validation = ps_name_rule("branchName"),
        validation = immutable_rule("branchName", "create a new resource for another branch")
    )]
    pub branch_name: Option<String>,

    /// Branch to create this branch from. Default: the database's default branch. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 63))]
    #[x_kube(
        validation = ps_name_rule("parentBranch"),
        validation = immutable_rule("parentBranch", "a branch cannot be re-parented")
    )]
    pub parent_branch: Option<String>,

    /// Region slug, e.g. `aws-us-east-2` or `gcp-us-central1`. Default: the database's region.
    /// Not allowed with `backupId` (a restored branch uses the backup's region). Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 63))]
    #[x_kube(
        validation = pattern_rule("region", "^[a-z0-9][a-z0-9-]*$", "a PlanetScale region slug such as aws-us-east-2"),
        validation = immutable_rule("region", "a branch cannot move region")
    )]
    pub region: Option<String>,

    /// Id of a backup (in state `success`) whose schema and data the new branch restores.
    /// Needs `clusterSize`; at most one of `backupId` and `seedData`. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 64))]
    #[x_kube(
        validation = pattern_rule("backupId", "^[a-zA-Z0-9_-]+$", "a PlanetScale backup id (letters, digits, '-' and '_')"),
        validation = immutable_rule("backupId", "the source of a branch's data is fixed at creation")
    )]
    pub backup_id: Option<String>,

    /// A `PlanetScaleBackup` (in this namespace) whose backup the new branch restores, once
    /// it is Ready; the parent defaults to the branch it backed up. Needs `clusterSize`; not
    /// with `backupId` or `seedData`. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = immutable_rule("backupRef", "the source of a branch's data is fixed at creation"))]
    pub backup_ref: Option<BackupRef>,

    /// Seed the new branch with data: `LastSuccessfulBackup` restores the parent's last
    /// successful backup (Data Branching®, Vitess databases only). At most one of `backupId`,
    /// `seedData` and `restoreFrom`. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "plain_enum::<SeedData>")]
    #[x_kube(validation = immutable_rule("seedData", "the source of a branch's data is fixed at creation"))]
    pub seed_data: Option<SeedData>,

    /// PostgreSQL databases only: restore the parent branch's data as it was at
    /// `restoreFrom.pointInTime` (point-in-time recovery). At most one of `backupId`,
    /// `seedData` and `restoreFrom`. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = immutable_rule("restoreFrom", "the source of a branch's data is fixed at creation"))]
    pub restore_from: Option<RestoreFrom>,

    /// PostgreSQL databases only: the major version of the new branch, e.g. `"17"`. Default:
    /// the parent branch's. Not with `backupId` (a restore keeps the backup's). Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 8))]
    #[x_kube(
        validation = pattern_rule("majorVersion", "^[0-9]+$", "a PostgreSQL major version number such as \"17\""),
        validation = immutable_rule("majorVersion", "the major version is chosen when the branch is created")
    )]
    pub major_version: Option<String>,

    /// Cluster size SKU for a restored branch, e.g. `PS_10`. Required with `backupId`; used
    /// only when the branch is created. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 64))]
    #[x_kube(
        validation = pattern_rule("clusterSize", "^[A-Za-z0-9_-]+$", "a cluster size SKU such as PS_10"),
        validation = immutable_rule("clusterSize", "the cluster size is only used when the branch is created")
    )]
    pub cluster_size: Option<String>,

    /// Safe migrations (no direct DDL; required for deploy requests into this branch).
    /// Vitess databases only. Unset: the operator leaves the setting as it is in PlanetScale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub safe_migrations: Option<bool>,

    /// Deletion protection in PlanetScale. While true, `deletionPolicy: Delete` cannot delete
    /// the branch. Unset: the operator leaves the setting as it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_protected: Option<bool>,

    /// Production branch (true: promote, false: demote). Vitess databases only. Unset: left
    /// as it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub production: Option<bool>,

    /// What happens to the branch in PlanetScale when this resource is deleted:
    /// `Delete` (default) deletes it, `Retain` leaves it. An observed branch is never
    /// deleted.
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,

    /// `Manage` (default) creates or adopts the branch and keeps its settings; `Observe`
    /// only reports an existing branch in status and never writes to PlanetScale (nothing is
    /// created, changed or deleted). Switching an observed branch to `Manage` takes it over
    /// only with `adopt: true`.
    #[serde(default)]
    #[schemars(schema_with = "plain_enum::<ManagementPolicy>")]
    pub management_policy: ManagementPolicy,

    /// Take over a branch of that name that already exists and was not created by this
    /// resource. Default false: such a branch gives `Ready=False` reason `AlreadyExists`.
    #[serde(default = "default_false")]
    pub adopt: bool,

    /// Secret (in this namespace) with the PlanetScale credentials to use. Default: the
    /// operator's default credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials_ref: Option<SecretRef>,
}

/// Root rule: without `spec.branchName`, `metadata.name` must be a valid branch name.
const BRANCH_NAME_FROM_METADATA: &str = "has(self.spec.branchName) || \
     (size(self.metadata.name) <= 63 && self.metadata.name.matches('^[a-z0-9][a-z0-9_-]*$'))";

impl PlanetScaleBranchSpec {
    /// The PlanetScale branch name: `spec.branchName`, else the resource's name.
    pub fn effective_branch_name<'a>(&'a self, resource_name: &'a str) -> &'a str {
        self.branch_name.as_deref().unwrap_or(resource_name)
    }

    /// `organization` and `database` when the spec names them directly.
    pub fn explicit_database(&self) -> Option<(&str, &str)> {
        Some((self.organization.as_deref()?, self.database.as_deref()?))
    }
}

impl PlanetScaleBranch {
    /// The organization and database of the branch: as the spec names them, else as recorded
    /// in status once `databaseRef` was resolved (`None` before that).
    pub fn location(&self) -> Option<(&str, &str)> {
        self.spec.explicit_database().or_else(|| {
            let s = self.status.as_ref()?;
            Some((s.organization.as_deref()?, s.database.as_deref()?))
        })
    }
}

/// Observed state of a `PlanetScaleBranch`, copied from PlanetScale.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlanetScaleBranchStatus {
    /// PlanetScale organization of the branch (`spec.organization`, or the one the
    /// `PlanetScaleDatabase` of `spec.databaseRef` names).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    /// Database of the branch (`spec.database`, or the one `spec.databaseRef` names).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    /// PlanetScale's id of the branch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Name of the branch in PlanetScale (`spec.branchName` or `metadata.name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch_name: Option<String>,
    /// Branch state in PlanetScale: pending, sleep_in_progress, sleeping, awakening or ready.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Whether PlanetScale reports the branch ready to serve queries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready: Option<bool>,
    /// Whether the branch is a production branch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub production: Option<bool>,
    /// Engine of the database: `mysql` (Vitess) or `postgresql`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// PostgreSQL major version of the branch (PostgreSQL databases only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub major_version: Option<String>,
    /// The moment the branch's data was restored from (point-in-time recovery), when it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore_point: Option<Time>,
    /// Whether safe migrations are enabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub safe_migrations: Option<bool>,
    /// Whether deletion protection is enabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_protected: Option<bool>,
    /// Region slug the branch runs in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Name of the parent branch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// Host name for PostgreSQL connections to this branch (PostgreSQL databases only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postgres_address: Option<String>,
    /// Host name for MySQL connections to this branch's region (Vitess databases only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mysql_address: Option<String>,
    /// Host name of the edge (global) MySQL endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mysql_edge_address: Option<String>,
    /// Link to the branch in the PlanetScale dashboard.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html_url: Option<String>,
    /// When the branch was created in PlanetScale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<Time>,
    /// Whether the branch existed before and was adopted (`spec.adopt`) or is observed,
    /// rather than created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adopted: Option<bool>,
    /// True while the branch is only observed (`managementPolicy: Observe`): switching to
    /// `Manage` then takes it over only with `spec.adopt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_only: Option<bool>,
    /// When the operator asked PlanetScale to create the branch. Written just before the
    /// create call and cleared once `id` is recorded, so that a branch found in between (the
    /// operator stopped after creating it) is recognised as this resource's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_requested_at: Option<Time>,
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Conditions: the summary `Ready`, with reasons such as `CredentialsNotFound`,
    /// `DatabaseNotFound`, `AlreadyExists` or `DeletionBlocked`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
}

/// The finalizer the branch controller keeps while the branch may need deleting in PlanetScale.
pub const FINALIZER: &str = "planetscale.operator.dev/branch";

impl super::ManagedResource for PlanetScaleBranch {
    const KIND: &'static str = "PlanetScaleBranch";
    const FINALIZER: &'static str = FINALIZER;
    fn conditions(&self) -> &[k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition] {
        self.status.as_ref().map_or(&[], |s| &s.conditions)
    }
    /// With `deletionPolicy: Delete` (and managed), once a branch was created or adopted (or
    /// asked for).
    fn credentials_in_use(&self) -> Option<&str> {
        let s = self.status.as_ref();
        let created = s.is_some_and(|s| s.id.is_some() || s.create_requested_at.is_some());
        let deletes = self.spec.deletion_policy == super::DeletionPolicy::Delete
            && self.spec.management_policy == ManagementPolicy::Manage
            && created;
        let r = self.spec.credentials_ref.as_ref();
        super::managed::in_use(&self.metadata, FINALIZER, r, deletes)
    }
}
