//! DeployRequest reconciler tests: a deploy request's life, one pass at a time, against the
//! emulator in process (its clock moved by the test) and the control plane.
use kube::ResourceExt;
use planetscale_api::models::{CreateBranch, CreateDeployRequest};
use planetscale_operator::controller::deploy_request::DeployRequests;
use planetscale_operator::crd::DeployRequest;
use serde_json::{Value, json};

use crate::harness::{Harness, credentials_secret, with_harness};

/// A `CREATE TABLE` statement for a small valid table.
pub fn table(name: &str) -> String {
    format!(
        "CREATE TABLE `{name}` (`id` bigint NOT NULL, `note` varchar(255), PRIMARY KEY (`id`)) ENGINE=InnoDB"
    )
}

/// The controller of the test.
pub fn controller(h: &Harness) -> DeployRequests {
    DeployRequests::new(h.ctx.clone())
}

/// Creates development branch `name` of acme/shop, ready, with `tables` added to its schema.
pub async fn branch_with(h: &Harness, name: &str, tables: &[&str]) {
    let ps = h.planetscale();
    let body = CreateBranch {
        name: name.into(),
        parent_branch: Some("main".into()),
        ..Default::default()
    };
    ps.create_branch("acme", "shop", &body)
        .await
        .expect("create branch");
    h.advance("61s").await;
    let schema = ps
        .get_branch_schema("acme", "shop", name, None)
        .await
        .expect("schema");
    let mut all: Vec<String> = schema.into_iter().map(|t| t.raw).collect();
    all.extend(tables.iter().map(std::string::ToString::to_string));
    let path = format!("/_emulator/organizations/acme/databases/shop/branches/{name}/schema");
    admin(h, reqwest::Method::PUT, &path, json!({ "tables": all })).await;
}

/// Branch `branch` with a new table, and a deploy request from it into `main` opened outside
/// Kubernetes (by a user, or a crashed pass).
pub async fn opened_outside(h: &Harness, branch: &str) -> planetscale_api::models::DeployRequest {
    branch_with(h, branch, &[&table("invoices")]).await;
    let body = CreateDeployRequest {
        branch: branch.into(),
        into_branch: Some("main".into()),
        ..Default::default()
    };
    h.planetscale()
        .create_deploy_request("acme", "shop", &body)
        .await
        .expect("opened outside")
}

/// An admin call to the emulator that must succeed.
pub async fn admin(h: &Harness, method: reqwest::Method, path: &str, body: Value) {
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let r = http
        .request(method, format!("{}{path}", h.emulator.url()))
        .json(&body)
        .send()
        .await
        .expect("emulator reachable");
    assert!(r.status().is_success(), "{path}: {}", r.status());
}

/// Database settings through the API (e.g. `require_approval_for_deploy`).
pub async fn database_settings(h: &Harness, settings: Value) {
    let token = h.emulator.authorization().expect("default token");
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let r = http
        .patch(format!(
            "{}/v1/organizations/acme/databases/shop",
            h.emulator.url()
        ))
        .header("Authorization", token)
        .json(&settings)
        .send()
        .await
        .expect("emulator reachable");
    assert!(r.status().is_success(), "patch database: {}", r.status());
}

/// Applies DeployRequest `name` from `branch` of acme/shop with extra spec fields, and runs
/// the first pass (which only adds the finalizer).
pub async fn create(h: &Harness, name: &str, branch: &str, spec: Value) -> DeployRequest {
    let mut full = json!({ "branch": branch });
    full.as_object_mut()
        .expect("spec object")
        .extend(spec.as_object().cloned().unwrap_or_default());
    let obj: DeployRequest = crate::harness::object(name, full);
    h.apply(&obj).await;
    h.pass(&controller(h), name).await.expect("finalizer pass");
    let obj = get(h, name).await;
    assert!(
        obj.finalizers()
            .iter()
            .any(|f| f.contains("deploy-request"))
    );
    assert_eq!(obj.status, None, "nothing else done yet");
    obj
}

/// Merge-patches the spec of `name`.
pub async fn patch_spec(h: &Harness, name: &str, spec: Value) {
    h.merge::<DeployRequest>(name, json!({ "spec": spec }))
        .await;
}

