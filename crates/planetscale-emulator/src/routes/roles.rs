//! Postgres roles: the credentials of PostgreSQL branches. The password is shown only in the
//! create and reset responses; a role accepts connections once `ready`; TTL and renew work
//! like passwords; deleting a role that owns objects needs a `successor`.

use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;

use super::role_rules::{
    check_create, find, new_role, production_guard, resolve_successor, status_matches,
};
use super::{no_content, ok};
use crate::app::{App, Ctx};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery};
use crate::ids::{hash_secret, new_secret};
use crate::views::envelope;

/// Path of one role: organization, database, branch, role id.
pub(crate) type RolePath = Path<(String, String, String, String)>;
/// Path of a branch: organization, database, branch.
pub(crate) type BranchPath = Path<(String, String, String)>;

/// Delete/renew/reset/reassign accesses on production branches.
const PROD_DELETE: &[&str] = &["delete_production_branch_password"];
/// Create/update/renew accesses on production branches.
const PROD_CREATE: &[&str] = &["create_production_branch_password"];

/// `GET …/branches/{branch}/roles` with `q` (name) and `status` (`active`, `expired`,
/// `renewable`). The default `postgres` role is not listed (see `get_default_role`).
pub async fn list(
    State(app): State<App>,
    Path((org, db, branch)): BranchPath,
    ApiQuery(q): ApiQuery,
) -> ApiResult<Response> {
    let ctx = app.lock();
    let (_, b) = ctx.world.branch_path(&org, &db, &branch)?;
    let branch_id = ctx.world.branches[b].id.clone();
    let needle = q.get("q").cloned().unwrap_or_default();
    let status = q.get("status").map(String::as_str);
    let v = ctx.view(app.base_url());
    let items = ctx
        .world
        .roles
        .iter()
        .filter(|r| r.branch_id == branch_id && r.deleted_at.is_none() && !r.default)
        .filter(|r| r.name.contains(&needle) && status_matches(r, status, ctx.now))
        .map(|r| v.role(r, None))
        .collect();
    let path = format!("/v1/organizations/{org}/databases/{db}/branches/{branch}/roles");
    ok(envelope(items, &q, app.base_url(), &path, true))
}

/// Body of `create_role`.
#[derive(Deserialize)]
pub struct CreateRole {
    pub(crate) name: Option<String>,
    pub(crate) ttl: Option<i64>,
    pub(crate) inherited_roles: Option<Vec<String>>,
    pub(crate) with_replication: Option<bool>,
    pub(crate) require_where_on_delete: Option<String>,
    pub(crate) require_where_on_update: Option<String>,
}

/// `POST …/roles` → 200 with `password` (shown only here and in reset responses). The role
/// becomes `ready` after `role_ready_delay`.
pub async fn create(
    State(app): State<App>,
    caller: Caller,
    Path((org, db, branch)): BranchPath,
    ApiJson(body): ApiJson<CreateRole>,
) -> ApiResult<Response> {
    let (role_id, secret) = {
        let mut ctx = app.lock();
        let (d, b) = ctx.world.branch_path(&org, &db, &branch)?;
        production_guard(&ctx, &caller, d, b, PROD_CREATE)?;
        check_create(&ctx, b, &body)?;
        let secret = new_secret("pscale_pw_");
        let role = new_role(&ctx, &caller, b, body, &secret);
        let id = role.id.clone();
        ctx.world.roles.push(role);
        (id, secret)
    };
    real_password(&app, &role_id, &secret, |ctx| {
        ctx.world.roles.retain(|r| r.id != role_id);
    })
    .await?;
    let ctx = app.lock();
    let r = ctx.world.roles.iter().find(|r| r.id == role_id);
    let r = r.ok_or_else(ApiError::not_found)?;
    ok(ctx.view(app.base_url()).role(r, Some(&secret)))
}

