//! Branches: list, get, rename, deletion protection, delete, promote/demote, safe migrations,
//! schema and lint. Creation lives in `branch_create`.

use axum::extract::{Path, State};
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;

use super::{no_content, ok, require};
use crate::app::{App, Ctx};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery, query_bool};
use crate::ids::valid_name;
use crate::model::{Actor, DeployState, World};
use crate::views::{envelope, lint as lint_view, schema_table};

type BranchPath = Path<(String, String, String)>;

fn branch_json(app: &App, ctx: &Ctx<'_>, b: usize) -> ApiResult<Response> {
    ok(ctx.view(app.base_url()).branch(&ctx.world.branches[b]))
}

/// `GET …/branches` with `q`, `production`, `safe_migrations`, `order` filters.
pub async fn list(
    State(app): State<App>,
    Path((org, db)): Path<(String, String)>,
    ApiQuery(q): ApiQuery,
) -> ApiResult<Response> {
    let ctx = app.lock();
    let db_id = ctx.world.databases[ctx.world.db_idx(&org, &db)?].id.clone();
    let needle = q.get("q").cloned().unwrap_or_default();
    let (prod, safe) = (
        query_bool(&q, "production"),
        query_bool(&q, "safe_migrations"),
    );
    let mut branches: Vec<_> = ctx
        .world
        .branches
        .iter()
        .filter(|b| b.db_id == db_id && b.name.contains(&needle))
        .filter(|b| {
            prod.is_none_or(|p| b.production == p) && safe.is_none_or(|s| b.safe_migrations == s)
        })
        .collect();
    branches.sort_by_key(|b| b.created_at);
    if q.get("order").map(String::as_str) == Some("desc") {
        branches.reverse();
    }
    let v = ctx.view(app.base_url());
    let items = branches.into_iter().map(|b| v.branch(b)).collect();
    ok(envelope(
        items,
        &q,
        app.base_url(),
        &format!("/v1/organizations/{org}/databases/{db}/branches"),
        true,
    ))
}

/// `GET …/branches/{branch}`.
pub async fn get(
    State(app): State<App>,
    Path((org, db, branch)): BranchPath,
) -> ApiResult<Response> {
    let ctx = app.lock();
    let (_, b) = ctx.world.branch_path(&org, &db, &branch)?;
    branch_json(&app, &ctx, b)
}

/// Body of `update_branch`.
#[derive(Deserialize)]
pub struct UpdateBranch {
    new_name: Option<String>,
    deletion_protected: Option<bool>,
}

fn rename_branch(w: &mut World, d: usize, b: usize, new: &str) {
    let (db_id, old) = (w.databases[d].id.clone(), w.branches[b].name.clone());
    w.branches[b].name = new.to_string();
    for other in w
        .branches
        .iter_mut()
        .filter(|o| o.db_id == db_id && o.parent.as_deref() == Some(&old))
    {
        other.parent = Some(new.to_string());
    }
    for r in w.deploy_requests.iter_mut().filter(|r| r.db_id == db_id) {
        if r.branch == old {
            r.branch = new.to_string();
        }
        if r.into_branch == old {
            r.into_branch = new.to_string();
        }
    }
    if w.databases[d].default_branch == old {
        w.databases[d].default_branch = new.to_string();
    }
}

/// `PATCH …/branches/{branch}`: rename (passwords keep working) and deletion protection.
pub async fn update(
    State(app): State<App>,
    Path((org, db, branch)): BranchPath,
    ApiJson(body): ApiJson<UpdateBranch>,
) -> ApiResult<Response> {
    let mut ctx = app.lock();
    let (d, b) = ctx.world.branch_path(&org, &db, &branch)?;
    if let Some(name) = &body.new_name
        && name != &branch
    {
        if !valid_name(name) {
            return Err(ApiError::unprocessable(
                "Name must be lowercase alphanumeric characters, dashes or underscores (at most 63)",
            ));
        }
        if ctx
            .world
            .branch_idx(&ctx.world.databases[d].id, name)
            .is_ok()
        {
            return Err(ApiError::unprocessable("Name has already been taken"));
        }
        rename_branch(&mut ctx.world, d, b, name);
    }
    if let Some(p) = body.deletion_protected {
        ctx.world.branches[b].deletion_protected = p;
    }
    ctx.world.branches[b].updated_at = ctx.now;
    branch_json(&app, &ctx, b)
}

