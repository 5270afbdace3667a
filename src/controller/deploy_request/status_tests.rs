use serde_json::json;

use super::*;
use crate::controller::deploy_request::conditions::conditions;
use crate::controller::deploy_request::test_support::spec;
use crate::time::now;

fn at() -> Location {
    Location {
        org: "acme".into(),
        db: "shop".into(),
    }
}

fn dr(deployment: serde_json::Value) -> DeployRequest {
    let mut v = json!({
        "id": "dr1", "number": 42, "state": "open", "deployment_state": "queued",
        "approved": true, "branch": "feature", "into_branch": "main",
        "html_url": "https://app.planetscale.com/acme/shop/deploy-requests/42",
        "created_at": "2024-01-01T09:00:00Z",
    });
    v["deployment"] = deployment;
    serde_json::from_value(v).unwrap()
}

fn build_for(dr: &DeployRequest) -> DeployRequestStatus {
    let facts = Facts::new(dr, false, false);
    let conds = conditions(&spec("deploy"), &facts, None, None);
    build(
        &DeployRequestStatus::default(),
        Some(3),
        &at(),
        dr,
        &facts,
        conds,
        now(),
    )
}

#[test]
fn copies_identity_state_and_timestamps() {
    let d = dr(
        json!({"state": "queued", "deployable": true, "queued_at": "2024-01-01T09:05:00Z",
        "preceding_deployments": [{"deploy_request_number": 41, "state": "in_progress"}]}),
    );
    let s = build_for(&d);
    assert_eq!(s.number, Some(42));
    assert_eq!(s.id.as_deref(), Some("dr1"));
    assert_eq!(s.organization.as_deref(), Some("acme"));
    assert_eq!(
        (s.branch.as_deref(), s.into_branch.as_deref()),
        (Some("feature"), Some("main"))
    );
    assert_eq!(s.deployment_state.as_deref(), Some("queued"));
    assert_eq!(s.state.as_deref(), Some("open"));
    assert_eq!((s.deployable, s.approved), (Some(true), Some(true)));
    assert_eq!(s.queue_position, Some(2));
    assert_eq!(
        s.queued_at.unwrap().0.to_string(),
        "2024-01-01T09:05:00Z".to_string()
    );
    assert!(s.created_at.is_some());
    assert_eq!(s.observed_generation, Some(3));
    assert_eq!(s.conditions.len(), 9);
    assert!(
        s.conditions
            .iter()
            .all(|c| c.observed_generation == Some(3))
    );
}

#[test]
fn schema_diff_is_bounded_per_table_and_in_count() {
    let ops: Vec<_> = (0..MAX_TABLES + 5)
        .map(|i| json!({"id": format!("o{i}"), "table_name": format!("t{i}"), "operation_name": "ALTER",
            "keyspace_name": "shop", "state": "pending", "ddl_statement": "x".repeat(MAX_DDL_LEN + 10)}))
        .collect();
    let s = build_for(&dr(json!({"state": "queued", "deploy_operations": ops})));
    assert_eq!(s.schema_diff.len(), MAX_TABLES);
    assert!(s.schema_diff_truncated);
    assert_eq!(s.schema_diff[0].ddl.chars().count(), MAX_DDL_LEN);
    assert!(s.schema_diff[0].truncated);
    assert_eq!(s.schema_diff[0].operation, "ALTER");
    assert_eq!(s.operations.len(), MAX_TABLES);
    assert_eq!(s.operations[0].state, "pending");
}

#[test]
fn lint_errors_are_mapped_and_empty_fields_dropped() {
    let mut d = dr(
        json!({"state": "error", "deploy_check_errors": "Table \"e\" has no primary key",
        "lint_errors": [{"lint_error": "NO_PRIMARY_KEY", "keyspace_name": "", "table_name": "e",
        "column_name": "", "error_description": "Table \"e\" has no primary key",
        "docs_url": "https://planetscale.com/docs/x"}]}),
    );
    d.deployment_state = Some("error".into());
    let s = build_for(&d);
    assert_eq!(s.lint_errors.len(), 1);
    let l = &s.lint_errors[0];
    assert_eq!(l.code, "NO_PRIMARY_KEY");
    assert_eq!(
        (l.keyspace.as_deref(), l.table.as_deref()),
        (None, Some("e"))
    );
    assert!(l.column.is_none());
    assert!(s.deploy_check_errors.unwrap().contains("primary key"));
    assert!(s.operations.is_empty(), "no progress before the deploy");
}

#[test]
fn an_error_keeps_the_observed_fields_and_sets_ready_false() {
    let s = build_for(&dr(json!({"state": "queued"})));
    let e = with_error(&s, Some(4), "CredentialsNotFound", "gone".into(), now());
    assert_eq!(e.number, Some(42));
    let ready = e.conditions.iter().find(|c| c.type_ == READY).unwrap();
    assert_eq!(
        (ready.status.as_str(), ready.reason.as_str()),
        ("False", "CredentialsNotFound")
    );
    assert_eq!(ready.observed_generation, Some(4));
    assert_eq!(e.observed_generation, Some(4));
}

