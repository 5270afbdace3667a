use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use planetscale_api::models::{Branch, Database};
use serde_json::json;

use super::*;
use crate::crd::branch::PlanetScaleBranch;

/// A spec of `acme/shop` with `extra` merged in.
pub(crate) fn spec(extra: serde_json::Value) -> PlanetScaleBranchSpec {
    let mut v = json!({"organization": "acme", "database": "shop"});
    let serde_json::Value::Object(extra) = extra else {
        panic!("spec fields: {extra}")
    };
    v.as_object_mut().unwrap().extend(extra);
    serde_json::from_value(v).unwrap()
}

fn db(ready: bool) -> Database {
    Database {
        name: "shop".into(),
        ready,
        default_branch: Some("main".into()),
        ..Default::default()
    }
}

fn branch(id: &str, ready: bool) -> Branch {
    Branch {
        id: id.into(),
        name: "pr-1".into(),
        ready,
        ..Default::default()
    }
}

fn status_with_id(id: Option<&str>) -> PlanetScaleBranchStatus {
    PlanetScaleBranchStatus {
        id: id.map(str::to_string),
        ..Default::default()
    }
}

fn observe<'a>(
    spec: &'a PlanetScaleBranchSpec,
    status: &'a PlanetScaleBranchStatus,
    branch: Option<&'a Branch>,
    database: Option<&'a Database>,
) -> Facts<'a> {
    Facts {
        spec,
        name: "pr-1",
        status,
        branch,
        database,
    }
}

#[test]
fn a_missing_branch_is_created_from_the_database_default_branch() {
    let (s, st, d) = (spec(json!({})), status_with_id(None), db(true));
    let Decision::Create { body, recreate } = decide(&observe(&s, &st, None, Some(&d))) else {
        panic!("expected a create");
    };
    assert!(!recreate);
    let CreateBody::Vitess(body) = body else {
        panic!("a database of unknown engine without PostgreSQL fields: {body:?}");
    };
    assert_eq!(body.name, "pr-1");
    assert_eq!(body.parent_branch.as_deref(), Some("main"));
    assert_eq!(
        (body.region, body.backup_id, body.seed_data),
        (None, None, None)
    );
}

#[test]
fn create_passes_parent_region_seed_and_protection_from_the_spec() {
    let s = spec(json!({"parentBranch": "dev", "region": "aws-eu-west-1",
        "seedData": "LastSuccessfulBackup", "deletionProtected": true}));
    let body = create_body(&s, "pr-1", Some("main".into()));
    assert_eq!(body.parent_branch.as_deref(), Some("dev"));
    assert_eq!(body.region.as_deref(), Some("aws-eu-west-1"));
    assert_eq!(body.seed_data.as_deref(), Some("last_successful_backup"));
    assert_eq!(body.deletion_protected, Some(true));
    let s = spec(json!({"backupId": "bk1", "clusterSize": "PS_10"}));
    let body = create_body(&s, "pr-1", Some("main".into()));
    assert_eq!(
        (body.backup_id.as_deref(), body.cluster_size.as_deref()),
        (Some("bk1"), Some("PS_10"))
    );
}

#[test]
fn a_missing_branch_waits_for_an_initializing_database() {
    let (s, st, d) = (spec(json!({})), status_with_id(None), db(false));
    assert_eq!(
        decide(&observe(&s, &st, None, Some(&d))),
        Decision::WaitForDatabase
    );
}

#[test]
fn a_branch_deleted_outside_is_recreated() {
    let (s, st, d) = (spec(json!({})), status_with_id(Some("old")), db(true));
    let p = decide(&observe(&s, &st, None, Some(&d)));
    assert!(
        matches!(p, Decision::Create { recreate: true, .. }),
        "{p:?}"
    );
}

#[test]
fn our_branch_is_synced_without_a_claim() {
    let (s, st, b) = (
        spec(json!({})),
        status_with_id(Some("b1")),
        branch("b1", true),
    );
    let p = decide(&observe(&s, &st, Some(&b), None));
    assert_eq!(
        p,
        Decision::Sync {
            claim: None,
            ready: true,
            fixes: vec![]
        }
    );
}