/// The resource as stored now.
pub async fn get(h: &Harness, name: &str) -> DeployRequest {
    h.get::<DeployRequest>(name).await.expect("DeployRequest")
}

/// `(status, reason)` of condition `type_` of `name`.
pub async fn cond(h: &Harness, name: &str, type_: &str) -> (String, String) {
    let dr = get(h, name).await;
    dr.status
        .and_then(|s| s.conditions.into_iter().find(|c| c.type_ == type_))
        .map(|c| (c.status, c.reason))
        .unwrap_or_default()
}

/// The message of condition `type_` of `name`.
pub async fn message(h: &Harness, name: &str, type_: &str) -> String {
    let dr = get(h, name).await;
    dr.status
        .and_then(|s| s.conditions.into_iter().find(|c| c.type_ == type_))
        .map(|c| c.message)
        .unwrap_or_default()
}

/// `status.number` of `name`.
pub async fn number(h: &Harness, name: &str) -> u64 {
    let n = get(h, name).await.status.and_then(|s| s.number);
    n.expect("status.number") as u64
}

/// `status.deploymentState` of `name`.
pub async fn state(h: &Harness, name: &str) -> String {
    let dr = get(h, name).await;
    dr.status
        .and_then(|s| s.deployment_state)
        .unwrap_or_default()
}

/// Passes (moving the emulator clock by `step` between them) until `Ready` of `name` has
/// `status` and `reason`; fails with what it saw after 20 passes.
pub async fn drive(h: &Harness, name: &str, status: &str, reason: &str, step: &str) {
    let r = controller(h);
    let mut seen = Vec::new();
    for _ in 0..20 {
        let result = h.pass(&r, name).await;
        let now = cond(h, name, "Ready").await;
        if now.0 == status && now.1 == reason {
            return;
        }
        seen.push(format!("{now:?} {:?} {result:?}", state(h, name).await));
        h.advance(step).await;
    }
    panic!("{name} never got Ready={status} ({reason}); saw: {seen:#?}");
}

/// A gated deploy waiting for cutover: it holds the deploy queue of main, so the next
/// deploy stays queued behind it.
pub async fn gate(h: &Harness) {
    branch_with(h, "gate", &[&table("gate")]).await;
    create(
        h,
        "gate",
        "gate",
        json!({"deploy": true, "autoApply": false}),
    )
    .await;
    drive(h, "gate", "False", "AwaitingCutover", "6s").await;
}

/// Opens `name` from a fresh branch `feat` with one new table, checks passed.
pub async fn opened(h: &Harness, name: &str, spec: Value) {
    branch_with(h, "feat", &[&table("invoices")]).await;
    create(h, name, "feat", spec).await;
}

/// The deploy requests PlanetScale has (emulator state), as JSON.
pub async fn remote(h: &Harness) -> Vec<Value> {
    let ps = h.planetscale();
    let list = ps
        .list_deploy_requests_all("acme", "shop", &Default::default())
        .await
        .expect("list deploy requests");
    list.into_iter()
        .map(|d| serde_json::to_value(d).unwrap())
        .collect()
}

/// Tables of branch `name` in PlanetScale.
pub async fn tables(h: &Harness, name: &str) -> Vec<String> {
    let schema = h
        .planetscale()
        .get_branch_schema("acme", "shop", name, None)
        .await
        .expect("schema");
    schema.into_iter().map(|t| t.name).collect()
}

