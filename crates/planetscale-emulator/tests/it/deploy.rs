//! The deploy-request state machine.

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{DB, H, assert_ms_timestamp, table};

/// Step durations of the default settings: checks 2 s, each deploy step 5 s, revert window 30 min.
pub(crate) const CHECK: u64 = 2;
pub(crate) const STEP: u64 = 5;

pub(crate) async fn branch_with_table(h: &H, branch: &str, new_table: &str) {
    h.ready_branch(branch).await;
    let customers = h
        .get(&format!("{DB}/branches/{branch}/schema"))
        .await
        .expect(200)["data"][0]["raw"]
        .clone();
    let orders = h
        .get(&format!("{DB}/branches/{branch}/schema"))
        .await
        .expect(200)["data"][1]["raw"]
        .clone();
    let t = table(new_table, "\n  `name` varchar(255) NOT NULL,");
    h.set_schema(
        branch,
        &[customers.as_str().unwrap(), orders.as_str().unwrap(), &t],
    )
    .await
    .expect(200);
}

pub(crate) async fn open_dr(h: &H, branch: &str, extra: Value) -> u64 {
    let mut body = json!({"branch": branch, "into_branch": "main", "notes": "add a table"});
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    let dr = h
        .post(&format!("{DB}/deploy-requests"), body)
        .await
        .expect(201);
    assert_eq!(
        (dr["state"].as_str(), dr["deployment_state"].as_str()),
        (Some("open"), Some("pending"))
    );
    assert_eq!(dr["deployment"]["deployable"], false);
    dr["number"].as_u64().unwrap()
}

pub(crate) async fn dr(h: &H, n: u64) -> Value {
    h.get(&format!("{DB}/deploy-requests/{n}"))
        .await
        .expect(200)
}

pub(crate) async fn state(h: &H, n: u64) -> String {
    dr(h, n).await["deployment_state"]
        .as_str()
        .unwrap()
        .to_string()
}

pub(crate) async fn act(h: &H, n: u64, action: &str) -> crate::common::Resp {
    h.post(&format!("{DB}/deploy-requests/{n}/{action}"), json!({}))
        .await
}

#[tokio::test]
async fn deploy_runs_through_every_step_and_changes_the_target() {
    let h = H::new().await;
    branch_with_table(&h, "add-items", "items").await;
    let n = open_dr(&h, "add-items", json!({})).await;
    h.advance(CHECK).await;
    let ready = dr(&h, n).await;
    assert_eq!(
        (
            ready["deployment_state"].as_str(),
            ready["deployment"]["deployable"].as_bool()
        ),
        (Some("ready"), Some(true))
    );
    let ops = h
        .get(&format!("{DB}/deploy-requests/{n}/operations"))
        .await
        .expect(200);
    assert_eq!(
        (
            ops["data"][0]["operation_name"].as_str(),
            ops["data"][0]["table_name"].as_str()
        ),
        (Some("CREATE"), Some("items"))
    );
    let diff = h
        .get(&format!("{DB}/deploy-requests/{n}/diff"))
        .await
        .expect(200);
    assert_eq!(diff["data"][0]["name"], "items");
    let queued = act(&h, n, "deploy").await.expect(200);
    assert!(queued["deployment"]["queued_at"].is_string());
    assert_eq!(
        queued["deployment_state"], "submitting",
        "an idle queue starts the deploy at once"
    );
    let mut seen = vec!["submitting".to_string()];
    for _ in 0..3 {
        h.advance(STEP).await;
        seen.push(state(&h, n).await);
    }
    assert_eq!(
        seen,
        [
            "submitting",
            "in_progress",
            "in_progress_cutover",
            "complete_pending_revert"
        ]
    );
    let done = dr(&h, n).await;
    assert_eq!(done["state"].as_str(), Some("closed"));
    assert_ms_timestamp(&done["deployed_at"]);
    let main = h
        .get(&format!("{DB}/branches/main/schema"))
        .await
        .expect(200);
    assert_eq!(
        main["data"].as_array().unwrap().len(),
        3,
        "the deploy applied the schema: {main}"
    );
    h.advance(30 * 60).await;
    assert_eq!(
        state(&h, n).await,
        "complete",
        "the revert window closes by itself"
    );
    act(&h, n, "revert")
        .await
        .expect_error(422, "unprocessable");
}

