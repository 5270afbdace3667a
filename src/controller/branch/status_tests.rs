use super::*;
use planetscale_api::models::{BranchState, Region};

#[test]
fn every_branch_field_is_copied() {
    let b = Branch {
        id: "b1".into(),
        name: "pr-1".into(),
        state: Some(BranchState::Ready),
        ready: true,
        production: true,
        safe_migrations: true,
        deletion_protected: true,
        region: Some(Region {
            slug: "us-east".into(),
            ..Default::default()
        }),
        parent_branch: Some("main".into()),
        mysql_address: Some("us-east.connect.psdb.cloud".into()),
        mysql_edge_address: Some("aws.connect.psdb.cloud".into()),
        html_url: Some("https://app.planetscale.com/acme/shop/pr-1".into()),
        created_at: Some(chrono::DateTime::from_timestamp(1_700_000_000, 5).unwrap()),
        ..Default::default()
    };
    let mut s = PlanetScaleBranchStatus {
        create_requested_at: Some(now()),
        ..Default::default()
    };
    copy_branch(&mut s, &b);
    assert_eq!(s.id.as_deref(), Some("b1"));
    assert_eq!(s.state.as_deref(), Some("ready"));
    assert_eq!(s.region.as_deref(), Some("us-east"));
    assert_eq!(s.parent.as_deref(), Some("main"));
    assert_eq!(
        (
            s.ready,
            s.production,
            s.safe_migrations,
            s.deletion_protected
        ),
        (Some(true), Some(true), Some(true), Some(true))
    );
    assert_eq!(
        s.created_at.unwrap().0,
        k8s_openapi::jiff::Timestamp::new(1_700_000_000, 0).unwrap(),
        "whole seconds, as Kubernetes stores them"
    );
    assert!(s.create_requested_at.is_none(), "the id is recorded now");
    assert_eq!(
        s.mysql_address.as_deref(),
        Some("us-east.connect.psdb.cloud")
    );
    assert_eq!(s.postgres_address, None);
}

#[test]
fn a_postgres_branch_shows_its_postgres_address_version_and_restore_point() {
    let point = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap();
    let b = Branch {
        id: "b2".into(),
        name: "pitr".into(),
        kind: Some(DatabaseKind::Postgresql),
        access_host_url: Some("us-east.pg.psdb.cloud".into()),
        mysql_address: Some("us-east.connect.psdb.cloud".into()),
        major_version: Some("17".into()),
        restore_point: Some(point),
        ..Default::default()
    };
    let mut s = PlanetScaleBranchStatus::default();
    copy_branch(&mut s, &b);
    assert_eq!(s.kind.as_deref(), Some("postgresql"));
    assert_eq!(s.postgres_address.as_deref(), Some("us-east.pg.psdb.cloud"));
    assert_eq!(s.major_version.as_deref(), Some("17"));
    assert_eq!(s.restore_point, Some(to_time(point)));
    assert_eq!(
        (s.mysql_address, s.mysql_edge_address),
        (None, None),
        "no MySQL address on a PostgreSQL branch"
    );
}

#[test]
fn ready_condition_follows_the_outcome_and_unpauses() {
    let mut s = PlanetScaleBranchStatus::default();
    readiness::set_paused(&mut s.conditions, "this branch", Some(1));
    set_ready(&mut s, Ok(&Progress::Ready), "pr-1", Some(2));
    assert!(conditions::is_ready_for(&s.conditions, Some(2)));
    assert!(find_condition(&s.conditions, PAUSED).is_none());
    assert_eq!(s.observed_generation, Some(2));
    let err = Error::CredentialsNotFound("credentials Secret ns/x does not exist".into());
    set_ready(&mut s, Err(&err), "pr-1", Some(2));
    let c = find_condition(&s.conditions, conditions::READY).unwrap();
    assert_eq!(
        (c.status.as_str(), c.reason.as_str()),
        ("False", "CredentialsNotFound")
    );
}

fn outcome(branch: Option<Branch>) -> Outcome {
    Outcome {
        at: ("acme".into(), "shop".into()),
        branch,
        progress: Progress::Ready,
        claim: None,
        created: None,
        create_refused: false,
        fixed: Vec::new(),
        drift: false,
        registered: false,
        listed_at: None,
    }
}