/// With `--realdb`: role `role_id`'s real counterpart logs in with `secret` before the
/// response shows it; when that fails, `undo` takes the change back and the answer is 500.
async fn real_password(
    app: &App,
    role_id: &str,
    secret: &str,
    undo: impl FnOnce(&mut Ctx<'_>),
) -> ApiResult<()> {
    let Some(realdb) = app.realdb.clone() else {
        return Ok(());
    };
    let Err(error) = realdb.pg_set_role(app, role_id, secret).await else {
        return Ok(());
    };
    tracing::error!(%error, "role not made real on the PostgreSQL server");
    undo(&mut app.lock());
    let status = axum::http::StatusCode::INTERNAL_SERVER_ERROR;
    Err(ApiError::custom(status, "internal", error.to_string()))
}

/// `GET …/roles/{id}` (no password).
pub async fn get(State(app): State<App>, Path(p): RolePath) -> ApiResult<Response> {
    let ctx = app.lock();
    let i = find(&ctx, &p)?;
    ok(ctx.view(app.base_url()).role(&ctx.world.roles[i], None))
}

/// Body of `update_role`.
#[derive(Deserialize)]
pub struct UpdateRole {
    name: Option<String>,
    require_where_on_delete: Option<String>,
    require_where_on_update: Option<String>,
}

/// `PATCH …/roles/{id}`: the name and the `WHERE` clause rules.
pub async fn update(
    State(app): State<App>,
    Path(p): RolePath,
    ApiJson(body): ApiJson<UpdateRole>,
) -> ApiResult<Response> {
    let mut ctx = app.lock();
    let i = find(&ctx, &p)?;
    let delete = super::role_rules::where_rule(body.require_where_on_delete.as_deref())?;
    let update = super::role_rules::where_rule(body.require_where_on_update.as_deref())?;
    let now = ctx.now;
    let role = &mut ctx.world.roles[i];
    if let Some(name) = body.name.filter(|n| !n.is_empty()) {
        role.name = name;
    }
    if let Some(rule) = delete {
        role.require_where_on_delete = rule;
    }
    if let Some(rule) = update {
        role.require_where_on_update = rule;
    }
    role.updated_at = now;
    ok(ctx.view(app.base_url()).role(&ctx.world.roles[i], None))
}

/// `DELETE …/roles/{id}?successor=…` → 204. A role that owns objects needs a successor
/// (another role of the branch, by id or username, or `postgres`), which takes them over.
pub async fn delete(
    State(app): State<App>,
    caller: Caller,
    Path(p): RolePath,
    ApiQuery(q): ApiQuery,
) -> ApiResult<Response> {
    let (id, successor) = {
        let mut ctx = app.lock();
        let i = find(&ctx, &p)?;
        let (d, b) = ctx.world.branch_path(&p.0, &p.1, &p.2)?;
        production_guard(&ctx, &caller, d, b, PROD_DELETE)?;
        if ctx.world.roles[i].default {
            return Err(ApiError::unprocessable(
                "The default postgres role cannot be deleted",
            ));
        }
        let successor = match q.get("successor").filter(|s| !s.is_empty()) {
            Some(s) => Some(resolve_successor(&mut ctx, i, s)?),
            None => None,
        };
        if ctx.world.roles[i].owns_objects {
            let Some(s) = successor else {
                return Err(ApiError::unprocessable(
                    "Role is still referenced and cannot be dropped: it owns database objects. \
                     Pass a successor to take them over, or reassign them first.",
                ));
            };
            ctx.world.roles[s].owns_objects = true;
        }
        let now = ctx.now;
        ctx.world.roles[i].owns_objects = false;
        ctx.world.roles[i].deleted_at = Some(now);
        let id = ctx.world.roles[i].id.clone();
        let successor = successor.map(|s| ctx.world.roles[s].id.clone());
        (id, successor)
    };
    if let Some(realdb) = app.realdb.clone()
        && let Err(error) = realdb.pg_drop_role(&id, successor.as_deref()).await
    {
        tracing::warn!(%error, "real role not dropped yet (retried after the next request)");
    }
    no_content()
}

/// `POST …/roles/{id}/renew`: `expires_at = now + ttl`; 422 when not renewable.
pub async fn renew(
    State(app): State<App>,
    caller: Caller,
    Path(p): RolePath,
) -> ApiResult<Response> {
    let mut ctx = app.lock();
    let i = find(&ctx, &p)?;
    let (d, b) = ctx.world.branch_path(&p.0, &p.1, &p.2)?;
    production_guard(&ctx, &caller, d, b, PROD_CREATE)?;
    let role = &ctx.world.roles[i];
    let Some(ttl) = role.ttl_seconds.filter(|t| *t > 0) else {
        return Err(ApiError::unprocessable(
            "Role does not expire and cannot be renewed",
        ));
    };
    if role.expired(ctx.now) {
        return Err(ApiError::unprocessable(
            "Role has expired and cannot be renewed",
        ));
    }
    let now = ctx.now;
    ctx.world.roles[i].expires_at = Some(now + chrono::Duration::seconds(ttl));
    ctx.world.roles[i].updated_at = now;
    ok(ctx.view(app.base_url()).role(&ctx.world.roles[i], None))
}

/// A new password for role `id`, returned in the response; the old one stops working.
async fn reset_password(app: &App, id: String) -> ApiResult<Response> {
    let (secret, old_hash) = {
        let mut ctx = app.lock();
        let i = ctx.world.roles.iter().position(|r| r.id == id);
        let i = i.ok_or_else(ApiError::not_found)?;
        if ctx.world.roles[i].expired(ctx.now) {
            return Err(ApiError::unprocessable(
                "Role has expired and its password cannot be reset",
            ));
        }
        let secret = new_secret("pscale_pw_");
        let now = ctx.now;
        let role = &mut ctx.world.roles[i];
        let old_hash = std::mem::replace(&mut role.secret_hash, hash_secret(&secret));
        role.updated_at = now;
        (secret, old_hash)
    };
    real_password(app, &id, &secret, |ctx| {
        if let Some(r) = ctx.world.roles.iter_mut().find(|r| r.id == id) {
            r.secret_hash = old_hash;
        }
    })
    .await?;
    let ctx = app.lock();
    let r = ctx.world.roles.iter().find(|r| r.id == id);
    let r = r.ok_or_else(ApiError::not_found)?;
    ok(ctx.view(app.base_url()).role(r, Some(&secret)))
}

/// `POST …/roles/{id}/reset` → 200 with a new `password` for the same role and username.
pub async fn reset(
    State(app): State<App>,
    caller: Caller,
    Path(p): RolePath,
) -> ApiResult<Response> {
    let id = {
        let ctx = app.lock();
        let i = find(&ctx, &p)?;
        let (d, b) = ctx.world.branch_path(&p.0, &p.1, &p.2)?;
        production_guard(&ctx, &caller, d, b, PROD_DELETE)?;
        ctx.world.roles[i].id.clone()
    };
    reset_password(&app, id).await
}

/// Body of `reassign_role_objects`.
#[derive(Deserialize)]
pub struct Reassign {
    successor: String,
}

/// `POST …/roles/{id}/reassign` → 204: the successor now owns the role's objects.
pub async fn reassign(
    State(app): State<App>,
    caller: Caller,
    Path(p): RolePath,
    ApiJson(body): ApiJson<Reassign>,
) -> ApiResult<Response> {
    let (id, successor) = {
        let mut ctx = app.lock();
        let i = find(&ctx, &p)?;
        let (d, b) = ctx.world.branch_path(&p.0, &p.1, &p.2)?;
        production_guard(&ctx, &caller, d, b, PROD_DELETE)?;
        let s = resolve_successor(&mut ctx, i, &body.successor)?;
        if ctx.world.roles[i].owns_objects {
            ctx.world.roles[i].owns_objects = false;
            ctx.world.roles[s].owns_objects = true;
        }
        let (id, successor) = (ctx.world.roles[i].id.clone(), ctx.world.roles[s].id.clone());
        (id, successor)
    };
    if let Some(realdb) = app.realdb.clone() {
        realdb.pg_reassign(&id, &successor).await.map_err(|error| {
            tracing::error!(%error, "objects not reassigned on the PostgreSQL server");
            let status = axum::http::StatusCode::INTERNAL_SERVER_ERROR;
            ApiError::custom(status, "internal", error.to_string())
        })?;
    }
    no_content()
}

/// `GET …/roles/default`: the branch's default `postgres` role (no password).
pub async fn get_default(
    State(app): State<App>,
    Path((org, db, branch)): BranchPath,
) -> ApiResult<Response> {
    let mut ctx = app.lock();
    let (_, b) = ctx.world.branch_path(&org, &db, &branch)?;
    let i = super::role_rules::default_role(&mut ctx, b);
    ok(ctx.view(app.base_url()).role(&ctx.world.roles[i], None))
}

/// `POST …/roles/reset-default` → 200 with a new password for the default role.
pub async fn reset_default(
    State(app): State<App>,
    caller: Caller,
    Path((org, db, branch)): BranchPath,
) -> ApiResult<Response> {
    let id = {
        let mut ctx = app.lock();
        let (d, b) = ctx.world.branch_path(&org, &db, &branch)?;
        production_guard(&ctx, &caller, d, b, PROD_DELETE)?;
        let i = super::role_rules::default_role(&mut ctx, b);
        ctx.world.roles[i].id.clone()
    };
    reset_password(&app, id).await
}