/// Remove a branch and everything hanging off it (passwords and roles are marked deleted).
pub fn delete_branch_cascade(
    w: &mut World,
    branch_id: &str,
    actor: Option<&Actor>,
    now: DateTime<Utc>,
) {
    w.branches.retain(|b| b.id != branch_id);
    for p in w
        .passwords
        .iter_mut()
        .filter(|p| p.branch_id == branch_id && p.deleted_at.is_none())
    {
        p.deleted_at = Some(now);
    }
    w.backups.retain(|b| b.branch_id != branch_id);
    w.drop_roles(|r| r.branch_id == branch_id, now);
    for r in &mut w.deploy_requests {
        let from = r.branch_id == branch_id;
        if from {
            r.branch_deleted = true;
            r.branch_deleted_at = Some(now);
            r.branch_deleted_by = actor.cloned();
        }
        if (from || r.into_branch_id == branch_id) && r.is_open() && !r.deployment.state.running() {
            if r.deployment.state == DeployState::Queued {
                r.deployment.state = DeployState::Cancelled;
            }
            r.deployment.next_at = None;
            r.state = "closed".into();
            r.closed_at = Some(now);
            r.closed_by = actor.cloned();
        }
    }
}

fn descendants(w: &World, db_id: &str, name: &str) -> Vec<usize> {
    let mut out = Vec::new();
    let mut stack = vec![name.to_string()];
    while let Some(parent) = stack.pop() {
        for (i, b) in w.branches.iter().enumerate() {
            if b.db_id == db_id && b.parent.as_deref() == Some(parent.as_str()) && !out.contains(&i)
            {
                out.push(i);
                stack.push(b.name.clone());
            }
        }
    }
    out
}

fn check_deletable(w: &World, caller: &Caller, d: usize, b: usize) -> ApiResult<()> {
    let (db, br) = (&w.databases[d], &w.branches[b]);
    if br.name == db.default_branch {
        return Err(ApiError::unprocessable(
            "The default branch of a database cannot be deleted",
        ));
    }
    if br.deletion_protected {
        return Err(ApiError::unprocessable(format!(
            "Branch {} is deletion protected",
            br.name
        )));
    }
    if br.production {
        require(caller.db_allows(
            &db.org_id,
            &db.id,
            &["delete_production_branch"],
            &["delete_production_branches"],
        ))?;
        let others = w
            .branches
            .iter()
            .filter(|o| o.db_id == db.id && o.production && o.id != br.id)
            .count();
        if others == 0 {
            return Err(ApiError::unprocessable(
                "A database must keep at least one production branch",
            ));
        }
    }
    Ok(())
}

/// `DELETE …/branches/{branch}` → 204; `?delete_descendants=true` deletes child branches too.
pub async fn delete(
    State(app): State<App>,
    caller: Caller,
    Path((org, db, branch)): BranchPath,
    ApiQuery(q): ApiQuery,
) -> ApiResult<Response> {
    let mut ctx = app.lock();
    let (d, b) = ctx.world.branch_path(&org, &db, &branch)?;
    let mut victims = vec![b];
    if query_bool(&q, "delete_descendants") == Some(true) {
        victims.extend(descendants(&ctx.world, &ctx.world.databases[d].id, &branch));
    }
    for &v in &victims {
        check_deletable(&ctx.world, &caller, d, v)?;
    }
    let ids: Vec<String> = victims
        .iter()
        .map(|&v| ctx.world.branches[v].id.clone())
        .collect();
    let now = ctx.now;
    for id in ids {
        delete_branch_cascade(&mut ctx.world, &id, Some(&caller.actor), now);
    }
    no_content()
}

fn not_ready(ctx: &Ctx<'_>, b: usize) -> bool {
    ctx.world.branches[b].ready_at > ctx.now
}

