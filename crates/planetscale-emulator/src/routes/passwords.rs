//! Branch passwords: plaintext only in the create response, TTL/renew, roles, production rules.

use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;

use super::{created, no_content, ok, require};
use crate::app::{App, Ctx};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery};
use crate::ids::{hash_secret, new_id, new_secret, new_username};
use crate::model::Password;
use crate::views::envelope;

type PwPath = Path<(String, String, String, String)>;

const ROLES: &[&str] = &["reader", "writer", "readwriter", "admin"];

fn expired(ctx: &Ctx<'_>, p: &Password) -> bool {
    p.expires_at.is_some_and(|e| e <= ctx.now)
}

/// `GET …/branches/{branch}/passwords` with `q` and `status` (`active`, `expired`,
/// `renewable`) filters.
pub async fn list(
    State(app): State<App>,
    Path((org, db, branch)): Path<(String, String, String)>,
    ApiQuery(q): ApiQuery,
) -> ApiResult<Response> {
    let ctx = app.lock();
    let (_, b) = ctx.world.branch_path(&org, &db, &branch)?;
    let branch_id = ctx.world.branches[b].id.clone();
    let items = matching(&ctx, app.base_url(), &q, |p| p.branch_id == branch_id);
    let path = format!("/v1/organizations/{org}/databases/{db}/branches/{branch}/passwords");
    ok(envelope(items, &q, app.base_url(), &path, true))
}

/// `GET …/databases/{database}/passwords` (the Go SDK's, not in the spec): the passwords of
/// every branch of the database, each with its `database_branch`, paged and filtered like
/// [`list`].
pub async fn list_database(
    State(app): State<App>,
    Path((org, db)): Path<(String, String)>,
    ApiQuery(q): ApiQuery,
) -> ApiResult<Response> {
    let ctx = app.lock();
    let d = ctx.world.db_idx(&org, &db)?;
    let db_id = ctx.world.databases[d].id.clone();
    let items = matching(&ctx, app.base_url(), &q, |p| p.db_id == db_id);
    let path = format!("/v1/organizations/{org}/databases/{db}/passwords");
    ok(envelope(items, &q, app.base_url(), &path, true))
}

/// The live passwords for which `scope` holds, filtered by `q` (name) and `status`, rendered.
fn matching(
    ctx: &Ctx<'_>,
    base: &str,
    q: &std::collections::HashMap<String, String>,
    scope: impl Fn(&Password) -> bool,
) -> Vec<serde_json::Value> {
    let needle = q.get("q").cloned().unwrap_or_default();
    let status = q.get("status").map(String::as_str);
    let v = ctx.view(base);
    ctx.world
        .passwords
        .iter()
        .filter(|p| scope(p) && p.deleted_at.is_none() && p.name.contains(&needle))
        .filter(|p| match status {
            Some("active") => !expired(ctx, p),
            Some("expired") => expired(ctx, p),
            Some("renewable") => p.ttl_seconds.is_some_and(|t| t > 0) && !expired(ctx, p),
            _ => true,
        })
        .map(|p| v.password(p, None))
        .collect()
}

/// Body of `create_password`.
#[derive(Deserialize)]
pub struct CreatePassword {
    name: Option<String>,
    role: Option<String>,
    replica: Option<bool>,
    ttl: Option<i64>,
    cidrs: Option<Vec<String>>,
    direct_vtgate: Option<bool>,
    #[allow(dead_code)]
    read_only_region_id: Option<String>,
}

fn valid_cidr(cidr: &str) -> bool {
    let (ip, bits) = cidr.split_once('/').unwrap_or((cidr, ""));
    match ip.parse::<std::net::IpAddr>() {
        Ok(addr) => {
            let max = if addr.is_ipv4() { 32 } else { 128 };
            bits.is_empty() || bits.parse::<u8>().is_ok_and(|b| b <= max)
        }
        Err(_) => false,
    }
}

