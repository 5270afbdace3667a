//! The password reconciler on a PostgreSQL branch when PlanetScale fails: a
//! 404/401/422/429/5xx on each roles call it makes (create, get, renew, delete, the list of
//! the cleanup and of a resumed create).
use serde_json::json;

use crate::harness::{Harness, with_harness};
use crate::password::{applied, creds, delete, get, pass, ready, reconciler, secret};
use crate::password_postgres::{all_roles, live_roles, pg_created, pg_password, working_roles};
use planetscale_operator::crd::password::PlanetScalePassword;

/// A fault on `count` requests of `operation` (every request when `None`).
async fn fail(h: &Harness, operation: &str, status: u16, count: Option<u32>) {
    let message = format!("injected {status}");
    let mut spec = json!({"operation": operation, "status": status, "message": message});
    if let Some(n) = count {
        spec["count"] = json!(n);
    }
    h.fault(spec).await;
}

/// The (reason, transient) of a pass that must fail.
async fn failing(
    h: &Harness,
    r: &planetscale_operator::controller::password::Passwords,
) -> (String, bool) {
    let err = h.pass(r, "app").await.expect_err("the pass fails");
    (err.reason().to_string(), err.is_transient())
}

const REFUSALS: [(u16, &str, bool); 5] = [
    (401, "Unauthorized", false),
    (404, "NotFound", false),
    (422, "Rejected", false),
    (429, "RateLimited", true),
    (503, "PlanetScaleUnavailable", true),
];

#[tokio::test]
async fn create_role_failures_create_nothing_then_exactly_one() {
    for (status, reason, transient) in REFUSALS {
        with_harness(|h| async move {
            let r = reconciler(&h);
            applied(&h, &r, &pg_password("app", json!({}))).await;
            fail(&h, "create_role", status, None).await;
            assert_eq!(failing(&h, &r).await, (reason.to_string(), transient));
            let o = get(&h, "app").await;
            assert_eq!(ready(&o), ("False".into(), reason.into()), "{status}");
            assert!(all_roles(&h, &o).await.is_empty(), "{status}: nothing");
            assert!(secret(&h, "app").await.is_none());
            h.clear_faults().await;
            pass(&h, &r, "app").await;
            working_roles(&h, "app", 1).await;
            assert_eq!(get(&h, "app").await.status.unwrap().rotation, 1);
            assert_eq!(all_roles(&h, &o).await.len(), 1, "{status}: no duplicate");
        })
        .await;
    }
}

#[tokio::test]
async fn get_role_failures_fail_the_pass_and_change_nothing() {
    for (status, reason, transient) in REFUSALS.into_iter().filter(|r| r.0 != 404) {
        with_harness(|h| async move {
            let r = reconciler(&h);
            pg_created(&h, &r, &pg_password("app", json!({}))).await;
            let c = creds(&h, "app").await;
            fail(&h, "get_role", status, None).await;
            // A fresh controller remembers nothing: it reads the role.
            let r = reconciler(&h);
            assert_eq!(failing(&h, &r).await, (reason.to_string(), transient));
            assert_eq!(
                h.calls(Some("create_role")).await,
                1,
                "{status}: nothing new"
            );
            h.clear_faults().await;
            pass(&h, &r, "app").await;
            assert_eq!(working_roles(&h, "app", 1).await, c, "{status}");
        })
        .await;
    }
}

#[tokio::test]
async fn a_role_get_answering_404_means_deleted_and_it_is_replaced() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        pg_created(&h, &r, &pg_password("app", json!({}))).await;
        let c = creds(&h, "app").await;
        let id = get(&h, "app").await.status.unwrap().password_id.unwrap();
        h.planetscale()
            .delete_role("acme", "ledger", "main", &id, None)
            .await
            .unwrap();
        let r = reconciler(&h);
        pass(&h, &r, "app").await;
        pass(&h, &r, "app").await;
        let new = working_roles(&h, "app", 1).await;
        assert_ne!(new.0, c.0);
        let reasons = h.event_reasons("app").await;
        assert!(
            reasons.contains(&"PasswordReplaced".to_string()),
            "{reasons:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn renew_role_404_or_422_replaces_and_429_or_5xx_renews_later() {
    for (status, replaced) in [(404, true), (422, true), (429, false), (503, false)] {
        with_harness(|h| async move {
            let r = reconciler(&h);
            pg_created(&h, &r, &pg_password("app", json!({"ttl": "1h"}))).await;
            let old = creds(&h, "app").await;
            h.advance("31m").await;
            fail(&h, "renew_role", status, None).await;
            let r = reconciler(&h);
            if replaced {
                pass(&h, &r, "app").await;
                h.clear_faults().await;
                pass(&h, &r, "app").await;
                let new = working_roles(&h, "app", 2).await;
                assert_ne!(new.0, old.0, "{status}: replaced");
            } else {
                assert!(failing(&h, &r).await.1, "{status}: transient");
                h.clear_faults().await;
                pass(&h, &r, "app").await;
                pass(&h, &r, "app").await;
                assert_eq!(working_roles(&h, "app", 1).await, old, "{status}: renewed");
            }
        })
        .await;
    }
}

