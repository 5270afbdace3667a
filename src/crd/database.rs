//! `PlanetScaleDatabase`: a PlanetScale database, created (or adopted, or only observed) and
//! kept with the settings the spec names.
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::backup_policy::{BackupPolicySpec, BackupPolicyStatus};
use super::common::{
    DeletionPolicy, ManagementPolicy, SecretRef, default_false, immutable_rule, pattern_rule,
    plain_enum, presence_immutable_rule, ps_name_rule, spec_rule,
};

/// Reasons specific to `PlanetScaleDatabase` conditions.
pub mod reason {
    /// A database of that name exists that this resource did not create; set `spec.adopt:
    /// true` to take it over.
    pub const ALREADY_EXISTS: &str = "AlreadyExists";
    /// The database is being created (or woken) in PlanetScale.
    pub const DATABASE_NOT_READY: &str = "DatabaseNotReady";
    /// `managementPolicy: Observe` and the database does not exist.
    pub const NOT_FOUND: &str = "DatabaseNotFound";
    /// Deletion asked with `deletionPolicy: Delete` but without `deletionConfirmation`.
    pub const DELETION_NOT_CONFIRMED: &str = "DeletionNotConfirmed";
    /// The database has deletion protection on in PlanetScale.
    pub const DELETION_PROTECTED: &str = "DeletionProtected";
}

/// Database engine.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    /// Vitess / MySQL.
    Mysql,
    /// PostgreSQL.
    Postgresql,
}

/// The database settings PlanetScale lets one change (`update_database_settings`). Each unset
/// setting is left as it is in PlanetScale.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DatabaseSettings {
    /// Deploy requests must be approved by an administrator other than their creator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_approval_for_deploy: Option<bool>,
    /// Data branching (`seedData` on branches) is allowed. Vitess only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_data_branching: Option<bool>,
    /// Branches may only be created in the database's region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restrict_branch_region: Option<bool>,
    /// Copy migration data to new branches and deploy requests. Vitess only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub automatic_migrations: Option<bool>,
    /// Migration framework of the automatic migrations, e.g. `rails`. Vitess only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 64))]
    pub migration_framework: Option<String>,
    /// Table the migration framework records its migrations in. Vitess only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 64))]
    pub migration_table_name: Option<String>,
    /// Foreign key constraints are allowed. Vitess only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_foreign_key_constraints: Option<bool>,
    /// Insights collect full query texts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insights_raw_queries: Option<bool>,
    /// Deletion protection in PlanetScale: while true the database cannot be deleted, even
    /// with `deletionPolicy: Delete`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_protected: Option<bool>,
    /// The web console may be used on the production branch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub production_branch_web_console: Option<bool>,
    /// The default branch (a production branch of the database).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 63))]
    pub default_branch: Option<String>,
}

