use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use planetscale_api::models::{Branch, Database};
use serde_json::json;

use super::*;

fn spec(extra: serde_json::Value) -> PlanetScaleBranchSpec {
    let mut v = json!({"organization": "acme", "database": "shop"});
    v.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
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
) -> Observed<'a> {
    Observed {
        spec,
        name: "pr-1",
        status,
        remembered_id: None,
        branch,
        database,
    }
}

#[test]
fn a_missing_branch_is_created_from_the_database_default_branch() {
    let (s, st, d) = (spec(json!({})), status_with_id(None), db(true));
    let Plan::Create { body, recreate } = plan(&observe(&s, &st, None, Some(&d))) else {
        panic!("expected a create");
    };
    assert!(!recreate);
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
        plan(&observe(&s, &st, None, Some(&d))),
        Plan::WaitForDatabase
    );
}

#[test]
fn a_branch_deleted_outside_is_recreated() {
    let (s, st, d) = (spec(json!({})), status_with_id(Some("old")), db(true));
    let p = plan(&observe(&s, &st, None, Some(&d)));
    assert!(matches!(p, Plan::Create { recreate: true, .. }), "{p:?}");
}

#[test]
fn our_branch_is_synced_without_a_claim() {
    let (s, st, b) = (
        spec(json!({})),
        status_with_id(Some("b1")),
        branch("b1", true),
    );
    let p = plan(&observe(&s, &st, Some(&b), None));
    assert_eq!(
        p,
        Plan::Sync {
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
        plan(&observe(&s, &st, Some(&b), None)),
        Plan::Refuse {
            existing_id: "theirs".into()
        }
    );
    let s = spec(json!({"adopt": true}));
    let p = plan(&observe(&s, &st, Some(&b), None));
    assert!(
        matches!(
            p,
            Plan::Sync {
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
        plan(&observe(&s, &st, Some(&b), None)),
        Plan::Refuse { .. }
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
        plan(&observe(&s, &st, Some(&b), None)),
        Plan::Sync {
            claim: Some(Claim::Record),
            ready: false,
            fixes: vec![]
        }
    );
}

#[test]
fn an_id_remembered_in_memory_counts_as_recorded() {
    let (s, st, b) = (spec(json!({})), status_with_id(None), branch("b1", true));
    let mut o = observe(&s, &st, Some(&b), None);
    o.remembered_id = Some("b1");
    assert_eq!(ownership(&o, &b), Ownership::Ours);
}

#[test]
fn settings_are_not_touched_before_the_branch_is_ready() {
    let s = spec(json!({"production": true, "deletionProtected": true}));
    let (st, b) = (status_with_id(Some("b1")), branch("b1", false));
    assert_eq!(
        plan(&observe(&s, &st, Some(&b), None)),
        Plan::Sync {
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