#[test]
fn a_foreign_branch_is_refused_without_adopt_and_adopted_with_it() {
    let st = status_with_id(None);
    let b = branch("theirs", true);
    let s = spec(json!({}));
    assert_eq!(
        decide(&observe(&s, &st, Some(&b), None)),
        Decision::Refuse {
            existing_id: "theirs".into()
        }
    );
    let s = spec(json!({"adopt": true}));
    let p = decide(&observe(&s, &st, Some(&b), None));
    assert!(
        matches!(
            p,
            Decision::Sync {
                claim: Some(Claim::Adopt),
                ..
            }
        ),
        "{p:?}"
    );
}

#[test]
fn a_branch_replaced_outside_under_the_same_name_is_foreign() {
    let (s, st, b) = (
        spec(json!({})),
        status_with_id(Some("old")),
        branch("new", true),
    );
    assert!(matches!(
        decide(&observe(&s, &st, Some(&b), None)),
        Decision::Refuse { .. }
    ));
}

#[test]
fn a_branch_found_after_a_create_whose_id_was_not_recorded_is_ours() {
    let s = spec(json!({}));
    let st = PlanetScaleBranchStatus {
        create_requested_at: Some(Time(Timestamp::from_second(1).unwrap())),
        ..Default::default()
    };
    let b = branch("b1", false);
    assert_eq!(
        decide(&observe(&s, &st, Some(&b), None)),
        Decision::Sync {
            claim: Some(Claim::Record),
            ready: false,
            fixes: vec![]
        }
    );
}

#[test]
fn settings_are_not_touched_before_the_branch_is_ready() {
    let s = spec(json!({"production": true, "deletionProtected": true}));
    let (st, b) = (status_with_id(Some("b1")), branch("b1", false));
    assert_eq!(
        decide(&observe(&s, &st, Some(&b), None)),
        Decision::Sync {
            claim: None,
            ready: false,
            fixes: vec![]
        }
    );
}

#[test]
fn unset_settings_are_left_as_they_are() {
    let mut b = branch("b1", true);
    (b.production, b.safe_migrations, b.deletion_protected) = (true, true, true);
    assert_eq!(fixes(&spec(json!({})), &b), vec![]);
}

#[test]
fn promote_comes_before_enabling_safe_migrations() {
    let s = spec(json!({"production": true, "safeMigrations": true, "deletionProtected": true}));
    assert_eq!(
        fixes(&s, &branch("b1", true)),
        vec![
            Fix::Promote,
            Fix::EnableSafeMigrations,
            Fix::DeletionProtection(true)
        ]
    );
}

#[test]
fn safe_migrations_are_turned_off_before_demoting() {
    let mut b = branch("b1", true);
    (b.production, b.safe_migrations, b.deletion_protected) = (true, true, true);
    let s = spec(json!({"production": false, "safeMigrations": false, "deletionProtected": false}));
    assert_eq!(
        fixes(&s, &b),
        vec![
            Fix::DisableSafeMigrations,
            Fix::Demote,
            Fix::DeletionProtection(false)
        ]
    );
}

#[test]
fn safe_migrations_are_turned_on_again_after_a_demote_that_drops_them() {
    let mut b = branch("b1", true);
    (b.production, b.safe_migrations) = (true, true);
    let s = spec(json!({"production": false, "safeMigrations": true}));
    assert_eq!(fixes(&s, &b), vec![Fix::Demote, Fix::EnableSafeMigrations]);
}

#[test]
fn drift_in_one_setting_gives_one_fix() {
    let mut b = branch("b1", true);
    (b.production, b.safe_migrations) = (true, false);
    let s = spec(json!({"production": true, "safeMigrations": true}));
    assert_eq!(fixes(&s, &b), vec![Fix::EnableSafeMigrations]);
    assert_eq!(
        describe(Fix::EnableSafeMigrations),
        "safe migrations turned on"
    );
}

fn resource(
    spec_json: serde_json::Value,
    status: Option<PlanetScaleBranchStatus>,
) -> PlanetScaleBranch {
    let mut obj = PlanetScaleBranch::new("pr-1", spec(spec_json));
    obj.status = status;
    obj
}

fn seen(branch: Option<Branch>, database: Option<Database>) -> Look {
    Look::Seen {
        branch,
        database,
        listed_at: None,
    }
}