fn check_cidrs(cidrs: &Option<Vec<String>>) -> ApiResult<()> {
    match cidrs.iter().flatten().find(|c| !valid_cidr(c)) {
        Some(bad) => Err(ApiError::unprocessable(format!("Invalid CIDR {bad}"))),
        None => Ok(()),
    }
}

/// Role (default `admin`) and TTL (default 0) of a create request, validated.
fn validate(body: &CreatePassword) -> ApiResult<(String, i64)> {
    let role = body.role.clone().unwrap_or_else(|| "admin".into());
    if !ROLES.contains(&role.as_str()) {
        return Err(ApiError::unprocessable(format!(
            "Role must be one of {}",
            ROLES.join(", ")
        )));
    }
    let ttl = body.ttl.unwrap_or(0);
    if ttl < 0 {
        return Err(ApiError::unprocessable(
            "ttl must be zero (no expiry) or a positive number of seconds",
        ));
    }
    check_cidrs(&body.cidrs)?;
    Ok((role, ttl))
}

/// `POST …/passwords` → 201 with `plain_text` (the only time it is shown).
pub async fn create(
    State(app): State<App>,
    caller: Caller,
    Path((org, db, branch)): Path<(String, String, String)>,
    ApiJson(body): ApiJson<CreatePassword>,
) -> ApiResult<Response> {
    let (password_id, secret) = add(&app, &caller, (&org, &db, &branch), body)?;
    if let Some(realdb) = app.realdb.clone()
        && let Err(error) = realdb.create_user(&app, &password_id, &secret).await
    {
        tracing::error!(%error, "password not created on its real server");
        app.lock().world.passwords.retain(|p| p.id != password_id);
        let status = axum::http::StatusCode::INTERNAL_SERVER_ERROR;
        return Err(ApiError::custom(status, "internal", error.to_string()));
    }
    let ctx = app.lock();
    let p = ctx.world.passwords.iter().find(|p| p.id == password_id);
    let p = p.ok_or_else(ApiError::not_found)?;
    created(ctx.view(app.base_url()).password(p, Some(&secret)))
}

/// Checks and adds a new password to the world; returns its id and plaintext.
fn add(
    app: &App,
    caller: &Caller,
    (org, db, branch): (&str, &str, &str),
    body: CreatePassword,
) -> ApiResult<(String, String)> {
    let mut ctx = app.lock();
    let (d, b) = ctx.world.branch_path(org, db, branch)?;
    let (dbo, br) = (&ctx.world.databases[d], &ctx.world.branches[b]);
    if br.production {
        let accesses = [
            "connect_production_branch",
            "create_production_branch_password",
        ];
        require(caller.db_allows(
            &dbo.org_id,
            &dbo.id,
            &accesses,
            &["manage_production_branch_passwords"],
        ))?;
    }
    if br.ready_at > ctx.now {
        return Err(ApiError::unprocessable("The branch is not ready yet"));
    }
    let (role, ttl) = validate(&body)?;
    let (id, secret, now) = (new_id(), new_secret("pscale_pw_"), ctx.now);
    let password = Password {
        name: body.name.unwrap_or_else(|| format!("pw-{id}")),
        id: id.clone(),
        branch_id: br.id.clone(),
        db_id: dbo.id.clone(),
        role,
        username: new_username(),
        secret_hash: hash_secret(&secret),
        ttl_seconds: (ttl > 0).then_some(ttl),
        expires_at: (ttl > 0).then(|| now + chrono::Duration::seconds(ttl)),
        replica: body.replica.unwrap_or(false),
        cidrs: body.cidrs,
        direct_vtgate: body.direct_vtgate.unwrap_or(false),
        actor: Some(caller.actor.clone()),
        created_at: now,
        deleted_at: None,
        renewed_at: None,
    };
    ctx.world.passwords.push(password);
    Ok((id, secret))
}

