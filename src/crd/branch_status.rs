//! Observed state of a `PlanetScaleBranch`, copied from PlanetScale, and where the branch
//! lives when its spec names the database by `databaseRef`.
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

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
