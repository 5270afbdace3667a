//! The branch reconciler when PlanetScale fails: a 404/401/422/429/5xx on each call it
//! makes (create, get, list, get database, promote, update, delete), missing credentials,
//! and a crash between two writes.
use planetscale_operator::controller::branch::BranchReconciler;
use planetscale_operator::crd::branch::PlanetScaleBranch;
use serde_json::json;

use crate::branch::{
    branch, condition, create, created, delete, get, pass, ps_branch, ready, ready_branch,
    reconciler,
};
use crate::harness::{Harness, with_harness};

/// A fault on every request of `operation` until cleared.
async fn fail(h: &Harness, operation: &str, status: u16, message: &str) {
    h.fault(json!({"operation": operation, "status": status, "message": message}))
        .await;
}

/// Applies `name` and adds the finalizer (the first pass); the next pass creates.
async fn applied(h: &Harness, r: &BranchReconciler, name: &str) {
    h.apply(&branch(name, json!({}))).await;
    pass(h, r, name).await;
}

/// `status.createRequestedAt` is set and no id recorded: the intent survives.
fn intent_kept(o: &PlanetScaleBranch) -> bool {
    let s = o.status.as_ref().expect("status");
    s.create_requested_at.is_some() && s.id.is_none()
}

#[tokio::test]
async fn create_401_says_unauthorized_and_voids_the_intent() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        applied(&h, &r, "pr-1").await;
        fail(&h, "create_branch", 401, "invalid token").await;
        let err = h.pass(&r, "pr-1").await.expect_err("401");
        assert_eq!(err.reason(), "Unauthorized");
        assert!(!err.is_transient());
        let o = get(&h, "pr-1").await;
        assert_eq!(ready(&o), ("False".into(), "Unauthorized".into()));
        assert!(
            o.status.as_ref().unwrap().create_requested_at.is_none(),
            "nothing was created"
        );
        assert!(
            h.event_reasons("pr-1")
                .await
                .contains(&"Unauthorized".to_string())
        );
        h.clear_faults().await;
        pass(&h, &r, "pr-1").await;
        assert!(
            ps_branch(&h, "pr-1").await.is_some(),
            "created once the credentials work"
        );
    })
    .await;
}

#[tokio::test]
async fn create_422_parent_not_ready_waits() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        applied(&h, &r, "pr-1").await;
        fail(
            &h,
            "create_branch",
            422,
            "Parent branch main is not ready yet",
        )
        .await;
        pass(&h, &r, "pr-1").await;
        let o = get(&h, "pr-1").await;
        let (status, reason, message) = condition(&o, "Ready").unwrap();
        assert_eq!(
            (status.as_str(), reason.as_str()),
            ("False", "BranchNotReady")
        );
        assert!(
            message.contains("cannot create branch pr-1 yet"),
            "{message}"
        );
        assert!(
            h.event_reasons("pr-1").await.is_empty(),
            "a wait is no warning"
        );
    })
    .await;
}

#[tokio::test]
async fn create_400_database_initializing_waits() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        applied(&h, &r, "pr-1").await;
        let msg = "Database is still initializing and cannot create branches.";
        fail(&h, "create_branch", 400, msg).await;
        pass(&h, &r, "pr-1").await;
        let o = get(&h, "pr-1").await;
        assert_eq!(ready(&o), ("False".into(), "DatabaseNotReady".into()));
        h.clear_faults().await;
        pass(&h, &r, "pr-1").await;
        assert!(ps_branch(&h, "pr-1").await.is_some());
    })
    .await;
}

#[tokio::test]
async fn create_422_refusal_is_shown_with_the_api_message() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        applied(&h, &r, "pr-1").await;
        fail(&h, "create_branch", 422, "Region is not available").await;
        let err = h.pass(&r, "pr-1").await.expect_err("422");
        assert!(!err.is_transient());
        let (status, reason, message) = condition(&get(&h, "pr-1").await, "Ready").unwrap();
        assert_eq!((status.as_str(), reason.as_str()), ("False", "Rejected"));
        assert!(message.contains("Region is not available"), "{message}");
    })
    .await;
}

#[tokio::test]
async fn create_429_and_5xx_keep_the_intent_and_the_next_pass_creates_once() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        applied(&h, &r, "pr-1").await;
        for status in [429, 503] {
            fail(&h, "create_branch", status, "try later").await;
            let err = h.pass(&r, "pr-1").await.expect_err("transient");
            assert!(err.is_transient(), "{status}: backoff, not the slow retry");
            let o = get(&h, "pr-1").await;
            assert!(
                intent_kept(&o),
                "{status}: a create may have happened: {:?}",
                o.status
            );
            h.clear_faults().await;
        }
        pass(&h, &r, "pr-1").await;
        let o = get(&h, "pr-1").await;
        let ps = ps_branch(&h, "pr-1").await.expect("created");
        assert_eq!(
            o.status.as_ref().unwrap().id.as_deref(),
            Some(ps.id.as_str())
        );
        assert_eq!(o.status.as_ref().unwrap().adopted, Some(false));
    })
    .await;
}

