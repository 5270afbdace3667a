//! The password reconciler when PlanetScale fails: a 404/401/422/429/5xx on each call it
//! makes (create, get, the database list, renew, update, delete, the cleanup list), a create
//! whose response is lost, a crash between the Secret write and the status write, and bad
//! input that must create nothing.
use k8s_openapi::api::core::v1::Secret;
use serde_json::json;

use crate::harness::{Harness, with_harness};
use crate::password::{
    all_passwords, applied, condition, created, creds, delete, get, live, one_working, pass,
    password, patch_status, ready, reconciler, secret, valid, working,
};
use planetscale_operator::controller::password::Passwords;
use planetscale_operator::crd::password::PlanetScalePassword;

/// A fault on every request of `operation` until cleared.
async fn fail(h: &Harness, operation: &str, status: u16) {
    let message = format!("injected {status}");
    h.fault(json!({"operation": operation, "status": status, "message": message}))
        .await;
}

/// A pass that must fail; returns the error's reason and whether it is transient.
async fn failing(h: &Harness, r: &Passwords, name: &str) -> (String, bool) {
    let err = h.pass(r, name).await.expect_err("the pass fails");
    (err.reason().to_string(), err.is_transient())
}

/// A create refused with `status`: reported with `reason`, nothing created; created once the
/// fault is gone, exactly once.
async fn create_refused(status: u16, reason: &'static str, transient: bool) {
    with_harness(|h| async move {
        let r = reconciler(&h);
        applied(&h, &r, &password("app", json!({}))).await;
        fail(&h, "create_password", status).await;
        assert_eq!(
            failing(&h, &r, "app").await,
            (reason.to_string(), transient)
        );
        let o = get(&h, "app").await;
        assert_eq!(ready(&o), ("False".into(), reason.into()), "{status}");
        assert!(all_passwords(&h, &o).await.is_empty(), "nothing created");
        assert!(secret(&h, "app").await.is_none());
        let s = o.status.clone().unwrap();
        assert_eq!(
            (s.rotation, s.password_id),
            (1, None),
            "the counter is kept"
        );
        h.clear_faults().await;
        pass(&h, &r, "app").await;
        one_working(&h, "app").await;
        assert_eq!(
            get(&h, "app").await.status.unwrap().rotation,
            1,
            "the same counter"
        );
        assert_eq!(all_passwords(&h, &o).await.len(), 1, "no duplicate");
    })
    .await;
}

#[tokio::test]
async fn create_401_is_reported_and_nothing_is_created() {
    create_refused(401, "Unauthorized", false).await;
}

#[tokio::test]
async fn create_404_is_reported_and_nothing_is_created() {
    create_refused(404, "NotFound", false).await;
}

#[tokio::test]
async fn create_422_is_reported_and_nothing_is_created() {
    create_refused(422, "Rejected", false).await;
}

#[tokio::test]
async fn create_429_is_retried_and_creates_exactly_one() {
    create_refused(429, "RateLimited", true).await;
}

#[tokio::test]
async fn create_503_is_retried_and_creates_exactly_one() {
    create_refused(503, "PlanetScaleUnavailable", true).await;
}

#[tokio::test]
async fn a_lost_create_response_leaves_exactly_one_password_in_the_secret() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        applied(&h, &r, &password("app", json!({}))).await;
        // PlanetScale creates the password, but its plaintext never arrives: as if the
        // operator crashed between the create and the Secret write.
        let drop = json!({"operation": "create_password", "drop_connection": true, "count": 1});
        h.fault(drop).await;
        h.pass(&r, "app").await.expect_err("the response is lost");
        let o = get(&h, "app").await;
        assert_eq!(
            all_passwords(&h, &o).await.len(),
            1,
            "created in PlanetScale"
        );
        assert!(secret(&h, "app").await.is_none(), "not written");
        assert_eq!(
            o.status.clone().unwrap().rotation,
            1,
            "the counter was written first"
        );
        let r = reconciler(&h);
        pass(&h, &r, "app").await;
        one_working(&h, "app").await;
        let all = all_passwords(&h, &o).await;
        assert_eq!(all.len(), 2, "the stray and its replacement: {all:?}");
        assert_eq!(
            get(&h, "app").await.status.unwrap().rotation,
            1,
            "the counter reused"
        );
    })
    .await;
}

