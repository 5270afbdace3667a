//! A DeployRequest on a PostgreSQL database (the emulator's `acme/ledger`): deploy requests
//! are Vitess-only, so it is refused with a condition and an event, retried slowly, with one
//! read of the database per pass and no deploy-request call; its deletion is not held up.
use kube::ResourceExt;
use planetscale_operator::crd::DeployRequest;
use serde_json::{Value, json};

use crate::deploy_request::{cond, controller, create, get, message};
use crate::harness::{Harness, with_harness};

/// Applies a DeployRequest from `ledger/dev` with `spec` merged in, and runs the finalizer
/// pass.
async fn applied(h: &Harness, name: &str, spec: Value) {
    let mut full = json!({"database": "ledger"});
    full.as_object_mut()
        .unwrap()
        .extend(spec.as_object().cloned().unwrap_or_default());
    create(h, name, "dev", full).await;
}

/// Requests PlanetScale answered for deploy-request operations.
async fn deploy_request_calls(h: &Harness) -> u64 {
    let mut total = 0;
    for op in [
        "list_deploy_requests",
        "create_deploy_request",
        "get_deploy_request",
    ] {
        total += h.calls(Some(op)).await;
    }
    total
}

#[tokio::test]
async fn a_deploy_request_on_postgres_is_refused_without_an_api_loop() {
    with_harness(|h| async move {
        applied(&h, "ship", json!({"intoBranch": "main", "deploy": true})).await;
        let before = h.calls(None).await;
        let r = controller(&h);
        for pass in 1..=3 {
            let err = h.pass(&r, "ship").await.expect_err("refused");
            assert_eq!(err.reason(), "NotSupportedForEngine", "pass {pass}");
            assert!(!err.is_transient(), "the slow retry, not a backoff");
        }
        assert_eq!(
            h.calls(None).await - before,
            3,
            "one read of the database per pass"
        );
        assert_eq!(deploy_request_calls(&h).await, 0, "no deploy-request call");
        assert_eq!(
            cond(&h, "ship", "Ready").await,
            ("False".into(), "NotSupportedForEngine".into())
        );
        let msg = message(&h, "ship", "Ready").await;
        assert!(
            msg.contains("Vitess (MySQL) feature") && msg.contains("acme/ledger is a PostgreSQL"),
            "{msg}"
        );
        let warnings: Vec<_> = h
            .event_reasons("ship")
            .await
            .into_iter()
            .filter(|r| r == "NotSupportedForEngine")
            .collect();
        assert_eq!(warnings.len(), 1, "one event, not one per pass");
        assert_eq!(get(&h, "ship").await.status.unwrap().number, None);
    })
    .await;
}

#[tokio::test]
async fn a_refused_deploy_request_on_postgres_is_deleted_at_once() {
    with_harness(|h| async move {
        applied(&h, "ship", json!({})).await;
        let r = controller(&h);
        h.pass(&r, "ship").await.expect_err("refused");
        h.api::<DeployRequest>()
            .delete("ship", &Default::default())
            .await
            .unwrap();
        h.pass(&r, "ship").await.expect("cleanup");
        let left = h.get::<DeployRequest>("ship").await;
        assert!(
            left.is_none(),
            "finalizer released: {:?}",
            left.map(|d| d.finalizers().to_vec())
        );
        assert_eq!(deploy_request_calls(&h).await, 0, "nothing to close");
    })
    .await;
}

#[tokio::test]
async fn a_deploy_request_on_postgres_when_the_database_read_fails() {
    with_harness(|h| async move {
        applied(&h, "ship", json!({})).await;
        let r = controller(&h);
        for (status, reason) in [
            (404, "DatabaseNotFound"),
            (401, "Unauthorized"),
            (429, "RateLimited"),
            (500, "PlanetScaleUnavailable"),
        ] {
            h.fault(json!({"operation": "get_database", "status": status, "message": "no"}))
                .await;
            let err = h.pass(&r, "ship").await.expect_err("fails");
            assert_eq!(err.reason(), reason, "{status}");
            assert_eq!(cond(&h, "ship", "Ready").await.1, reason, "{status}");
            h.clear_faults().await;
        }
        let err = h.pass(&r, "ship").await.expect_err("refused");
        assert_eq!(err.reason(), "NotSupportedForEngine");
        assert_eq!(deploy_request_calls(&h).await, 0);
    })
    .await;
}