#[tokio::test]
async fn a_crash_after_the_create_call_before_the_status_write_is_recovered() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        applied(&h, &r, "pr-1").await;
        // PlanetScale creates the branch, but the answer never arrives: as if the operator
        // died between the create call and the status write.
        h.fault(json!({"operation": "create_branch", "drop_connection": true, "count": 1}))
            .await;
        let err = h.pass(&r, "pr-1").await.expect_err("no answer");
        assert!(err.is_transient());
        assert!(intent_kept(&get(&h, "pr-1").await));
        let ps = ps_branch(&h, "pr-1").await.expect("created all the same");

        // A new process (a new reconciler, nothing in memory) finds it and records it as ours.
        let r = reconciler(&h);
        pass(&h, &r, "pr-1").await;
        let o = get(&h, "pr-1").await;
        let s = o.status.as_ref().unwrap();
        assert_eq!(s.id.as_deref(), Some(ps.id.as_str()));
        assert_eq!(s.adopted, Some(false), "ours, not adopted");
        assert_ne!(ready(&o).1, "AlreadyExists");
        assert_eq!(h.calls(Some("create_branch")).await, 1);
    })
    .await;
}

#[tokio::test]
async fn a_crash_after_the_intent_write_before_the_create_call_is_recovered() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        applied(&h, &r, "pr-1").await;
        // The intent was written, then the process died before calling PlanetScale.
        h.fault(json!({"operation": "create_branch", "status": 503}))
            .await;
        let _ = h.pass(&r, "pr-1").await;
        h.clear_faults().await;
        let calls = h.calls(Some("create_branch")).await;
        assert!(intent_kept(&get(&h, "pr-1").await));
        let r = reconciler(&h);
        pass(&h, &r, "pr-1").await;
        let o = get(&h, "pr-1").await;
        assert!(o.status.as_ref().unwrap().id.is_some());
        assert_eq!(ready(&o).1, "BranchNotReady");
        assert_eq!(
            h.calls(Some("create_branch")).await,
            calls + 1,
            "one create"
        );
    })
    .await;
}

#[tokio::test]
async fn get_branch_401_404_429_5xx() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        created(&h, &r, &branch("pr-1", json!({}))).await;
        for (status, reason, transient) in [
            (401, "Unauthorized", false),
            (429, "RateLimited", true),
            (500, "PlanetScaleUnavailable", true),
        ] {
            fail(&h, "get_branch", status, "no").await;
            let err = h.pass(&r, "pr-1").await.expect_err("fails");
            assert_eq!(
                (err.reason(), err.is_transient()),
                (reason, transient),
                "{status}"
            );
            assert_eq!(
                ready(&get(&h, "pr-1").await),
                ("False".into(), reason.into())
            );
            assert!(
                get(&h, "pr-1").await.status.unwrap().id.is_some(),
                "the id stays"
            );
            h.clear_faults().await;
        }
        // A 404 reads as a branch deleted outside Kubernetes: the create that follows is
        // refused (the name is taken), and the branch is never taken for someone else's.
        fail(&h, "get_branch", 404, "Not Found").await;
        let err = h.pass(&r, "pr-1").await.expect_err("the name is taken");
        assert_eq!(err.reason(), "AlreadyExists");
        h.clear_faults().await;
        assert_eq!(
            h.calls(Some("create_branch")).await,
            2,
            "one create, one refused"
        );
        pass(&h, &r, "pr-1").await;
        let o = get(&h, "pr-1").await;
        assert_eq!(
            ready(&o).1,
            "BranchNotReady",
            "the branch is recognised as ours again"
        );
        assert_eq!(o.status.unwrap().create_requested_at, None);
    })
    .await;
}

#[tokio::test]
async fn get_database_5xx_and_401_when_the_branch_is_missing() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        ready_branch(&h, &r, &branch("pr-1", json!({}))).await;
        h.planetscale()
            .delete_branch("acme", "shop", "pr-1")
            .await
            .unwrap();
        for (status, reason) in [(502, "PlanetScaleUnavailable"), (401, "Unauthorized")] {
            fail(&h, "get_database", status, "no").await;
            let err = h.pass(&r, "pr-1").await.expect_err("fails");
            assert_eq!(err.reason(), reason, "{status}");
            assert_eq!(
                ready(&get(&h, "pr-1").await),
                ("False".into(), reason.into())
            );
            assert!(ps_branch(&h, "pr-1").await.is_none(), "not created blind");
            h.clear_faults().await;
        }
        pass(&h, &r, "pr-1").await;
        assert!(ps_branch(&h, "pr-1").await.is_some());
    })
    .await;
}