#[test]
fn unchanged_conditions_make_an_identical_status() {
    let d = dr(json!({"state": "queued"}));
    let first = build_for(&d);
    let facts = Facts::new(&d, false, false);
    let conds = conditions(&spec("deploy"), &facts, None, None);
    let later = Time(k8s_openapi::jiff::Timestamp::from_second(2_000_000_000).unwrap());
    let second = build(&first, Some(3), &at(), &d, &facts, conds, later);
    assert_eq!(first, second, "no status write when nothing changed");
}

#[test]
fn paused_adds_a_condition_that_goes_away_on_resume() {
    let d = dr(json!({"state": "queued"}));
    let s = build_for(&d);
    let p = paused(&s, Some(3), now());
    let find =
        |s: &DeployRequestStatus, t: &str| s.conditions.iter().find(|c| c.type_ == t).cloned();
    assert_eq!(find(&p, PAUSED).unwrap().status, "True");
    assert_eq!(find(&p, READY).unwrap().reason, "Paused");
    let facts = Facts::new(&d, false, false);
    let conds = conditions(&spec("deploy"), &facts, None, None);
    let resumed = build(&p, Some(3), &at(), &d, &facts, conds, now());
    assert!(find(&resumed, PAUSED).is_none());
    assert_eq!(find(&resumed, READY).unwrap().reason, "Queued");
}

fn resource(status: Option<DeployRequestStatus>) -> DeployRequestResource {
    let mut obj = DeployRequestResource::new("ship", spec("deploy"));
    obj.metadata.generation = Some(3);
    obj.status = status;
    obj
}

#[test]
fn a_pass_that_opens_records_the_identity_and_says_so() {
    let opened = Outcome::Recorded {
        at: at(),
        dr: dr(json!({})),
        adopted: false,
        facts: Box::new(Facts::new(&dr(json!({})), false, false)),
    };
    let report = report(&resource(None), Some(&opened), None, now());
    assert_eq!(report.status.number, Some(42));
    assert_eq!(report.status.organization.as_deref(), Some("acme"));
    let reasons: Vec<_> = report.events.iter().map(|e| e.reason.as_str()).collect();
    assert_eq!(reasons, ["Created"]);
    let adopted = Outcome::Recorded {
        at: at(),
        dr: dr(json!({})),
        adopted: true,
        facts: Box::new(Facts::new(&dr(json!({})), false, false)),
    };
    let report = report_of(&adopted);
    assert_eq!(report.events.last().unwrap().reason, "Adopted");
}

/// The pass that opens records the database's approval rule it read, so that the next pass
/// shows it without reading the database again.
#[test]
fn a_pass_that_opens_records_whether_an_approval_is_required() {
    for (required, status, reason) in [
        (true, "False", "AwaitingApproval"),
        (false, "True", "ApprovalNotRequired"),
    ] {
        let mut new = dr(json!({}));
        new.approved = false;
        let opened = Outcome::Recorded {
            at: at(),
            facts: Box::new(Facts::new(&new, required, false)),
            dr: new,
            adopted: false,
        };
        let st = report(&resource(None), Some(&opened), None, now()).status;
        let approved = st
            .conditions
            .iter()
            .find(|c| c.type_ == "Approved")
            .unwrap();
        assert_eq!(
            (approved.status.as_str(), approved.reason.as_str()),
            (status, reason)
        );
        assert_eq!(
            crate::controller::deploy_request::observe::recorded_approval_required(&st),
            Some(required)
        );
    }
}

fn report_of(outcome: &Outcome) -> Report<DeployRequestStatus> {
    report(&resource(None), Some(outcome), None, now())
}

#[test]
fn an_error_is_shown_in_ready_and_keeps_what_was_recorded() {
    let recorded = build_for(&dr(json!({})));
    let err = Error::Invalid {
        reason: "BranchNotFound",
        message: "intoBranch nope does not exist in acme/shop".into(),
    };
    let report = report(
        &resource(Some(recorded)),
        Some(&Outcome::Stopped),
        Some(&err),
        now(),
    );
    assert_eq!(report.status.number, Some(42), "the number stays");
    let ready = report
        .status
        .conditions
        .iter()
        .find(|c| c.type_ == READY)
        .unwrap();
    assert_eq!(
        (ready.status.as_str(), ready.reason.as_str()),
        ("False", "BranchNotFound")
    );
    assert!(
        report.events.iter().any(|e| e.reason == "BranchNotFound"),
        "a warning event: {:?}",
        report.events
    );
}

#[test]
fn a_step_taken_is_an_event_and_an_unchanged_pass_is_quiet() {
    let facts = Box::new(Facts::new(&dr(json!({})), false, false));
    let synced = |step| Outcome::Synced {
        at: at(),
        dr: dr(json!({})),
        facts: facts.clone(),
        step,
        step_error: None,
        then: None,
    };
    let first = report_of(&synced(Some(
        crate::controller::deploy_request::plan::Step::Queue,
    )));
    assert_eq!(first.events[0].reason, "DeployQueued");
    let again = report(
        &resource(Some(first.status.clone())),
        Some(&synced(None)),
        None,
        now(),
    );
    assert_eq!(again.status, first.status, "nothing new to write");
    assert!(again.events.is_empty(), "{:?}", again.events);
}