#[tokio::test]
async fn a_crash_between_the_secret_write_and_the_status_write_adopts_the_password() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        created(&h, &r, &password("app", json!({}))).await;
        let c = creds(&h, "app").await;
        // The status of the rotation that was about to be recorded: the counter, not the id.
        let lost = json!({"rotation": 2, "passwordId": null, "passwordName": null});
        let annotate =
            json!({"metadata": {"annotations": {"planetscale.operator.dev/rotate": "r1"}}});
        h.merge::<PlanetScalePassword>("app", annotate).await;
        pass(&h, &r, "app").await;
        let rotated = creds(&h, "app").await;
        assert_ne!(rotated, c);
        patch_status(&h, "app", lost).await;
        let creates = h.calls(Some("create_password")).await;
        let r = reconciler(&h);
        pass(&h, &r, "app").await;
        pass(&h, &r, "app").await;
        assert_eq!(
            h.calls(Some("create_password")).await,
            creates,
            "no duplicate"
        );
        let s = get(&h, "app").await.status.unwrap();
        assert_eq!(s.rotation, 2);
        assert!(s.password_id.is_some(), "recorded again");
        assert_eq!(
            creds(&h, "app").await,
            rotated,
            "the Secret's password adopted"
        );
        assert!(valid(&h, &rotated).await);
    })
    .await;
}

#[tokio::test]
async fn a_password_deleted_in_planetscale_is_replaced() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        created(&h, &r, &password("app", json!({}))).await;
        let old = creds(&h, "app").await;
        let id = get(&h, "app").await.status.unwrap().password_id.unwrap();
        h.planetscale()
            .delete_password("acme", "shop", "main", &id)
            .await
            .expect("delete outside Kubernetes");
        let r = reconciler(&h);
        pass(&h, &r, "app").await;
        let new = one_working(&h, "app").await;
        assert_ne!(new.0, old.0);
        assert!(
            h.event_reasons("app")
                .await
                .contains(&"PasswordReplaced".to_string())
        );
    })
    .await;
}

/// A Ready password looked at by a fresh controller when `operation` fails with `status`:
/// the pass fails with `reason`, the password and its Secret are untouched, and the next pass
/// after the fault is Ready again.
async fn look_fails(operation: &str, status: u16, reason: &str) {
    let (operation, reason) = (operation.to_string(), reason.to_string());
    with_harness(|h| async move {
        let r = reconciler(&h);
        created(&h, &r, &password("app", json!({}))).await;
        let c = creds(&h, "app").await;
        if operation == "get_password" {
            // Without the database list, every password is read on its own.
            fail(&h, "list_database_passwords", 404).await;
        }
        fail(&h, &operation, status).await;
        let r = reconciler(&h);
        assert_eq!(failing(&h, &r, "app").await.0, reason);
        assert_eq!(
            ready(&get(&h, "app").await),
            ("False".into(), reason.clone())
        );
        assert_eq!(creds(&h, "app").await, c, "the Secret is untouched");
        h.clear_faults().await;
        let r = reconciler(&h);
        pass(&h, &r, "app").await;
        assert_eq!(one_working(&h, "app").await, c);
        assert_eq!(
            ready(&get(&h, "app").await),
            ("True".into(), "Ready".into())
        );
    })
    .await;
}

#[tokio::test]
async fn get_password_401_fails_the_pass_and_changes_nothing() {
    look_fails("get_password", 401, "Unauthorized").await;
}

#[tokio::test]
async fn get_password_429_and_503_fail_the_pass_and_change_nothing() {
    look_fails("get_password", 429, "RateLimited").await;
    look_fails("get_password", 503, "PlanetScaleUnavailable").await;
}

#[tokio::test]
async fn list_database_passwords_5xx_and_401_fail_the_pass_and_change_nothing() {
    look_fails("list_database_passwords", 503, "PlanetScaleUnavailable").await;
    look_fails("list_database_passwords", 401, "Unauthorized").await;
}

