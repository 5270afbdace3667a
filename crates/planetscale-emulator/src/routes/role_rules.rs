//! The rules behind the roles endpoints: validation, lookup, successors, the default role,
//! credential checks, which engine an operation serves, and the admin `owns-objects` switch.

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::put;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use super::roles::{CreateRole, RolePath};
use super::{ok, require};
use crate::app::{App, Ctx};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::ids::{hash_secret, new_id, new_secret};
use crate::model::{POSTGRESQL, Role};

/// Predefined roles a role may inherit (the spec's enum).
pub const INHERITABLE: &[&str] = &[
    "pg_checkpoint",
    "pg_create_subscription",
    "pg_maintain",
    "pg_monitor",
    "pg_read_all_data",
    "pg_read_all_settings",
    "pg_read_all_stats",
    "pg_signal_backend",
    "pg_stat_scan_tables",
    "pg_use_reserved_connections",
    "pg_write_all_data",
    "postgres",
];

/// Values of `require_where_on_delete` / `require_where_on_update`.
const WHERE_RULES: &[&str] = &["off", "warn", "on"];

/// A `WHERE` clause rule from a request, validated (`None` when absent).
pub fn where_rule(value: Option<&str>) -> ApiResult<Option<String>> {
    match value {
        None => Ok(None),
        Some(v) if WHERE_RULES.contains(&v) => Ok(Some(v.to_string())),
        Some(v) => Err(ApiError::unprocessable(format!(
            "{v:?} is not a valid WHERE clause rule: use off, warn or on"
        ))),
    }
}

/// Whether role `r` matches the `status` filter (`active`, `expired`, `renewable`).
pub fn status_matches(r: &Role, status: Option<&str>, now: DateTime<Utc>) -> bool {
    match status {
        Some("active") => !r.expired(now),
        Some("expired") => r.expired(now),
        Some("renewable") => r.ttl_seconds.is_some_and(|t| t > 0) && !r.expired(now),
        _ => true,
    }
}

/// Index of the live role in the path, or 404.
pub fn find(
    ctx: &Ctx<'_>,
    (org, db, branch, id): &(String, String, String, String),
) -> ApiResult<usize> {
    let (_, b) = ctx.world.branch_path(org, db, branch)?;
    ctx.world
        .role_idx(&ctx.world.branches[b].id, id)
        .ok_or_else(ApiError::not_found)
}

/// On production branches, one of `accesses` (or the production passwords scope) is needed.
pub fn production_guard(
    ctx: &Ctx<'_>,
    caller: &Caller,
    d: usize,
    b: usize,
    accesses: &[&str],
) -> ApiResult<()> {
    if !ctx.world.branches[b].production {
        return Ok(());
    }
    let db = &ctx.world.databases[d];
    let scopes = ["manage_production_branch_passwords"];
    require(caller.db_allows(&db.org_id, &db.id, accesses, &scopes))
}

/// Validation of a create request on branch `b`.
pub fn check_create(ctx: &Ctx<'_>, b: usize, body: &CreateRole) -> ApiResult<()> {
    if ctx.world.branches[b].ready_at > ctx.now {
        return Err(ApiError::unprocessable("The branch is not ready yet"));
    }
    if let Some(bad) = body
        .inherited_roles
        .iter()
        .flatten()
        .find(|r| !INHERITABLE.contains(&r.as_str()))
    {
        return Err(ApiError::unprocessable(format!(
            "{bad} cannot be inherited: use one of {}",
            INHERITABLE.join(", ")
        )));
    }
    if body.ttl.is_some_and(|t| t < 0) {
        return Err(ApiError::unprocessable(
            "ttl must be zero (no expiry) or a positive number of seconds",
        ));
    }
    where_rule(body.require_where_on_delete.as_deref())?;
    where_rule(body.require_where_on_update.as_deref())?;
    Ok(())
}

/// A base user name like the API's: `pscale_api_` and 10 lowercase alphanumerics.
fn new_base_username() -> String {
    format!("pscale_api_{}", &new_id()[..10])
}

/// The role a validated create request describes, with the hash of `secret`.
pub fn new_role(ctx: &Ctx<'_>, caller: &Caller, b: usize, body: CreateRole, secret: &str) -> Role {
    let (br, now) = (&ctx.world.branches[b], ctx.now);
    let id = new_id();
    let ttl = body.ttl.filter(|t| *t > 0);
    Role {
        name: body
            .name
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| format!("role-{id}")),
        id,
        branch_id: br.id.clone(),
        db_id: br.db_id.clone(),
        base_username: new_base_username(),
        secret_hash: hash_secret(secret),
        ttl_seconds: ttl,
        expires_at: ttl.map(|t| now + chrono::Duration::seconds(t)),
        ready_at: crate::clock::after(now, ctx.settings.role_ready_delay),
        inherited_roles: body.inherited_roles.unwrap_or_default(),
        with_replication: body.with_replication.unwrap_or(false),
        require_where_on_delete: body.require_where_on_delete.unwrap_or_else(|| "off".into()),
        require_where_on_update: body.require_where_on_update.unwrap_or_else(|| "off".into()),
        default: false,
        owns_objects: false,
        actor: Some(caller.actor.clone()),
        created_at: now,
        updated_at: now,
        deleted_at: None,
    }
}

