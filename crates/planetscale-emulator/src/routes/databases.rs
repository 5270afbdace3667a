//! Databases: list, create (`pending` → `ready`), get, settings, delete.

use axum::extract::{Path, State};
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::{created, middleware::list_database_accesses, no_content, ok};
use crate::app::App;
use crate::auth::{Caller, CallerKind, DB_ACCESSES};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery};
use crate::ids::{new_id, valid_name};
use crate::model::{Branch, Database, DbSettings, Grant, World};
use crate::views::{DEFAULT_REGION, envelope, region_exists};

/// `GET …/databases`: the databases the caller can see.
pub async fn list(
    State(app): State<App>,
    caller: Caller,
    Path(org): Path<String>,
    ApiQuery(q): ApiQuery,
) -> ApiResult<Response> {
    let ctx = app.lock();
    let org_id = ctx.world.orgs[ctx.world.org_idx(&org)?].id.clone();
    let accesses = list_database_accesses();
    let v = ctx.view(app.base_url());
    let needle = q.get("q").cloned().unwrap_or_default();
    let items = ctx
        .world
        .databases
        .iter()
        .filter(|d| d.org_id == org_id && d.name.contains(&needle))
        .filter(|d| {
            caller.db_allows(
                &org_id,
                &d.id,
                &accesses,
                &["read_databases", "read_database"],
            )
        })
        .map(|d| v.database(d))
        .collect();
    ok(envelope(
        items,
        &q,
        app.base_url(),
        &format!("/v1/organizations/{org}/databases"),
        true,
    ))
}

/// Body of `create_database`.
#[derive(Deserialize)]
#[allow(dead_code)]
pub struct CreateDatabase {
    name: String,
    region: Option<String>,
    cluster_size: Option<String>,
    replicas: Option<i64>,
    kind: Option<String>,
    major_version: Option<String>,
    notes: Option<String>,
    storage: Option<serde_json::Value>,
}

/// A database to add to the world.
pub struct NewDatabase<'a> {
    /// Fixed id, or random.
    pub id: Option<String>,
    /// Organization id.
    pub org_id: &'a str,
    /// Name.
    pub name: &'a str,
    /// Region slug.
    pub region: &'a str,
    /// Production cluster size.
    pub cluster: &'a str,
    /// Engine.
    pub kind: &'a str,
    /// When it becomes ready.
    pub ready_at: DateTime<Utc>,
}

/// Add a database with a production default branch `main` to the world.
pub fn insert_database(w: &mut World, new: NewDatabase<'_>, now: DateTime<Utc>) -> usize {
    let NewDatabase {
        id,
        org_id,
        name,
        region,
        cluster,
        kind,
        ready_at,
    } = new;
    let db = Database {
        id: id.unwrap_or_else(new_id),
        org_id: org_id.into(),
        name: name.into(),
        kind: kind.into(),
        region: region.into(),
        cluster_size: cluster.into(),
        default_branch: "main".into(),
        settings: DbSettings::default(),
        ready_at,
        created_at: now,
        updated_at: now,
        schema_last_updated_at: None,
        next_deploy_request_number: 0,
    };
    w.branches.push(Branch {
        id: new_id(),
        db_id: db.id.clone(),
        name: "main".into(),
        parent: None,
        production: true,
        safe_migrations: false,
        deletion_protected: false,
        region: region.into(),
        cluster_name: cluster.into(),
        ready_at,
        created_at: now,
        updated_at: now,
        schema_last_updated_at: None,
        schema: Default::default(),
        base_schema: Default::default(),
        actor: None,
        restored_from: None,
        mysql_host: None,
    });
    w.databases.push(db);
    w.databases.len() - 1
}

/// Kind (default `mysql`), cluster size (required for MySQL) and region (default `us-east`).
fn engine_size_region(body: &CreateDatabase) -> ApiResult<(String, String, String)> {
    let kind = body.kind.clone().unwrap_or_else(|| "mysql".into());
    if kind != "mysql" && kind != "postgresql" {
        return Err(ApiError::unprocessable("kind must be mysql or postgresql"));
    }
    let cluster = match body.cluster_size.clone() {
        Some(c) => c,
        None if kind == "mysql" => return Err(ApiError::unprocessable("cluster_size is required")),
        None => "PS_10".into(),
    };
    let region = body.region.clone().unwrap_or_else(|| DEFAULT_REGION.into());
    if !region_exists(&region) {
        return Err(ApiError::unprocessable(format!("Unknown region {region}")));
    }
    Ok((kind, cluster, region))
}