fn resource(status: PlanetScaleBranchStatus) -> PlanetScaleBranch {
    let spec = serde_json::from_value(serde_json::json!({
        "organization": "acme", "database": "shop"
    }))
    .unwrap();
    let mut obj = PlanetScaleBranch::new("pr-1", spec);
    obj.metadata.generation = Some(1);
    obj.status = Some(status);
    obj
}

fn reasons(r: &Report<PlanetScaleBranchStatus>) -> Vec<&str> {
    r.events.iter().map(|n| n.reason.as_str()).collect()
}

#[test]
fn a_refused_create_voids_the_intent_and_says_why() {
    let obj = resource(PlanetScaleBranchStatus {
        create_requested_at: Some(now()),
        ..Default::default()
    });
    let done = Outcome {
        create_refused: true,
        ..outcome(None)
    };
    let err = Error::Invalid {
        reason: "ParentNotFound",
        message: "parent branch nope does not exist".into(),
    };
    let r = report(&obj, Some(&done), Some(&err));
    assert!(r.status.create_requested_at.is_none());
    let ready = find_condition(&r.status.conditions, conditions::READY).unwrap();
    assert_eq!(
        (ready.status.as_str(), ready.reason.as_str()),
        ("False", "ParentNotFound")
    );
    assert_eq!(reasons(&r), ["ParentNotFound"]);
}

#[test]
fn a_create_is_recorded_as_ours_and_announced_once() {
    let obj = resource(PlanetScaleBranchStatus {
        create_requested_at: Some(now()),
        ..Default::default()
    });
    let created = Branch {
        id: "b1".into(),
        name: "pr-1".into(),
        ..Default::default()
    };
    let done = Outcome {
        created: Some(super::super::act::Created {
            recreate: false,
            parent: "main".into(),
        }),
        progress: Progress::Waiting {
            reason: reason::BRANCH_NOT_READY,
            message: "waiting".into(),
        },
        ..outcome(Some(created))
    };
    let r = report(&obj, Some(&done), None);
    assert_eq!(r.status.id.as_deref(), Some("b1"));
    assert_eq!(r.status.adopted, Some(false));
    assert!(
        r.status.create_requested_at.is_none(),
        "the id replaces the intent"
    );
    assert_eq!(reasons(&r), ["Created"], "a wait is no warning");
}

#[test]
fn fixes_are_announced_as_updates_or_as_drift_corrected() {
    let b = Branch {
        id: "b1".into(),
        ..Default::default()
    };
    let obj = resource(PlanetScaleBranchStatus {
        id: Some("b1".into()),
        ..Default::default()
    });
    let spec_change = Outcome {
        fixed: vec![Fix::Promote, Fix::DeletionProtection(true)],
        ..outcome(Some(b.clone()))
    };
    let r = report(&obj, Some(&spec_change), None);
    assert_eq!(reasons(&r), ["Promoted", "Updated", "Ready"]);
    let drift = Outcome {
        fixed: vec![Fix::DeletionProtection(true)],
        drift: true,
        ..outcome(Some(b))
    };
    let r = report(&obj, Some(&drift), None);
    assert_eq!(reasons(&r)[0], "DriftCorrected");
}

#[test]
fn the_intent_of_a_create_records_where_the_branch_is_made() {
    use crate::controller::branch::observe::Look;
    use crate::controller::branch::plan::{intent, located, plan};
    let obj = resource(PlanetScaleBranchStatus::default());
    let p = located(
        plan(&obj, &Look::New { engine: None }),
        "acme",
        "storefront-prod",
    );
    let written = intent(&obj, &p).expect("a create records the intent first");
    assert!(written.create_requested_at.is_some());
    assert_eq!(written.organization.as_deref(), Some("acme"));
    assert_eq!(written.database.as_deref(), Some("storefront-prod"));
    let none = located(plan(&obj, &Look::Pending), "acme", "storefront-prod");
    assert!(intent(&obj, &none).is_none(), "no create, no intent");
}
