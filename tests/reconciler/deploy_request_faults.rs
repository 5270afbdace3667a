//! DeployRequest reconciler tests: a 404, 401, 422, 429 and 500 on each PlanetScale call the
//! controller makes. A read or an open that fails is an error shown in `Ready` (retried with
//! backoff); an action PlanetScale refuses is shown in the conditions and not looped; a
//! transient failure of an action is retried; nothing is done twice, and once the fault is
//! gone the next passes carry on.
use kube::runtime::controller::Action;
use planetscale_operator::crd::DeployRequest;
use planetscale_operator::error::Error;
use serde_json::json;

use crate::deploy_request::{
    branch_with, cond, controller, create, drive, number, opened, patch_spec, remote, state, table,
};
use crate::harness::{Harness, credentials_secret, with_harness};

/// The statuses every call is tried with.
const STATUSES: [u16; 5] = [404, 401, 422, 429, 500];

/// One pass of `name` while every `op` call answers `status`; the fault is gone afterwards.
async fn under_fault(h: &Harness, name: &str, op: &str, status: u16) -> Result<Action, Error> {
    h.fault(json!({"operation": op, "status": status})).await;
    let result = h.pass(&controller(h), name).await;
    h.clear_faults().await;
    result
}

/// Each status on `op` makes the pass fail with `Ready=False` and the error's reason;
/// `reasons` are the expected reasons for 404 and 401.
async fn reads_fail(h: &Harness, name: &str, op: &str, reasons: [&str; 2]) {
    for status in STATUSES {
        let err = under_fault(h, name, op, status)
            .await
            .expect_err(&format!("{status} on {op} fails the pass"));
        let ready = cond(h, name, "Ready").await;
        assert_eq!(ready.0, "False", "{status} on {op}");
        assert_eq!(ready.1, err.reason(), "{status} on {op}: {err}");
        match status {
            404 => assert_eq!(err.reason(), reasons[0], "{err}"),
            401 => assert_eq!(err.reason(), reasons[1], "{err}"),
            429 | 500 => assert!(err.is_transient(), "{status} on {op} is retried soon"),
            _ => {}
        }
    }
}

/// Each status on the action `op`: a refusal (404, 401, 422) is shown in `type_` and the pass
/// succeeds (no error loop); a transient failure (429, 500) fails the pass. The state in
/// PlanetScale stays `state`.
async fn action_refused(h: &Harness, name: &str, op: &str, type_: &str, state_now: &str) {
    for status in STATUSES {
        let result = under_fault(h, name, op, status).await;
        let shown = cond(h, name, type_).await;
        match status {
            429 | 500 => {
                let err = result.expect_err("a transient failure is retried");
                assert!(err.is_transient(), "{err}");
                assert_eq!(cond(h, name, "Ready").await.1, err.reason());
            }
            _ => {
                result.unwrap_or_else(|e| panic!("{status} on {op} is shown, not retried: {e}"));
                assert_eq!(shown.0, "False", "{status} on {op}: {shown:?}");
                let expected = match (status, op) {
                    (401, _) => "Unauthorized",
                    (_, "review_deploy_request") => "ApprovalFailed",
                    (422, _) => "ActionNotAllowed",
                    _ => "NotFound",
                };
                assert_eq!(shown.1, expected, "{status} on {op}");
            }
        }
        assert_eq!(
            state(h, name).await,
            state_now,
            "{status} on {op} changed nothing"
        );
    }
}

#[tokio::test]
async fn get_database_faults() {
    with_harness(|h| async move {
        opened(&h, "ship", json!({})).await;
        reads_fail(
            &h,
            "ship",
            "get_database",
            ["DatabaseNotFound", "Unauthorized"],
        )
        .await;
        assert!(remote(&h).await.is_empty(), "nothing opened");
        drive(&h, "ship", "True", "ChecksPassed", "3s").await;
    })
    .await;
}

#[tokio::test]
async fn list_deploy_requests_faults() {
    with_harness(|h| async move {
        opened(&h, "ship", json!({"intoBranch": "main"})).await;
        reads_fail(
            &h,
            "ship",
            "list_deploy_requests",
            ["NotFound", "Unauthorized"],
        )
        .await;
        assert!(remote(&h).await.is_empty(), "nothing opened");
        drive(&h, "ship", "True", "ChecksPassed", "3s").await;
    })
    .await;
}

