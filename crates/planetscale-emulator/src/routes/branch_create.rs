//! `POST …/branches`: the branch creation rules of the real API.

use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;

use super::{created, require};
use crate::app::{App, Ctx};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::ids::{new_id, valid_name};
use crate::model::Branch;
use crate::schema::Schema;
use crate::views::region_exists;

/// Body of `create_branch`.
#[derive(Deserialize)]
#[allow(dead_code)]
pub struct CreateBranch {
    name: String,
    parent_branch: Option<String>,
    backup_id: Option<String>,
    region: Option<String>,
    restore_point: Option<String>,
    seed_data: Option<String>,
    cluster_size: Option<String>,
    keyspace_cluster_sizes: Option<Vec<serde_json::Value>>,
    storage: Option<serde_json::Value>,
    major_version: Option<String>,
    create_database_if_missing: Option<bool>,
    kind: Option<String>,
    deletion_protected: Option<bool>,
}

const RESTORE: &[&str] = &["restore_backup", "restore_production_branch_backup"];
const RESTORE_SCOPES: &[&str] = &["restore_backups", "restore_production_branch_backups"];

/// Where the new branch's schema comes from.
struct Source {
    schema: Schema,
    region: String,
    restored_from: Option<(String, String)>,
}

fn from_backup(
    ctx: &Ctx<'_>,
    caller: &Caller,
    d: usize,
    body: &CreateBranch,
    backup_id: &str,
) -> ApiResult<Source> {
    let db = &ctx.world.databases[d];
    require(caller.db_allows(&db.org_id, &db.id, RESTORE, RESTORE_SCOPES))?;
    let backup = ctx
        .world
        .backups
        .iter()
        .find(|b| b.id == backup_id && b.db_id == db.id)
        .ok_or_else(ApiError::not_found)?;
    if ctx.now < backup.completed_at {
        return Err(ApiError::unprocessable(
            "The backup has not completed successfully and cannot be restored",
        ));
    }
    if body.cluster_size.is_none() {
        return Err(ApiError::unprocessable(
            "cluster_size is required when restoring a backup",
        ));
    }
    let source = ctx.world.branch_by_id(&backup.branch_id);
    Ok(Source {
        schema: backup.schema.clone(),
        region: source.map_or_else(|| db.region.clone(), |b| b.region.clone()),
        restored_from: source.map(|b| (b.id.clone(), b.name.clone())),
    })
}

fn from_seed(
    ctx: &Ctx<'_>,
    caller: &Caller,
    d: usize,
    parent: &Branch,
    seed: &str,
) -> ApiResult<Source> {
    let db = &ctx.world.databases[d];
    if seed != "last_successful_backup" {
        return Err(ApiError::unprocessable(
            "seed_data must be last_successful_backup",
        ));
    }
    require(caller.db_allows(&db.org_id, &db.id, RESTORE, RESTORE_SCOPES))?;
    if !db.settings.allow_data_branching {
        return Err(ApiError::unprocessable(
            "Data branching is not enabled for this database",
        ));
    }
    let backup = ctx
        .world
        .backups
        .iter()
        .filter(|b| b.branch_id == parent.id && b.completed_at <= ctx.now)
        .max_by_key(|b| b.completed_at)
        .ok_or_else(|| {
            ApiError::unprocessable(format!(
                "Branch {} has no successful backup to seed from",
                parent.name
            ))
        })?;
    Ok(Source {
        schema: backup.schema.clone(),
        region: parent.region.clone(),
        restored_from: Some((parent.id.clone(), parent.name.clone())),
    })
}

fn check_name(ctx: &Ctx<'_>, d: usize, name: &str) -> ApiResult<()> {
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
    Ok(())
}

fn check_region(ctx: &Ctx<'_>, d: usize, region: &str) -> ApiResult<()> {
    let db = &ctx.world.databases[d];
    if !region_exists(region) {
        return Err(ApiError::unprocessable(format!("Unknown region {region}")));
    }
    if db.settings.restrict_branch_region && region != db.region {
        return Err(ApiError::unprocessable(
            "Branches of this database must be created in the database's region",
        ));
    }
    Ok(())
}

