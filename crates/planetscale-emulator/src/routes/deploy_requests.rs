//! Deploy requests: list, open, get, close, deployment, operations, diff, reviews, queue.

use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;

use super::{created, ok, require};
use crate::app::{App, Ctx};
use crate::auth::Caller;
use crate::deploy::{self, NewDeployRequest};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery};
use crate::model::DeployRequest;
use crate::views::{envelope, schema_table};

/// Path `{organization}/{database}/{number}`.
pub type DrPath = Path<(String, String, String)>;

/// Index of the deploy request addressed by the path.
pub fn find(ctx: &Ctx<'_>, (org, db, number): &(String, String, String)) -> ApiResult<usize> {
    let d = ctx.world.db_idx(org, db)?;
    let number: u64 = number.parse().map_err(|_| ApiError::not_found())?;
    ctx.world.dr_idx(&ctx.world.databases[d].id, number)
}

/// The deploy request JSON.
pub fn dr_json(app: &App, ctx: &Ctx<'_>, i: usize) -> ApiResult<Response> {
    ok(ctx
        .view(app.base_url())
        .deploy_request(&ctx.world.deploy_requests[i]))
}

/// `GET …/deploy-requests` with `state` (`open`/`closed`/`deployed`), `branch`, `into_branch`.
pub async fn list(
    State(app): State<App>,
    Path((org, db)): Path<(String, String)>,
    ApiQuery(q): ApiQuery,
) -> ApiResult<Response> {
    let ctx = app.lock();
    let db_id = ctx.world.databases[ctx.world.db_idx(&org, &db)?].id.clone();
    let keep = |r: &&DeployRequest| {
        let state_ok = match q.get("state").map(String::as_str) {
            Some("deployed") => r.deployed_at.is_some(),
            Some(s) => r.state == s,
            None => true,
        };
        state_ok
            && q.get("branch").is_none_or(|b| &r.branch == b)
            && q.get("into_branch").is_none_or(|b| &r.into_branch == b)
    };
    let mut requests: Vec<&DeployRequest> = ctx
        .world
        .deploy_requests
        .iter()
        .filter(|r| r.db_id == db_id)
        .filter(keep)
        .collect();
    requests.sort_by_key(|r| std::cmp::Reverse(r.number));
    let v = ctx.view(app.base_url());
    let items = requests.into_iter().map(|r| v.deploy_request(r)).collect();
    let path = format!("/v1/organizations/{org}/databases/{db}/deploy-requests");
    ok(envelope(items, &q, app.base_url(), &path, true))
}

/// Body of `create_deploy_request`.
#[derive(Deserialize)]
pub struct CreateDeployRequest {
    branch: String,
    into_branch: Option<String>,
    notes: Option<String>,
    auto_cutover: Option<bool>,
    auto_delete_branch: Option<bool>,
}

/// `POST …/deploy-requests` → 201 in `pending` while checks run.
pub async fn create(
    State(app): State<App>,
    caller: Caller,
    Path((org, db)): Path<(String, String)>,
    ApiJson(body): ApiJson<CreateDeployRequest>,
) -> ApiResult<Response> {
    let mut ctx = app.lock();
    let d = ctx.world.db_idx(&org, &db)?;
    let db_id = ctx.world.databases[d].id.clone();
    let into_name = body
        .into_branch
        .filter(|b| !b.is_empty())
        .unwrap_or_else(|| ctx.world.databases[d].default_branch.clone());
    let branch = ctx.world.branch_idx(&db_id, &body.branch)?;
    let into = ctx.world.branch_idx(&db_id, &into_name)?;
    let new = NewDeployRequest {
        db: d,
        branch,
        into,
        notes: body.notes.unwrap_or_default(),
        auto_cutover: body.auto_cutover.unwrap_or(true),
        auto_delete_branch: body.auto_delete_branch.unwrap_or(false),
    };
    let (settings, now) = (ctx.settings.clone(), ctx.now);
    let i = deploy::create(&mut ctx.world, &settings, new, caller.actor.clone(), now)?;
    created(
        ctx.view(app.base_url())
            .deploy_request(&ctx.world.deploy_requests[i]),
    )
}

/// `GET …/deploy-requests/{number}`.
pub async fn get(State(app): State<App>, Path(p): DrPath) -> ApiResult<Response> {
    let ctx = app.lock();
    let i = find(&ctx, &p)?;
    dr_json(&app, &ctx, i)
}

/// Body of `close_deploy_request`.
#[derive(Deserialize)]
pub struct CloseDeployRequest {
    state: Option<String>,
}

/// `PATCH …/deploy-requests/{number}` with `{state: "closed"}`.
pub async fn close(
    State(app): State<App>,
    caller: Caller,
    Path(p): DrPath,
    ApiJson(body): ApiJson<CloseDeployRequest>,
) -> ApiResult<Response> {
    let mut ctx = app.lock();
    let i = find(&ctx, &p)?;
    if body.state.as_deref() != Some("closed") {
        return Err(ApiError::unprocessable("state must be \"closed\""));
    }
    let (settings, now) = (ctx.settings.clone(), ctx.now);
    deploy::close(&mut ctx.world, &settings, i, caller.actor.clone(), now)?;
    dr_json(&app, &ctx, i)
}