#[tokio::test]
async fn delete_role_failures_keep_the_finalizer_until_it_succeeds() {
    for (status, reason) in [
        (401, "Unauthorized"),
        (422, "RoleOwnsObjects"),
        (429, "RateLimited"),
        (503, "PlanetScaleUnavailable"),
    ] {
        with_harness(|h| async move {
            let r = reconciler(&h);
            pg_created(&h, &r, &pg_password("app", json!({}))).await;
            let o = get(&h, "app").await;
            fail(&h, "delete_role", status, None).await;
            delete(&h, "app").await;
            assert_eq!(failing(&h, &r).await.0, reason, "{status}");
            assert_eq!(live_roles(&h, &o).await.len(), 1, "{status}: kept");
            assert!(h.get::<PlanetScalePassword>("app").await.is_some());
            h.clear_faults().await;
            pass(&h, &r, "app").await;
            assert!(live_roles(&h, &o).await.is_empty(), "{status}: deleted");
            assert!(h.get::<PlanetScalePassword>("app").await.is_none());
        })
        .await;
    }
}

#[tokio::test]
async fn delete_role_404_and_a_gone_branch_list_count_as_deleted() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        pg_created(&h, &r, &pg_password("app", json!({}))).await;
        fail(&h, "delete_role", 404, None).await;
        delete(&h, "app").await;
        pass(&h, &r, "app").await;
        assert!(
            h.get::<PlanetScalePassword>("app").await.is_none(),
            "404: gone"
        );
    })
    .await;
    with_harness(|h| async move {
        let r = reconciler(&h);
        pg_created(&h, &r, &pg_password("app", json!({}))).await;
        fail(&h, "list_roles", 404, None).await;
        delete(&h, "app").await;
        pass(&h, &r, "app").await;
        assert!(
            h.get::<PlanetScalePassword>("app").await.is_none(),
            "branch gone"
        );
    })
    .await;
}

#[tokio::test]
async fn list_roles_failures_keep_the_finalizer_and_fail_a_resumed_create() {
    for (status, reason) in [(401, "Unauthorized"), (503, "PlanetScaleUnavailable")] {
        with_harness(|h| async move {
            let r = reconciler(&h);
            pg_created(&h, &r, &pg_password("app", json!({}))).await;
            let o = get(&h, "app").await;
            fail(&h, "list_roles", status, None).await;
            delete(&h, "app").await;
            assert_eq!(failing(&h, &r).await.0, reason, "{status}");
            assert_eq!(live_roles(&h, &o).await.len(), 1);
            h.clear_faults().await;
            pass(&h, &r, "app").await;
            assert!(live_roles(&h, &o).await.is_empty());
        })
        .await;
        with_harness(|h| async move {
            let r = reconciler(&h);
            applied(&h, &r, &pg_password("app", json!({}))).await;
            let lost = json!({"operation": "create_role", "drop_connection": true, "count": 1});
            h.fault(lost).await;
            h.pass(&r, "app").await.expect_err("the response is lost");
            fail(&h, "list_roles", status, None).await;
            assert_eq!(failing(&h, &r).await.0, reason, "{status}: resume waits");
            let o = get(&h, "app").await;
            assert_eq!(all_roles(&h, &o).await.len(), 1, "no second create");
            h.clear_faults().await;
            pass(&h, &r, "app").await;
            working_roles(&h, "app", 1).await;
        })
        .await;
    }
}