#[tokio::test]
async fn checks_report_no_changes_and_lint_errors() {
    let h = H::new().await;
    h.ready_branch("same").await;
    let n = open_dr(&h, "same", json!({})).await;
    act(&h, n, "deploy")
        .await
        .expect_error(422, "unprocessable");
    h.advance(CHECK).await;
    assert_eq!(state(&h, n).await, "no_changes");
    act(&h, n, "deploy")
        .await
        .expect_error(422, "unprocessable");
    h.ready_branch("nopk").await;
    let customers = h
        .get(&format!("{DB}/branches/nopk/schema"))
        .await
        .expect(200)["data"][0]["raw"]
        .clone();
    h.set_schema(
        "nopk",
        &[
            customers.as_str().unwrap(),
            "CREATE TABLE `events` (`payload` json)",
        ],
    )
    .await
    .expect(200);
    let m = open_dr(&h, "nopk", json!({})).await;
    h.advance(CHECK).await;
    let d = dr(&h, m).await;
    assert_eq!(d["deployment_state"], "error");
    assert!(
        d["deployment"]["deploy_check_errors"]
            .as_str()
            .unwrap()
            .contains("events")
    );
    assert_eq!(
        d["deployment"]["lint_errors"][0]["lint_error"],
        "NO_PRIMARY_KEY"
    );
    let kinds: Vec<&str> = d["deployment"]["deploy_operations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["operation_name"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["CREATE", "DROP"],
        "events is created, orders dropped"
    );
    act(&h, m, "deploy")
        .await
        .expect_error(422, "unprocessable");
}

#[tokio::test]
async fn deploy_requests_need_a_safe_target_a_dev_source_and_one_open_request() {
    let h = H::new().await;
    branch_with_table(&h, "dev", "items").await;
    h.ready_branch("other").await;
    let path = format!("{DB}/deploy-requests");
    h.post(&path, json!({"branch": "dev", "into_branch": "other"}))
        .await
        .expect_error(422, "unprocessable");
    h.post(&path, json!({"branch": "main", "into_branch": "main"}))
        .await
        .expect_error(422, "unprocessable");
    h.post(&path, json!({"branch": "ghost", "into_branch": "main"}))
        .await
        .expect_error(404, "not_found");
    let dr = h.post(&path, json!({"branch": "dev"})).await.expect(201);
    assert_eq!(
        dr["into_branch"], "main",
        "into_branch defaults to the default branch"
    );
    h.post(&path, json!({"branch": "dev", "into_branch": "main"}))
        .await
        .expect_error(422, "unprocessable");
    h.delete(&format!("{DB}/branches/main/safe-migrations"))
        .await
        .expect(200);
    h.post(&path, json!({"branch": "other", "into_branch": "main"}))
        .await
        .expect_error(422, "unprocessable");
    let list = h
        .get(&format!("{path}?state=open&branch=dev"))
        .await
        .expect(200);
    assert_eq!(list["total_count"], 1);
}

