//! Observed state of a `DeployRequest`. Lists and long texts are bounded (the schema enforces
//! the same limits), so a huge schema change cannot make the object too large to store: use
//! [`truncate_chars`] and the `MAX_*` constants when filling it.
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Most tables listed in `schemaDiff` and `operations`.
pub const MAX_TABLES: usize = 100;
/// Most lint errors listed.
pub const MAX_LINT_ERRORS: usize = 50;
/// Longest DDL statement kept per table (characters); longer ones are cut and marked.
pub const MAX_DDL_LEN: usize = 2048;
/// Longest free text kept (deploy check errors, lint messages), in characters.
pub const MAX_TEXT_LEN: usize = 1024;

/// One table's change in the schema diff.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TableDiff {
    /// Keyspace of the table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 256))]
    pub keyspace: Option<String>,
    /// Table name.
    #[schemars(length(max = 256))]
    pub table: String,
    /// Kind of statement: `CREATE`, `ALTER` or `DROP`.
    #[schemars(length(max = 32))]
    pub operation: String,
    /// The DDL statement, cut to 2048 characters (see `truncated`).
    #[schemars(length(max = 2048))]
    pub ddl: String,
    /// Whether `ddl` was cut.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}

/// A lint error found by the deploy checks.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LintError {
    /// PlanetScale's code, e.g. `NO_PRIMARY_KEY`.
    #[schemars(length(max = 128))]
    pub code: String,
    /// Keyspace concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 256))]
    pub keyspace: Option<String>,
    /// Table concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 256))]
    pub table: Option<String>,
    /// Column concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 256))]
    pub column: Option<String>,
    /// What is wrong, in PlanetScale's words (at most 1024 characters).
    #[schemars(length(max = 1024))]
    pub message: String,
    /// Documentation page about this error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 1024))]
    pub docs_url: Option<String>,
}

/// Progress of the deploy on one table.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TableOperation {
    /// Keyspace of the table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 256))]
    pub keyspace: Option<String>,
    /// Table name.
    #[schemars(length(max = 256))]
    pub table: String,
    /// Kind of statement: `CREATE`, `ALTER` or `DROP`.
    #[schemars(length(max = 32))]
    pub operation: String,
    /// pending, queued, in_progress, complete, cancelled or error.
    #[schemars(length(max = 32))]
    pub state: String,
    /// Percent done (0-100), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress_percentage: Option<f64>,
    /// Estimated seconds left, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eta_seconds: Option<i64>,
}

/// Observed state of a `DeployRequest`, copied from PlanetScale.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeployRequestStatus {
    /// The deploy request's number in its database (as in the dashboard URL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<i64>,
    /// PlanetScale's id of the deploy request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Link to the deploy request in the PlanetScale dashboard.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html_url: Option<String>,
    /// Organization of the branches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    /// Database of the branches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    /// Branch with the schema change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// Branch the change deploys into.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub into_branch: Option<String>,
    /// `open` or `closed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// PlanetScale's deployment state, one of: pending, ready, no_changes, queued, submitting,
    /// in_progress, pending_cutover, in_progress_vschema, in_progress_cancel,
    /// in_progress_cutover, complete, complete_cancel, complete_error, complete_pending_revert,
    /// in_progress_revert, in_progress_revert_vschema, complete_revert, complete_revert_error,
    /// cancelled, error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_state: Option<String>,
    /// Whether the checks passed and the request can be deployed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployable: Option<bool>,
    /// Whether the request is approved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved: Option<bool>,
    /// Errors of the deploy checks (at most 1024 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 1024))]
    pub deploy_check_errors: Option<String>,
    /// Lint errors (at most 50).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 50))]
    pub lint_errors: Vec<LintError>,
    /// The schema change, one entry per table (at most 100; see `schemaDiffTruncated`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 100))]
    pub schema_diff: Vec<TableDiff>,
    /// Whether `schemaDiff` lists only the first tables of a larger change.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub schema_diff_truncated: bool,
    /// Per-table progress of the deploy (at most 100).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 100))]
    pub operations: Vec<TableOperation>,
    /// Position in the deploy queue of `intoBranch` while queued: 1 + the deploys ahead of it
    /// (a running or errored deploy that holds the queue counts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_position: Option<i32>,
    /// When the deploy request was opened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<Time>,
    /// When the deploy was queued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queued_at: Option<Time>,
    /// When the deploy started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Time>,
    /// When a gated deploy became ready to cut over.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_to_cutover_at: Option<Time>,
    /// When the schema change was applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployed_at: Option<Time>,
    /// When the deploy finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<Time>,
    /// When the revert window closes (30 minutes after the change was applied).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revert_window_ends_at: Option<Time>,
    /// True while the deploy request is only observed (`managementPolicy: Observe`):
    /// switching to `Manage` then takes it over only with `spec.adopt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_only: Option<bool>,
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Conditions: the summary `Ready` plus `ChecksPassed`, `Approved`, `Queued`, `Deploying`,
    /// `AwaitingCutover`, `Deployed`, `RevertWindowOpen` and `Failed`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
}

/// `text` cut to at most `max` characters (not bytes), and whether it was cut.
pub fn truncate_chars(text: &str, max: usize) -> (String, bool) {
    match text.char_indices().nth(max) {
        Some((byte, _)) => (text[..byte].to_string(), true),
        None => (text.to_string(), false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncate_counts_characters() {
        assert_eq!(truncate_chars("abc", 5), ("abc".to_string(), false));
        assert_eq!(truncate_chars("abc", 3), ("abc".to_string(), false));
        assert_eq!(truncate_chars("abcdef", 3), ("abc".to_string(), true));
        assert_eq!(truncate_chars("ééé", 2), ("éé".to_string(), true));
        assert_eq!(truncate_chars("", 0), (String::new(), false));
    }

    #[test]
    fn empty_status_serializes_to_empty_object() {
        let json = serde_json::to_value(DeployRequestStatus::default()).unwrap();
        assert_eq!(json, serde_json::json!({}));
    }
}
