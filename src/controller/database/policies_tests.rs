//! The backup-policy plan as cases: spec, status and PlanetScale's list → the calls.
use planetscale_api::models::{BackupPolicy, FrequencyUnit, PolicyTarget, RetentionUnit};
use serde_json::json;

use super::*;

fn want(v: serde_json::Value) -> Vec<BackupPolicySpec> {
    serde_json::from_value(v).unwrap()
}

fn nightly() -> serde_json::Value {
    json!({"name": "nightly", "frequency": {"value": 1, "unit": "day"},
           "retention": {"value": 7, "unit": "day"}, "scheduleTime": "02:00"})
}

fn have(id: &str, name: &str, required: bool) -> BackupPolicy {
    BackupPolicy {
        id: id.into(),
        name: name.into(),
        target: Some(PolicyTarget::Production),
        retention_value: Some(7),
        retention_unit: Some(RetentionUnit::Day),
        frequency_value: Some(1),
        frequency_unit: Some(FrequencyUnit::Day),
        schedule_time: Some("02:00".into()),
        required: Some(required),
        ..BackupPolicy::default()
    }
}

fn recorded(name: &str, id: &str) -> BackupPolicyStatus {
    BackupPolicyStatus {
        name: name.into(),
        id: Some(id.into()),
        ..BackupPolicyStatus::default()
    }
}

#[test]
fn a_missing_policy_is_created_with_every_field() {
    let s = steps(&want(json!([nightly()])), &[], &[]);
    let [PolicyStep::Create(b)] = s.as_slice() else {
        panic!("{s:?}")
    };
    assert_eq!(
        serde_json::to_value(b).unwrap(),
        json!({"name": "nightly", "target": "production", "retention_value": 7,
               "retention_unit": "day", "frequency_value": 1, "frequency_unit": "day",
               "schedule_time": "02:00"})
    );
}

#[test]
fn a_policy_in_line_needs_nothing_and_a_changed_one_sends_only_the_change() {
    let w = want(json!([nightly()]));
    assert!(steps(&w, &[], &[have("p1", "nightly", false)]).is_empty());
    let mut h = have("p1", "nightly", false);
    h.retention_value = Some(3);
    h.schedule_day = Some(2);
    let s = steps(&w, &[], &[h]);
    let [PolicyStep::Update { id, body, .. }] = s.as_slice() else {
        panic!("{s:?}")
    };
    assert_eq!(id, "p1");
    assert_eq!(
        serde_json::to_value(body).unwrap(),
        json!({"retention_value": 7}),
        "an unset scheduleDay is left as it is"
    );
}

#[test]
fn only_recorded_policies_leave_with_the_spec_and_required_ones_are_released() {
    let others = [
        have("p1", "nightly", false),
        have("p2", "weekly", false),
        have("p3", "system", true),
    ];
    let rec = [recorded("nightly", "p1"), recorded("system", "p3")];
    let s = steps(&[], &rec, &others);
    assert_eq!(
        s,
        vec![
            PolicyStep::Delete {
                id: "p1".into(),
                name: "nightly".into()
            },
            PolicyStep::Release {
                name: "system".into()
            },
        ],
        "weekly was never ours: untouched"
    );
    assert!(
        steps(&[], &[recorded("gone", "p9")], &others).is_empty(),
        "already gone"
    );
}

#[test]
fn status_marks_taken_over_policies_and_keeps_times() {
    let w = want(
        json!([nightly(), {"name": "hourly", "frequency": {"value": 1, "unit": "hour"},
        "retention": {"value": 1, "unit": "day"}}]),
    );
    let mut h1 = have("p1", "nightly", false);
    h1.next_run_at = Some(chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap());
    let h2 = have("p2", "hourly", false);
    let s = status(&w, &[], &[h1, h2], &["hourly".to_string()]);
    assert_eq!(s.len(), 2);
    assert_eq!(s[0].adopted, Some(true), "nightly existed before");
    assert!(s[0].next_run_at.is_some());
    assert_eq!(s[1].adopted, Some(false), "hourly was created");
    assert_eq!(status(&w, &[], &[], &[]), vec![], "not there yet");
}

#[test]
fn a_policy_whose_deletion_failed_stays_recorded() {
    let rec = [recorded("nightly", "p1")];
    let s = status(&[], &rec, &[have("p1", "nightly", false)], &[]);
    assert_eq!(s.len(), 1, "still to delete");
    assert!(status(&[], &rec, &[], &[]).is_empty(), "deleted");
    let required = [have("p1", "nightly", true)];
    assert!(status(&[], &rec, &required, &[]).is_empty(), "released");
}