/// `GET …/deployment`.
pub async fn deployment(State(app): State<App>, Path(p): DrPath) -> ApiResult<Response> {
    let ctx = app.lock();
    let i = find(&ctx, &p)?;
    ok(ctx
        .view(app.base_url())
        .deployment(&ctx.world.deploy_requests[i]))
}

/// `GET …/operations` (no totals).
pub async fn operations(
    State(app): State<App>,
    Path(p): DrPath,
    ApiQuery(q): ApiQuery,
) -> ApiResult<Response> {
    let ctx = app.lock();
    let i = find(&ctx, &p)?;
    let r = &ctx.world.deploy_requests[i];
    let v = ctx.view(app.base_url());
    let items = r
        .deployment
        .operations
        .iter()
        .map(|o| v.deploy_operation(r, o))
        .collect();
    let path = format!(
        "/v1/organizations/{}/databases/{}/deploy-requests/{}/operations",
        p.0, p.1, p.2
    );
    ok(envelope(items, &q, app.base_url(), &path, false))
}

/// `GET …/diff` (Go SDK only): the branch's statements of the changed tables.
pub async fn diff(State(app): State<App>, Path(p): DrPath) -> ApiResult<Response> {
    let ctx = app.lock();
    let i = find(&ctx, &p)?;
    let ops = &ctx.world.deploy_requests[i].deployment.operations;
    let data: Vec<_> = ops
        .iter()
        .map(|o| schema_table(&o.change.table, o.change.new_raw.as_deref().unwrap_or("")))
        .collect();
    ok(json!({"data": data}))
}

/// `GET …/reviews` (no totals).
pub async fn reviews(
    State(app): State<App>,
    Path(p): DrPath,
    ApiQuery(q): ApiQuery,
) -> ApiResult<Response> {
    let ctx = app.lock();
    let i = find(&ctx, &p)?;
    let v = ctx.view(app.base_url());
    let items = ctx.world.deploy_requests[i]
        .reviews
        .iter()
        .map(|r| v.review(r))
        .collect();
    let path = format!(
        "/v1/organizations/{}/databases/{}/deploy-requests/{}/reviews",
        p.0, p.1, p.2
    );
    ok(envelope(items, &q, app.base_url(), &path, false))
}

/// Body of `review_deploy_request`.
#[derive(Deserialize)]
pub struct ReviewBody {
    state: Option<String>,
    body: Option<String>,
}

/// `POST …/reviews` → 201; approving needs `approve_deploy_request` and another actor.
pub async fn review(
    State(app): State<App>,
    caller: Caller,
    Path(p): DrPath,
    ApiJson(body): ApiJson<ReviewBody>,
) -> ApiResult<Response> {
    let mut ctx = app.lock();
    let i = find(&ctx, &p)?;
    let approve = match body.state.as_deref() {
        Some("approved") => true,
        Some("commented") | None => false,
        Some(other) => {
            return Err(ApiError::unprocessable(format!(
                "Unknown review state {other}"
            )));
        }
    };
    let db = ctx
        .world
        .db_by_id(&ctx.world.deploy_requests[i].db_id)
        .expect("deploy request has a database");
    let needed: &[&str] = if approve {
        &["approve_deploy_request"]
    } else {
        &["review_deploy_request", "approve_deploy_request"]
    };
    require(caller.db_allows(&db.org_id, &db.id, needed, &["approve_deploy_requests"]))?;
    let now = ctx.now;
    let k = deploy::review(
        &mut ctx.world,
        i,
        approve,
        body.body.unwrap_or_default(),
        caller.actor.clone(),
        now,
    )?;
    created(
        ctx.view(app.base_url())
            .review(&ctx.world.deploy_requests[i].reviews[k]),
    )
}

/// `GET …/deploy-queue`: deployments queued or holding a queue, in deploy order.
pub async fn queue_list(
    State(app): State<App>,
    Path((org, db)): Path<(String, String)>,
    ApiQuery(q): ApiQuery,
) -> ApiResult<Response> {
    let ctx = app.lock();
    let db_id = ctx.world.databases[ctx.world.db_idx(&org, &db)?].id.clone();
    let mut queue: Vec<&DeployRequest> = ctx
        .world
        .deploy_requests
        .iter()
        .filter(|r| r.db_id == db_id)
        .filter(|r| {
            r.deployment.state.holds_queue()
                || r.deployment.state == crate::model::DeployState::Queued
        })
        .collect();
    queue.sort_by_key(|r| {
        (
            r.deployment.state == crate::model::DeployState::Queued,
            r.deployment.queued_at,
            r.number,
        )
    });
    let v = ctx.view(app.base_url());
    let items = queue.into_iter().map(|r| v.deployment(r)).collect();
    ok(envelope(
        items,
        &q,
        app.base_url(),
        &format!("/v1/organizations/{org}/databases/{db}/deploy-queue"),
        false,
    ))
}