/// Index of the branch's default `postgres` role, created (ready, no expiry) on first use.
pub fn default_role(ctx: &mut Ctx<'_>, b: usize) -> usize {
    let branch_id = ctx.world.branches[b].id.clone();
    if let Some(i) = ctx
        .world
        .roles
        .iter()
        .position(|r| r.branch_id == branch_id && r.default && r.deleted_at.is_none())
    {
        return i;
    }
    let br = &ctx.world.branches[b];
    let role = Role {
        id: new_id(),
        branch_id,
        db_id: br.db_id.clone(),
        name: "postgres".into(),
        base_username: "postgres".into(),
        secret_hash: hash_secret(&new_secret("pscale_pw_")),
        ttl_seconds: None,
        expires_at: None,
        ready_at: br.created_at,
        inherited_roles: vec!["postgres".into()],
        with_replication: true,
        require_where_on_delete: "off".into(),
        require_where_on_update: "off".into(),
        default: true,
        owns_objects: true,
        actor: None,
        created_at: br.created_at,
        updated_at: br.created_at,
        deleted_at: None,
    };
    ctx.world.roles.push(role);
    ctx.world.roles.len() - 1
}

/// The role `name` designates as successor of role `i`: a live role of the same branch by
/// id, username or base username (`postgres` is the default role).
pub fn resolve_successor(ctx: &mut Ctx<'_>, i: usize, name: &str) -> ApiResult<usize> {
    let branch_id = ctx.world.roles[i].branch_id.clone();
    let b = ctx
        .world
        .branches
        .iter()
        .position(|b| b.id == branch_id)
        .ok_or_else(ApiError::not_found)?;
    if name == "postgres" {
        return Ok(default_role(ctx, b));
    }
    let found = ctx.world.roles.iter().position(|r| {
        r.branch_id == branch_id
            && r.deleted_at.is_none()
            && (r.id == name || r.username() == name || r.base_username == name)
    });
    match found {
        Some(s) if s == i => Err(ApiError::unprocessable(
            "A role cannot be its own successor",
        )),
        Some(s) => Ok(s),
        None => Err(ApiError::unprocessable(format!(
            "Successor {name} is not a role of this branch"
        ))),
    }
}

/// Admin check: is `username`/`password` a role credential that works on the branch now?
pub fn verify(
    ctx: &Ctx<'_>,
    (org, db, branch): (&str, &str, &str),
    username: &str,
    password: &str,
) -> Result<(), &'static str> {
    let branch_id = ctx.world.verified_branch_id(org, db, branch)?;
    let r = ctx
        .world
        .roles
        .iter()
        .rev()
        .find(|r| r.branch_id == branch_id && r.username() == username)
        .ok_or("unknown username")?;
    if r.deleted_at.is_some() {
        return Err("role deleted");
    }
    if r.expired(ctx.now) {
        return Err("role expired");
    }
    if r.ready_at > ctx.now {
        return Err("role not ready");
    }
    if r.secret_hash != hash_secret(password) {
        return Err("wrong password");
    }
    Ok(())
}

/// Operations that only Vitess (MySQL) databases serve.
fn vitess_only(op: &str) -> Option<&'static str> {
    match op {
        o if o.contains("password") => Some("Passwords"),
        "promote_branch" | "demote_branch" => Some("Promoting and demoting branches"),
        o if o.contains("safe_migrations") => Some("Safe migrations"),
        o if o.contains("deploy") || o.contains("revert") || o.ends_with("cutover") => {
            Some("Deploy requests")
        }
        _ => None,
    }
}

/// Refuse an operation the database's engine does not serve: Vitess-only operations on a
/// PostgreSQL database, roles on a MySQL database (422 `unprocessable`, after authorization).
pub fn check_engine(op: &str, kind: &str) -> ApiResult<()> {
    let postgres = kind == POSTGRESQL;
    if let (Some(what), true) = (vitess_only(op), postgres) {
        return Err(ApiError::unprocessable(format!(
            "{what} are only available for Vitess (MySQL) databases; this is a PostgreSQL database{}",
            if what == "Passwords" {
                " (use roles)"
            } else {
                ""
            }
        )));
    }
    if op.contains("role") && !postgres {
        return Err(ApiError::unprocessable(
            "Roles are only available for PostgreSQL databases; use passwords for Vitess (MySQL) databases",
        ));
    }
    Ok(())
}

/// Admin routes of roles.
pub fn admin_routes() -> Router<App> {
    Router::new().route(
        "/_emulator/organizations/{organization}/databases/{database}/branches/{branch}/roles/{id}/owns-objects",
        put(set_owns_objects),
    )
}

/// Body of the `owns-objects` switch.
#[derive(Deserialize)]
struct OwnsObjects {
    owns_objects: bool,
}

/// `PUT /_emulator/…/roles/{id}/owns-objects` `{"owns_objects": true}`: the role now owns
/// (or no longer owns) database objects, as if it had created tables.
async fn set_owns_objects(
    State(app): State<App>,
    Path(p): RolePath,
    ApiJson(body): ApiJson<OwnsObjects>,
) -> ApiResult<Response> {
    let mut ctx = app.lock();
    let i = find(&ctx, &p)?;
    ctx.world.roles[i].owns_objects = body.owns_objects;
    ok(json!({"id": ctx.world.roles[i].id, "owns_objects": body.owns_objects}))
}

/// The roles of the world for `/_emulator/state` (no secrets).
pub fn state_json(ctx: &Ctx<'_>) -> Vec<Value> {
    let w = &ctx.world;
    w.roles
        .iter()
        .map(|r| {
            json!({
                "id": r.id, "database": w.db_by_id(&r.db_id).map(|d| d.name.clone()),
                "branch": w.branch_by_id(&r.branch_id).map(|b| b.name.clone()),
                "branch_id": r.branch_id, "name": r.name, "username": r.username(),
                "default": r.default, "owns_objects": r.owns_objects,
                "deleted": r.deleted_at.is_some(), "expired": r.expired(ctx.now),
                "ready": r.ready_at <= ctx.now, "expires_at": crate::ids::ts_opt(r.expires_at),
            })
        })
        .collect()
}