#[tokio::test]
async fn opens_from_a_branch_and_records_the_number_first() {
    with_harness(|h| async move {
        opened(&h, "ship", json!({"notes": "Add invoices"})).await;
        let r = controller(&h);
        h.pass(&r, "ship").await.expect("first pass");
        let dr = get(&h, "ship").await;
        let s = dr.status.clone().unwrap();
        assert!(
            s.number.is_some(),
            "the number is recorded by the pass that opens"
        );
        assert_eq!(s.into_branch.as_deref(), Some("main"), "the default branch");
        assert!(dr.finalizers().iter().any(|f| f.contains("deploy-request")));
        assert_eq!(h.calls(Some("create_deploy_request")).await, 1);
        assert!(h.event_reasons("ship").await.contains(&"Created".into()));
        // The open reads the target branch (safe migrations) and the source branch (no
        // PlanetScaleBranch says it is Ready), and the database once.
        assert_eq!(
            h.calls(Some("get_branch")).await,
            2,
            "intoBranch and the source"
        );
        assert_eq!(
            cond(&h, "ship", "Approved").await,
            ("True".into(), "ApprovalNotRequired".into()),
            "the rule the open read is recorded with the number"
        );
        h.pass(&r, "ship").await.expect("pass while the checks run");
        assert_eq!(
            h.calls(Some("get_database")).await,
            1,
            "the pass after the open knows the rule from the status"
        );
        drive(&h, "ship", "True", "ChecksPassed", "3s").await;
        let s = get(&h, "ship").await.status.unwrap();
        assert_eq!(s.schema_diff.len(), 1, "{:?}", s.schema_diff);
        assert_eq!(s.schema_diff[0].table, "invoices");
        assert_eq!(
            h.calls(Some("create_deploy_request")).await,
            1,
            "opened once"
        );
        assert_eq!(
            state(&h, "ship").await,
            "ready",
            "deploy: false does not queue"
        );
    })
    .await;
}

#[tokio::test]
async fn adopts_an_open_request_and_tracks_it_by_number() {
    with_harness(|h| async move {
        let existing = opened_outside(&h, "feat").await;
        create(&h, "ship", "feat", json!({})).await;
        h.pass(&controller(&h), "ship").await.expect("pass");
        assert_eq!(number(&h, "ship").await, existing.number);
        assert!(h.event_reasons("ship").await.contains(&"Adopted".into()));
        drive(&h, "ship", "True", "ChecksPassed", "3s").await;
        assert_eq!(
            h.calls(Some("create_deploy_request")).await,
            1,
            "not opened again"
        );
        assert_eq!(remote(&h).await.len(), 1);
    })
    .await;
}

#[tokio::test]
async fn lint_errors_fail_the_checks_and_are_shown() {
    with_harness(|h| async move {
        let no_pk =
            "CREATE TABLE `events` (`id` bigint NOT NULL, `kind` varchar(32)) ENGINE=InnoDB";
        branch_with(&h, "feat", &[no_pk]).await;
        create(&h, "events", "feat", json!({"deploy": true})).await;
        drive(&h, "events", "False", "ChecksFailed", "3s").await;
        let s = get(&h, "events").await.status.unwrap();
        assert_eq!(s.lint_errors[0].code, "NO_PRIMARY_KEY");
        assert_eq!(cond(&h, "events", "ChecksPassed").await.0, "False");
        assert_eq!(
            h.calls(Some("queue_deploy_request")).await,
            0,
            "not deployed"
        );
        assert!(
            message(&h, "events", "Ready")
                .await
                .contains("Fix the schema")
        );
    })
    .await;
}

#[tokio::test]
async fn no_changes_is_ready_with_nothing_to_deploy() {
    with_harness(|h| async move {
        branch_with(&h, "same", &[]).await;
        create(&h, "nothing", "same", json!({"deploy": true})).await;
        drive(&h, "nothing", "True", "NoChanges", "3s").await;
        assert_eq!(h.calls(Some("queue_deploy_request")).await, 0);
    })
    .await;
}

#[tokio::test]
async fn a_required_approval_holds_the_deploy() {
    with_harness(|h| async move {
        database_settings(&h, json!({"require_approval_for_deploy": true})).await;
        opened(&h, "ship", json!({"deploy": true})).await;
        drive(&h, "ship", "False", "AwaitingApproval", "3s").await;
        assert_eq!(cond(&h, "ship", "Approved").await.1, "AwaitingApproval");
        assert_eq!(state(&h, "ship").await, "ready", "not queued unapproved");
        assert_eq!(h.calls(Some("queue_deploy_request")).await, 0);
    })
    .await;
}

