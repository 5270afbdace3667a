//! The serial deploy queue: gated deploys, auto-apply, errors blocking the queue, cancel, close.

use reqwest::Method;
use serde_json::json;

use crate::common::{DB, H};
use crate::deploy::{CHECK, STEP, act, branch_with_table, dr, open_dr, state};

#[tokio::test]
async fn gated_deploy_holds_the_queue_until_applied() {
    let h = H::new().await;
    branch_with_table(&h, "first", "items").await;
    branch_with_table(&h, "second", "things").await;
    let a = open_dr(&h, "first", json!({"auto_cutover": false})).await;
    let b = open_dr(&h, "second", json!({})).await;
    h.advance(CHECK).await;
    act(&h, a, "deploy").await.expect(200);
    assert_eq!(
        act(&h, b, "deploy").await.expect(200)["deployment_state"],
        "queued"
    );
    h.advance(STEP * 2).await;
    let gated = dr(&h, a).await;
    assert_eq!(
        (
            gated["deployment_state"].as_str(),
            gated["deployment"]["ready_to_cutover_at"].is_string()
        ),
        (Some("pending_cutover"), true)
    );
    h.advance(3600).await;
    assert_eq!(
        (state(&h, a).await, state(&h, b).await),
        ("pending_cutover".into(), "queued".into())
    );
    let queue = h.get(&format!("{DB}/deploy-queue")).await.expect(200);
    let order: Vec<u64> = queue["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["deploy_request_number"].as_u64().unwrap())
        .collect();
    assert_eq!(order, [a, b]);
    assert_eq!(
        dr(&h, b).await["deployment"]["preceding_deployments"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    act(&h, b, "apply-deploy")
        .await
        .expect_error(422, "unprocessable");
    act(&h, b, "force-cutover")
        .await
        .expect_error(422, "unprocessable");
    let forced = act(&h, a, "force-cutover").await.expect(200);
    assert!(forced["deployment"]["force_cutover_requested_at"].is_string());
    assert_eq!(
        act(&h, a, "apply-deploy").await.expect(200)["deployment_state"],
        "in_progress_cutover"
    );
    h.advance(STEP).await;
    assert_eq!(
        (state(&h, a).await, state(&h, b).await),
        ("complete_pending_revert".into(), "submitting".into())
    );
    h.advance(STEP * 3).await;
    assert_eq!(state(&h, b).await, "complete_pending_revert");
    assert_eq!(
        h.get(&format!("{DB}/branches/main/schema"))
            .await
            .expect(200)["data"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
}

#[tokio::test]
async fn auto_apply_can_be_switched_on_while_waiting_for_cutover() {
    let h = H::new().await;
    branch_with_table(&h, "dev", "items").await;
    let n = open_dr(&h, "dev", json!({"auto_cutover": false})).await;
    h.advance(CHECK).await;
    act(&h, n, "deploy").await.expect(200);
    h.advance(STEP * 2).await;
    assert_eq!(state(&h, n).await, "pending_cutover");
    let r = h
        .put(
            &format!("{DB}/deploy-requests/{n}/auto-apply"),
            json!({"enable": true}),
        )
        .await
        .expect(200);
    assert_eq!(
        (
            r["deployment"]["auto_cutover"].as_bool(),
            r["deployment_state"].as_str()
        ),
        (Some(true), Some("in_progress_cutover"))
    );
    let r = h
        .put(
            &format!("{DB}/deploy-requests/{n}/auto-delete-branch"),
            json!({"enable": true}),
        )
        .await
        .expect(200);
    assert_eq!(r["deployment"]["auto_delete_branch"], true);
    h.advance(STEP).await;
    let d = dr(&h, n).await;
    assert_eq!(
        (
            d["deployment_state"].as_str(),
            d["branch_deleted"].as_bool()
        ),
        (Some("complete_pending_revert"), Some(true))
    );
    h.get(&format!("{DB}/branches/dev"))
        .await
        .expect_error(404, "not_found");
}

#[tokio::test]
async fn injected_errors_block_the_queue_until_completed() {
    let h = H::new().await;
    branch_with_table(&h, "bad", "items").await;
    branch_with_table(&h, "next", "things").await;
    let a = open_dr(&h, "bad", json!({})).await;
    let b = open_dr(&h, "next", json!({})).await;
    h.advance(CHECK).await;
    let inject = format!("/organizations/acme/databases/shop/deploy-requests/{a}/error");
    h.admin(
        Method::POST,
        &inject,
        Some(json!({"message": "table copy failed"})),
    )
    .await
    .expect(200);
    act(&h, a, "deploy").await.expect(200);
    act(&h, b, "deploy").await.expect(200);
    h.advance(STEP * 2).await;
    let failed = dr(&h, a).await;
    assert_eq!(failed["deployment_state"], "complete_error");
    assert_eq!(
        failed["deployment"]["deploy_operations"][0]["deploy_errors"],
        "table copy failed"
    );
    h.advance(3600).await;
    let waiting = dr(&h, b).await;
    assert_eq!(
        (
            waiting["deployment_state"].as_str(),
            waiting["deployment"]["queue_paused"].as_bool()
        ),
        (Some("queued"), Some(true))
    );
    act(&h, b, "complete-deploy")
        .await
        .expect_error(422, "unprocessable");
    assert_eq!(
        act(&h, a, "complete-deploy").await.expect(200)["deployment_state"],
        "complete"
    );
    assert_eq!(state(&h, b).await, "submitting");
    let r = h.admin(Method::POST, &inject, Some(json!({}))).await;
    r.expect_error(409, "invalid_state");
}

#[tokio::test]
async fn cancel_and_close() {
    let h = H::new().await;
    branch_with_table(&h, "first", "items").await;
    branch_with_table(&h, "second", "things").await;
    let a = open_dr(&h, "first", json!({})).await;
    let b = open_dr(&h, "second", json!({})).await;
    h.advance(CHECK).await;
    act(&h, a, "cancel")
        .await
        .expect_error(422, "unprocessable");
    act(&h, a, "deploy").await.expect(200);
    act(&h, b, "deploy").await.expect(200);
    assert_eq!(
        act(&h, b, "cancel").await.expect(200)["deployment_state"],
        "cancelled"
    );
    h.patch(
        &format!("{DB}/deploy-requests/{a}"),
        json!({"state": "closed"}),
    )
    .await
    .expect_error(422, "unprocessable");
    assert_eq!(
        act(&h, a, "cancel").await.expect(200)["deployment_state"],
        "in_progress_cancel"
    );
    h.advance(STEP).await;
    assert_eq!(state(&h, a).await, "complete_cancel");
    assert_eq!(
        h.get(&format!("{DB}/branches/main/schema"))
            .await
            .expect(200)["data"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    act(&h, b, "deploy").await.expect(200);
    act(&h, b, "cancel").await.expect(200);
    h.patch(
        &format!("{DB}/deploy-requests/{b}"),
        json!({"state": "closed"}),
    )
    .await
    .expect_error(422, "unprocessable");
    h.advance(STEP).await;
    let closed = h
        .patch(
            &format!("{DB}/deploy-requests/{b}"),
            json!({"state": "closed"}),
        )
        .await
        .expect(200);
    assert_eq!(
        (closed["state"].as_str(), closed["closed_at"].is_string()),
        (Some("closed"), true)
    );
    act(&h, b, "deploy")
        .await
        .expect_error(422, "unprocessable");
    h.patch(
        &format!("{DB}/deploy-requests/{b}"),
        json!({"state": "open"}),
    )
    .await
    .expect_error(422, "unprocessable");
    assert_eq!(
        h.get(&format!("{DB}/deploy-requests?state=closed"))
            .await
            .expect(200)["total_count"],
        1
    );
}
