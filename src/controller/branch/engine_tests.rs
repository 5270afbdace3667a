use planetscale_api::models::{Branch, Database, DatabaseKind};
use serde_json::json;

use super::*;
use crate::controller::branch::plan::{Decision, Facts, decide};

/// A spec of `acme/ledger` with `extra` merged in.
fn spec(mut extra: serde_json::Value) -> PlanetScaleBranchSpec {
    extra["database"] = json!("ledger");
    crate::controller::branch::plan::tests::spec(extra)
}

fn db(kind: DatabaseKind) -> Database {
    Database {
        name: "ledger".into(),
        kind: Some(kind),
        ready: true,
        default_branch: Some("main".into()),
        ..Database::default()
    }
}

fn decide_missing(spec: &PlanetScaleBranchSpec, database: &Database) -> Decision {
    let status = PlanetScaleBranchStatus::default();
    decide(&Facts {
        spec,
        name: "pitr",
        status: &status,
        branch: None,
        database: Some(database),
    })
}

#[test]
fn each_vitess_only_field_is_named_on_a_postgres_database() {
    for (field, value) in [
        ("seedData", json!("LastSuccessfulBackup")),
        ("safeMigrations", json!(true)),
        ("safeMigrations", json!(false)),
        ("production", json!(true)),
    ] {
        let s = spec(json!({ field: value }));
        let d = decide_missing(&s, &db(DatabaseKind::Postgresql));
        let Decision::Unsupported { fields, engine } = d else {
            panic!("{field}: {value}: expected a refusal, got {d:?}");
        };
        assert_eq!(fields, [format!("spec.{field}")], "{field}: {value}");
        assert_eq!(engine, Engine::Postgres);
    }
}

#[test]
fn each_postgres_only_field_is_named_on_a_vitess_database() {
    let s = spec(
        json!({"restoreFrom": {"pointInTime": "2026-01-01T00:00:00Z"},
        "majorVersion": "17"}),
    );
    let d = decide_missing(&s, &db(DatabaseKind::Mysql));
    let Decision::Unsupported { fields, engine } = d else {
        panic!("expected a refusal: {d:?}");
    };
    assert_eq!(fields, ["spec.restoreFrom", "spec.majorVersion"]);
    let message = unsupported(&fields, engine, "shop").to_string();
    assert!(
        message.contains("spec.restoreFrom, spec.majorVersion apply only to PostgreSQL")
            && message.contains("database shop is a Vitess (MySQL) database"),
        "{message}"
    );
}

#[test]
fn the_engine_of_an_existing_branch_is_its_own_kind() {
    let s = spec(json!({"safeMigrations": true}));
    let status = PlanetScaleBranchStatus {
        id: Some("b1".into()),
        kind: Some("mysql".into()),
        ..Default::default()
    };
    let branch = Branch {
        id: "b1".into(),
        kind: Some(DatabaseKind::Postgresql),
        ready: true,
        ..Branch::default()
    };
    let d = decide(&Facts {
        spec: &s,
        name: "pitr",
        status: &status,
        branch: Some(&branch),
        database: None,
    });
    assert!(
        matches!(
            d,
            Decision::Unsupported {
                engine: Engine::Postgres,
                ..
            }
        ),
        "{d:?}"
    );
    // An unknown engine refuses nothing (PlanetScale answers for itself).
    let unknown = Branch {
        kind: Some(DatabaseKind::Unknown("vector".into())),
        ..branch
    };
    let plain = PlanetScaleBranchStatus {
        kind: None,
        ..status
    };
    assert_eq!(Engine::known(Some(&unknown), None, &plain), None);
}

#[test]
fn a_postgres_create_carries_the_point_in_time_and_the_major_version() {
    let s = spec(
        json!({"restoreFrom": {"pointInTime": "2026-01-01T09:30:00Z"},
        "majorVersion": "17", "deletionProtected": true}),
    );
    let Decision::Create { body, .. } = decide_missing(&s, &db(DatabaseKind::Postgresql)) else {
        panic!("expected a create");
    };
    let CreateBody::Postgres(body) = body else {
        panic!("expected a PostgreSQL create: {body:?}");
    };
    assert_eq!(body.branch.parent_branch.as_deref(), Some("main"));
    assert_eq!(body.branch.deletion_protected, Some(true));
    assert_eq!(
        body.restore_point,
        Some("2026-01-01T09:30:00Z".parse().unwrap())
    );
    assert_eq!(body.major_version.as_deref(), Some("17"));
}

#[test]
fn a_plain_branch_of_either_engine_is_created_without_engine_fields() {
    let s = spec(json!({}));
    let Decision::Create { body, .. } = decide_missing(&s, &db(DatabaseKind::Mysql)) else {
        panic!("expected a create");
    };
    assert!(matches!(body, CreateBody::Vitess(_)), "{body:?}");
    let Decision::Create { body, .. } = decide_missing(&s, &db(DatabaseKind::Postgresql)) else {
        panic!("expected a create");
    };
    let CreateBody::Postgres(p) = &body else {
        panic!("{body:?}");
    };
    assert_eq!((p.restore_point, p.major_version.as_deref()), (None, None));
    assert_eq!(body.branch().name, "pitr");
}

#[test]
fn a_branch_never_created_is_checked_against_the_engine_before_its_create() {
    use crate::controller::branch::observe::Look;
    use crate::controller::branch::plan::{Step, plan};
    let obj = |spec_json| crate::crd::branch::PlanetScaleBranch::new("dev", spec(spec_json));
    let seeded = obj(json!({"seedData": "LastSuccessfulBackup"}));
    let postgres = Look::New {
        engine: Some(Engine::Postgres),
    };
    let p = plan(&seeded, &postgres);
    assert_eq!(
        p.steps,
        [Step::Unsupported {
            fields: vec!["spec.seedData"],
            engine: Engine::Postgres
        }]
    );
    assert!(
        crate::controller::branch::plan::intent(&seeded, &p).is_none(),
        "no intent: nothing is created"
    );
    let p = plan(&obj(json!({"majorVersion": "17"})), &postgres);
    let [
        Step::Create {
            body: CreateBody::Postgres(body),
            recreate: false,
            ..
        },
    ] = p.steps.as_slice()
    else {
        panic!("a PostgreSQL create: {p:?}");
    };
    assert_eq!(body.major_version.as_deref(), Some("17"));
    // An unknown engine leaves the refusal to PlanetScale.
    let p = plan(&seeded, &Look::New { engine: None });
    assert!(matches!(p.steps.as_slice(), [Step::Create { .. }]), "{p:?}");
}
