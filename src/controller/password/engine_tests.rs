//! Engines: which fields each refuses, how a role looks to the steps, where the engine comes
//! from.
use planetscale_api::Secret;
use planetscale_api::models::{InheritedRole as ApiInherited, Role};
use serde_json::json;

use super::*;
use crate::crd::password_postgres::InheritedRole;

fn password(spec: serde_json::Value) -> PlanetScalePassword {
    let mut s = json!({"organization": "acme", "database": "ledger", "branch": "main"});
    let serde_json::Value::Object(spec) = spec else {
        panic!("spec object: {spec}")
    };
    s.as_object_mut().unwrap().extend(spec);
    serde_json::from_value(json!({
        "apiVersion": "planetscale.operator.dev/v1alpha1",
        "kind": "PlanetScalePassword",
        "metadata": {"name": "app", "namespace": "ns"},
        "spec": s,
    }))
    .unwrap()
}

fn refused(spec: serde_json::Value, engine: Engine) -> Option<String> {
    refused_field(&password(spec), engine).map(|e| {
        assert_eq!(e.reason(), FIELD_NOT_FOR_ENGINE);
        e.to_string()
    })
}

#[test]
fn vitess_only_fields_are_refused_on_postgres_by_name() {
    let replica = refused(json!({"replica": true}), Engine::Postgres).unwrap();
    assert!(replica.contains("spec.replica"), "{replica}");
    assert!(replica.contains("PostgreSQL"), "{replica}");
    let cidrs = refused(json!({"cidrs": ["10.0.0.0/8"]}), Engine::Postgres).unwrap();
    assert!(cidrs.contains("spec.cidrs"), "{cidrs}");
    assert_eq!(refused(json!({"cidrs": []}), Engine::Postgres), None);
    assert_eq!(
        refused(json!({"role": "admin", "ttl": "1h"}), Engine::Postgres),
        None
    );
    assert_eq!(
        refused(
            json!({"postgres": {"successor": "postgres"}}),
            Engine::Postgres
        ),
        None
    );
}

#[test]
fn the_postgres_block_is_refused_on_vitess() {
    let pg = refused(json!({"postgres": {}}), Engine::Mysql).unwrap();
    assert!(pg.contains("spec.postgres"), "{pg}");
    assert!(pg.contains("Vitess (MySQL)"), "{pg}");
    assert_eq!(
        refused(
            json!({"replica": true, "cidrs": ["10.0.0.0/8"]}),
            Engine::Mysql
        ),
        None
    );
}

#[test]
fn a_role_looks_like_a_password_with_its_role_mapped_back() {
    let role = Role {
        id: "r1".into(),
        name: "k8s-x-1".into(),
        username: Some("pscale_api_r1".into()),
        password: Some(Secret::new("pscale_pw_x")),
        access_host_url: Some("us-east.pg.psdb.cloud".into()),
        ttl: Some(3600),
        inherited_roles: vec![ApiInherited::PgWriteAllData, ApiInherited::PgReadAllData],
        ..Role::default()
    };
    let p = as_password(role);
    assert_eq!(p.id, "r1");
    assert_eq!(p.username.as_deref(), Some("pscale_api_r1"));
    assert_eq!(
        p.plain_text.as_ref().map(planetscale_api::Secret::expose),
        Some("pscale_pw_x")
    );
    assert_eq!(p.ttl_seconds, Some(3600));
    assert!(p.renewable);
    assert_eq!(
        p.role.as_ref().and_then(super::super::pass::crd_role),
        Some(PasswordRole::Readwriter)
    );
    assert!(!p.replica && p.cidrs.is_none());
}

#[test]
fn inherited_sets_of_their_own_map_to_no_role() {
    assert_eq!(
        role_of(&[InheritedRole::Postgres]),
        Some(PasswordRole::Admin)
    );
    assert_eq!(role_of(&[InheritedRole::PgMonitor]), None);
    assert_eq!(
        role_of(&[InheritedRole::PgReadAllData, InheritedRole::PgMonitor]),
        None
    );
}

#[test]
fn the_engine_is_recorded_for_its_branch_only() {
    let t = Target {
        organization: "acme".into(),
        database: "ledger".into(),
        branch: "main".into(),
        known_ready: true,
        kind: None,
    };
    let mut s = PlanetScalePasswordStatus {
        organization: Some("acme".into()),
        database: Some("ledger".into()),
        branch: Some("main".into()),
        ..Default::default()
    };
    assert_eq!(recorded(&s, &t), None, "nothing made yet: look it up");
    s.engine = Some("postgresql".into());
    assert_eq!(recorded(&s, &t), Some(Engine::Postgres));
    let other = Target {
        branch: "dev".into(),
        ..t.clone()
    };
    assert_eq!(recorded(&s, &other), None, "another branch: look it up");
    s.engine = None;
    s.password_id = Some("p1".into());
    assert_eq!(
        recorded(&s, &t),
        Some(Engine::Mysql),
        "made before engines were told apart"
    );
}