#[tokio::test]
async fn get_branch_faults() {
    with_harness(|h| async move {
        opened(&h, "ship", json!({"intoBranch": "main"})).await;
        reads_fail(&h, "ship", "get_branch", ["BranchNotFound", "Unauthorized"]).await;
        assert!(remote(&h).await.is_empty(), "nothing opened");
        drive(&h, "ship", "True", "ChecksPassed", "3s").await;
    })
    .await;
}

#[tokio::test]
async fn create_deploy_request_faults() {
    with_harness(|h| async move {
        opened(&h, "ship", json!({})).await;
        reads_fail(
            &h,
            "ship",
            "create_deploy_request",
            ["NotFound", "Unauthorized"],
        )
        .await;
        assert_eq!(cond(&h, "ship", "Ready").await.1, "PlanetScaleUnavailable");
        assert!(remote(&h).await.is_empty(), "nothing opened");
        drive(&h, "ship", "True", "ChecksPassed", "3s").await;
        assert_eq!(remote(&h).await.len(), 1, "opened once");
    })
    .await;
}

#[tokio::test]
async fn get_deploy_request_faults() {
    with_harness(|h| async move {
        opened(&h, "ship", json!({})).await;
        drive(&h, "ship", "True", "ChecksPassed", "3s").await;
        let n = number(&h, "ship").await;
        reads_fail(
            &h,
            "ship",
            "get_deploy_request",
            ["NotFound", "Unauthorized"],
        )
        .await;
        assert_eq!(number(&h, "ship").await, n, "the number is kept");
        drive(&h, "ship", "True", "ChecksPassed", "3s").await;
    })
    .await;
}

#[tokio::test]
async fn queue_deploy_request_faults() {
    with_harness(|h| async move {
        opened(&h, "ship", json!({})).await;
        drive(&h, "ship", "True", "ChecksPassed", "3s").await;
        patch_spec(&h, "ship", json!({"deploy": true})).await;
        action_refused(&h, "ship", "queue_deploy_request", "Ready", "ready").await;
        drive(&h, "ship", "True", "Deployed", "6s").await;
    })
    .await;
}

#[tokio::test]
async fn update_auto_apply_faults() {
    with_harness(|h| async move {
        opened(&h, "ship", json!({})).await;
        drive(&h, "ship", "True", "ChecksPassed", "3s").await;
        patch_spec(&h, "ship", json!({"autoApply": false})).await;
        action_refused(&h, "ship", "update_auto_apply", "Ready", "ready").await;
        h.pass(&controller(&h), "ship")
            .await
            .expect("auto-apply off");
        let dr = h
            .planetscale()
            .get_deploy_request("acme", "shop", number(&h, "ship").await)
            .await
            .unwrap();
        assert!(!dr.deployment.unwrap_or_default().auto_cutover);
    })
    .await;
}

#[tokio::test]
async fn cutover_faults() {
    with_harness(|h| async move {
        opened(&h, "gated", json!({"deploy": true, "autoApply": false})).await;
        drive(&h, "gated", "False", "AwaitingCutover", "6s").await;
        patch_spec(&h, "gated", json!({"cutover": true})).await;
        let op = "complete_gated_deploy_request";
        action_refused(&h, "gated", op, "Ready", "pending_cutover").await;
        drive(&h, "gated", "True", "Deployed", "6s").await;
    })
    .await;
}

#[tokio::test]
async fn revert_faults() {
    with_harness(|h| async move {
        opened(&h, "ship", json!({"deploy": true})).await;
        drive(&h, "ship", "True", "Deployed", "6s").await;
        patch_spec(&h, "ship", json!({"revert": true})).await;
        let state_now = state(&h, "ship").await;
        action_refused(&h, "ship", "complete_revert", "Ready", &state_now).await;
        drive(&h, "ship", "True", "Reverted", "6s").await;
    })
    .await;
}

#[tokio::test]
async fn skip_revert_faults() {
    with_harness(|h| async move {
        opened(&h, "ship", json!({"deploy": true})).await;
        drive(&h, "ship", "True", "Deployed", "6s").await;
        patch_spec(&h, "ship", json!({"skipRevert": true})).await;
        let state_now = state(&h, "ship").await;
        action_refused(&h, "ship", "skip_revert_period", "Ready", &state_now).await;
        h.pass(&controller(&h), "ship").await.expect("skip");
        h.pass(&controller(&h), "ship").await.expect("read back");
        assert_eq!(state(&h, "ship").await, "complete");
    })
    .await;
}

