//! Backup policies of a `PlanetScaleDatabase` (`spec.backupPolicies`): PlanetScale's
//! schedules that back up the database's production or development branches. PlanetScale
//! keeps them per database, one schedule for every branch of a kind, so they are a field of
//! the database rather than of each branch or a kind of their own.
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::backup::Retention;
use super::common::{pattern_rule, plain_enum, ps_name_rule};

/// Which branches of the database a policy backs up.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PolicyTarget {
    /// Production branches.
    #[default]
    Production,
    /// Development branches.
    Development,
}

/// Unit of a policy's frequency.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum FrequencyUnit {
    /// Hours.
    Hour,
    /// Days.
    Day,
    /// Weeks.
    Week,
    /// Months.
    Month,
}

/// How often the policy backs up.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Frequency {
    /// Number of `unit`s between two backups, 1 to 1000.
    #[schemars(range(min = 1, max = 1000))]
    pub value: i32,
    /// `hour`, `day`, `week` or `month`.
    #[schemars(schema_with = "plain_enum::<FrequencyUnit>")]
    pub unit: FrequencyUnit,
}

/// One backup policy, matched with PlanetScale's policies of the database by `name`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, kube::KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct BackupPolicySpec {
    /// Name of the policy in PlanetScale. A policy of that name that already exists is
    /// taken over (and reported `adopted`).
    #[schemars(length(max = 63))]
    #[x_kube(validation = ps_name_rule("name"))]
    pub name: String,
    /// `production` (default) or `development` branches.
    #[serde(default)]
    #[schemars(schema_with = "plain_enum::<PolicyTarget>")]
    pub target: PolicyTarget,
    /// How often a backup is taken.
    pub frequency: Frequency,
    /// How long each backup is kept.
    pub retention: Retention,
    /// Time of day (UTC, `HH:MM`) the backups are taken; for hourly policies only the
    /// minutes count. Default: PlanetScale's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 5))]
    #[x_kube(validation = pattern_rule("scheduleTime", "^([01][0-9]|2[0-3]):[0-5][0-9]$", "a time of day such as 02:30"))]
    pub schedule_time: Option<String>,
    /// Day of the week for weekly and monthly policies: 0 (Sunday) to 6.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 6))]
    pub schedule_day: Option<i32>,
    /// Week of the month for monthly policies: 0 (first) to 3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 3))]
    pub schedule_week: Option<i32>,
}

/// A backup policy as PlanetScale has it.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BackupPolicyStatus {
    /// Name of the policy (as in `spec.backupPolicies`).
    pub name: String,
    /// PlanetScale's id of the policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The policy existed before and was taken over rather than created by this resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adopted: Option<bool>,
    /// A required system policy: PlanetScale never lets it be deleted, so removing it from
    /// the spec only stops managing it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required: Option<bool>,
    /// When the policy last took backups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_ran_at: Option<Time>,
    /// When it takes backups next.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_run_at: Option<Time>,
}
