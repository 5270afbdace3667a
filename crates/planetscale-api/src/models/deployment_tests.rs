use super::*;

#[test]
fn all_twenty_states_are_known_and_round_trip() {
    assert_eq!(DeploymentState::KNOWN.len(), 20);
    for state in DeploymentState::KNOWN {
        let parsed = DeploymentState::from(state.as_str());
        assert_eq!(&parsed, state);
        assert!(!parsed.is_unknown());
    }
}

/// (state, terminal, running, can_deploy, can_cancel, can_revert, deployed, blocks_queue, failed)
type Row = (&'static str, [bool; 8]);

const TABLE: &[Row] = &[
    (
        "pending",
        [false, true, false, false, false, false, false, false],
    ),
    (
        "ready",
        [false, false, true, false, false, false, false, false],
    ),
    (
        "no_changes",
        [false, false, false, false, false, false, false, false],
    ),
    (
        "queued",
        [false, true, false, true, false, false, false, false],
    ),
    (
        "submitting",
        [false, true, false, true, false, false, false, false],
    ),
    (
        "in_progress",
        [false, true, false, true, false, false, false, false],
    ),
    (
        "pending_cutover",
        [false, false, false, true, false, false, false, false],
    ),
    (
        "in_progress_vschema",
        [false, true, false, true, false, false, false, false],
    ),
    (
        "in_progress_cancel",
        [false, true, false, false, false, false, false, false],
    ),
    (
        "in_progress_cutover",
        [false, true, false, false, false, false, false, false],
    ),
    (
        "complete",
        [true, false, false, false, false, true, false, false],
    ),
    (
        "complete_cancel",
        [true, false, false, false, false, false, false, false],
    ),
    (
        "complete_error",
        [true, false, false, false, false, false, true, true],
    ),
    (
        "complete_pending_revert",
        [false, false, false, false, true, true, false, false],
    ),
    (
        "in_progress_revert",
        [false, true, false, false, false, false, false, false],
    ),
    (
        "in_progress_revert_vschema",
        [false, true, false, false, false, false, false, false],
    ),
    (
        "complete_revert",
        [true, false, false, false, false, false, false, false],
    ),
    (
        "complete_revert_error",
        [true, false, false, false, false, false, true, true],
    ),
    (
        "cancelled",
        [true, false, false, false, false, false, false, false],
    ),
    (
        "error",
        [false, false, false, false, false, false, false, true],
    ),
    (
        "some_future_state",
        [false, false, false, false, false, false, false, false],
    ),
];

#[test]
fn helper_predicates_match_the_state_machine() {
    assert_eq!(TABLE.len(), 21, "every state plus one unknown");
    for (name, expected) in TABLE {
        let s = DeploymentState::from(*name);
        let got = [
            s.is_terminal(),
            s.is_running(),
            s.can_deploy(),
            s.can_cancel(),
            s.can_revert(),
            s.is_deployed(),
            s.blocks_queue(),
            s.is_failed(),
        ];
        assert_eq!(&got, expected, "state {name}");
    }
    assert!(DeploymentState::PendingCutover.is_awaiting_cutover());
    assert!(DeploymentState::PendingCutover.is_success());
    assert!(!DeploymentState::CompleteRevert.is_success());
}

const DEPLOYMENT: &str = r#"{
  "id": "dep1", "type": "Deployment", "state": "in_progress", "deployable": true,
  "auto_cutover": false, "auto_delete_branch": null, "into_branch": "main",
  "deploy_request_number": 42, "instant_ddl": false, "instant_ddl_eligible": false,
  "deploy_check_errors": null, "lint_errors": [], "sequential_diff_dependencies": [],
  "lookup_vindex_operations": [], "preceding_deployments": null, "queue_paused": false,
  "queue_pause_reason": null, "table_locked": false, "locked_table_name": null,
  "created_at": "2023-10-25T16:54:12.879Z", "queued_at": "2023-10-25T16:55:00.000Z",
  "submitted_at": null, "started_at": "2023-10-25T16:55:02.000Z", "cutover_at": null,
  "finished_at": null, "ready_to_cutover_at": null, "force_cutover_requested_at": null,
  "deploy_operations": [{"id": "op1", "state": "in_progress", "keyspace_name": "shop",
    "table_name": "orders", "operation_name": "ALTER",
    "ddl_statement": "ALTER TABLE `orders` ADD INDEX `idx_created` (`created_at`)",
    "syntax_highlighted_ddl": "<pre/>", "eta_seconds": 12, "progress_percentage": 40.5,
    "can_drop_data": false, "table_locked": false, "deploy_errors": null,
    "created_at": "2023-10-25T16:55:00.000Z", "updated_at": null}],
  "deploy_operation_summaries": [], "throttler_configurations": null,
  "deployment_revert_request": null, "actor": {"id": "u1", "display_name": "Ada"},
  "cutover_actor": null, "cancelled_actor": null
}"#;

#[test]
fn real_shaped_deployment_decodes() {
    let d: Deployment = serde_json::from_str(DEPLOYMENT).unwrap();
    assert_eq!(d.state, Some(DeploymentState::InProgress));
    assert!(d.deployable && !d.auto_cutover && !d.auto_delete_branch);
    assert_eq!(d.deploy_request_number, Some(42));
    assert!(d.preceding_deployments.is_empty());
    assert_eq!(d.times.started_at.map(|t| t.timestamp()), Some(1698252902));
    let op = &d.deploy_operations[0];
    assert_eq!(op.state, Some(OperationState::InProgress));
    assert_eq!(op.eta_seconds, Some(12.0));
    assert_eq!(op.progress_percentage, Some(40.5));
}