#[tokio::test]
async fn list_branches_429_5xx_on_the_resync_of_a_ready_branch() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        ready_branch(&h, &r, &branch("pr-1", json!({}))).await;
        for (status, reason) in [(429, "RateLimited"), (500, "PlanetScaleUnavailable")] {
            fail(&h, "list_branches", status, "no").await;
            let err = h.pass(&r, "pr-1").await.expect_err("fails");
            assert_eq!(err.reason(), reason);
            assert!(err.is_transient());
            assert_eq!(
                ready(&get(&h, "pr-1").await),
                ("False".into(), reason.into())
            );
            h.clear_faults().await;
            // Not Ready: the next pass looks with a GET of its own, and is Ready again.
            pass(&h, &r, "pr-1").await;
            assert_eq!(ready(&get(&h, "pr-1").await).0, "True", "Ready again");
        }
    })
    .await;
}

#[tokio::test]
async fn promote_422_and_5xx_are_shown_and_retried() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        created(&h, &r, &branch("pr-1", json!({"production": true}))).await;
        h.advance("61s").await;
        fail(&h, "promote_branch", 422, "Branch cannot be promoted now").await;
        let err = h.pass(&r, "pr-1").await.expect_err("422");
        assert!(!err.is_transient());
        let (status, reason, message) = condition(&get(&h, "pr-1").await, "Ready").unwrap();
        assert_eq!((status.as_str(), reason.as_str()), ("False", "Rejected"));
        assert!(
            message.contains("promoted to a production branch"),
            "{message}"
        );
        h.clear_faults().await;

        fail(&h, "promote_branch", 503, "down").await;
        let err = h.pass(&r, "pr-1").await.expect_err("503");
        assert!(err.is_transient());
        h.clear_faults().await;
        pass(&h, &r, "pr-1").await;
        assert!(ps_branch(&h, "pr-1").await.unwrap().production);
        assert_eq!(ready(&get(&h, "pr-1").await).0, "True");
    })
    .await;
}

#[tokio::test]
async fn update_branch_404_and_429_on_deletion_protection() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        ready_branch(&h, &r, &branch("pr-1", json!({}))).await;
        h.apply(&branch("pr-1", json!({"deletionProtected": true})))
            .await;
        for (status, reason) in [(404, "NotFound"), (429, "RateLimited")] {
            fail(&h, "update_branch", status, "no").await;
            let err = h.pass(&r, "pr-1").await.expect_err("fails");
            assert_eq!(err.reason(), reason, "{status}");
            assert_eq!(
                ready(&get(&h, "pr-1").await),
                ("False".into(), reason.into())
            );
            h.clear_faults().await;
        }
        pass(&h, &r, "pr-1").await;
        assert!(ps_branch(&h, "pr-1").await.unwrap().deletion_protected);
    })
    .await;
}

#[tokio::test]
async fn delete_5xx_is_retried_and_401_blocks_with_a_way_out() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        ready_branch(&h, &r, &branch("pr-1", json!({}))).await;
        delete(&h, "pr-1").await;
        fail(&h, "delete_branch", 500, "down").await;
        let err = h.pass(&r, "pr-1").await.expect_err("500");
        assert!(err.is_transient());
        let o = get(&h, "pr-1").await;
        assert_eq!(ready(&o), ("False".into(), "PlanetScaleUnavailable".into()));
        assert!(
            condition(&o, "DeletionBlocked").is_none(),
            "a transient failure blocks nothing"
        );
        h.clear_faults().await;

        fail(&h, "delete_branch", 401, "invalid token").await;
        let err = h.pass(&r, "pr-1").await.expect_err("401");
        assert!(!err.is_transient());
        let o = get(&h, "pr-1").await;
        let (status, cause, message) = condition(&o, "DeletionBlocked").expect("blocked");
        assert_eq!((status.as_str(), cause.as_str()), ("True", "Unauthorized"));
        assert!(message.contains("fix the credentials"), "{message}");
        h.clear_faults().await;

        pass(&h, &r, "pr-1").await;
        assert!(h.get::<PlanetScaleBranch>("pr-1").await.is_none());
        assert!(ps_branch(&h, "pr-1").await.is_none());
    })
    .await;
}

#[tokio::test]
async fn missing_credentials_say_which_secret() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        let obj = branch("pr-1", json!({"credentialsRef": {"name": "nope"}}));
        h.apply(&obj).await;
        pass(&h, &r, "pr-1").await;
        let err = h.pass(&r, "pr-1").await.expect_err("no credentials");
        assert_eq!(err.reason(), "CredentialsNotFound");
        let (_, reason, message) = condition(&get(&h, "pr-1").await, "Ready").unwrap();
        assert_eq!(reason, "CredentialsNotFound");
        assert!(message.contains("nope"), "{message}");
        assert_eq!(h.calls(None).await, 0);
        let _ = create("unused");
    })
    .await;
}
