//! The deployment of a deploy request, its state machine and its operations.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Actor;
use super::de::or_default;

string_enum! {
    /// `deployment_state` of a deploy request (and `state` of its deployment): all 20 values.
    DeploymentState {
        /// Deploy checks (diff, lint) are running.
        Pending = "pending",
        /// Checks passed; can be deployed.
        Ready = "ready",
        /// The branch has no schema changes against `into_branch`.
        NoChanges = "no_changes",
        /// Waiting in the deploy queue.
        Queued = "queued",
        /// Being submitted.
        Submitting = "submitting",
        /// Schema changes running.
        InProgress = "in_progress",
        /// Gated: waiting for `apply-deploy` (holds the serial queue).
        PendingCutover = "pending_cutover",
        /// VSchema changes running.
        InProgressVschema = "in_progress_vschema",
        /// Being cancelled.
        InProgressCancel = "in_progress_cancel",
        /// Cutting over.
        InProgressCutover = "in_progress_cutover",
        /// Deployed; revert window closed or skipped.
        Complete = "complete",
        /// Cancelled while running.
        CompleteCancel = "complete_cancel",
        /// Failed during deploy; blocks the queue until `complete-deploy`.
        CompleteError = "complete_error",
        /// Deployed; the revert window (30 min) is open.
        CompletePendingRevert = "complete_pending_revert",
        /// Being reverted.
        InProgressRevert = "in_progress_revert",
        /// VSchema being reverted.
        InProgressRevertVschema = "in_progress_revert_vschema",
        /// Reverted.
        CompleteRevert = "complete_revert",
        /// The revert failed; blocks the queue until `complete-deploy`.
        CompleteRevertError = "complete_revert_error",
        /// Cancelled before it started.
        Cancelled = "cancelled",
        /// Deploy checks failed (see `deploy_check_errors`); fix the branch schema.
        Error = "error",
    }
}

impl DeploymentState {
    /// The deployment is over: nothing more will run for it (deployed, reverted, cancelled or
    /// failed during deploy). `no_changes` and `error` are check outcomes, not terminal: they
    /// change when the branch schema changes.
    pub fn is_terminal(&self) -> bool {
        use DeploymentState::*;
        matches!(
            self,
            Complete
                | CompleteCancel
                | CompleteError
                | CompleteRevert
                | CompleteRevertError
                | Cancelled
        )
    }

    /// PlanetScale is working on it right now (checks, queue, schema changes, cutover, cancel or
    /// revert); poll soon.
    pub fn is_running(&self) -> bool {
        use DeploymentState::*;
        matches!(
            self,
            Pending
                | Queued
                | Submitting
                | InProgress
                | InProgressVschema
                | InProgressCancel
                | InProgressCutover
                | InProgressRevert
                | InProgressRevertVschema
        )
    }

    /// `POST …/deploy` is possible (checks passed).
    pub fn can_deploy(&self) -> bool {
        matches!(self, DeploymentState::Ready)
    }

    /// `POST …/cancel` is possible (queued, running, or waiting for cutover).
    pub fn can_cancel(&self) -> bool {
        use DeploymentState::*;
        matches!(
            self,
            Queued | Submitting | InProgress | InProgressVschema | PendingCutover
        )
    }

    /// `POST …/apply-deploy` (cutover) is awaited.
    pub fn is_awaiting_cutover(&self) -> bool {
        matches!(self, DeploymentState::PendingCutover)
    }

    /// `POST …/revert` and `POST …/skip-revert` are possible (the revert window is open).
    pub fn can_revert(&self) -> bool {
        matches!(self, DeploymentState::CompletePendingRevert)
    }

    /// The schema change is live on `into_branch` (possibly still revertible).
    pub fn is_deployed(&self) -> bool {
        matches!(
            self,
            DeploymentState::Complete | DeploymentState::CompletePendingRevert
        )
    }

    /// The deploy queue is blocked until `POST …/complete-deploy`.
    pub fn blocks_queue(&self) -> bool {
        matches!(
            self,
            DeploymentState::CompleteError | DeploymentState::CompleteRevertError
        )
    }

    /// Something failed: the deploy checks (`error`), the deploy or the revert.
    pub fn is_failed(&self) -> bool {
        use DeploymentState::*;
        matches!(self, Error | CompleteError | CompleteRevertError)
    }

    /// The state the pscale CLI treats as success when waiting for a deploy.
    pub fn is_success(&self) -> bool {
        use DeploymentState::*;
        matches!(self, Complete | CompletePendingRevert | PendingCutover)
    }
}

