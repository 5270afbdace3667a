//! The database reconciler when PlanetScale fails: a 401/422/429/5xx on each call it makes
//! (create, get, update settings, delete).
use serde_json::json;

use crate::database::{
    applied, database, delete, get, pass, ps_database, ready, ready_database, reconciler,
};
use crate::harness::{Harness, with_harness};

/// A fault on every request of `operation` until cleared.
async fn fail(h: &Harness, operation: &str, status: u16, message: &str) {
    h.fault(json!({"operation": operation, "status": status, "message": message}))
        .await;
}

#[tokio::test]
async fn create_500_is_retried_with_the_intent_kept() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        h.apply(&database("orders", json!({}))).await;
        pass(&h, &r, "orders").await;
        fail(&h, "create_database", 500, "boom").await;
        let err = h.pass(&r, "orders").await.expect_err("500");
        assert!(err.is_transient(), "{err}");
        let o = get(&h, "orders").await;
        assert!(o.status.as_ref().unwrap().create_requested_at.is_some());
        assert_eq!(ready(&o).0, "False");
        h.clear_faults().await;
        pass(&h, &r, "orders").await;
        assert!(ps_database(&h, "orders").await.is_some());
    })
    .await;
}

#[tokio::test]
async fn create_401_says_unauthorized_and_voids_the_intent() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        h.apply(&database("orders", json!({}))).await;
        pass(&h, &r, "orders").await;
        fail(&h, "create_database", 401, "invalid token").await;
        let err = h.pass(&r, "orders").await.expect_err("401");
        assert_eq!(err.reason(), "Unauthorized");
        assert!(!err.is_transient());
        let o = get(&h, "orders").await;
        assert_eq!(ready(&o), ("False".into(), "Unauthorized".into()));
        assert!(o.status.unwrap().create_requested_at.is_none());
        assert!(
            h.event_reasons("orders")
                .await
                .contains(&"Unauthorized".into())
        );
    })
    .await;
}

#[tokio::test]
async fn create_422_says_what_planetscale_refused() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        h.apply(&database("orders", json!({"region": "mars-north-1"})))
            .await;
        pass(&h, &r, "orders").await;
        let err = h.pass(&r, "orders").await.expect_err("unknown region");
        assert!(!err.is_transient());
        let o = get(&h, "orders").await;
        let (_, _, message) = crate::database::condition(&o, "Ready").unwrap();
        assert!(
            message.contains("refused to create database orders"),
            "{message}"
        );
        assert!(message.contains("mars-north-1"), "{message}");
        assert!(ps_database(&h, "orders").await.is_none());
    })
    .await;
}

#[tokio::test]
async fn get_429_and_503_are_transient() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        ready_database(&h, &r, &database("orders", json!({}))).await;
        for (status, reason) in [(429, "RateLimited"), (503, "PlanetScaleUnavailable")] {
            fail(&h, "get_database", status, "try later").await;
            let err = h.pass(&r, "orders").await.expect_err("fault");
            assert!(err.is_transient(), "{status}: {err}");
            assert_eq!(err.reason(), reason);
            assert_eq!(
                ready(&get(&h, "orders").await),
                ("False".into(), reason.into())
            );
            h.clear_faults().await;
        }
        pass(&h, &r, "orders").await;
        assert_eq!(ready(&get(&h, "orders").await).0, "True");
    })
    .await;
}

#[tokio::test]
async fn update_422_names_the_refusal() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        ready_database(&h, &r, &database("orders", json!({}))).await;
        // The default branch must be an existing production branch.
        let spec = json!({"settings": {"defaultBranch": "nope"}});
        h.apply(&database("orders", spec)).await;
        let err = h.pass(&r, "orders").await.expect_err("422");
        assert!(!err.is_transient());
        let (_, _, message) =
            crate::database::condition(&get(&h, "orders").await, "Ready").unwrap();
        assert!(
            message.contains("change the settings of database orders"),
            "{message}"
        );
        assert!(
            message.contains("Default branch does not exist"),
            "{message}"
        );
    })
    .await;
}

#[tokio::test]
async fn delete_500_keeps_the_finalizer_and_is_retried() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        let spec = json!({"deletionPolicy": "Delete", "deletionConfirmation": "orders"});
        applied(&h, &r, &database("orders", spec)).await;
        delete(&h, "orders").await;
        fail(&h, "delete_database", 500, "boom").await;
        let err = h.pass(&r, "orders").await.expect_err("500");
        assert!(err.is_transient());
        assert!(h.get::<crate::database::Db>("orders").await.is_some());
        h.clear_faults().await;
        pass(&h, &r, "orders").await;
        assert!(ps_database(&h, "orders").await.is_none());
        assert!(h.get::<crate::database::Db>("orders").await.is_none());
    })
    .await;
}