#[tokio::test]
async fn list_database_passwords_404_or_403_falls_back_to_one_get() {
    for status in [404, 403] {
        with_harness(|h| async move {
            let r = reconciler(&h);
            created(&h, &r, &password("app", json!({}))).await;
            fail(&h, "list_database_passwords", status).await;
            let gets = h.calls(Some("get_password")).await;
            let r = reconciler(&h);
            pass(&h, &r, "app").await;
            assert_eq!(
                h.calls(Some("get_password")).await,
                gets + 1,
                "{status}: one GET"
            );
            assert_eq!(
                ready(&get(&h, "app").await),
                ("True".into(), "Ready".into())
            );
            one_working(&h, "app").await;
        })
        .await;
    }
}

/// A password with a 1-hour TTL past half-life, with `renew_password` failing with `status`.
async fn renew_fails(h: &Harness, status: u16) -> (String, String) {
    let r = reconciler(h);
    created(h, &r, &password("app", json!({"ttl": "1h"}))).await;
    let c = creds(h, "app").await;
    h.advance("31m").await;
    fail(h, "renew_password", status).await;
    c
}

#[tokio::test]
async fn renew_404_or_422_replaces_the_password() {
    for status in [404, 422] {
        with_harness(|h| async move {
            let old = renew_fails(&h, status).await;
            let r = reconciler(&h);
            pass(&h, &r, "app").await;
            assert_eq!(
                h.calls(Some("renew_password")).await,
                1,
                "{status}: asked once"
            );
            pass(&h, &r, "app").await;
            let new = working(&h, "app", "app", 2).await;
            assert_ne!(new.0, old.0, "{status}: replaced");
            let reasons = h.event_reasons("app").await;
            assert!(
                reasons.contains(&"PasswordReplaced".to_string()),
                "{reasons:?}"
            );
        })
        .await;
    }
}

#[tokio::test]
async fn renew_429_or_5xx_fails_the_pass_and_renews_later() {
    for (status, reason) in [(429, "RateLimited"), (503, "PlanetScaleUnavailable")] {
        with_harness(|h| async move {
            let c = renew_fails(&h, status).await;
            let r = reconciler(&h);
            assert_eq!(failing(&h, &r, "app").await, (reason.to_string(), true));
            h.clear_faults().await;
            pass(&h, &r, "app").await;
            pass(&h, &r, "app").await;
            assert_eq!(one_working(&h, "app").await, c, "renewed, not replaced");
            let reasons = h.event_reasons("app").await;
            assert!(reasons.contains(&"Renewed".to_string()), "{reasons:?}");
        })
        .await;
    }
}

#[tokio::test]
async fn update_password_failures_fail_the_pass_then_the_cidrs_are_set_once() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        created(&h, &r, &password("app", json!({}))).await;
        let c = creds(&h, "app").await;
        let spec = json!({"cidrs": ["10.0.0.0/8"]});
        h.apply(&password("app", spec)).await;
        for (status, reason) in [(422, "Rejected"), (503, "PlanetScaleUnavailable")] {
            fail(&h, "update_password", status).await;
            assert_eq!(failing(&h, &r, "app").await.0, reason);
            h.clear_faults().await;
        }
        pass(&h, &r, "app").await;
        pass(&h, &r, "app").await;
        let id = get(&h, "app").await.status.unwrap().password_id.unwrap();
        let p = h
            .planetscale()
            .get_password("acme", "shop", "main", &id)
            .await
            .unwrap();
        assert_eq!(p.cidrs, Some(vec!["10.0.0.0/8".to_string()]));
        assert_eq!(one_working(&h, "app").await, c, "the CIDRs change in place");
        let updates = h.calls(Some("update_password")).await;
        pass(&h, &r, "app").await;
        assert_eq!(h.calls(Some("update_password")).await, updates, "set once");
    })
    .await;
}

