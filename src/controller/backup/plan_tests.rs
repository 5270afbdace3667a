//! The backup plan as a table of cases: what was seen → the steps.
use planetscale_api::models::{Backup, BackupState};
use serde_json::json;

use super::*;

// Takes `json!(..)` literals by value so that call sites stay one line each.
#[allow(clippy::needless_pass_by_value)]
fn obj(spec: serde_json::Value, status: serde_json::Value) -> PlanetScaleBackup {
    let mut s = json!({"organization": "acme", "database": "shop", "branch": "main"});
    s.as_object_mut()
        .unwrap()
        .extend(spec.as_object().unwrap().clone());
    serde_json::from_value(json!({
        "apiVersion": "planetscale.operator.dev/v1alpha1", "kind": "PlanetScaleBackup",
        "metadata": {"name": "nightly", "namespace": "ns", "generation": 1},
        "spec": s, "status": status,
    }))
    .unwrap()
}

fn backup(id: &str, state: BackupState) -> Backup {
    Backup {
        id: id.into(),
        name: "nightly".into(),
        state: Some(state),
        protected: Some(false),
        ..Backup::default()
    }
}

fn kinds(p: &Plan<Step>) -> Vec<&'static str> {
    p.steps
        .iter()
        .map(|s| match s {
            Step::Create(_) => "create",
            Step::Missing { taken: true } => "gone",
            Step::Missing { taken: false } => "no-such-id",
            Step::Record(None) => "record",
            Step::Record(Some(Claim::Adopt)) => "adopt",
            Step::Record(Some(Claim::Observe)) => "observe",
            Step::Record(Some(Claim::Record)) => "record-unrecorded",
            Step::Protect(_) => "protect",
        })
        .collect()
}

/// (name, spec patch, status, what PlanetScale has, the steps).
type Case = (
    &'static str,
    serde_json::Value,
    serde_json::Value,
    Option<Backup>,
    Vec<&'static str>,
);

#[test]
fn cases() {
    use BackupState::{Running, Success};
    let ours = json!({"id": "k1"});
    let none = json!({});
    let adopt = json!({"backupId": "k9"});
    let observe = json!({"backupId": "k9", "managementPolicy": "Observe"});
    let cases: Vec<Case> = vec![
        ("new", json!({}), none.clone(), None, vec!["create"]),
        (
            "crashed before the create reached PlanetScale",
            json!({}),
            json!({"createRequestedAt": "2026-01-01T00:00:00Z"}),
            None,
            vec!["create"],
        ),
        (
            "expired or deleted: never retaken",
            json!({}),
            ours.clone(),
            None,
            vec!["gone"],
        ),
        (
            "no backup with that id",
            adopt.clone(),
            none.clone(),
            None,
            vec!["no-such-id"],
        ),
        (
            "found after a crash",
            json!({}),
            json!({"createRequestedAt": "2026-01-01T00:00:00Z"}),
            Some(backup("k1", Running)),
            vec!["record-unrecorded"],
        ),
        (
            "running",
            json!({}),
            ours.clone(),
            Some(backup("k1", Running)),
            vec!["record"],
        ),
        (
            "adopt",
            adopt,
            none.clone(),
            Some(backup("k9", Success)),
            vec!["adopt"],
        ),
        (
            "observe",
            observe.clone(),
            none,
            Some(backup("k9", Success)),
            vec!["observe"],
        ),
        (
            "protect",
            json!({"protected": true}),
            ours.clone(),
            Some(backup("k1", Success)),
            vec!["record", "protect"],
        ),
        (
            "protection in line",
            json!({"protected": false}),
            ours,
            Some(backup("k1", Success)),
            vec!["record"],
        ),
    ];
    for (name, spec, status, seen, want) in cases {
        let p = plan(&obj(spec, status), seen.as_ref());
        assert_eq!(kinds(&p), want, "case {name}");
    }
}

#[test]
fn unfinished_backups_are_looked_at_again_soon_finished_ones_at_the_resync() {
    let o = obj(json!({}), json!({"id": "k1"}));
    let running = plan(&o, Some(&backup("k1", BackupState::Pending)));
    assert_eq!(running.requeue, Some(PENDING_WAIT));
    let done = plan(&o, Some(&backup("k1", BackupState::Success)));
    assert_eq!(done.requeue, None);
}

#[test]
fn the_create_body_carries_name_and_retention() {
    let o = obj(
        json!({"backupName": "before-migration", "retention": {"value": 7, "unit": "day"}}),
        json!({}),
    );
    let body = create_body(&o);
    let v = serde_json::to_value(&body).unwrap();
    assert_eq!(
        v,
        json!({"name": "before-migration", "retention_unit": "day", "retention_value": 7})
    );
    assert!(!usable(None) && usable(Some(&BackupState::Success)));
}
