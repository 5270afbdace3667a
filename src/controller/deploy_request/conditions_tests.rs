use planetscale_api::models::DeploymentState;

use super::*;
use crate::controller::deploy_request::plan::Step;
use crate::controller::deploy_request::test_support::{facts, spec};

fn find<'a>(cs: &'a [Cond], type_: &str) -> &'a Cond {
    cs.iter().find(|c| c.type_ == type_).expect(type_)
}

fn true_types(cs: &[Cond]) -> Vec<&'static str> {
    cs.iter()
        .filter(|c| c.status == True && c.type_ != READY)
        .map(|c| c.type_)
        .collect()
}

const CP: &str = c::CHECKS_PASSED;
const AP: &str = c::APPROVED;

/// (state, Ready status, Ready reason, the specific conditions that are True) with
/// `deploy: true` on a database without required approval.
const TABLE: &[(&str, bool, &str, &[&str])] = &[
    ("pending", false, r::CHECKS_RUNNING, &[AP]),
    ("ready", false, r::QUEUED, &[CP, AP]),
    ("no_changes", true, r::NO_CHANGES, &[CP, AP]),
    ("queued", false, r::QUEUED, &[CP, AP, c::QUEUED]),
    ("submitting", false, r::DEPLOYING, &[CP, AP, c::DEPLOYING]),
    ("in_progress", false, r::DEPLOYING, &[CP, AP, c::DEPLOYING]),
    (
        "pending_cutover",
        false,
        r::AWAITING_CUTOVER,
        &[CP, AP, c::AWAITING_CUTOVER],
    ),
    (
        "in_progress_vschema",
        false,
        r::DEPLOYING,
        &[CP, AP, c::DEPLOYING],
    ),
    (
        "in_progress_cancel",
        false,
        r::CANCELLED,
        &[CP, AP, c::DEPLOYING],
    ),
    (
        "in_progress_cutover",
        false,
        r::DEPLOYING,
        &[CP, AP, c::DEPLOYING],
    ),
    ("complete", true, r::DEPLOYED, &[CP, AP, c::DEPLOYED]),
    ("complete_cancel", false, r::CANCELLED, &[CP, AP]),
    (
        "complete_error",
        false,
        r::DEPLOY_FAILED,
        &[CP, AP, c::FAILED],
    ),
    (
        "complete_pending_revert",
        true,
        r::DEPLOYED,
        &[CP, AP, c::DEPLOYED, c::REVERT_WINDOW_OPEN],
    ),
    (
        "in_progress_revert",
        false,
        r::REVERTED,
        &[CP, AP, c::DEPLOYING, c::DEPLOYED],
    ),
    (
        "in_progress_revert_vschema",
        false,
        r::REVERTED,
        &[CP, AP, c::DEPLOYING, c::DEPLOYED],
    ),
    ("complete_revert", false, r::REVERTED, &[CP, AP]),
    (
        "complete_revert_error",
        false,
        r::REVERT_FAILED,
        &[CP, AP, c::FAILED],
    ),
    ("cancelled", false, r::CANCELLED, &[CP, AP]),
    ("error", false, r::CHECKS_FAILED, &[AP, c::FAILED]),
];

#[test]
fn all_twenty_states_map_to_conditions() {
    assert_eq!(TABLE.len(), DeploymentState::KNOWN.len());
    for (state, ready, reason, trues) in TABLE {
        let cs = conditions(&spec("deploy"), &facts(state), None, None);
        assert_eq!(cs.len(), 9, "{state}");
        let r = find(&cs, READY);
        assert_eq!(r.status, ConditionStatus::from(*ready), "{state}: {r:?}");
        assert_eq!(r.reason, *reason, "{state}");
        assert!(!r.message.is_empty(), "{state}");
        assert_eq!(true_types(&cs), trues.to_vec(), "{state}");
    }
}

#[test]
fn deploy_false_is_ready_once_checks_pass() {
    let ready =
        |state: &str| find(&conditions(&spec(""), &facts(state), None, None), READY).clone();
    assert_eq!(ready("pending").status, False);
    assert_eq!(ready("ready").status, True);
    assert_eq!(ready("ready").reason, r::CHECKS_PASSED);
    assert!(ready("ready").message.contains("set deploy: true"));
    assert_eq!(ready("no_changes").status, True);
    assert_eq!(ready("error").reason, r::CHECKS_FAILED);
}