#[tokio::test]
async fn approval_is_required_refuses_self_approval_and_resets_on_schema_change() {
    let h = H::new().await;
    h.patch(DB, json!({"require_approval_for_deploy": true}))
        .await
        .expect(200);
    branch_with_table(&h, "dev", "items").await;
    let n = open_dr(&h, "dev", json!({})).await;
    h.advance(CHECK).await;
    act(&h, n, "deploy")
        .await
        .expect_error(422, "unprocessable");
    let reviews = format!("{DB}/deploy-requests/{n}/reviews");
    h.post(&reviews, json!({"state": "approved"}))
        .await
        .expect_error(422, "unprocessable");
    let reviewer = h.token(json!([{"database": "shop", "accesses": ["approve_deploy_request", "read_deploy_request"]}])).await;
    let commenter = h
        .token(json!([{"database": "shop", "accesses": ["review_deploy_request"]}]))
        .await;
    h.req_as(
        Some(&commenter),
        Method::POST,
        &reviews,
        Some(json!({"state": "approved"})),
    )
    .await
    .expect_error(404, "not_found");
    let c = h
        .req_as(
            Some(&commenter),
            Method::POST,
            &reviews,
            Some(json!({"body": "looks fine"})),
        )
        .await
        .expect(201);
    assert_eq!(c["state"], "commented");
    let r = h
        .req_as(
            Some(&reviewer),
            Method::POST,
            &reviews,
            Some(json!({"state": "approved", "body": "ship it"})),
        )
        .await
        .expect(201);
    assert_eq!(r["state"], "approved");
    assert_eq!(dr(&h, n).await["approved"], true);
    assert_eq!(
        h.get(&reviews).await.expect(200)["data"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let t = table("items", "\n  `name` varchar(100) NOT NULL,");
    let schema = h
        .get(&format!("{DB}/branches/dev/schema"))
        .await
        .expect(200);
    let mut tables: Vec<String> = schema["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["raw"].as_str().unwrap().to_string())
        .collect();
    tables.retain(|t| !t.contains("`items`"));
    tables.push(t);
    let refs: Vec<&str> = tables.iter().map(String::as_str).collect();
    h.set_schema("dev", &refs).await.expect(200);
    let d = dr(&h, n).await;
    assert_eq!(
        (d["approved"].as_bool(), d["deployment_state"].as_str()),
        (Some(false), Some("pending"))
    );
    h.advance(CHECK).await;
    act(&h, n, "deploy")
        .await
        .expect_error(422, "unprocessable");
    h.req_as(
        Some(&reviewer),
        Method::POST,
        &reviews,
        Some(json!({"state": "approved"})),
    )
    .await
    .expect(201);
    act(&h, n, "deploy").await.expect(200);
}

#[tokio::test]
async fn revert_and_skip_revert() {
    let h = H::new().await;
    branch_with_table(&h, "one", "items").await;
    let n = open_dr(&h, "one", json!({})).await;
    h.advance(CHECK).await;
    act(&h, n, "deploy").await.expect(200);
    h.advance(STEP * 3).await;
    act(&h, n, "skip-revert").await.expect(200);
    assert_eq!(state(&h, n).await, "complete");
    branch_with_table(&h, "two", "things").await;
    let m = open_dr(&h, "two", json!({})).await;
    h.advance(CHECK).await;
    act(&h, m, "deploy").await.expect(200);
    h.advance(STEP * 3).await;
    let tables = |v: Value| {
        v["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert!(
        tables(
            h.get(&format!("{DB}/branches/main/schema"))
                .await
                .expect(200)
        )
        .contains(&"things".into())
    );
    assert_eq!(
        act(&h, m, "revert").await.expect(200)["deployment_state"],
        "in_progress_revert"
    );
    h.advance(STEP).await;
    let d = dr(&h, m).await;
    assert_eq!(
        (d["deployment_state"].as_str(), d["state"].as_str()),
        (Some("complete_revert"), Some("closed"))
    );
    let main = tables(
        h.get(&format!("{DB}/branches/main/schema"))
            .await
            .expect(200),
    );
    assert_eq!(
        main,
        ["customers", "items", "orders"],
        "the revert restored the target"
    );
    act(&h, m, "skip-revert")
        .await
        .expect_error(422, "unprocessable");
}

#[tokio::test]
async fn conflicting_changes_are_a_check_error() {
    let h = H::new().await;
    h.ready_branch("left").await;
    h.ready_branch("right").await;
    let orders = |extra: &str| table("orders", extra);
    let customers = h
        .get(&format!("{DB}/branches/left/schema"))
        .await
        .expect(200)["data"][0]["raw"]
        .as_str()
        .unwrap()
        .to_string();
    h.set_schema("left", &[&customers, &orders("\n  `note` text,")])
        .await
        .expect(200);
    h.set_schema("right", &[&customers, &orders("\n  `memo` text,")])
        .await
        .expect(200);
    let l = open_dr(&h, "left", json!({})).await;
    let r = open_dr(&h, "right", json!({})).await;
    h.advance(CHECK).await;
    let ddl = dr(&h, l).await["deployment"]["deploy_operations"][0]["ddl_statement"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(ddl.starts_with("ALTER TABLE `orders`"), "{ddl}");
    act(&h, l, "deploy").await.expect(200);
    h.advance(STEP * 3).await;
    assert_eq!(state(&h, l).await, "complete_pending_revert");
    h.advance(CHECK).await;
    let d = dr(&h, r).await;
    assert_eq!(d["deployment_state"], "error", "{d:#}");
    assert!(
        d["deployment"]["deploy_check_errors"]
            .as_str()
            .unwrap()
            .contains("orders")
    );
}

#[tokio::test]
async fn instant_deploys_skip_the_revert_window() {
    let h = H::new().await;
    branch_with_table(&h, "dev", "items").await;
    let n = open_dr(&h, "dev", json!({})).await;
    h.advance(CHECK).await;
    assert_eq!(dr(&h, n).await["deployment"]["instant_ddl_eligible"], true);
    let r = h
        .post(
            &format!("{DB}/deploy-requests/{n}/deploy"),
            json!({"instant_ddl": true}),
        )
        .await
        .expect(200);
    assert_eq!(r["deployment"]["instant_ddl"], true);
    h.advance(STEP * 3).await;
    assert_eq!(state(&h, n).await, "complete");
    let d = h
        .get(&format!("{DB}/deploy-requests/{n}/deployment"))
        .await
        .expect(200);
    assert!(d["finished_at"].is_string());
}
