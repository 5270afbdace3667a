//! Service tokens: list, create (200 with the secret, once), get, delete, and the Go SDK's
//! access grant endpoints (`…/access`, `…/grants`).

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;
use serde_json::json;

use super::{no_content, ok};
use crate::app::{App, Ctx};
use crate::auth::expand_accesses;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery};
use crate::ids::{hash_secret, new_id, new_secret};
use crate::model::{Grant, ServiceToken};
use crate::views::envelope;

/// Routes.
pub fn routes() -> Router<App> {
    let base = "/v1/organizations/{organization}/service-tokens";
    Router::new()
        .route(base, get(list).post(create))
        .route(&format!("{base}/{{id}}"), get(get_one).delete(delete))
        .route(
            &format!("{base}/{{id}}/access"),
            get(list_access).post(add_access).delete(remove_access),
        )
        .route(&format!("{base}/{{id}}/grants"), get(grants))
}

fn token_idx(ctx: &Ctx<'_>, org: &str, id: &str) -> ApiResult<usize> {
    let org_id = &ctx.world.orgs[ctx.world.org_idx(org)?].id;
    ctx.world
        .service_tokens
        .iter()
        .position(|t| &t.org_id == org_id && t.id == id)
        .ok_or_else(ApiError::not_found)
}

async fn list(
    State(app): State<App>,
    Path(org): Path<String>,
    ApiQuery(q): ApiQuery,
) -> ApiResult<Response> {
    let ctx = app.lock();
    let org_id = ctx.world.orgs[ctx.world.org_idx(&org)?].id.clone();
    let v = ctx.view(app.base_url());
    let items = ctx
        .world
        .service_tokens
        .iter()
        .filter(|t| t.org_id == org_id)
        .map(|t| v.service_token(t, None))
        .collect();
    ok(envelope(
        items,
        &q,
        app.base_url(),
        &format!("/v1/organizations/{org}/service-tokens"),
        true,
    ))
}

/// Body of `create_service_token`.
#[derive(Deserialize)]
struct CreateToken {
    name: Option<String>,
    ttl: Option<i64>,
}

/// `POST …/service-tokens` → **200** with `token` (shown only here); no accesses yet.
async fn create(
    State(app): State<App>,
    Path(org): Path<String>,
    ApiJson(body): ApiJson<CreateToken>,
) -> ApiResult<Response> {
    let mut ctx = app.lock();
    let org_id = ctx.world.orgs[ctx.world.org_idx(&org)?].id.clone();
    if body.ttl.is_some_and(|t| t < 0) {
        return Err(ApiError::unprocessable("ttl must be positive"));
    }
    let (secret, now) = (new_secret("pscale_tkn_"), ctx.now);
    ctx.world.service_tokens.push(ServiceToken {
        id: new_id(),
        org_id,
        name: body.name,
        secret_hash: hash_secret(&secret),
        created_at: now,
        expires_at: body
            .ttl
            .filter(|t| *t > 0)
            .map(|t| now + chrono::Duration::seconds(t)),
        last_used_at: None,
        grants: Vec::new(),
        is_default: false,
    });
    ok(ctx.view(app.base_url()).service_token(
        ctx.world.service_tokens.last().expect("just pushed"),
        Some(&secret),
    ))
}

async fn get_one(
    State(app): State<App>,
    Path((org, id)): Path<(String, String)>,
) -> ApiResult<Response> {
    let ctx = app.lock();
    let i = token_idx(&ctx, &org, &id)?;
    ok(ctx
        .view(app.base_url())
        .service_token(&ctx.world.service_tokens[i], None))
}

async fn delete(
    State(app): State<App>,
    Path((org, id)): Path<(String, String)>,
) -> ApiResult<Response> {
    let mut ctx = app.lock();
    let i = token_idx(&ctx, &org, &id)?;
    ctx.world.service_tokens.remove(i);
    no_content()
}

/// Body of the access endpoints: `database` empty or absent means organization-wide.
#[derive(Deserialize)]
struct AccessBody {
    #[serde(default)]
    database: Option<String>,
    access: Vec<String>,
}

fn resolve(
    ctx: &Ctx<'_>,
    org: &str,
    body: &AccessBody,
) -> ApiResult<(String, Option<String>, Vec<String>)> {
    let org_id = ctx.world.orgs[ctx.world.org_idx(org)?].id.clone();
    let db_id = match body.database.as_deref().filter(|d| !d.is_empty()) {
        Some(db) => Some(ctx.world.databases[ctx.world.db_idx(org, db)?].id.clone()),
        None => None,
    };
    let accesses =
        expand_accesses(&body.access, db_id.is_none()).map_err(ApiError::unprocessable)?;
    Ok((org_id, db_id, accesses))
}

async fn list_access(
    State(app): State<App>,
    Path((org, id)): Path<(String, String)>,
) -> ApiResult<Response> {
    let ctx = app.lock();
    let i = token_idx(&ctx, &org, &id)?;
    let v = ctx.view(app.base_url());
    let data: Vec<_> = ctx.world.service_tokens[i]
        .grants
        .iter()
        .map(|g| v.access_item(g))
        .collect();
    ok(json!({"type": "list", "next_page": null, "prev_page": null, "data": data}))
}

async fn add_access(
    State(app): State<App>,
    Path((org, id)): Path<(String, String)>,
    ApiJson(body): ApiJson<AccessBody>,
) -> ApiResult<Response> {
    let mut ctx = app.lock();
    let i = token_idx(&ctx, &org, &id)?;
    let (org_id, db_id, accesses) = resolve(&ctx, &org, &body)?;
    let mut added = Vec::new();
    for access in accesses {
        let token = &mut ctx.world.service_tokens[i];
        if !token
            .grants
            .iter()
            .any(|g| g.db_id == db_id && g.access == access)
        {
            token.grants.push(Grant {
                id: new_id(),
                org_id: org_id.clone(),
                db_id: db_id.clone(),
                access,
            });
            added.push(token.grants.len() - 1);
        }
    }
    let v = ctx.view(app.base_url());
    let data: Vec<_> = added
        .iter()
        .map(|&k| v.access_item(&ctx.world.service_tokens[i].grants[k]))
        .collect();
    ok(json!({"data": data}))
}

async fn remove_access(
    State(app): State<App>,
    Path((org, id)): Path<(String, String)>,
    ApiJson(body): ApiJson<AccessBody>,
) -> ApiResult<Response> {
    let mut ctx = app.lock();
    let i = token_idx(&ctx, &org, &id)?;
    let (_, db_id, accesses) = resolve(&ctx, &org, &body)?;
    ctx.world.service_tokens[i]
        .grants
        .retain(|g| !(g.db_id == db_id && accesses.contains(&g.access)));
    no_content()
}

async fn grants(
    State(app): State<App>,
    Path((org, id)): Path<(String, String)>,
) -> ApiResult<Response> {
    let ctx = app.lock();
    let i = token_idx(&ctx, &org, &id)?;
    let data = ctx
        .view(app.base_url())
        .grants(&ctx.world.service_tokens[i]);
    ok(
        json!({"type": "list", "current_page": 1, "next_page": null, "prev_page": null, "data": data}),
    )
}