/// `POST …/promote`: development → production.
pub async fn promote(
    State(app): State<App>,
    Path((org, db, branch)): BranchPath,
) -> ApiResult<Response> {
    let mut ctx = app.lock();
    let (d, b) = ctx.world.branch_path(&org, &db, &branch)?;
    if not_ready(&ctx, b) {
        return Err(ApiError::unprocessable("The branch is not ready yet"));
    }
    if ctx.world.branches[b].production {
        return Err(ApiError::unprocessable(
            "Branch is already a production branch",
        ));
    }
    let (cluster, now) = (ctx.world.databases[d].cluster_size.clone(), ctx.now);
    let br = &mut ctx.world.branches[b];
    (br.production, br.cluster_name, br.updated_at) = (true, cluster, now);
    branch_json(&app, &ctx, b)
}

/// `POST …/demote`: production → development (not the default or the last production branch).
pub async fn demote(
    State(app): State<App>,
    Path((org, db, branch)): BranchPath,
) -> ApiResult<Response> {
    let mut ctx = app.lock();
    let (d, b) = ctx.world.branch_path(&org, &db, &branch)?;
    if !ctx.world.branches[b].production {
        return Err(ApiError::unprocessable("Branch is not a production branch"));
    }
    if ctx.world.databases[d].default_branch == branch {
        return Err(ApiError::unprocessable(
            "The default branch cannot be demoted",
        ));
    }
    let now = ctx.now;
    let br = &mut ctx.world.branches[b];
    (
        br.production,
        br.safe_migrations,
        br.cluster_name,
        br.updated_at,
    ) = (false, false, "PS_DEV".into(), now);
    branch_json(&app, &ctx, b)
}

fn set_safe_migrations(
    app: &App,
    (org, db, branch): (String, String, String),
    on: bool,
) -> ApiResult<Response> {
    let mut ctx = app.lock();
    let (_, b) = ctx.world.branch_path(&org, &db, &branch)?;
    if on && !ctx.world.branches[b].production {
        return Err(ApiError::unprocessable(
            "Safe migrations can only be enabled on production branches",
        ));
    }
    if on && not_ready(&ctx, b) {
        return Err(ApiError::unprocessable("The branch is not ready yet"));
    }
    let now = ctx.now;
    (
        ctx.world.branches[b].safe_migrations,
        ctx.world.branches[b].updated_at,
    ) = (on, now);
    branch_json(app, &ctx, b)
}

/// `POST …/safe-migrations`.
pub async fn enable_safe_migrations(
    State(app): State<App>,
    Path(p): BranchPath,
) -> ApiResult<Response> {
    set_safe_migrations(&app, p, true)
}

/// `DELETE …/safe-migrations` (200 with the branch, not 204).
pub async fn disable_safe_migrations(
    State(app): State<App>,
    Path(p): BranchPath,
) -> ApiResult<Response> {
    set_safe_migrations(&app, p, false)
}

/// Body of `update_safe_migrations`.
#[derive(Deserialize)]
pub struct SafeMigrations {
    safe_migrations: bool,
}

/// `PUT …/safe-migrations` with `{safe_migrations}`.
pub async fn update_safe_migrations(
    State(app): State<App>,
    Path(p): BranchPath,
    ApiJson(body): ApiJson<SafeMigrations>,
) -> ApiResult<Response> {
    set_safe_migrations(&app, p, body.safe_migrations)
}

/// `GET …/schema`: `{data: [{name, raw, html}]}`, not paginated.
pub async fn schema(
    State(app): State<App>,
    Path((org, db, branch)): BranchPath,
) -> ApiResult<Response> {
    let ctx = app.lock();
    let (_, b) = ctx.world.branch_path(&org, &db, &branch)?;
    let data: Vec<_> = ctx.world.branches[b]
        .schema
        .iter()
        .map(|(n, raw)| schema_table(n, raw))
        .collect();
    ok(json!({"data": data}))
}

/// `GET …/schema/lint`: paginated lint errors (no totals).
pub async fn lint(
    State(app): State<App>,
    Path((org, db, branch)): BranchPath,
    ApiQuery(q): ApiQuery,
) -> ApiResult<Response> {
    let ctx = app.lock();
    let (d, b) = ctx.world.branch_path(&org, &db, &branch)?;
    let fk = ctx.world.databases[d].settings.foreign_keys_enabled;
    let items = crate::schema::lint(&ctx.world.branches[b].schema, fk)
        .iter()
        .map(lint_view)
        .collect();
    let path = format!("/v1/organizations/{org}/databases/{db}/branches/{branch}/schema/lint");
    ok(envelope(items, &q, app.base_url(), &path, false))
}
