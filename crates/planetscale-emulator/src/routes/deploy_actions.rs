//! Deploy-request actions: deploy, cancel, apply, complete, revert, skip-revert, force-cutover,
//! auto-apply, auto-delete-branch. Each answers 200 with the deploy request.

use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;

use super::deploy_requests::{DrPath, dr_json, find};
use crate::app::App;
use crate::auth::Caller;
use crate::deploy;
use crate::error::ApiResult;
use crate::extract::ApiJson;

/// Body of `queue_deploy_request`.
#[derive(Deserialize)]
pub struct DeployBody {
    instant_ddl: Option<bool>,
}

/// `POST …/deploy`: queue the deploy (approval required when the database says so).
pub async fn deploy(
    State(app): State<App>,
    Path(p): DrPath,
    ApiJson(body): ApiJson<DeployBody>,
) -> ApiResult<Response> {
    let mut ctx = app.lock();
    let i = find(&ctx, &p)?;
    let (settings, now) = (ctx.settings.clone(), ctx.now);
    deploy::queue(
        &mut ctx.world,
        &settings,
        i,
        body.instant_ddl.unwrap_or(false),
        now,
    )?;
    dr_json(&app, &ctx, i)
}

/// `POST …/cancel`.
pub async fn cancel(
    State(app): State<App>,
    caller: Caller,
    Path(p): DrPath,
) -> ApiResult<Response> {
    let mut ctx = app.lock();
    let i = find(&ctx, &p)?;
    let (settings, now) = (ctx.settings.clone(), ctx.now);
    deploy::cancel(&mut ctx.world, &settings, i, caller.actor.clone(), now)?;
    dr_json(&app, &ctx, i)
}

/// `POST …/apply-deploy`: cut over a gated deploy.
pub async fn apply(State(app): State<App>, caller: Caller, Path(p): DrPath) -> ApiResult<Response> {
    let mut ctx = app.lock();
    let i = find(&ctx, &p)?;
    let (settings, now) = (ctx.settings.clone(), ctx.now);
    deploy::apply(&mut ctx.world, &settings, i, caller.actor.clone(), now)?;
    dr_json(&app, &ctx, i)
}

/// `POST …/complete-deploy`: unblock the queue after an errored deploy.
pub async fn complete(State(app): State<App>, Path(p): DrPath) -> ApiResult<Response> {
    let mut ctx = app.lock();
    let i = find(&ctx, &p)?;
    let (settings, now) = (ctx.settings.clone(), ctx.now);
    deploy::complete_errored(&mut ctx.world, &settings, i, now)?;
    dr_json(&app, &ctx, i)
}

/// `POST …/revert`.
pub async fn revert(State(app): State<App>, Path(p): DrPath) -> ApiResult<Response> {
    let mut ctx = app.lock();
    let i = find(&ctx, &p)?;
    let (settings, now) = (ctx.settings.clone(), ctx.now);
    deploy::revert(&mut ctx.world, &settings, i, now)?;
    dr_json(&app, &ctx, i)
}

/// `POST …/skip-revert`.
pub async fn skip_revert(State(app): State<App>, Path(p): DrPath) -> ApiResult<Response> {
    let mut ctx = app.lock();
    let i = find(&ctx, &p)?;
    let now = ctx.now;
    deploy::skip_revert(&mut ctx.world, i, now)?;
    dr_json(&app, &ctx, i)
}

/// `POST …/force-cutover`.
pub async fn force_cutover(State(app): State<App>, Path(p): DrPath) -> ApiResult<Response> {
    let mut ctx = app.lock();
    let i = find(&ctx, &p)?;
    let now = ctx.now;
    deploy::force_cutover(&mut ctx.world, i, now)?;
    dr_json(&app, &ctx, i)
}

/// Body of the auto-apply and auto-delete-branch toggles.
#[derive(Deserialize)]
pub struct Toggle {
    enable: bool,
}

/// `PUT …/auto-apply` with `{enable}`.
pub async fn auto_apply(
    State(app): State<App>,
    Path(p): DrPath,
    ApiJson(body): ApiJson<Toggle>,
) -> ApiResult<Response> {
    let mut ctx = app.lock();
    let i = find(&ctx, &p)?;
    let (settings, now) = (ctx.settings.clone(), ctx.now);
    deploy::set_auto_apply(&mut ctx.world, &settings, i, body.enable, now);
    dr_json(&app, &ctx, i)
}

/// `PUT …/auto-delete-branch` with `{enable}`.
pub async fn auto_delete_branch(
    State(app): State<App>,
    Path(p): DrPath,
    ApiJson(body): ApiJson<Toggle>,
) -> ApiResult<Response> {
    let mut ctx = app.lock();
    let i = find(&ctx, &p)?;
    ctx.world.deploy_requests[i].deployment.auto_delete_branch = body.enable;
    dr_json(&app, &ctx, i)
}