#[test]
fn a_branch_never_created_is_created_at_once_after_the_intent() {
    let obj = resource(json!({}), None);
    let p = plan(&obj, &Look::New { engine: None });
    assert!(
        matches!(
            p.steps.as_slice(),
            [Step::Create {
                recreate: false,
                ..
            }]
        ),
        "{p:?}"
    );
    let intent = intent(&obj, &p).expect("a create records the intent first");
    assert!(intent.create_requested_at.is_some());
    assert_eq!(intent.id, None);
}

#[test]
fn only_a_create_records_an_intent() {
    let obj = resource(json!({}), Some(status_with_id(Some("b1"))));
    let p = plan(&obj, &seen(Some(branch("b1", true)), None));
    assert_eq!(p.steps, vec![Step::Record(None)]);
    assert!(intent(&obj, &p).is_none());
}

#[test]
fn a_pending_branch_the_poller_watches_only_waits() {
    let obj = resource(json!({}), Some(status_with_id(Some("b1"))));
    assert_eq!(plan(&obj, &Look::Pending).steps, vec![Step::AwaitBranch]);
}

#[test]
fn a_ready_branch_is_recorded_then_fixed_in_order() {
    let obj = resource(
        json!({"production": true, "safeMigrations": true}),
        Some(status_with_id(Some("b1"))),
    );
    let p = plan(&obj, &seen(Some(branch("b1", true)), None));
    assert_eq!(
        p.steps,
        vec![
            Step::Record(None),
            Step::Fix(Fix::Promote),
            Step::Fix(Fix::EnableSafeMigrations)
        ]
    );
}

#[test]
fn a_not_ready_branch_is_recorded_and_awaited_without_fixes() {
    let obj = resource(json!({"production": true, "adopt": true}), None);
    let p = plan(&obj, &seen(Some(branch("b9", false)), None));
    assert_eq!(
        p.steps,
        vec![Step::Record(Some(Claim::Adopt)), Step::AwaitBranch]
    );
}

#[test]
fn a_foreign_branch_is_refused_and_a_missing_one_on_a_pending_database_waits() {
    let obj = resource(json!({"adopt": true}), Some(status_with_id(None)));
    let mut no_adopt = obj.clone();
    no_adopt.spec.adopt = false;
    no_adopt.status = Some(PlanetScaleBranchStatus {
        create_requested_at: None,
        ..status_with_id(Some("other"))
    });
    let p = plan(&no_adopt, &seen(Some(branch("b9", true)), None));
    assert_eq!(
        p.steps,
        vec![Step::Refuse {
            existing_id: "b9".into()
        }]
    );
    let p = plan(&obj, &seen(None, Some(db(false))));
    assert_eq!(p.steps, vec![Step::WaitForDatabase]);
}

#[test]
fn an_observed_branch_is_recorded_never_fixed_nor_created_and_taken_over_only_with_adopt() {
    let observe_spec = spec(json!({"managementPolicy": "Observe"}));
    let mut b = branch("b1", true);
    b.production = true;
    let fresh = status_with_id(None);
    let d = decide(&observe(&observe_spec, &fresh, Some(&b), None));
    let want = Decision::Sync {
        claim: Some(Claim::Observe),
        ready: true,
        fixes: vec![],
    };
    assert_eq!(d, want);
    let gone = decide(&observe(&observe_spec, &fresh, None, Some(&db(true))));
    assert_eq!(
        gone,
        Decision::Missing,
        "an observed branch is never created"
    );

    let observed = PlanetScaleBranchStatus {
        observed_only: Some(true),
        ..status_with_id(Some("b1"))
    };
    let manage = spec(json!({"production": false}));
    let d = decide(&observe(&manage, &observed, Some(&b), None));
    assert!(matches!(d, Decision::Refuse { .. }), "{d:?}");
    let adopt = spec(json!({"production": false, "adopt": true}));
    let d = decide(&observe(&adopt, &observed, Some(&b), None));
    let want = Decision::Sync {
        claim: Some(Claim::Adopt),
        ready: true,
        fixes: vec![Fix::Demote],
    };
    assert_eq!(d, want);
    assert_eq!(
        ownership(&observe(&manage, &observed, Some(&b), None), &b),
        Ownership::Foreign
    );
}