#[tokio::test]
async fn delete_password_5xx_keeps_the_finalizer_until_it_succeeds() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        let o = created(&h, &r, &password("app", json!({}))).await;
        delete(&h, "app").await;
        fail(&h, "delete_password", 503).await;
        assert_eq!(failing(&h, &r, "app").await.0, "PlanetScaleUnavailable");
        let stuck = get(&h, "app").await;
        assert_eq!(
            ready(&stuck).1,
            "PlanetScaleUnavailable",
            "deletion says why it waits"
        );
        assert_eq!(live(&h, &o).await.len(), 1);
        h.clear_faults().await;
        pass(&h, &r, "app").await;
        assert!(
            h.get::<PlanetScalePassword>("app").await.is_none(),
            "finalizer removed"
        );
        assert!(live(&h, &o).await.is_empty());
    })
    .await;
}

#[tokio::test]
async fn delete_password_404_and_a_gone_branch_count_as_deleted() {
    for (operation, status) in [("delete_password", 404), ("list_passwords", 404)] {
        with_harness(|h| async move {
            let r = reconciler(&h);
            created(&h, &r, &password("app", json!({}))).await;
            delete(&h, "app").await;
            fail(&h, operation, status).await;
            pass(&h, &r, "app").await;
            assert!(
                h.get::<PlanetScalePassword>("app").await.is_none(),
                "{operation} {status}: the finalizer goes"
            );
        })
        .await;
    }
}

#[tokio::test]
async fn delete_password_401_keeps_the_finalizer() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        created(&h, &r, &password("app", json!({}))).await;
        delete(&h, "app").await;
        fail(&h, "list_passwords", 401).await;
        assert_eq!(
            failing(&h, &r, "app").await,
            ("Unauthorized".to_string(), false)
        );
        assert!(h.get::<PlanetScalePassword>("app").await.is_some(), "kept");
    })
    .await;
}

#[tokio::test]
async fn a_replaced_password_whose_deletion_fails_stays_pending() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        created(
            &h,
            &r,
            &password("app", json!({"rotation": {"gracePeriod": "0s"}})),
        )
        .await;
        let old = creds(&h, "app").await;
        h.api::<Secret>()
            .delete("app", &Default::default())
            .await
            .expect("delete Secret");
        fail(&h, "delete_password", 503).await;
        h.pass(&r, "app")
            .await
            .expect_err("the old password cannot be deleted");
        let s = get(&h, "app").await.status.unwrap();
        assert_eq!(
            (s.rotation, s.pending_deletions.len()),
            (2, 1),
            "recorded, still pending"
        );
        let new = creds(&h, "app").await;
        assert!(
            valid(&h, &new).await,
            "the Secret holds the new password all the same"
        );
        h.clear_faults().await;
        pass(&h, &r, "app").await;
        assert!(
            get(&h, "app")
                .await
                .status
                .unwrap()
                .pending_deletions
                .is_empty()
        );
        assert!(!valid(&h, &old).await);
        assert_eq!(one_working(&h, "app").await, new);
    })
    .await;
}

#[tokio::test]
async fn a_template_that_does_not_render_creates_nothing_and_writes_no_counter() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        let bad = json!({"secret": {"template": {"data": {"url": "{{ host | no_such_filter }}"}}}});
        applied(&h, &r, &password("app", bad)).await;
        let err = h.pass(&r, "app").await.expect_err("refused");
        assert!(!err.is_transient(), "{err}");
        let o = get(&h, "app").await;
        assert_eq!(condition(&o, "SecretSynced").0, "False");
        assert_eq!(
            o.status.clone().unwrap().rotation,
            0,
            "no counter for a create that cannot be stored"
        );
        assert!(all_passwords(&h, &o).await.is_empty());
        h.apply(&password("app", json!({}))).await;
        pass(&h, &r, "app").await;
        one_working(&h, "app").await;
    })
    .await;
}

#[tokio::test]
async fn an_explicit_branch_that_does_not_exist_waits_and_creates_nothing() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        applied(&h, &r, &password("app", json!({"branch": "nope"}))).await;
        let err = h.pass(&r, "app").await.expect_err("waiting");
        assert_eq!(err.reason(), "BranchNotReady");
        let o = get(&h, "app").await;
        assert_eq!(ready(&o), ("False".into(), "BranchNotReady".into()));
        assert_eq!(
            o.status.clone().unwrap().rotation,
            0,
            "no counter while waiting"
        );
        assert!(all_passwords(&h, &o).await.is_empty());
    })
    .await;
}