#[tokio::test]
async fn the_operators_own_identity_cannot_approve_and_says_so() {
    with_harness(|h| async move {
        database_settings(&h, json!({"require_approval_for_deploy": true})).await;
        // The operator's own token under another Secret name (the CRD refuses the same name).
        let token = h.emulator.default_token().expect("default token").clone();
        credentials_secret(&h.client, &h.ns, "same-identity", &token.id, &token.secret).await;
        let own =
            json!({"deploy": true, "approval": {"credentialsRef": {"name": "same-identity"}}});
        opened(&h, "ship", own).await;
        drive(&h, "ship", "False", "ApprovalFailed", "3s").await;
        assert!(
            message(&h, "ship", "Approved")
                .await
                .contains("own deploy request")
        );
        let reviews = h.calls(Some("review_deploy_request")).await;
        h.pass(&controller(&h), "ship")
            .await
            .expect("a refusal is shown, not an error");
        assert!(
            h.calls(Some("review_deploy_request")).await <= reviews + 1,
            "no loop"
        );
    })
    .await;
}

#[tokio::test]
async fn deploy_true_queues_deploys_and_completes_after_the_revert_window() {
    with_harness(|h| async move {
        opened(&h, "ship", json!({"deploy": true})).await;
        drive(&h, "ship", "True", "Deployed", "6s").await;
        assert_eq!(
            h.calls(Some("queue_deploy_request")).await,
            1,
            "queued once"
        );
        assert!(tables(&h, "main").await.contains(&"invoices".to_string()));
        assert_eq!(cond(&h, "ship", "RevertWindowOpen").await.0, "True");
        let reasons = h.event_reasons("ship").await;
        assert!(reasons.contains(&"DeployQueued".into()), "{reasons:?}");
        assert!(reasons.contains(&"DeploymentState".into()), "{reasons:?}");
        h.advance("31m").await;
        h.pass(&controller(&h), "ship").await.expect("pass");
        assert_eq!(state(&h, "ship").await, "complete");
        assert_eq!(
            cond(&h, "ship", "RevertWindowOpen").await.1,
            "RevertWindowClosed"
        );
    })
    .await;
}

#[tokio::test]
async fn a_gated_deploy_waits_for_cutover() {
    with_harness(|h| async move {
        opened(&h, "gated", json!({"deploy": true, "autoApply": false})).await;
        drive(&h, "gated", "False", "AwaitingCutover", "6s").await;
        assert_eq!(cond(&h, "gated", "AwaitingCutover").await.0, "True");
        assert!(!tables(&h, "main").await.contains(&"invoices".to_string()));
        patch_spec(&h, "gated", json!({"cutover": true})).await;
        drive(&h, "gated", "True", "Deployed", "6s").await;
        assert_eq!(h.calls(Some("complete_gated_deploy_request")).await, 1);
        assert!(tables(&h, "main").await.contains(&"invoices".to_string()));
    })
    .await;
}

#[tokio::test]
async fn revert_within_the_window_undoes_the_change() {
    with_harness(|h| async move {
        opened(&h, "ship", json!({"deploy": true})).await;
        drive(&h, "ship", "True", "Deployed", "6s").await;
        patch_spec(&h, "ship", json!({"revert": true})).await;
        drive(&h, "ship", "True", "Reverted", "6s").await;
        assert_eq!(h.calls(Some("complete_revert")).await, 1);
        assert!(!tables(&h, "main").await.contains(&"invoices".to_string()));
    })
    .await;
}

#[tokio::test]
async fn revert_after_the_window_is_refused_with_what_to_do() {
    with_harness(|h| async move {
        opened(&h, "ship", json!({"deploy": true})).await;
        drive(&h, "ship", "True", "Deployed", "6s").await;
        h.advance("31m").await;
        patch_spec(&h, "ship", json!({"revert": true})).await;
        drive(&h, "ship", "False", "ActionNotAllowed", "1s").await;
        assert!(message(&h, "ship", "Ready").await.contains("revert window"));
        assert_eq!(h.calls(Some("complete_revert")).await, 0);
    })
    .await;
}

#[tokio::test]
async fn skip_revert_closes_the_window_now() {
    with_harness(|h| async move {
        opened(&h, "ship", json!({"deploy": true})).await;
        drive(&h, "ship", "True", "Deployed", "6s").await;
        patch_spec(&h, "ship", json!({"skipRevert": true})).await;
        let r = controller(&h);
        h.pass(&r, "ship").await.expect("skip");
        h.pass(&r, "ship").await.expect("read back");
        assert_eq!(state(&h, "ship").await, "complete");
        assert_eq!(h.calls(Some("skip_revert_period")).await, 1);
    })
    .await;
}

