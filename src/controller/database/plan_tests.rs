//! The database plan as a table of cases: what was seen → the steps.
use planetscale_api::models::{Database, UpdateDatabase};
use serde_json::json;

use super::*;

// Takes `json!(..)` literals by value so that call sites stay one line each.
#[allow(clippy::needless_pass_by_value)]
fn obj(spec: serde_json::Value, status: serde_json::Value) -> PlanetScaleDatabase {
    let mut s = json!({"organization": "acme", "clusterSize": "PS_10"});
    s.as_object_mut()
        .unwrap()
        .extend(spec.as_object().unwrap().clone());
    serde_json::from_value(json!({
        "apiVersion": "planetscale.operator.dev/v1alpha1", "kind": "PlanetScaleDatabase",
        "metadata": {"name": "shop", "namespace": "ns", "generation": 1},
        "spec": s, "status": status,
    }))
    .unwrap()
}

fn db(id: &str, ready: bool) -> Database {
    Database {
        id: id.into(),
        name: "shop".into(),
        ready,
        require_approval_for_deploy: Some(false),
        deletion_protected: Some(false),
        default_branch: Some("main".into()),
        ..Database::default()
    }
}

fn kinds(p: &Plan<Step>) -> Vec<&'static str> {
    p.steps
        .iter()
        .map(|s| match s {
            Step::Create {
                recreate: false, ..
            } => "create",
            Step::Create { recreate: true, .. } => "recreate",
            Step::Refuse { .. } => "refuse",
            Step::Missing { observe: true } => "missing-observed",
            Step::Missing { observe: false } => "missing",
            Step::Record(None) => "record",
            Step::Record(Some(Claim::Adopt)) => "adopt",
            Step::Record(Some(Claim::Observe)) => "observe",
            Step::Record(Some(Claim::Record)) => "record-unrecorded",
            Step::AwaitDatabase => "await",
            Step::Update(_) => "update",
            Step::Policy(_) => "policy",
        })
        .collect()
}

/// (name, spec patch, status, what PlanetScale has, the steps).
type Case = (
    &'static str,
    serde_json::Value,
    serde_json::Value,
    Option<Database>,
    Vec<&'static str>,
);

#[test]
fn cases() {
    let ours = json!({"id": "d1"});
    let asked = json!({"createRequestedAt": "2026-01-01T00:00:00Z"});
    let none = json!({});
    let cases: Vec<Case> = vec![
        ("new", json!({}), none.clone(), None, vec!["create"]),
        (
            "deleted outside",
            json!({}),
            ours.clone(),
            None,
            vec!["recreate"],
        ),
        (
            "no size to create with",
            json!({"clusterSize": null, "adopt": true}),
            none.clone(),
            None,
            vec!["missing"],
        ),
        (
            "observed, missing",
            json!({"managementPolicy": "Observe"}),
            none.clone(),
            None,
            vec!["missing-observed"],
        ),
        (
            "foreign",
            json!({}),
            none.clone(),
            Some(db("d9", true)),
            vec!["refuse"],
        ),
        (
            "adopt",
            json!({"adopt": true}),
            none.clone(),
            Some(db("d9", true)),
            vec!["adopt"],
        ),
        (
            "observe",
            json!({"managementPolicy": "Observe"}),
            none.clone(),
            Some(db("d9", true)),
            vec!["observe"],
        ),
        (
            "observed before, observed now",
            json!({"managementPolicy": "Observe"}),
            json!({"id": "d9", "observedOnly": true}),
            Some(db("d9", true)),
            vec!["record"],
        ),
        (
            "observed before, managed without adopt",
            json!({}),
            json!({"id": "d9", "observedOnly": true}),
            Some(db("d9", true)),
            vec!["refuse"],
        ),
        (
            "observed before, managed with adopt",
            json!({"adopt": true}),
            json!({"id": "d9", "observedOnly": true}),
            Some(db("d9", true)),
            vec!["adopt"],
        ),
        (
            "crash after create",
            json!({}),
            asked,
            Some(db("d1", false)),
            vec!["record-unrecorded", "await"],
        ),
        (
            "pending",
            json!({}),
            ours.clone(),
            Some(db("d1", false)),
            vec!["record", "await"],
        ),
        (
            "ready",
            json!({}),
            ours.clone(),
            Some(db("d1", true)),
            vec!["record"],
        ),
        (
            "setting differs",
            json!({"settings": {"requireApprovalForDeploy": true}}),
            ours.clone(),
            Some(db("d1", true)),
            vec!["record", "update"],
        ),
        (
            "setting in line",
            json!({"settings": {"requireApprovalForDeploy": false}}),
            ours.clone(),
            Some(db("d1", true)),
            vec!["record"],
        ),
        (
            "observe never updates",
            json!({"managementPolicy": "Observe", "settings": {"requireApprovalForDeploy": true}}),
            json!({"id": "d1", "observedOnly": true}),
            Some(db("d1", true)),
            vec!["record"],
        ),
        (
            "a managed database switched to Observe",
            json!({"managementPolicy": "Observe"}),
            ours,
            Some(db("d1", true)),
            vec!["observe"],
        ),
    ];
    for (name, spec, status, seen, want) in cases {
        let p = plan(&obj(spec, status), seen.as_ref(), None);
        assert_eq!(kinds(&p), want, "case {name}");
    }
}

