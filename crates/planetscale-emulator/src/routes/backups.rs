//! Backups: `pending` → `running` → `success` over the configured backup duration.
//! A successful backup can seed a branch (`backup_id`, `seed_data`).

use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;

use super::{created, no_content, ok, require};
use crate::app::{App, Ctx};
use crate::auth::Caller;
use crate::clock::after;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery};
use crate::ids::new_id;
use crate::model::Backup;
use crate::views::envelope;

type BackupPath = Path<(String, String, String, String)>;

/// `GET …/backups` with an optional `state` filter.
pub async fn list(
    State(app): State<App>,
    Path((org, db, branch)): Path<(String, String, String)>,
    ApiQuery(q): ApiQuery,
) -> ApiResult<Response> {
    let ctx = app.lock();
    let (_, b) = ctx.world.branch_path(&org, &db, &branch)?;
    let v = ctx.view(app.base_url());
    let branch_id = &ctx.world.branches[b].id;
    let state = q.get("state").cloned();
    let items = ctx
        .world
        .backups
        .iter()
        .filter(|k| {
            &k.branch_id == branch_id && state.as_deref().is_none_or(|s| v.backup_state(k) == s)
        })
        .map(|k| v.backup(k))
        .collect();
    let path = format!("/v1/organizations/{org}/databases/{db}/branches/{branch}/backups");
    ok(envelope(items, &q, app.base_url(), &path, true))
}

/// Body of `create_backup`.
#[derive(Deserialize)]
pub struct CreateBackup {
    name: Option<String>,
    retention_unit: Option<String>,
    retention_value: Option<i64>,
    #[allow(dead_code)]
    emergency: Option<bool>,
}

pub(crate) fn retention(
    unit: Option<&str>,
    value: Option<i64>,
) -> ApiResult<Option<chrono::Duration>> {
    let value = value.unwrap_or(1);
    if !(1..=1000).contains(&value) {
        return Err(ApiError::unprocessable(
            "retention_value must be between 1 and 1000",
        ));
    }
    let hours = match unit {
        None => return Ok(None),
        Some("hour") => 1,
        Some("day") => 24,
        Some("week") => 24 * 7,
        Some("month") => 24 * 30,
        Some("year") => 24 * 365,
        Some(other) => {
            return Err(ApiError::unprocessable(format!(
                "Unknown retention_unit {other}"
            )));
        }
    };
    Ok(Some(chrono::Duration::hours(hours * value)))
}

/// `POST …/backups` → 201 `pending`.
pub async fn create(
    State(app): State<App>,
    caller: Caller,
    Path((org, db, branch)): Path<(String, String, String)>,
    ApiJson(body): ApiJson<CreateBackup>,
) -> ApiResult<Response> {
    let mut ctx = app.lock();
    let (d, b) = ctx.world.branch_path(&org, &db, &branch)?;
    let keep = retention(body.retention_unit.as_deref(), body.retention_value)?;
    let (now, duration) = (ctx.now, ctx.settings.backup_duration);
    let backup = Backup {
        id: new_id(),
        branch_id: ctx.world.branches[b].id.clone(),
        db_id: ctx.world.databases[d].id.clone(),
        name: body
            .name
            .unwrap_or_else(|| format!("{branch}-{}", now.format("%Y-%m-%d-%H%M%S"))),
        created_at: now,
        started_at: after(now, duration / 2),
        completed_at: after(now, duration),
        expires_at: keep.map(|k| now + k),
        protected: false,
        schema: ctx.world.branches[b].schema.clone(),
        actor: Some(caller.actor.clone()),
        policy_id: None,
    };
    ctx.world.backups.push(backup);
    created(
        ctx.view(app.base_url())
            .backup(ctx.world.backups.last().expect("just pushed")),
    )
}

fn find(
    ctx: &Ctx<'_>,
    (org, db, branch, id): &(String, String, String, String),
) -> ApiResult<usize> {
    let (_, b) = ctx.world.branch_path(org, db, branch)?;
    let branch_id = &ctx.world.branches[b].id;
    ctx.world
        .backups
        .iter()
        .position(|k| &k.branch_id == branch_id && &k.id == id)
        .ok_or_else(ApiError::not_found)
}

/// `GET …/backups/{id}`.
pub async fn get(State(app): State<App>, Path(p): BackupPath) -> ApiResult<Response> {
    let ctx = app.lock();
    let i = find(&ctx, &p)?;
    ok(ctx.view(app.base_url()).backup(&ctx.world.backups[i]))
}

/// Body of `update_backup`.
#[derive(Deserialize)]
pub struct UpdateBackup {
    protected: bool,
}

/// `PATCH …/backups/{id}` with `{protected}`.
pub async fn update(
    State(app): State<App>,
    Path(p): BackupPath,
    ApiJson(body): ApiJson<UpdateBackup>,
) -> ApiResult<Response> {
    let mut ctx = app.lock();
    let i = find(&ctx, &p)?;
    ctx.world.backups[i].protected = body.protected;
    ok(ctx.view(app.base_url()).backup(&ctx.world.backups[i]))
}

/// `DELETE …/backups/{id}` → 204; protected backups are refused (422).
pub async fn delete(
    State(app): State<App>,
    caller: Caller,
    Path(p): BackupPath,
) -> ApiResult<Response> {
    let mut ctx = app.lock();
    let i = find(&ctx, &p)?;
    let (d, b) = ctx.world.branch_path(&p.0, &p.1, &p.2)?;
    if ctx.world.branches[b].production {
        let db = &ctx.world.databases[d];
        let scopes = ["delete_production_branch_backups"];
        require(caller.db_allows(
            &db.org_id,
            &db.id,
            &["delete_production_branch_backups"],
            &scopes,
        ))?;
    }
    if ctx.world.backups[i].protected {
        return Err(ApiError::unprocessable(
            "Protected backups cannot be deleted",
        ));
    }
    ctx.world.backups.remove(i);
    no_content()
}
