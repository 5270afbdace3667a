//! `/v1/organizations/{org}/oauth-applications`: applications, their tokens, and the
//! deprecated API-side token exchange.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;

use super::oauth::{client_app, exchange};
use super::{no_content, ok};
use crate::app::{App, Ctx};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery};
use crate::views::envelope;

/// Routes.
pub fn routes() -> Router<App> {
    let base = "/v1/organizations/{organization}/oauth-applications";
    Router::new()
        .route(base, get(list_apps))
        .route(&format!("{base}/{{application_id}}"), get(get_app))
        .route(
            &format!("{base}/{{application_id}}/tokens"),
            get(list_tokens),
        )
        .route(
            &format!("{base}/{{application_id}}/tokens/{{token_id}}"),
            get(get_token).delete(delete_token),
        )
        .route(
            &format!("{base}/{{application_id}}/token"),
            post(create_token),
        )
}

fn app_idx(ctx: &Ctx<'_>, org: &str, id: &str) -> ApiResult<usize> {
    let org_id = &ctx.world.orgs[ctx.world.org_idx(org)?].id;
    ctx.world
        .oauth_apps
        .iter()
        .position(|a| &a.org_id == org_id && a.id == id)
        .ok_or_else(ApiError::not_found)
}

async fn list_apps(
    State(app): State<App>,
    Path(org): Path<String>,
    ApiQuery(q): ApiQuery,
) -> ApiResult<Response> {
    let ctx = app.lock();
    let org_id = ctx.world.orgs[ctx.world.org_idx(&org)?].id.clone();
    let v = ctx.view(app.base_url());
    let items = ctx
        .world
        .oauth_apps
        .iter()
        .filter(|a| a.org_id == org_id)
        .map(|a| v.oauth_app(a))
        .collect();
    ok(envelope(
        items,
        &q,
        app.base_url(),
        &format!("/v1/organizations/{org}/oauth-applications"),
        false,
    ))
}

async fn get_app(
    State(app): State<App>,
    Path((org, id)): Path<(String, String)>,
) -> ApiResult<Response> {
    let ctx = app.lock();
    let a = app_idx(&ctx, &org, &id)?;
    ok(ctx.view(app.base_url()).oauth_app(&ctx.world.oauth_apps[a]))
}

async fn list_tokens(
    State(app): State<App>,
    Path((org, id)): Path<(String, String)>,
    ApiQuery(q): ApiQuery,
) -> ApiResult<Response> {
    let ctx = app.lock();
    let a = app_idx(&ctx, &org, &id)?;
    let app_id = &ctx.world.oauth_apps[a].id;
    let v = ctx.view(app.base_url());
    let items = ctx
        .world
        .oauth_tokens
        .iter()
        .filter(|t| &t.app_id == app_id && !t.access_revoked)
        .map(|t| v.oauth_token(t, None, None))
        .collect();
    let path = format!("/v1/organizations/{org}/oauth-applications/{id}/tokens");
    ok(envelope(items, &q, app.base_url(), &path, true))
}

fn token_idx(ctx: &Ctx<'_>, org: &str, app_id: &str, token_id: &str) -> ApiResult<usize> {
    let a = app_idx(ctx, org, app_id)?;
    let app_id = &ctx.world.oauth_apps[a].id;
    ctx.world
        .oauth_tokens
        .iter()
        .position(|t| &t.app_id == app_id && t.id == token_id && !t.access_revoked)
        .ok_or_else(ApiError::not_found)
}

async fn get_token(
    State(app): State<App>,
    Path((org, id, token)): Path<(String, String, String)>,
) -> ApiResult<Response> {
    let ctx = app.lock();
    let t = token_idx(&ctx, &org, &id, &token)?;
    ok(ctx
        .view(app.base_url())
        .oauth_token(&ctx.world.oauth_tokens[t], None, None))
}

async fn delete_token(
    State(app): State<App>,
    Path((org, id, token)): Path<(String, String, String)>,
) -> ApiResult<Response> {
    let mut ctx = app.lock();
    let t = token_idx(&ctx, &org, &id, &token)?;
    let record = &mut ctx.world.oauth_tokens[t];
    record.access_revoked = true;
    record.refresh_spent = true;
    no_content()
}

/// Body of the deprecated `create_oauth_token`.
#[derive(Deserialize)]
struct CreateToken {
    client_id: String,
    client_secret: String,
    grant_type: String,
    code: Option<String>,
    redirect_uri: Option<String>,
    refresh_token: Option<String>,
}

/// `POST …/oauth-applications/{id}/token` (deprecated): 200 ServiceToken-shaped, 422 on failure.
async fn create_token(
    State(app): State<App>,
    Path((org, id)): Path<(String, String)>,
    ApiJson(body): ApiJson<CreateToken>,
) -> ApiResult<Response> {
    let mut ctx = app.lock();
    let a = app_idx(&ctx, &org, &id)?;
    let to_422 = |e: ApiError| match e {
        ApiError::OAuth { description, .. } => ApiError::unprocessable(description),
        other => other,
    };
    let authed = client_app(&ctx.world, &body.client_id, &body.client_secret).map_err(to_422)?;
    if authed != a {
        return Err(ApiError::custom(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unprocessable",
            "client_id does not belong to this application",
        ));
    }
    let mut form = HashMap::from([("grant_type".to_string(), body.grant_type)]);
    for (k, v) in [
        ("code", body.code),
        ("redirect_uri", body.redirect_uri),
        ("refresh_token", body.refresh_token),
    ] {
        if let Some(v) = v {
            form.insert(k.to_string(), v);
        }
    }
    let (now, lifetime) = (ctx.now, ctx.settings.access_token_lifetime);
    let (t, access, refresh) = exchange(&mut ctx.world, a, &form, lifetime, now).map_err(to_422)?;
    ok(ctx.view(app.base_url()).oauth_token(
        &ctx.world.oauth_tokens[t],
        Some(&access),
        Some(&refresh),
    ))
}