string_enum! {
    /// State of one deploy operation (one DDL statement).
    OperationState {
        /// Not started.
        Pending = "pending",
        /// Queued.
        Queued = "queued",
        /// Running.
        InProgress = "in_progress",
        /// Done.
        Complete = "complete",
        /// Cancelled.
        Cancelled = "cancelled",
        /// Failed.
        Error = "error",
    }
}

/// One schema change of a deployment.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DeployOperation {
    /// Operation id.
    #[serde(default, deserialize_with = "or_default")]
    pub id: String,
    /// State.
    #[serde(default)]
    pub state: Option<OperationState>,
    /// Keyspace.
    #[serde(default)]
    pub keyspace_name: Option<String>,
    /// Table.
    #[serde(default)]
    pub table_name: Option<String>,
    /// `ALTER`, `CREATE` or `DROP`.
    #[serde(default)]
    pub operation_name: Option<String>,
    /// The DDL statement.
    #[serde(default)]
    pub ddl_statement: Option<String>,
    /// Estimated seconds left.
    #[serde(default)]
    pub eta_seconds: Option<f64>,
    /// Progress in percent.
    #[serde(default)]
    pub progress_percentage: Option<f64>,
    /// Whether the change can drop data.
    #[serde(default)]
    pub can_drop_data: Option<bool>,
    /// Error text, if it failed.
    #[serde(default)]
    pub deploy_errors: Option<String>,
    /// Creation time.
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
    /// Last update.
    #[serde(default)]
    pub updated_at: Option<DateTime<Utc>>,
}

/// The deployment of a deploy request (also the items of the deploy queue).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Deployment {
    /// Deployment id.
    #[serde(default, deserialize_with = "or_default")]
    pub id: String,
    /// State.
    #[serde(default)]
    pub state: Option<DeploymentState>,
    /// Whether checks passed and it can be deployed.
    #[serde(default, deserialize_with = "or_default")]
    pub deployable: bool,
    /// Auto-apply: cut over without waiting for `apply-deploy`.
    #[serde(default, deserialize_with = "or_default")]
    pub auto_cutover: bool,
    /// Delete the branch after deploying.
    #[serde(default, deserialize_with = "or_default")]
    pub auto_delete_branch: bool,
    /// Target branch.
    #[serde(default)]
    pub into_branch: Option<String>,
    /// Number of the deploy request.
    #[serde(default)]
    pub deploy_request_number: Option<u64>,
    /// Whether it deploys with instant DDL (cannot be reverted or gated).
    #[serde(default)]
    pub instant_ddl: Option<bool>,
    /// Deploy check errors (`error` state).
    #[serde(default)]
    pub deploy_check_errors: Option<String>,
    /// Lint errors preventing the deployment.
    #[serde(default, deserialize_with = "or_default")]
    pub lint_errors: Vec<Value>,
    /// Deployments ahead of this one in the queue.
    #[serde(default, deserialize_with = "or_default")]
    pub preceding_deployments: Vec<Value>,
    /// Schema changes.
    #[serde(default, deserialize_with = "or_default")]
    pub deploy_operations: Vec<DeployOperation>,
    /// Whether the queue is paused.
    #[serde(default)]
    pub queue_paused: Option<bool>,
    /// Why the queue is paused.
    #[serde(default)]
    pub queue_pause_reason: Option<String>,
    /// Whether a table lock delays the cutover.
    #[serde(default)]
    pub table_locked: Option<bool>,
    /// Who deployed.
    #[serde(default)]
    pub actor: Option<Actor>,
    /// Timestamps of the stages.
    #[serde(flatten)]
    pub times: DeploymentTimes,
}

/// When a deployment reached each stage (all optional).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DeploymentTimes {
    /// Created.
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
    /// Last update.
    #[serde(default)]
    pub updated_at: Option<DateTime<Utc>>,
    /// Queued.
    #[serde(default)]
    pub queued_at: Option<DateTime<Utc>>,
    /// Submitted.
    #[serde(default)]
    pub submitted_at: Option<DateTime<Utc>>,
    /// Started.
    #[serde(default)]
    pub started_at: Option<DateTime<Utc>>,
    /// Ready for cutover.
    #[serde(default)]
    pub ready_to_cutover_at: Option<DateTime<Utc>>,
    /// Cut over.
    #[serde(default)]
    pub cutover_at: Option<DateTime<Utc>>,
    /// Finished.
    #[serde(default)]
    pub finished_at: Option<DateTime<Utc>>,
}

#[cfg(test)]
#[path = "deployment_tests.rs"]
mod tests;
