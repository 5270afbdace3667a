//! What PlanetScale says about a deploy request, reduced to what the plan and the status need
//! (pure: built from the API objects, unit-tested without a network).
use chrono::{DateTime, Duration, Utc};
use planetscale_api::models::{DeployRequest, DeployRequestState, DeploymentState};

use crate::crd::DeployRequestStatus;
use crate::crd::deploy_request::{condition, reason};

/// How long PlanetScale keeps the revert window open after a deploy.
pub const REVERT_WINDOW: Duration = Duration::minutes(30);

/// The facts of one deploy request at one moment.
#[derive(Clone, Debug, PartialEq)]
pub struct Facts {
    /// Per-database number.
    pub number: u64,
    /// Source branch.
    pub branch: String,
    /// Target branch.
    pub into: String,
    /// `deployment_state`.
    pub state: DeploymentState,
    /// The deploy request is open (PlanetScale closes it after a deploy, or a user closed it).
    pub open: bool,
    /// The checks passed and the deploy can be queued.
    pub deployable: bool,
    /// An approving review is on the request.
    pub approved: bool,
    /// The database requires an approval before a deploy.
    pub approval_required: bool,
    /// An earlier approval was dismissed by a schema change and not given again.
    pub approval_reset: bool,
    /// Auto-apply (cut over without `apply-deploy`).
    pub auto_cutover: bool,
    /// Deployed with instant DDL (no revert window).
    pub instant: bool,
    /// Deploy check errors (`error` state).
    pub check_errors: Option<String>,
    /// Errors of the deploy itself (`complete_error`, `complete_revert_error`).
    pub deploy_errors: Option<String>,
    /// Number of lint errors.
    pub lint_count: usize,
    /// Number of tables the change touches.
    pub table_count: usize,
    /// Tables whose operation is complete (while deploying).
    pub tables_done: usize,
    /// 1 + the deploys ahead in the queue, while queued.
    pub queue_position: Option<i32>,
    /// The queue of `into` is blocked by an errored deploy (with its number, when known).
    pub queue_blocked: Option<Option<u64>>,
    /// When the change was applied.
    pub deployed_at: Option<DateTime<Utc>>,
    /// Link to the request in the dashboard.
    pub html_url: Option<String>,
}

impl Facts {
    /// Facts of `dr`. `approval_required` comes from the database; `approved_before` is
    /// whether the last status recorded an approval (or an approval reset) that `dr` no longer
    /// has.
    pub fn new(dr: &DeployRequest, approval_required: bool, approved_before: bool) -> Self {
        let d = dr.deployment.clone().unwrap_or_default();
        let state = dr
            .deployment_state
            .clone()
            .or(d.state.clone())
            .unwrap_or_else(|| DeploymentState::Unknown(String::new()));
        let queued = state == DeploymentState::Queued;
        let deploy_errors = d
            .deploy_operations
            .iter()
            .find_map(|op| op.deploy_errors.clone().filter(|e| !e.is_empty()));
        let tables_done = d
            .deploy_operations
            .iter()
            .filter(|op| op.state.as_ref().is_some_and(|s| s.as_str() == "complete"))
            .count();
        let preceding = preceding(&d.preceding_deployments);
        Self {
            number: dr.number,
            branch: dr.branch.clone(),
            into: dr.into_branch.clone(),
            open: dr.state.as_ref() != Some(&DeployRequestState::Closed),
            deployable: d.deployable,
            approved: dr.approved,
            approval_required,
            approval_reset: approved_before && !dr.approved,
            auto_cutover: d.auto_cutover,
            instant: d.instant_ddl.unwrap_or(false),
            check_errors: d.deploy_check_errors.clone().filter(|e| !e.is_empty()),
            deploy_errors,
            lint_count: d.lint_errors.len(),
            table_count: d.deploy_operations.len(),
            tables_done,
            queue_position: queued.then(|| i32::try_from(preceding.len() + 1).unwrap_or(i32::MAX)),
            queue_blocked: queued
                .then(|| blocker(&preceding, d.queue_paused.unwrap_or(false)))
                .flatten(),
            deployed_at: dr
                .deployed_at
                .or(d.times.finished_at.filter(|_| state.is_deployed())),
            html_url: dr.html_url.clone(),
            state,
        }
    }

    /// When the revert window closes (or closed): only for deploys that have one.
    pub fn revert_window_ends_at(&self) -> Option<DateTime<Utc>> {
        use DeploymentState::*;
        let has_window = matches!(
            self.state,
            CompletePendingRevert
                | Complete
                | InProgressRevert
                | InProgressRevertVschema
                | CompleteRevert
                | CompleteRevertError
        );
        (has_window && !self.instant)
            .then(|| self.deployed_at.map(|t| t + REVERT_WINDOW))
            .flatten()
    }