/// A PlanetScale database.
// The kube attributes repeat `type_`/`priority` per printer column by design.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, kube::KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "planetscale.operator.dev",
    version = "v1alpha1",
    kind = "PlanetScaleDatabase",
    plural = "planetscaledatabases",
    namespaced,
    status = "PlanetScaleDatabaseStatus",
    shortname = "psdb",
    category = "planetscale",
    derive = "PartialEq",
    doc = "A PlanetScale database, created, adopted or observed, with its settings kept as the spec says.",
    printcolumn(name = "Database", type_ = "string", json_path = ".status.databaseName"),
    printcolumn(name = "Engine", type_ = "string", json_path = ".status.engine"),
    printcolumn(name = "Region", type_ = "string", json_path = ".status.region"),
    printcolumn(name = "Ready", type_ = "string", json_path = ".status.conditions[?(@.type==\"Ready\")].status"),
    printcolumn(name = "State", type_ = "string", json_path = ".status.state"),
    printcolumn(name = "Policy", type_ = "string", json_path = ".spec.managementPolicy", priority = 1),
    printcolumn(name = "Deletion", type_ = "string", json_path = ".spec.deletionPolicy", priority = 1),
    printcolumn(name = "Organization", type_ = "string", json_path = ".spec.organization", priority = 1),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"),
    validation = Rule::new(DATABASE_NAME_FROM_METADATA).message(
        "metadata.name is used as the PlanetScale database name when spec.databaseName is unset, \
         so it must be at most 63 lowercase letters, digits, '-' or '_': set spec.databaseName"
    ).field_path(".spec.databaseName"),
    validation = Rule::new(CONFIRMATION_NAMES_THE_DATABASE).message(
        "deletionConfirmation must be the PlanetScale database name (spec.databaseName, else \
         metadata.name): it confirms which database deletionPolicy: Delete deletes"
    ).field_path(".spec.deletionConfirmation"),
)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = spec_rule("self.adopt || self.managementPolicy == 'Observe' || has(self.clusterSize)",
        "clusterSize is required to create a database (e.g. PS_10); to take over an existing one set adopt: true")
        .field_path(".clusterSize"),
    validation = spec_rule("!has(self.postgresMajorVersion) || (has(self.engine) && self.engine == 'postgresql')",
        "postgresMajorVersion is only for engine: postgresql")
        .field_path(".postgresMajorVersion"),
    validation = spec_rule("!(self.managementPolicy == 'Observe' && has(self.settings))",
        "settings cannot be set with managementPolicy: Observe, which never changes the database")
        .field_path(".settings"),
    validation = spec_rule("!(self.managementPolicy == 'Observe' && has(self.backupPolicies))",
        "backupPolicies cannot be set with managementPolicy: Observe, which never changes the database")
        .field_path(".backupPolicies"),
    validation = spec_rule("!(self.managementPolicy == 'Observe' && self.deletionPolicy == 'Delete')",
        "deletionPolicy: Delete cannot be set with managementPolicy: Observe, which never deletes the database")
        .field_path(".deletionPolicy"),
    validation = presence_immutable_rule("databaseName", "the database name is fixed at creation"),
    validation = presence_immutable_rule("engine", "a database cannot change engine"),
    validation = presence_immutable_rule("region", "a database cannot move region"),
    validation = presence_immutable_rule("clusterSize", "the cluster size is only used when the database is created"),
    validation = presence_immutable_rule("replicas", "the replicas are only used when the database is created"),
    validation = presence_immutable_rule("postgresMajorVersion", "the major version is only used when the database is created"),
)]
pub struct PlanetScaleDatabaseSpec {
    /// PlanetScale organization (the name in `app.planetscale.com/<organization>`). Immutable.
    #[schemars(length(max = 63))]
    #[x_kube(
        validation = ps_name_rule("organization"),
        validation = immutable_rule("organization", "create a new resource for a database in another organization")
    )]
    pub organization: String,

    /// Name of the database in PlanetScale. Default: `metadata.name`. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 63))]
    #[x_kube(
        validation = ps_name_rule("databaseName"),
        validation = immutable_rule("databaseName", "create a new resource for another database")
    )]
    pub database_name: Option<String>,

    /// Engine: `mysql` (Vitess) or `postgresql`. Default when creating: `mysql`; unset on
    /// an adopted or observed database, the engine is whatever it has (see `status.engine`).
    /// Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "plain_enum::<Engine>")]
    #[x_kube(validation = immutable_rule("engine", "a database cannot change engine"))]
    pub engine: Option<Engine>,

    /// Region slug, e.g. `aws-us-east-2`. Default: the organization's default region. Used
    /// when the database is created. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 63))]
    #[x_kube(
        validation = pattern_rule("region", "^[a-z0-9][a-z0-9-]*$", "a PlanetScale region slug such as aws-us-east-2"),
        validation = immutable_rule("region", "a database cannot move region")
    )]
    pub region: Option<String>,

    /// Cluster size SKU, e.g. `PS_10`. Required to create a database; used only when it is
    /// created. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 64))]
    #[x_kube(
        validation = pattern_rule("clusterSize", "^[A-Za-z0-9_-]+$", "a cluster size SKU such as PS_10"),
        validation = immutable_rule("clusterSize", "the cluster size is only used when the database is created")
    )]
    pub cluster_size: Option<String>,

    /// Replicas: 0 for no high availability, 2 or more for HA. Default: PlanetScale's. Used
    /// only when the database is created. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 32))]
    #[x_kube(validation = immutable_rule("replicas", "the replicas are only used when the database is created"))]
    pub replicas: Option<i32>,

    /// PostgreSQL major version, e.g. `17` (engine `postgresql` only). Default: the latest.
    /// Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 8))]
    #[x_kube(
        validation = pattern_rule("postgresMajorVersion", "^[0-9]+$", "a PostgreSQL major version such as 17"),
        validation = immutable_rule("postgresMajorVersion", "the major version is only used when the database is created")
    )]
    pub postgres_major_version: Option<String>,

    /// Settings kept in line with PlanetScale (each unset one is left as it is).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<DatabaseSettings>,

    /// Backup policies: PlanetScale's schedules that back up the database's production or
    /// development branches, matched by name. A policy removed from this list is deleted in
    /// PlanetScale (a required system policy is only let go); policies never listed here are
    /// left alone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 16))]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub backup_policies: Vec<BackupPolicySpec>,

    /// `Manage` (default) creates or adopts the database and keeps its settings; `Observe`
    /// only reports an existing database in status and never writes to PlanetScale.
    #[serde(default)]
    #[schemars(schema_with = "plain_enum::<ManagementPolicy>")]
    pub management_policy: ManagementPolicy,

    /// What happens to the database in PlanetScale when this resource is deleted: `Retain`
    /// (default) leaves it; `Delete` deletes it, and only when `deletionConfirmation` names
    /// the database.
    #[serde(default = "retain")]
    #[schemars(schema_with = "plain_enum::<DeletionPolicy>")]
    pub deletion_policy: DeletionPolicy,

    /// The database name, written out to confirm that deleting this resource deletes the
    /// database and all its data (`deletionPolicy: Delete`). Without it the deletion is
    /// refused with the condition `DeletionBlocked`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 63))]
    pub deletion_confirmation: Option<String>,

    /// Take over a database of that name that already exists and was not created by this
    /// resource. Default false: such a database gives `Ready=False` reason `AlreadyExists`.
    #[serde(default = "default_false")]
    pub adopt: bool,

    /// Secret (in this namespace) with the PlanetScale credentials to use. Default: the
    /// operator's default credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials_ref: Option<SecretRef>,
}

