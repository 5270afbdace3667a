use std::sync::Arc;

use planetscale_api::signature::sign;
use serde_json::json;

use super::*;

const SECRET: &str = "whsec_current";

fn hub() -> Hub {
    let hub = Hub::default();
    let now = chrono::Utc::now();
    hub.register(
        ("acme".into(), "shop".into()),
        vec![SECRET.into(), "whsec_previous".into()],
        Arc::new(move || now),
    );
    hub
}

fn body(event: &str, timestamp: i64, resource: &serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "timestamp": timestamp, "event": event, "organization": "acme", "database": "shop",
        "resource": resource,
    }))
    .expect("json")
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

#[test]
fn a_signed_fresh_delivery_is_accepted_once() {
    let hub = hub();
    let b = body("deploy_request.queued", now(), &json!({"number": 7}));
    let sig = sign(SECRET, &b);
    let event = check(&hub, &b, Some(&sig)).expect("accepted");
    assert_eq!(
        hint(&event),
        Some(Hint::DeployRequest {
            organization: "acme".into(),
            database: "shop".into(),
            number: 7,
            shows: None,
        })
    );
    assert_eq!(check(&hub, &b, Some(&sig)), Err(Refusal::Replay));
}

#[test]
fn a_deploy_request_hint_shows_the_state_a_pass_would_read() {
    let resource = json!({
        "type": "DeployRequest", "number": 7, "state": "closed",
        "deployment_state": "complete_pending_revert",
        "deployment": {"state": "complete_pending_revert", "deployable": false},
    });
    let b = body("deploy_request.schema_applied", now(), &resource);
    let event = check(&hub(), &b, Some(&sign(SECRET, &b))).expect("accepted");
    let Some(Hint::DeployRequest { shows, .. }) = hint(&event) else {
        panic!("a deploy request hint");
    };
    let read: planetscale_api::models::DeployRequest =
        serde_json::from_value(resource).expect("the API's own model");
    assert_eq!(shows.as_deref(), Some("closed/complete_pending_revert"));
    assert_eq!(shows, Some(deploy_request_state(&read)));
}

#[test]
fn the_previous_secret_still_verifies_during_a_rotation() {
    let hub = hub();
    let b = body("branch.ready", now(), &json!({"name": "dev"}));
    let event = check(&hub, &b, Some(&sign("whsec_previous", &b))).expect("accepted");
    assert_eq!(
        hint(&event),
        Some(Hint::Branch {
            organization: "acme".into(),
            database: "shop".into(),
            name: "dev".into()
        })
    );
}

#[test]
fn refusals_say_why() {
    let hub = hub();
    let fresh = body("branch.ready", now(), &json!({"name": "dev"}));
    let cases: Vec<(Vec<u8>, Option<String>, Refusal)> = vec![
        (fresh.clone(), None, Refusal::Unsigned),
        (fresh.clone(), Some(String::new()), Refusal::Unsigned),
        (
            fresh.clone(),
            Some(sign("whsec_forged", &fresh)),
            Refusal::BadSignature,
        ),
        (
            b"not json".to_vec(),
            Some(sign(SECRET, b"not json")),
            Refusal::Malformed,
        ),
        (
            vec![b' '; MAX_BODY + 1],
            Some("00".into()),
            Refusal::TooLarge,
        ),
    ];
    for (b, sig, want) in cases {
        assert_eq!(check(&hub, &b, sig.as_deref()), Err(want));
    }
    let stale = body("branch.ready", now() - WINDOW - 5, &json!({"name": "dev"}));
    assert_eq!(
        check(&hub, &stale, Some(&sign(SECRET, &stale))),
        Err(Refusal::Stale)
    );
    let other = serde_json::to_vec(&json!({
        "timestamp": now(), "event": "branch.ready", "organization": "acme", "database": "other",
        "resource": {"name": "dev"},
    }))
    .expect("json");
    assert_eq!(
        check(&hub, &other, Some(&sign(SECRET, &other))),
        Err(Refusal::UnknownDatabase)
    );
}

#[test]
fn a_test_delivery_wakes_nothing() {
    let hub = hub();
    let b = body("webhook.test", now(), &json!({"id": "w1"}));
    let event = check(&hub, &b, Some(&sign(SECRET, &b))).expect("accepted");
    assert_eq!(hint(&event), None);
}