    /// `#42` for messages.
    pub fn name(&self) -> String {
        format!("deploy request #{}", self.number)
    }
}

/// Whether the last status recorded an approval, or an approval reset still not made good: an
/// approval missing now was then dismissed (by a schema change).
pub fn approved_before(status: &DeployRequestStatus) -> bool {
    status.approved == Some(true)
        || status
            .conditions
            .iter()
            .any(|c| c.type_ == condition::APPROVED && c.reason == reason::APPROVAL_RESET)
}

/// `(number, state)` of the deployments ahead in the queue.
fn preceding(items: &[serde_json::Value]) -> Vec<(Option<u64>, String)> {
    items
        .iter()
        .map(|p| {
            let number = p.get("deploy_request_number").and_then(|n| n.as_u64());
            let state = p.get("state").and_then(|s| s.as_str()).unwrap_or_default();
            (number, state.to_string())
        })
        .collect()
}

/// The errored deploy that blocks the queue, if the queue is blocked.
fn blocker(preceding: &[(Option<u64>, String)], paused: bool) -> Option<Option<u64>> {
    let errored = preceding
        .iter()
        .find(|(_, s)| DeploymentState::from(s.as_str()).blocks_queue());
    match errored {
        Some((number, _)) => Some(*number),
        None if paused => Some(None),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn dr(state: &str, deployment: serde_json::Value) -> DeployRequest {
        serde_json::from_value(json!({
            "id": "dr1", "number": 7, "state": "open", "deployment_state": state,
            "approved": false, "branch": "feature", "into_branch": "main",
            "deployed_at": "2024-01-01T10:00:00Z", "deployment": deployment,
        }))
        .unwrap()
    }

    #[test]
    fn queue_position_counts_deploys_ahead_and_finds_the_blocker() {
        let d = json!({"state": "queued", "queue_paused": true, "preceding_deployments": [
            {"deploy_request_number": 3, "state": "complete_error"},
            {"deploy_request_number": 5, "state": "queued"}]});
        let f = Facts::new(&dr("queued", d), false, false);
        assert_eq!(f.queue_position, Some(3));
        assert_eq!(f.queue_blocked, Some(Some(3)));
    }

    #[test]
    fn not_queued_has_no_position_and_no_blocker() {
        let d = json!({"state": "ready", "queue_paused": true, "deployable": true});
        let f = Facts::new(&dr("ready", d), true, false);
        assert_eq!((f.queue_position, f.queue_blocked), (None, None));
        assert!(f.deployable && f.approval_required && f.open);
    }

    #[test]
    fn approval_reset_only_when_an_approval_went_away() {
        let f = Facts::new(&dr("pending", json!({})), true, true);
        assert!(f.approval_reset);
        let mut approved = dr("ready", json!({}));
        approved.approved = true;
        assert!(!Facts::new(&approved, true, true).approval_reset);
    }

    #[test]
    fn approved_before_remembers_an_approval_or_its_reset() {
        use crate::crd::conditions::new_condition;
        let mut status = DeployRequestStatus::default();
        assert!(!approved_before(&status));
        status.approved = Some(true);
        assert!(approved_before(&status));
        status.approved = Some(false);
        let reset = new_condition(
            condition::APPROVED,
            false,
            reason::APPROVAL_RESET,
            "",
            crate::time::now(),
        );
        status.conditions.push(reset);
        assert!(approved_before(&status), "sticky until approved again");
    }

    #[test]
    fn revert_window_is_thirty_minutes_after_the_deploy_unless_instant() {
        let f = Facts::new(&dr("complete_pending_revert", json!({})), false, false);
        let end = f.revert_window_ends_at().unwrap();
        assert_eq!(end.to_rfc3339(), "2024-01-01T10:30:00+00:00");
        let instant = Facts::new(&dr("complete", json!({"instant_ddl": true})), false, false);
        assert_eq!(instant.revert_window_ends_at(), None);
        let ready = Facts::new(&dr("ready", json!({})), false, false);
        assert_eq!(ready.revert_window_ends_at(), None);
    }

    #[test]
    fn deploy_errors_and_progress_come_from_operations() {
        let d = json!({"deploy_operations": [
            {"id": "o1", "state": "complete", "table_name": "a"},
            {"id": "o2", "state": "error", "table_name": "b", "deploy_errors": "boom"}]});
        let f = Facts::new(&dr("complete_error", d), false, false);
        assert_eq!(f.deploy_errors.as_deref(), Some("boom"));
        assert_eq!((f.table_count, f.tables_done), (2, 1));
    }
}