/// A service token that creates a database gets every database access on it (real behaviour).
fn grant_creator(w: &mut World, caller: &Caller, db: usize) {
    let CallerKind::ServiceToken { id, .. } = &caller.kind else {
        return;
    };
    let (db_id, org_id) = (w.databases[db].id.clone(), w.databases[db].org_id.clone());
    let Some(token) = w.service_tokens.iter_mut().find(|t| &t.id == id) else {
        return;
    };
    for access in DB_ACCESSES {
        let (org_id, db_id) = (org_id.clone(), Some(db_id.clone()));
        token.grants.push(Grant {
            id: new_id(),
            org_id,
            db_id,
            access: access.to_string(),
        });
    }
}

/// `POST …/databases` → 201, `pending` until the database ready delay has passed.
pub async fn create(
    State(app): State<App>,
    caller: Caller,
    Path(org): Path<String>,
    ApiJson(body): ApiJson<CreateDatabase>,
) -> ApiResult<Response> {
    let mut ctx = app.lock();
    let org_id = ctx.world.orgs[ctx.world.org_idx(&org)?].id.clone();
    if !valid_name(&body.name) {
        return Err(ApiError::unprocessable(
            "Name must be lowercase alphanumeric characters, dashes or underscores (at most 63)",
        ));
    }
    if ctx
        .world
        .databases
        .iter()
        .any(|d| d.org_id == org_id && d.name == body.name)
    {
        return Err(ApiError::unprocessable("Name has already been taken"));
    }
    let (kind, cluster, region) = engine_size_region(&body)?;
    let major = super::pg_branches::database_major_version(&kind, body.major_version.as_deref())?;
    let now = ctx.now;
    let ready_at = crate::clock::after(now, ctx.settings.database_ready_delay);
    let new = NewDatabase {
        id: None,
        org_id: &org_id,
        name: &body.name,
        region: &region,
        cluster: &cluster,
        kind: &kind,
        ready_at,
    };
    let i = insert_database(&mut ctx.world, new, now);
    if let Some(major) = major {
        let main = ctx
            .world
            .branches
            .last()
            .expect("insert_database adds main")
            .id
            .clone();
        super::pg_branches::record(&mut ctx.world, &main, major, None);
    }
    grant_creator(&mut ctx.world, &caller, i);
    created(ctx.view(app.base_url()).database(&ctx.world.databases[i]))
}

/// `GET …/databases/{database}`.
pub async fn get(
    State(app): State<App>,
    Path((org, db)): Path<(String, String)>,
) -> ApiResult<Response> {
    let ctx = app.lock();
    let i = ctx.world.db_idx(&org, &db)?;
    ok(ctx.view(app.base_url()).database(&ctx.world.databases[i]))
}

/// Body of `update_database_settings`.
#[derive(Deserialize)]
pub struct UpdateDatabase {
    new_name: Option<String>,
    automatic_migrations: Option<bool>,
    migration_framework: Option<String>,
    migration_table_name: Option<String>,
    require_approval_for_deploy: Option<bool>,
    restrict_branch_region: Option<bool>,
    allow_data_branching: Option<bool>,
    allow_foreign_key_constraints: Option<bool>,
    insights_raw_queries: Option<bool>,
    deletion_protected: Option<bool>,
    production_branch_web_console: Option<bool>,
    default_branch: Option<String>,
}

fn apply_settings(s: &mut DbSettings, b: &UpdateDatabase) {
    let set = |target: &mut bool, v: Option<bool>| {
        if let Some(v) = v {
            *target = v;
        }
    };
    set(
        &mut s.require_approval_for_deploy,
        b.require_approval_for_deploy,
    );
    set(&mut s.restrict_branch_region, b.restrict_branch_region);
    set(&mut s.allow_data_branching, b.allow_data_branching);
    set(&mut s.foreign_keys_enabled, b.allow_foreign_key_constraints);
    set(&mut s.insights_raw_queries, b.insights_raw_queries);
    set(&mut s.deletion_protected, b.deletion_protected);
    set(
        &mut s.production_branch_web_console,
        b.production_branch_web_console,
    );
    if b.automatic_migrations.is_some() {
        s.automatic_migrations = b.automatic_migrations;
    }
    if b.migration_framework.is_some() {
        s.migration_framework = b.migration_framework.clone();
    }
    if b.migration_table_name.is_some() {
        s.migration_table_name = b.migration_table_name.clone();
    }
}