#[tokio::test]
async fn delete_closes_an_open_request() {
    with_harness(|h| async move {
        opened(&h, "ship", json!({})).await;
        drive(&h, "ship", "True", "ChecksPassed", "3s").await;
        let n = number(&h, "ship").await;
        h.api::<DeployRequest>()
            .delete("ship", &Default::default())
            .await
            .unwrap();
        h.pass(&controller(&h), "ship").await.expect("cleanup");
        assert!(
            h.get::<DeployRequest>("ship").await.is_none(),
            "finalizer released"
        );
        let dr = h
            .planetscale()
            .get_deploy_request("acme", "shop", n)
            .await
            .unwrap();
        assert_eq!(dr.state.unwrap().as_str(), "closed");
        assert!(h.event_reasons("ship").await.contains(&"Cleanup".into()));
    })
    .await;
}

#[tokio::test]
async fn delete_cancels_a_queued_deploy_and_closes_it() {
    with_harness(|h| async move {
        gate(&h).await;
        opened(&h, "ship", json!({"deploy": true})).await;
        drive(&h, "ship", "False", "Queued", "3s").await;
        let n = number(&h, "ship").await;
        h.api::<DeployRequest>()
            .delete("ship", &Default::default())
            .await
            .unwrap();
        h.pass(&controller(&h), "ship").await.expect("cleanup");
        assert_eq!(h.calls(Some("cancel_deploy_request")).await, 1);
        let dr = h
            .planetscale()
            .get_deploy_request("acme", "shop", n)
            .await
            .unwrap();
        assert_eq!(dr.state.unwrap().as_str(), "closed");
    })
    .await;
}

#[tokio::test]
async fn a_paused_request_is_not_opened_and_is_released_on_delete() {
    with_harness(|h| async move {
        branch_with(&h, "feat", &[&table("invoices")]).await;
        create(&h, "held", "feat", json!({"deploy": true})).await;
        h.merge::<DeployRequest>(
            "held",
            json!({"metadata": {"annotations": {"planetscale.operator.dev/paused": "true"}}}),
        )
        .await;
        let r = controller(&h);
        h.pass(&r, "held").await.expect("paused pass");
        assert_eq!(cond(&h, "held", "Paused").await.0, "True");
        assert_eq!(h.calls(Some("create_deploy_request")).await, 0);
        h.api::<DeployRequest>()
            .delete("held", &Default::default())
            .await
            .unwrap();
        h.pass(&r, "held").await.expect("release");
        assert!(h.get::<DeployRequest>("held").await.is_none(), "released");
        assert!(
            remote(&h).await.is_empty(),
            "nothing touched in PlanetScale"
        );
    })
    .await;
}

#[tokio::test]
async fn a_missing_into_branch_is_reported_not_opened() {
    with_harness(|h| async move {
        opened(&h, "ship", json!({"intoBranch": "nope"})).await;
        let err = h.pass(&controller(&h), "ship").await.unwrap_err();
        assert_eq!(err.reason(), "BranchNotFound");
        assert_eq!(cond(&h, "ship", "Ready").await.1, "BranchNotFound");
        assert!(message(&h, "ship", "Ready").await.contains("nope"));
        assert_eq!(h.calls(Some("create_deploy_request")).await, 0);
    })
    .await;
}

#[tokio::test]
async fn a_crash_between_the_open_and_the_status_write_opens_no_duplicate() {
    with_harness(|h| async move {
        opened(&h, "ship", json!({})).await;
        // PlanetScale opens the request, the answer is lost: as if the operator died before
        // it could write the number.
        h.fault(json!({"operation": "create_deploy_request", "drop_connection": true, "count": 1}))
            .await;
        let r = controller(&h);
        assert!(h.pass(&r, "ship").await.is_err(), "the answer was lost");
        assert_eq!(get(&h, "ship").await.status.and_then(|s| s.number), None);
        h.pass(&r, "ship").await.expect("next pass");
        assert_eq!(
            remote(&h).await.len(),
            1,
            "one deploy request in PlanetScale"
        );
        assert!(h.event_reasons("ship").await.contains(&"Adopted".into()));
        drive(&h, "ship", "True", "ChecksPassed", "3s").await;
    })
    .await;
}