fn find(
    ctx: &Ctx<'_>,
    (org, db, branch, id): &(String, String, String, String),
) -> ApiResult<usize> {
    let (_, b) = ctx.world.branch_path(org, db, branch)?;
    ctx.world.password_idx(&ctx.world.branches[b].id, id)
}

/// `GET …/passwords/{id}` (no `plain_text`).
pub async fn get(State(app): State<App>, Path(p): PwPath) -> ApiResult<Response> {
    let ctx = app.lock();
    let i = find(&ctx, &p)?;
    ok(ctx
        .view(app.base_url())
        .password(&ctx.world.passwords[i], None))
}

/// Body of `update_password`.
#[derive(Deserialize)]
pub struct UpdatePassword {
    name: Option<String>,
    cidrs: Option<Vec<String>>,
}

/// `PATCH …/passwords/{id}`: name and CIDRs only.
pub async fn update(
    State(app): State<App>,
    Path(p): PwPath,
    ApiJson(body): ApiJson<UpdatePassword>,
) -> ApiResult<Response> {
    let mut ctx = app.lock();
    let i = find(&ctx, &p)?;
    check_cidrs(&body.cidrs)?;
    if let Some(name) = body.name {
        ctx.world.passwords[i].name = name;
    }
    if body.cidrs.is_some() {
        ctx.world.passwords[i].cidrs = body.cidrs;
    }
    ok(ctx
        .view(app.base_url())
        .password(&ctx.world.passwords[i], None))
}

/// `POST …/passwords/{id}/renew`: `expires_at = now + ttl`; 422 when not renewable.
pub async fn renew(State(app): State<App>, Path(p): PwPath) -> ApiResult<Response> {
    let mut ctx = app.lock();
    let i = find(&ctx, &p)?;
    let pw = &ctx.world.passwords[i];
    let Some(ttl) = pw.ttl_seconds.filter(|t| *t > 0) else {
        return Err(ApiError::unprocessable(
            "Password does not expire and cannot be renewed",
        ));
    };
    if expired(&ctx, pw) {
        return Err(ApiError::unprocessable(
            "Password has expired and cannot be renewed",
        ));
    }
    let now = ctx.now;
    ctx.world.passwords[i].expires_at = Some(now + chrono::Duration::seconds(ttl));
    ctx.world.passwords[i].renewed_at = Some(now);
    ok(ctx
        .view(app.base_url())
        .password(&ctx.world.passwords[i], None))
}

/// `DELETE …/passwords/{id}` → 204.
pub async fn delete(
    State(app): State<App>,
    caller: Caller,
    Path(p): PwPath,
) -> ApiResult<Response> {
    let mut ctx = app.lock();
    let i = find(&ctx, &p)?;
    let branch = ctx
        .world
        .branch_by_id(&ctx.world.passwords[i].branch_id)
        .expect("password has a branch");
    if branch.production {
        let db = ctx
            .world
            .db_by_id(&branch.db_id)
            .expect("branch has a database");
        let scopes = ["manage_production_branch_passwords"];
        require(caller.db_allows(
            &db.org_id,
            &db.id,
            &["delete_production_branch_password"],
            &scopes,
        ))?;
    }
    ctx.world.passwords[i].deleted_at = Some(ctx.now);
    no_content()
}

/// Admin check: is `username`/`password` currently valid for the branch?
/// Returns the reason when it is not.
pub fn verify(
    ctx: &Ctx<'_>,
    org: &str,
    db: &str,
    branch: &str,
    username: &str,
    password: &str,
) -> Result<(), &'static str> {
    let branch_id = ctx.world.verified_branch_id(org, db, branch)?;
    let p = ctx
        .world
        .passwords
        .iter()
        .find(|p| p.branch_id == branch_id && p.username == username)
        .ok_or("unknown username")?;
    if p.deleted_at.is_some() {
        return Err("password deleted");
    }
    if expired(ctx, p) {
        return Err("password expired");
    }
    if p.secret_hash != hash_secret(password) {
        return Err("wrong password");
    }
    Ok(())
}