/// `PATCH …/databases/{database}`.
pub async fn update(
    State(app): State<App>,
    Path((org, db)): Path<(String, String)>,
    ApiJson(body): ApiJson<UpdateDatabase>,
) -> ApiResult<Response> {
    let mut ctx = app.lock();
    let i = ctx.world.db_idx(&org, &db)?;
    let (db_id, org_id) = (
        ctx.world.databases[i].id.clone(),
        ctx.world.databases[i].org_id.clone(),
    );
    if let Some(name) = &body.new_name {
        let taken = ctx
            .world
            .databases
            .iter()
            .any(|d| d.org_id == org_id && &d.name == name && d.id != db_id);
        if !valid_name(name) || taken {
            return Err(ApiError::unprocessable(
                "Name is invalid or has already been taken",
            ));
        }
    }
    if let Some(branch) = &body.default_branch {
        let b = ctx
            .world
            .branch_idx(&db_id, branch)
            .map_err(|_| ApiError::unprocessable("Default branch does not exist"))?;
        if !ctx.world.branches[b].production {
            return Err(ApiError::unprocessable(
                "The default branch must be a production branch",
            ));
        }
    }
    let now = ctx.now;
    let d = &mut ctx.world.databases[i];
    apply_settings(&mut d.settings, &body);
    if let Some(name) = body.new_name {
        d.name = name;
    }
    if let Some(branch) = body.default_branch {
        d.default_branch = branch;
    }
    d.updated_at = now;
    ok(ctx.view(app.base_url()).database(&ctx.world.databases[i]))
}

/// `DELETE …/databases/{database}` → 204; refused (422) when deletion protected.
pub async fn delete(
    State(app): State<App>,
    Path((org, db)): Path<(String, String)>,
) -> ApiResult<Response> {
    let mut ctx = app.lock();
    let i = ctx.world.db_idx(&org, &db)?;
    if ctx.world.databases[i].settings.deletion_protected {
        return Err(ApiError::unprocessable(
            "Database is deletion protected; disable deletion protection first",
        ));
    }
    let now = ctx.now;
    let db_id = ctx.world.databases.remove(i).id;
    let w = &mut *ctx.world;
    w.branches.retain(|b| b.db_id != db_id);
    w.passwords
        .iter_mut()
        .filter(|p| p.db_id == db_id && p.deleted_at.is_none())
        .for_each(|p| p.deleted_at = Some(now));
    w.backups.retain(|b| b.db_id != db_id);
    w.backup_policies.retain(|p| p.db_id != db_id);
    w.drop_roles(|r| r.db_id == db_id, now);
    w.deploy_requests.retain(|r| r.db_id != db_id);
    for t in &mut w.service_tokens {
        t.grants
            .retain(|g| g.db_id.as_deref() != Some(db_id.as_str()));
    }
    no_content()
}

/// `GET …/databases/{database}/regions`.
pub async fn list_regions(
    State(app): State<App>,
    Path((org, db)): Path<(String, String)>,
    ApiQuery(q): ApiQuery,
) -> ApiResult<Response> {
    let items = crate::views::REGIONS
        .iter()
        .map(|r| crate::views::region(r.0))
        .collect();
    ok(envelope(
        items,
        &q,
        app.base_url(),
        &format!("/v1/organizations/{org}/databases/{db}/regions"),
        false,
    ))
}

/// `GET …/databases/{database}/read-only-regions`: always empty.
pub async fn list_read_only_regions(
    State(app): State<App>,
    Path((org, db)): Path<(String, String)>,
    ApiQuery(q): ApiQuery,
) -> ApiResult<Response> {
    let path = format!("/v1/organizations/{org}/databases/{db}/read-only-regions");
    ok(envelope(Vec::new(), &q, app.base_url(), &path, false))
}
