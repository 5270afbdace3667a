//! Admin endpoints that read or change the world: list everything, set a branch schema,
//! verify a password or a Postgres role, create service tokens, mint OAuth tokens, inject a deploy error.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::deploy_requests::{dr_json, find as find_dr};
use crate::app::App;
use crate::config::{SecretString, SeedAccess, SeedToken};
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::ids::{new_secret, ts, ts_opt};

/// Routes.
pub fn routes() -> Router<App> {
    let br = "/_emulator/organizations/{organization}/databases/{database}/branches/{branch}";
    Router::new()
        .route("/_emulator/state", get(state))
        .route(&format!("{br}/schema"), put(set_schema))
        .route("/_emulator/verify-password", post(verify_password))
        .route("/_emulator/service-tokens", post(create_service_token))
        .route("/_emulator/oauth-tokens", post(mint_oauth_token))
        .route(
            "/_emulator/organizations/{organization}/databases/{database}/deploy-requests/{number}/error",
            post(inject_error),
        )
}

/// Everything, flattened, for orphan checks. Never contains secrets.
async fn state(State(app): State<App>) -> Json<Value> {
    let ctx = app.lock();
    let w = &ctx.world;
    let v = ctx.view(app.base_url());
    let db_name = |id: &str| w.db_by_id(id).map(|d| d.name.clone()).unwrap_or_default();
    let org_name = |id: &str| w.org_by_id(id).map(|o| o.name.clone()).unwrap_or_default();
    let branch_name = |id: &str| w.branch_by_id(id).map(|b| b.name.clone());
    Json(json!({
        "now": ts(ctx.now),
        "organizations": w.orgs.iter().map(|o| json!({"id": o.id, "name": o.name})).collect::<Vec<_>>(),
        "databases": w.databases.iter().map(|d| json!({
            "id": d.id, "organization": org_name(&d.org_id), "name": d.name,
            "ready": d.ready_at <= ctx.now, "default_branch": d.default_branch,
        })).collect::<Vec<_>>(),
        "branches": w.branches.iter().map(|b| json!({
            "id": b.id, "organization": w.db_by_id(&b.db_id).map(|d| org_name(&d.org_id)), "database": db_name(&b.db_id),
            "name": b.name, "parent": b.parent, "production": b.production, "ready": b.ready_at <= ctx.now,
            "safe_migrations": b.safe_migrations, "tables": b.schema.keys().collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "passwords": w.passwords.iter().map(|p| json!({
            "id": p.id, "database": db_name(&p.db_id), "branch": branch_name(&p.branch_id), "branch_id": p.branch_id,
            "name": p.name, "username": p.username, "role": p.role, "deleted": p.deleted_at.is_some(),
            "expires_at": ts_opt(p.expires_at), "expired": p.expires_at.is_some_and(|e| e <= ctx.now),
        })).collect::<Vec<_>>(),
        "roles": super::role_rules::state_json(&ctx),
        "backups": w.backups.iter().map(|b| json!({
            "id": b.id, "database": db_name(&b.db_id), "branch": branch_name(&b.branch_id), "state": v.backup_state(b),
        })).collect::<Vec<_>>(),
        "deploy_requests": w.deploy_requests.iter().map(|r| json!({
            "id": r.id, "database": db_name(&r.db_id), "number": r.number, "branch": r.branch,
            "into_branch": r.into_branch, "state": r.state, "deployment_state": r.deployment.state.as_str(),
            "approved": r.approved,
        })).collect::<Vec<_>>(),
        "service_tokens": w.service_tokens.iter().map(|t| json!({
            "id": t.id, "organization": org_name(&t.org_id), "name": t.name, "default": t.is_default,
            "accesses": t.grants.iter().map(|g| json!({"database": g.db_id.as_deref().map(db_name), "access": g.access})).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "oauth_applications": w.oauth_apps.iter().map(|a| json!({"id": a.id, "name": a.name, "client_id": a.client_id})).collect::<Vec<_>>(),
        "oauth_tokens": w.oauth_tokens.iter().map(|t| json!({
            "id": t.id, "user_id": t.user_id, "expires_at": ts(t.expires_at), "revoked": t.access_revoked,
            "refresh_spent": t.refresh_spent,
        })).collect::<Vec<_>>(),
        "users": w.users.iter().map(|u| json!({"id": u.id, "name": u.name, "email": u.email})).collect::<Vec<_>>(),
    }))
}

/// Body of the schema endpoint: the full new schema.
#[derive(Deserialize)]
struct SetSchema {
    tables: Vec<String>,
    #[serde(default)]
    force: bool,
}

/// Replace a branch's schema (a developer running DDL). Refused with 409
/// `direct_ddl_disabled` on branches with safe migrations unless `force` is set.
async fn set_schema(
    State(app): State<App>,
    Path((org, db, branch)): Path<(String, String, String)>,
    ApiJson(body): ApiJson<SetSchema>,
) -> ApiResult<Response> {
    let schema = crate::schema::parse_tables(&body.tables).map_err(ApiError::invalid_params)?;
    let mut ctx = app.lock();
    let (d, b) = ctx.world.branch_path(&org, &db, &branch)?;
    if ctx.world.branches[b].safe_migrations && !body.force {
        return Err(ApiError::conflict(
            "direct_ddl_disabled",
            "direct DDL is disabled on branches with safe migrations",
        ));
    }
    let (now, settings) = (ctx.now, ctx.settings.clone());
    let br = &mut ctx.world.branches[b];
    br.schema = schema;
    br.schema_last_updated_at = Some(now);
    let branch_id = br.id.clone();
    ctx.world.databases[d].schema_last_updated_at = Some(now);
    crate::deploy::on_branch_schema_changed(&mut ctx.world, &settings, &branch_id, now);
    super::ok(ctx.view(app.base_url()).branch(&ctx.world.branches[b]))
}

/// Body of `verify-password`.
#[derive(Deserialize)]
struct Verify {
    organization: String,
    database: String,
    branch: String,
    username: String,
    password: String,
}

async fn verify_password(State(app): State<App>, ApiJson(b): ApiJson<Verify>) -> Json<Value> {
    let ctx = app.lock();
    match super::passwords::verify(
        &ctx,
        &b.organization,
        &b.database,
        &b.branch,
        &b.username,
        &b.password,
    )
    .or_else(|reason| match reason {
        // Not a password: maybe a Postgres role of the branch.
        "unknown username" => super::role_rules::verify(
            &ctx,
            (&b.organization, &b.database, &b.branch),
            &b.username,
            &b.password,
        ),
        other => Err(other),
    }) {
        Ok(()) => Json(json!({"valid": true})),
        Err(reason) => Json(json!({"valid": false, "reason": reason})),
    }
}

/// Body of the admin service-token creation (same fields as a seed token).
#[derive(Deserialize)]
struct NewToken {
    organization: String,
    id: Option<String>,
    token: Option<String>,
    name: Option<String>,
    #[serde(default)]
    accesses: Vec<SeedAccess>,
}

async fn create_service_token(
    State(app): State<App>,
    ApiJson(b): ApiJson<NewToken>,
) -> ApiResult<Response> {
    let mut ctx = app.lock();
    let secret = b.token.clone().unwrap_or_else(|| new_secret("pscale_tkn_"));
    if b.id
        .as_ref()
        .is_some_and(|id| ctx.world.service_tokens.iter().any(|t| &t.id == id))
    {
        return Err(ApiError::conflict(
            "already_exists",
            "a service token with this id exists",
        ));
    }
    let seed = SeedToken {
        id: b.id,
        token: Some(SecretString(secret.clone())),
        name: b.name,
        organization: b.organization,
        accesses: b.accesses,
    };
    let token = crate::seed::seed_token(&ctx.world, &seed, ctx.now)
        .map_err(|e| ApiError::invalid_params(e.0))?;
    let id = token.id.clone();
    ctx.world.service_tokens.push(token);
    let body = json!({"id": id, "token": secret, "authorization": format!("{id}:{secret}")});
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// Body of the OAuth token mint.
#[derive(Deserialize)]
struct Mint {
    client_id: Option<String>,
    user: Option<String>,
    scopes: Option<Vec<String>>,
    lifetime: Option<String>,
}

async fn mint_oauth_token(
    State(app): State<App>,
    ApiJson(b): ApiJson<Mint>,
) -> ApiResult<Response> {
    let mut ctx = app.lock();
    let w = &ctx.world;
    let oauth_app = match &b.client_id {
        Some(c) => w.oauth_apps.iter().find(|a| &a.client_id == c),
        None => w.oauth_apps.first(),
    };
    let oauth_app =
        oauth_app.ok_or_else(|| ApiError::invalid_params("no such OAuth application"))?;
    let user_id = match &b.user {
        Some(u) => w
            .users
            .iter()
            .find(|x| &x.name == u || &x.id == u)
            .map(|x| x.id.clone()),
        None => Some(oauth_app.user_id.clone()),
    };
    let user_id = user_id.ok_or_else(|| ApiError::invalid_params("no such user"))?;
    let lifetime = match &b.lifetime {
        Some(l) => crate::clock::parse_duration(l).map_err(ApiError::invalid_params)?,
        None => ctx.settings.access_token_lifetime,
    };
    let (app_id, scopes) = (
        oauth_app.id.clone(),
        b.scopes.unwrap_or_else(|| oauth_app.scopes.clone()),
    );
    let now = ctx.now;
    let (i, access, refresh) = super::oauth::issue(
        &mut ctx.world,
        &app_id,
        &user_id,
        scopes,
        crate::clock::after(now, lifetime),
        now,
    );
    let t = &ctx.world.oauth_tokens[i];
    let body = json!({
        "id": t.id, "access_token": access, "refresh_token": refresh, "token_type": "Bearer",
        "expires_at": ts(t.expires_at), "scope": t.scopes.join(" "),
    });
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// Body of the deploy error injection.
#[derive(Deserialize)]
struct InjectError {
    message: Option<String>,
}

async fn inject_error(
    State(app): State<App>,
    Path(p): Path<(String, String, String)>,
    ApiJson(b): ApiJson<InjectError>,
) -> ApiResult<Response> {
    let mut ctx = app.lock();
    let i = find_dr(&ctx, &p)?;
    let now = ctx.now;
    let message = b.message.unwrap_or_else(|| "injected deploy error".into());
    crate::deploy::inject_error(&mut ctx.world, i, message, now)?;
    dr_json(&app, &ctx, i)
}
