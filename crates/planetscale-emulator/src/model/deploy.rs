//! Deploy request data: the request, its deployment and its operations.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Actor, PreviousTables};
use crate::schema::{Change, Lint};

/// All 20 `deployment_state` values of the real API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum DeployState {
    Pending,
    Ready,
    NoChanges,
    Queued,
    Submitting,
    InProgress,
    PendingCutover,
    InProgressVschema,
    InProgressCancel,
    InProgressCutover,
    Complete,
    CompleteCancel,
    CompleteError,
    CompletePendingRevert,
    InProgressRevert,
    InProgressRevertVschema,
    CompleteRevert,
    CompleteRevertError,
    Cancelled,
    Error,
}

impl DeployState {
    /// The wire name, e.g. `complete_pending_revert`.
    pub fn as_str(self) -> &'static str {
        use DeployState::*;
        match self {
            Pending => "pending",
            Ready => "ready",
            NoChanges => "no_changes",
            Queued => "queued",
            Submitting => "submitting",
            InProgress => "in_progress",
            PendingCutover => "pending_cutover",
            InProgressVschema => "in_progress_vschema",
            InProgressCancel => "in_progress_cancel",
            InProgressCutover => "in_progress_cutover",
            Complete => "complete",
            CompleteCancel => "complete_cancel",
            CompleteError => "complete_error",
            CompletePendingRevert => "complete_pending_revert",
            InProgressRevert => "in_progress_revert",
            InProgressRevertVschema => "in_progress_revert_vschema",
            CompleteRevert => "complete_revert",
            CompleteRevertError => "complete_revert_error",
            Cancelled => "cancelled",
            Error => "error",
        }
    }

    /// States that occupy the target branch's serial deploy queue.
    pub fn holds_queue(self) -> bool {
        use DeployState::*;
        matches!(
            self,
            Submitting
                | InProgress
                | InProgressVschema
                | PendingCutover
                | InProgressCutover
                | InProgressCancel
                | CompleteError
                | CompleteRevertError
                | InProgressRevert
                | InProgressRevertVschema
        )
    }

    /// States from which the deploy can be queued again.
    pub fn deployable(self) -> bool {
        matches!(self, Self::Ready | Self::Cancelled | Self::CompleteCancel)
    }

    /// States of a deploy that is running (cannot be closed).
    pub fn running(self) -> bool {
        use DeployState::*;
        matches!(
            self,
            Submitting
                | InProgress
                | InProgressVschema
                | PendingCutover
                | InProgressCutover
                | InProgressCancel
                | InProgressRevert
                | InProgressRevertVschema
        )
    }
}

/// A review (comment or approval).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Review {
    /// Public id.
    pub id: String,
    /// `commented` or `approved`.
    pub state: String,
    /// Text.
    pub body: String,
    /// Reviewer.
    pub actor: Actor,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

/// One operation (table change) of a deployment.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeployOp {
    /// Public id.
    pub id: String,
    /// The change.
    pub change: Change,
    /// Error text when the deploy failed.
    pub deploy_errors: Option<String>,
}

/// The deployment of a deploy request.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct Deployment {
    pub id: String,
    pub state: DeployState,
    pub auto_cutover: bool,
    pub auto_delete_branch: bool,
    pub instant_ddl: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub queued_at: Option<DateTime<Utc>>,
    pub submitted_at: Option<DateTime<Utc>>,
    pub started_at: Option<DateTime<Utc>>,
    pub ready_to_cutover_at: Option<DateTime<Utc>>,
    pub cutover_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub force_cutover_requested_at: Option<DateTime<Utc>>,
    pub deploy_check_errors: Option<String>,
    pub lint_errors: Vec<Lint>,
    pub operations: Vec<DeployOp>,
    /// Due time of the next automatic transition.
    pub next_at: Option<DateTime<Utc>>,
    /// Error injected through the admin API, raised at the next deploy step.
    pub injected_error: Option<String>,
    /// Statements of the touched target tables before the deploy (for revert).
    pub previous_tables: PreviousTables,
    pub actor: Option<Actor>,
    pub cutover_actor: Option<Actor>,
    pub cancelled_actor: Option<Actor>,
}

/// A deploy request.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct DeployRequest {
    pub id: String,
    pub number: u64,
    pub db_id: String,
    pub branch_id: String,
    pub branch: String,
    pub into_branch_id: String,
    pub into_branch: String,
    pub actor: Actor,
    /// `open` or `closed`.
    pub state: String,
    pub approved: bool,
    pub notes: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub closed_by: Option<Actor>,
    pub deployed_at: Option<DateTime<Utc>>,
    pub branch_deleted: bool,
    pub branch_deleted_at: Option<DateTime<Utc>>,
    pub branch_deleted_by: Option<Actor>,
    pub reviews: Vec<Review>,
    pub deployment: Deployment,
}

impl DeployRequest {
    /// Whether the request is still open.
    pub fn is_open(&self) -> bool {
        self.state == "open"
    }
}
