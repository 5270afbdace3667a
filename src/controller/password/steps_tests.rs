//! What a pass plans from one observation: the steps, the requeue, and the intent written
//! before a create.
use std::time::Duration;

use crate::controller::target::BRANCH_NOT_READY_WAIT;

use chrono::{DateTime, Utc};

use super::observe::Observed;
use super::plan::*;
use crate::crd::password::PlanetScalePasswordStatus;
use crate::crd::password_name;

const UID: &str = "8d3c2b1a-0000-4000-8000-000000000001";

fn t(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_900_000_000 + secs, 0).unwrap()
}

#[test]
fn the_intent_writes_the_counter_and_the_branch_once() {
    let target = crate::controller::target::Target {
        organization: "acme".into(),
        database: "shop".into(),
        branch: "main".into(),
        known_ready: true,
        kind: None,
    };
    let mint = |counter| Step::Mint {
        target: target.clone(),
        engine: crate::connection::Engine::Postgres,
        counter,
        cause: Cause::Initial,
        lookup: false,
    };
    let plan = crate::controller::reconciler::Plan::steps(vec![mint(1), Step::DeleteDue]);
    let fresh = intent(None, &plan).expect("a counter to write");
    assert_eq!(fresh.rotation, 1);
    assert_eq!(super::observe::recorded(&fresh), Some(target.clone()));
    assert_eq!(
        fresh.engine.as_deref(),
        Some("postgresql"),
        "a crash after the create still knows a role was made"
    );
    assert_eq!(intent(Some(&fresh), &plan), None, "already written");
    let idle = crate::controller::reconciler::Plan::steps(vec![Step::SyncSecret, Step::Restart]);
    let settled = PlanetScalePasswordStatus {
        rotation: 3,
        password_name: Some(password_name(UID, 3)),
        ..Default::default()
    };
    assert_eq!(intent(Some(&settled), &idle), None, "no create, no intent");
}

/// A resource with uid [`UID`] and `spec`, and a look that found no Secret and no password.
fn first_look(spec: &serde_json::Value) -> (crate::crd::password::PlanetScalePassword, Observed) {
    let mut obj: crate::crd::password::PlanetScalePassword =
        serde_json::from_value(serde_json::json!({
            "apiVersion": "planetscale.operator.dev/v1alpha1", "kind": "PlanetScalePassword",
            "metadata": {"name": "app", "namespace": "ns", "uid": UID},
            "spec": spec,
        }))
        .expect("password");
    obj.status = Some(PlanetScalePasswordStatus::default());
    let creds = planetscale_api::Credentials::service_token("id", "pscale_tkn_x");
    let api = planetscale_api::Client::builder(creds)
        .base_url("http://127.0.0.1:9/v1")
        .build()
        .expect("client");
    let located = super::observe::Located {
        desired: super::pass::desired(&obj).expect("desired"),
        target: crate::controller::target::Target {
            organization: "acme".into(),
            database: "shop".into(),
            branch: "main".into(),
            known_ready: false,
            kind: None,
        },
        branch_waiting: None,
    };
    let look = super::observe::Look {
        api,
        now: t(0),
        engine: crate::connection::Engine::Mysql,
        secret: super::secret::SecretView::default(),
        live: Live::None,
        password: None,
        renew_refused: false,
        cidrs_patched: false,
        branch_not_ready: None,
    };
    (
        obj,
        Observed {
            located,
            look: Ok(look),
        },
    )
}

#[test]
fn the_first_password_is_minted_then_looked_at_again_at_once() {
    let spec = serde_json::json!({"organization": "acme", "database": "shop", "branch": "main"});
    let (obj, o) = first_look(&spec);
    let p = plan(&obj, &o);
    let kinds: Vec<_> = p.steps.iter().map(std::mem::discriminant).collect();
    let want = [Step::DeleteDue, Step::Restart].map(|s| std::mem::discriminant(&s));
    assert!(matches!(
        &p.steps[0],
        Step::Mint {
            counter: 1,
            cause: Cause::Initial,
            lookup: false,
            ..
        }
    ));
    assert_eq!(kinds[1..], want);
    assert_eq!(p.requeue, Some(Duration::ZERO));
    // The explicit branch is not ready: wait, create nothing.
    let (obj, mut o) = first_look(&spec);
    if let Ok(look) = &mut o.look {
        look.branch_not_ready =
            Some(("branch main is not ready yet".into(), BRANCH_NOT_READY_WAIT));
    }
    assert_eq!(
        plan(&obj, &o).steps,
        [Step::WaitForBranch(
            "branch main is not ready yet".into(),
            BRANCH_NOT_READY_WAIT
        )]
    );
    // A template that cannot render: refuse before any create.
    let mut bad = spec;
    bad["secret"] = serde_json::json!({"template": {"data": {"url": "{{ host | nope }}"}}});
    let (obj, o) = first_look(&bad);
    assert_eq!(plan(&obj, &o).steps, [Step::RefuseTemplate]);
}

#[test]
fn a_look_that_failed_plans_nothing() {
    let spec = serde_json::json!({"organization": "acme", "database": "shop", "branch": "main"});
    let (obj, mut o) = first_look(&spec);
    o.look = Err(crate::error::Error::Invalid {
        reason: "Test",
        message: "no look".into(),
    });
    assert!(plan(&obj, &o).steps.is_empty());
}