fn source(
    ctx: &Ctx<'_>,
    caller: &Caller,
    d: usize,
    parent: &Branch,
    body: &CreateBranch,
) -> ApiResult<Source> {
    let db = &ctx.world.databases[d];
    match (&body.backup_id, &body.seed_data) {
        (Some(_), Some(_)) => Err(ApiError::unprocessable(
            "backup_id and seed_data cannot be combined",
        )),
        (Some(id), None) => from_backup(ctx, caller, d, body, id),
        (None, Some(seed)) => from_seed(ctx, caller, d, parent, seed),
        (None, None) => {
            require(caller.db_allows(&db.org_id, &db.id, &["create_branch"], &["write_branches"]))?;
            if parent.ready_at > ctx.now {
                return Err(ApiError::unprocessable(format!(
                    "Parent branch {} is not ready yet",
                    parent.name
                )));
            }
            let region = body.region.clone().unwrap_or_else(|| parent.region.clone());
            check_region(ctx, d, &region)?;
            Ok(Source {
                schema: parent.schema.clone(),
                region,
                restored_from: None,
            })
        }
    }
}

fn plan(ctx: &Ctx<'_>, caller: &Caller, d: usize, body: &CreateBranch) -> ApiResult<Branch> {
    let db = &ctx.world.databases[d];
    if db.ready_at > ctx.now {
        return Err(ApiError::bad_request(
            "Database is still initializing and cannot create branches.",
        ));
    }
    check_name(ctx, d, &body.name)?;
    let parent_name = body
        .parent_branch
        .clone()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| db.default_branch.clone());
    let parent = &ctx.world.branches[ctx.world.branch_idx(&db.id, &parent_name)?];
    let src = source(ctx, caller, d, parent, body)?;
    let limit = ctx.settings.development_branch_limit;
    if ctx.world.development_branch_count(&db.id) >= limit {
        return Err(ApiError::unprocessable(format!(
            "This database has reached its limit of {limit} development branches"
        )));
    }
    let now = ctx.now;
    Ok(Branch {
        id: new_id(),
        db_id: db.id.clone(),
        name: body.name.clone(),
        parent: Some(parent_name),
        production: false,
        safe_migrations: false,
        deletion_protected: body.deletion_protected.unwrap_or(false),
        region: src.region,
        cluster_name: body.cluster_size.clone().unwrap_or_else(|| "PS_DEV".into()),
        ready_at: crate::clock::after(now, ctx.settings.branch_ready_delay),
        created_at: now,
        updated_at: now,
        schema_last_updated_at: None,
        base_schema: src.schema.clone(),
        schema: src.schema,
        actor: Some(caller.actor.clone()),
        restored_from: src.restored_from,
        mysql_host: None,
    })
}

/// The Postgres part of a create request.
fn pg_request(body: &CreateBranch) -> super::pg_branches::PgRequest<'_> {
    super::pg_branches::PgRequest {
        parent: body.parent_branch.as_deref(),
        restore_point: body.restore_point.as_deref(),
        major_version: body.major_version.as_deref(),
        from_backup: body.backup_id.is_some() || body.seed_data.is_some(),
    }
}

/// Record the Postgres attributes of the branch just pushed; a branch restored to a point in
/// time names its parent in `restored_from_branch`.
fn restored_to_point(
    w: &mut crate::model::World,
    version: String,
    point: Option<chrono::DateTime<chrono::Utc>>,
) {
    let new = w.branches.len() - 1;
    let id = w.branches[new].id.clone();
    if point.is_some() {
        let parent = w.branches[new].parent.clone().unwrap_or_default();
        if let Ok(p) = w.branch_idx(&w.branches[new].db_id, &parent) {
            let from = (w.branches[p].id.clone(), w.branches[p].name.clone());
            w.branches[new].restored_from = Some(from);
        }
    }
    super::pg_branches::record(w, &id, version, point);
}

/// `POST …/branches` → 201 with a `pending` branch.
pub async fn create(
    State(app): State<App>,
    caller: Caller,
    Path((org, db)): Path<(String, String)>,
    ApiJson(body): ApiJson<CreateBranch>,
) -> ApiResult<Response> {
    let mut ctx = app.lock();
    let d = ctx.world.db_idx(&org, &db)?;
    let pg = super::pg_branches::plan_branch(&ctx, d, &pg_request(&body))?;
    let branch = plan(&ctx, &caller, d, &body)?;
    ctx.world.branches.push(branch);
    if let Some((version, point)) = pg {
        restored_to_point(&mut ctx.world, version, point);
    }
    created(
        ctx.view(app.base_url())
            .branch(ctx.world.branches.last().expect("just pushed")),
    )
}