#[test]
fn gated_deploy_waits_for_cutover_and_says_how() {
    let cs = conditions(&spec("deploy gated"), &facts("pending_cutover"), None, None);
    let ready = find(&cs, READY);
    assert_eq!((ready.status, ready.reason), (False, r::AWAITING_CUTOVER));
    assert!(ready.message.contains("set cutover: true"), "{ready:?}");
    let cs = conditions(
        &spec("deploy gated cutover"),
        &facts("pending_cutover"),
        None,
        None,
    );
    assert!(find(&cs, READY).message.contains("cutting over"));
}

#[test]
fn revert_mode_is_ready_when_reverted() {
    let ready = |state: &str| {
        find(
            &conditions(&spec("deploy revert"), &facts(state), None, None),
            READY,
        )
        .clone()
    };
    assert_eq!(
        (
            ready("complete_revert").status,
            ready("complete_revert").reason
        ),
        (True, r::REVERTED)
    );
    assert_eq!(
        (
            ready("in_progress_revert").status,
            ready("in_progress_revert").reason
        ),
        (False, r::REVERTING)
    );
}

#[test]
fn missing_approval_and_reset_approval_are_explained() {
    let mut f = facts("ready");
    f.approval_required = true;
    let cs = conditions(&spec("deploy"), &f, None, None);
    assert_eq!(find(&cs, AP).reason, r::AWAITING_APPROVAL);
    assert_eq!(find(&cs, READY).reason, r::AWAITING_APPROVAL);
    assert!(find(&cs, AP).message.contains("approval.credentialsRef"));
    f.approval_reset = true;
    f.state = DeploymentState::Pending;
    let cs = conditions(&spec("deploy"), &f, None, None);
    assert_eq!(find(&cs, AP).reason, r::APPROVAL_RESET);
    assert!(
        find(&cs, AP)
            .message
            .contains("schema of branch feature changed")
    );
}

#[test]
fn blocked_queue_names_the_blocker_and_what_unblocks_it() {
    let mut f = facts("queued");
    f.queue_blocked = Some(Some(3));
    f.queue_position = Some(2);
    let cs = conditions(&spec("deploy"), &f, None, None);
    let q = find(&cs, c::QUEUED);
    assert_eq!((q.status, q.reason), (True, r::QUEUE_BLOCKED));
    assert!(
        q.message.contains("deploy request #3") && q.message.contains("complete"),
        "{q:?}"
    );
    assert_eq!(find(&cs, READY).reason, r::QUEUE_BLOCKED);
}

#[test]
fn failed_deploy_says_it_blocks_the_queue() {
    let mut f = facts("complete_error");
    f.deploy_errors = Some("disk full".into());
    let cs = conditions(&spec("deploy"), &f, None, None);
    let failed = find(&cs, c::FAILED);
    assert!(
        failed.message.contains("disk full")
            && failed.message.contains("blocks the deploy queue of main")
    );
}

#[test]
fn refusal_and_step_errors_override_ready() {
    let f = facts("complete");
    let cs = conditions(&spec("deploy revert"), &f, Some("window closed"), None);
    let ready = find(&cs, READY);
    assert_eq!(
        (ready.status, ready.reason, ready.message.as_str()),
        (False, r::ACTION_NOT_ALLOWED, "window closed")
    );
    assert_eq!(
        find(&cs, c::DEPLOYED).status,
        True,
        "other conditions still tell the truth"
    );
    let e = StepError {
        step: Step::Approve,
        reason: r::APPROVAL_FAILED,
        message: "self".into(),
    };
    let cs = conditions(&spec("deploy approver"), &facts("ready"), None, Some(&e));
    assert_eq!(find(&cs, AP).reason, r::APPROVAL_FAILED);
    assert_eq!(find(&cs, READY).reason, r::APPROVAL_FAILED);
}

#[test]
fn closed_without_deploy_is_not_ready() {
    let mut f = facts("ready");
    f.open = false;
    let cs = conditions(&spec("deploy"), &f, None, None);
    assert_eq!(find(&cs, READY).reason, r::CLOSED);
}