#[test]
fn pending_databases_are_looked_at_again_soon() {
    let p = plan(
        &obj(json!({}), json!({"id": "d1"})),
        Some(&db("d1", false)),
        None,
    );
    assert_eq!(p.requeue, Some(PENDING_WAIT));
}

#[test]
fn the_create_body_carries_engine_size_replicas_and_version() {
    let o = obj(
        json!({"databaseName": "ledger", "engine": "postgresql", "region": "aws-us-east-2",
               "replicas": 2, "postgresMajorVersion": "17"}),
        json!({}),
    );
    let p = plan(&o, None, None);
    let Step::Create { body, .. } = &p.steps[0] else {
        panic!("{p:?}")
    };
    assert_eq!(body.name, "ledger");
    assert_eq!(body.cluster_size, "PS_10");
    assert_eq!(body.replicas, Some(2));
    assert_eq!(body.region.as_deref(), Some("aws-us-east-2"));
    assert_eq!(body.major_version.as_deref(), Some("17"));
    assert_eq!(serde_json::to_value(body).unwrap()["kind"], "postgresql");
}

#[test]
fn only_the_settings_that_differ_are_sent() {
    let want: DatabaseSettings = serde_json::from_value(json!({
        "requireApprovalForDeploy": true, "deletionProtected": false,
        "defaultBranch": "main", "migrationFramework": "rails"
    }))
    .unwrap();
    let u = settings_update(&want, &db("d1", true));
    assert_eq!(
        u,
        UpdateDatabase {
            require_approval_for_deploy: Some(true),
            migration_framework: Some("rails".into()),
            ..UpdateDatabase::default()
        }
    );
    assert_eq!(
        changed(&u),
        ["requireApprovalForDeploy", "migrationFramework"]
    );
}

#[test]
fn backup_policies_are_planned_only_when_read_and_managed() {
    let spec = json!({"backupPolicies": [{"name": "nightly",
        "frequency": {"value": 1, "unit": "day"}, "retention": {"value": 7, "unit": "day"}}]});
    let ready = db("d1", true);
    let o = obj(spec, json!({"id": "d1"}));
    assert_eq!(
        kinds(&plan(&o, Some(&ready), Some(&[]))),
        ["record", "policy"]
    );
    assert_eq!(kinds(&plan(&o, Some(&ready), None)), ["record"], "not read");
    let pending = db("d1", false);
    assert_eq!(
        kinds(&plan(&o, Some(&pending), Some(&[]))),
        ["record", "await"],
        "a database not ready yet gets its policies later"
    );
}