#[tokio::test]
async fn approve_faults() {
    with_harness(|h| async move {
        let body = json!({"organization": "acme", "name": "approver",
            "accesses": [{"database": "shop", "accesses": ["approve_deploy_request", "read_deploy_request"]}]});
        let token = post(&h, "/_emulator/service-tokens", body).await;
        let (id, secret) = (token["id"].as_str().unwrap(), token["token"].as_str().unwrap());
        credentials_secret(&h.client, &h.ns, "approver", id, secret).await;
        opened(&h, "ship", json!({})).await;
        drive(&h, "ship", "True", "ChecksPassed", "3s").await;
        let spec = json!({"deploy": true, "approval": {"credentialsRef": {"name": "approver"}}});
        patch_spec(&h, "ship", spec).await;
        action_refused(&h, "ship", "review_deploy_request", "Approved", "ready").await;
        drive(&h, "ship", "True", "Deployed", "6s").await;
    })
    .await;
}

/// Cleanup `op` under each status: a transient failure keeps the finalizer (retried); a
/// refusal releases the resource with a warning event and leaves the request in PlanetScale.
async fn cleanup_faults(h: &Harness, op: &str, spec: serde_json::Value, ready: (&str, &str)) {
    for (i, status) in STATUSES.into_iter().enumerate() {
        let (name, branch) = (format!("dr-{i}"), format!("feat-{i}"));
        branch_with(h, &branch, &[&table(&format!("t{i}"))]).await;
        create(h, &name, &branch, spec.clone()).await;
        if ready.1 == "DeployFailed" {
            // The deploy of this request fails in PlanetScale (and then blocks the queue).
            drive(h, &name, "True", "ChecksPassed", "3s").await;
            let n = number(h, &name).await;
            let path =
                format!("/_emulator/organizations/acme/databases/shop/deploy-requests/{n}/error");
            post(h, &path, json!({"message": "disk quota exceeded"})).await;
            patch_spec(h, &name, json!({"deploy": true})).await;
        }
        drive(h, &name, ready.0, ready.1, "3s").await;
        let n = number(h, &name).await;
        h.api::<DeployRequest>()
            .delete(&name, &Default::default())
            .await
            .unwrap();
        let result = under_fault(h, &name, op, status).await;
        let gone = h.get::<DeployRequest>(&name).await.is_none();
        if matches!(status, 429 | 500) {
            assert!(
                result.is_err() && !gone,
                "{status} on {op}: kept and retried"
            );
            h.pass(&controller(h), &name)
                .await
                .expect("retried cleanup");
            assert!(h.get::<DeployRequest>(&name).await.is_none(), "released");
        } else {
            assert!(gone, "{status} on {op}: released, not stuck ({result:?})");
            let warned = h.events(&name).await;
            assert!(
                warned.iter().any(|(_, m)| m.contains("PlanetScale")),
                "{status} on {op}: {warned:?}"
            );
            if ready.1 == "DeployFailed" {
                let ps = h.planetscale();
                let dr = ps.get_deploy_request("acme", "shop", n).await.unwrap();
                let state = dr.deployment_state.unwrap();
                assert_eq!(state.as_str(), "complete_error", "{status} on {op}: left");
                // Unblock the queue for the next round, as a user would in the dashboard.
                ps.complete_deploy_request("acme", "shop", n).await.unwrap();
            }
        }
    }
}

#[tokio::test]
async fn close_deploy_request_faults() {
    with_harness(|h| async move {
        cleanup_faults(
            &h,
            "close_deploy_request",
            json!({}),
            ("True", "ChecksPassed"),
        )
        .await;
        let open = remote(&h).await;
        let open: Vec<_> = open.iter().filter(|d| d["state"] == "open").collect();
        assert_eq!(
            open.len(),
            3,
            "the three refused closes stay open: {open:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn cancel_deploy_request_faults() {
    with_harness(|h| async move {
        crate::deploy_request::gate(&h).await;
        let spec = json!({"deploy": true});
        cleanup_faults(&h, "cancel_deploy_request", spec, ("False", "Queued")).await;
    })
    .await;
}

#[tokio::test]
async fn complete_errored_deploy_faults() {
    with_harness(|h| async move {
        let op = "complete_errored_deploy";
        cleanup_faults(&h, op, json!({}), ("False", "DeployFailed")).await;
    })
    .await;
}

async fn post(h: &Harness, path: &str, body: serde_json::Value) -> serde_json::Value {
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let r = http
        .post(format!("{}{path}", h.emulator.url()))
        .json(&body)
        .send()
        .await
        .expect("emulator reachable");
    assert!(r.status().is_success(), "{path}: {}", r.status());
    r.json().await.expect("JSON")
}
