use super::*;
use serde_json::json;

fn dr(state: &str, deployment: serde_json::Value) -> DeployRequest {
    let mut v = json!({
        "id": "dr1", "number": 7, "state": "open", "deployment_state": state,
        "approved": false, "branch": "feature", "into_branch": "main",
        "deployed_at": "2024-01-01T10:00:00Z",
    });
    v["deployment"] = deployment;
    serde_json::from_value(v).unwrap()
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

#[test]
fn the_approval_rule_is_read_where_it_decides_and_recorded_elsewhere() {
    use crate::crd::conditions::new_condition;
    // Read from PlanetScale: open and ready, the pass that may queue the deploy.
    assert!(decides_on_approval(&dr("ready", json!({}))));
    for state in [
        "pending",
        "queued",
        "in_progress",
        "complete_pending_revert",
    ] {
        assert!(!decides_on_approval(&dr(state, json!({}))), "{state}");
    }
    let mut closed = dr("ready", json!({}));
    closed.state = Some(DeployRequestState::Closed);
    assert!(!decides_on_approval(&closed));
    // Elsewhere the last status says, through its Approved condition.
    let with = |reason: &str| DeployRequestStatus {
        conditions: vec![new_condition(
            condition::APPROVED,
            reason == reason::APPROVAL_NOT_REQUIRED,
            reason,
            "",
            crate::time::now(),
        )],
        ..Default::default()
    };
    assert_eq!(
        recorded_approval_required(&DeployRequestStatus::default()),
        None
    );
    assert_eq!(
        recorded_approval_required(&with(reason::APPROVAL_NOT_REQUIRED)),
        Some(false)
    );
    assert_eq!(
        recorded_approval_required(&with(reason::AWAITING_APPROVAL)),
        Some(true)
    );
    assert_eq!(
        recorded_approval_required(&with(reason::APPROVAL_RESET)),
        Some(true)
    );
    assert_eq!(
        recorded_approval_required(&with(reason::APPROVED)),
        None,
        "read again"
    );
}