fn retain() -> DeletionPolicy {
    DeletionPolicy::Retain
}

/// Root rule: without `spec.databaseName`, `metadata.name` must be a valid database name.
const DATABASE_NAME_FROM_METADATA: &str = "has(self.spec.databaseName) || \
     (size(self.metadata.name) <= 63 && self.metadata.name.matches('^[a-z0-9][a-z0-9_-]*$'))";

/// Root rule: a deletion confirmation names the database it confirms.
const CONFIRMATION_NAMES_THE_DATABASE: &str = "!has(self.spec.deletionConfirmation) || \
     self.spec.deletionConfirmation == (has(self.spec.databaseName) ? self.spec.databaseName : self.metadata.name)";

impl PlanetScaleDatabaseSpec {
    /// The PlanetScale database name: `spec.databaseName`, else the resource's name.
    pub fn effective_name<'a>(&'a self, resource_name: &'a str) -> &'a str {
        self.database_name.as_deref().unwrap_or(resource_name)
    }

    /// Whether deleting the resource may delete the database: `deletionPolicy: Delete` with a
    /// confirmation that names it.
    pub fn deletion_confirmed(&self, resource_name: &str) -> bool {
        let name = self.effective_name(resource_name);
        self.deletion_policy == DeletionPolicy::Delete
            && self.deletion_confirmation.as_deref() == Some(name)
    }
}

/// Observed state of a `PlanetScaleDatabase`, copied from PlanetScale.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlanetScaleDatabaseStatus {
    /// PlanetScale's id of the database.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Name of the database in PlanetScale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_name: Option<String>,
    /// State in PlanetScale: pending, ready, sleeping, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Engine: mysql or postgresql.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<String>,
    /// Region slug.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Name of the default branch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_branch: Option<String>,
    /// Link to the database in the PlanetScale dashboard.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html_url: Option<String>,
    /// Whether deploy requests need an approval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_approval_for_deploy: Option<bool>,
    /// Whether deletion protection is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_protected: Option<bool>,
    /// When the database was created in PlanetScale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<Time>,
    /// Whether the database existed before and was adopted (`spec.adopt`) or is observed,
    /// rather than created by this resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adopted: Option<bool>,
    /// True while the database is only observed (`managementPolicy: Observe`): switching to
    /// `Manage` then takes it over only with `spec.adopt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_only: Option<bool>,
    /// The backup policies this resource manages (created or taken over), as PlanetScale has
    /// them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub backup_policies: Vec<BackupPolicyStatus>,
    /// When the operator asked PlanetScale to create the database. Written just before the
    /// create call and cleared once `id` is recorded, so that a database found in between
    /// (the operator stopped after creating it) is recognised as this resource's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_requested_at: Option<Time>,
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Conditions: the summary `Ready`, and `DeletionBlocked` while a deletion cannot happen.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
}

/// The finalizer the database controller keeps while the database may need deleting.
pub const FINALIZER: &str = "planetscale.operator.dev/database";

impl super::ManagedResource for PlanetScaleDatabase {
    const KIND: &'static str = "PlanetScaleDatabase";
    const FINALIZER: &'static str = FINALIZER;
    fn conditions(&self) -> &[Condition] {
        self.status.as_ref().map_or(&[], |s| &s.conditions)
    }
    /// With a confirmed `deletionPolicy: Delete`, once a database was created or adopted.
    fn credentials_in_use(&self) -> Option<&str> {
        let s = self.status.as_ref();
        let created = s.is_some_and(|s| s.id.is_some() || s.create_requested_at.is_some());
        let name = self.metadata.name.as_deref().unwrap_or_default();
        let deletes = self.spec.deletion_confirmed(name) && created;
        let r = self.spec.credentials_ref.as_ref();
        super::managed::in_use(&self.metadata, FINALIZER, r, deletes)
    }
}
