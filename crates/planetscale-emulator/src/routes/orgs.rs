//! Organizations, regions, cluster sizes and the current user.

use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};

use super::ok;
use crate::app::App;
use crate::auth::{Caller, CallerKind};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery};
use crate::views::{REGIONS, envelope, region};

/// `GET /v1/regions` (no authentication).
pub async fn list_public_regions(
    State(app): State<App>,
    ApiQuery(q): ApiQuery,
) -> ApiResult<Response> {
    let items: Vec<Value> = REGIONS.iter().map(|r| region(r.0)).collect();
    ok(envelope(items, &q, app.base_url(), "/v1/regions", false))
}

/// `GET /v1/user` (OAuth only).
pub async fn get_current_user(State(app): State<App>, caller: Caller) -> ApiResult<Response> {
    let ctx = app.lock();
    let CallerKind::OAuth { user_id, .. } = &caller.kind else {
        return Err(ApiError::not_found());
    };
    let user = ctx
        .world
        .users
        .iter()
        .find(|u| &u.id == user_id)
        .ok_or_else(ApiError::not_found)?;
    ok(ctx.view(app.base_url()).user(user))
}

/// `GET /v1/organizations`: the organizations the credential can reach.
pub async fn list_organizations(
    State(app): State<App>,
    caller: Caller,
    ApiQuery(q): ApiQuery,
) -> ApiResult<Response> {
    let ctx = app.lock();
    let v = ctx.view(app.base_url());
    let items = ctx
        .world
        .orgs
        .iter()
        .filter(|o| caller.can_reach_org(&o.id))
        .map(|o| v.org(o))
        .collect();
    ok(envelope(
        items,
        &q,
        app.base_url(),
        "/v1/organizations",
        false,
    ))
}

/// `GET /v1/organizations/{organization}`.
pub async fn get_organization(
    State(app): State<App>,
    Path(org): Path<String>,
) -> ApiResult<Response> {
    let ctx = app.lock();
    let org = &ctx.world.orgs[ctx.world.org_idx(&org)?];
    ok(ctx.view(app.base_url()).org(org))
}

/// Body of `update_organization`.
#[derive(Deserialize)]
pub struct UpdateOrg {
    billing_email: Option<String>,
    #[allow(dead_code)]
    idp_managed_roles: Option<bool>,
    #[allow(dead_code)]
    invoice_budget_amount: Option<i64>,
}

/// `PATCH /v1/organizations/{organization}` (OAuth only).
pub async fn update_organization(
    State(app): State<App>,
    Path(org): Path<String>,
    ApiJson(body): ApiJson<UpdateOrg>,
) -> ApiResult<Response> {
    let mut ctx = app.lock();
    let i = ctx.world.org_idx(&org)?;
    let now = ctx.now;
    if let Some(email) = body.billing_email {
        ctx.world.orgs[i].billing_email = email;
    }
    ctx.world.orgs[i].updated_at = now;
    ok(ctx.view(app.base_url()).org(&ctx.world.orgs[i]))
}

/// `GET /v1/organizations/{organization}/regions`.
pub async fn list_regions_for_organization(
    State(app): State<App>,
    Path(org): Path<String>,
    ApiQuery(q): ApiQuery,
) -> ApiResult<Response> {
    let items: Vec<Value> = REGIONS.iter().map(|r| region(r.0)).collect();
    ok(envelope(
        items,
        &q,
        app.base_url(),
        &format!("/v1/organizations/{org}/regions"),
        false,
    ))
}

/// `GET /v1/organizations/{organization}/cluster-size-skus`: a bare array.
pub async fn list_cluster_size_skus() -> ApiResult<Response> {
    let sku = |name: &str, cpu: &str, ram: i64, order: i64, dev: bool| {
        json!({
            "name": name, "display_name": name, "cpu": cpu, "storage": null, "ram": ram, "metal": false,
            "enabled": true, "provider": null, "default_vtgate": "VTG_5", "default_vtgate_rate": null,
            "replica_rate": null, "rate": null, "sort_order": order, "architecture": "x86_64",
            "development": dev, "production": !dev,
        })
    };
    ok(json!([
        sku("PS_DEV", "1/8", 1_073_741_824, 0, true),
        sku("PS_10", "1/8", 1_073_741_824, 1, false),
        sku("PS_20", "1/4", 2_147_483_648, 2, false),
        sku("PS_40", "1/2", 4_294_967_296, 3, false),
        sku("PS_80", "1", 8_589_934_592, 4, false),
    ]))
}
