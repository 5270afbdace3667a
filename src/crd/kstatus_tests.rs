//! The kstatus conditions as a table, checked with kstatus' own rules ([`compute`]).
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::jiff::Timestamp;

use super::*;
use crate::crd::conditions::{READY, find_condition, new_condition, set_condition};

fn at(secs: i64) -> Time {
    Time(Timestamp::from_second(secs).unwrap())
}

fn with_ready(status: bool, reason: &str, generation: i64) -> Vec<Condition> {
    let mut cs = Vec::new();
    let c = new_condition(READY, status, reason, format!("{reason} message"), at(1));
    set_condition(&mut cs, c, Some(generation));
    cs
}

fn status_of(cs: &[Condition], t: &str) -> String {
    find_condition(cs, t)
        .map(|c| c.status.clone())
        .unwrap_or_default()
}

#[test]
fn table() {
    // (case, Ready status, Ready reason, terminal error reason, kstatus result)
    let cases = [
        ("ready", true, "Ready", None, Computed::Current),
        ("creating", false, "Progressing", None, Computed::InProgress),
        (
            "branch not ready",
            false,
            "BranchNotReady",
            None,
            Computed::InProgress,
        ),
        (
            "unauthorized",
            false,
            "Unauthorized",
            Some("Unauthorized"),
            Computed::Failed,
        ),
        (
            "already exists",
            false,
            "AlreadyExists",
            Some("AlreadyExists"),
            Computed::Failed,
        ),
        (
            "policy",
            false,
            "PolicyDenied",
            Some("PolicyDenied"),
            Computed::Failed,
        ),
        (
            "invalid",
            false,
            "InvalidSpec",
            Some("InvalidSpec"),
            Computed::Failed,
        ),
        (
            "checks failed",
            false,
            "ChecksFailed",
            None,
            Computed::Failed,
        ),
        (
            "deploy failed",
            false,
            "DeployFailed",
            None,
            Computed::Failed,
        ),
    ];
    for (case, ready, reason, terminal, expected) in cases {
        let mut cs = with_ready(ready, reason, 2);
        let terminal = terminal.map(|r| (r, "what to fix"));
        set_kstatus(&mut cs, Some(2), terminal, at(5));
        assert_eq!(compute(Some(2), Some(2), &cs), expected, "{case}: {cs:?}");
        let stalled = expected == Computed::Failed;
        let reconciling = expected == Computed::InProgress;
        assert_eq!(
            status_of(&cs, STALLED),
            if stalled { "True" } else { "False" },
            "{case}"
        );
        assert_eq!(
            status_of(&cs, RECONCILING),
            if reconciling { "True" } else { "False" },
            "{case}"
        );
        assert!(
            cs.iter().all(|c| c.observed_generation == Some(2)),
            "{case}"
        );
    }
}

#[test]
fn ready_for_an_older_generation_is_still_reconciling() {
    let mut cs = with_ready(true, "Ready", 1);
    set_kstatus(&mut cs, Some(2), None, at(5));
    assert_eq!(status_of(&cs, RECONCILING), "True");
    assert_eq!(compute(Some(2), Some(1), &cs), Computed::InProgress);
}

#[test]
fn a_stall_names_the_failure_and_clears_once_fixed() {
    let mut cs = with_ready(false, "PolicyDenied", 1);
    set_kstatus(&mut cs, Some(1), Some(("PolicyDenied", "no policy")), at(5));
    let stalled = find_condition(&cs, STALLED).unwrap();
    assert_eq!(
        (stalled.reason.as_str(), stalled.message.as_str()),
        ("PolicyDenied", "no policy")
    );
    let mut fixed = with_ready(true, "Ready", 1);
    fixed.extend(cs.into_iter().filter(|c| c.type_ != READY));
    set_kstatus(&mut fixed, Some(1), None, at(9));
    assert_eq!(compute(Some(1), Some(1), &fixed), Computed::Current);
    assert_eq!(
        find_condition(&fixed, STALLED)
            .unwrap()
            .last_transition_time,
        at(9)
    );
}

#[test]
fn compute_follows_kstatus_order() {
    // observedGeneration behind wins over everything.
    let mut cs = with_ready(false, "X", 1);
    set_kstatus(&mut cs, Some(1), Some(("X", "m")), at(1));
    assert_eq!(compute(Some(2), Some(1), &cs), Computed::InProgress);
    // No conditions at all, generation observed: Current (kstatus' default).
    assert_eq!(compute(Some(1), Some(1), &[]), Computed::Current);
}
