//! Backup policies of a database. A policy runs on the emulator clock (see
//! `model::backup_policy::advance`): each run backs up every branch it covers, and the
//! backups expire after the policy's retention.

use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;

use super::{created, no_content, ok};
use crate::app::{App, Ctx};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery};
use crate::ids::new_id;
use crate::model::BackupPolicy;
use crate::model::backup_policy::unit_length;

type PolicyPath = Path<(String, String, String)>;

/// Body of `create_backup_policy` and `update_backup_policy`.
#[derive(Deserialize, Default)]
pub struct PolicyBody {
    name: Option<String>,
    target: Option<String>,
    retention_value: Option<i64>,
    retention_unit: Option<String>,
    frequency_value: Option<i64>,
    frequency_unit: Option<String>,
    schedule_time: Option<String>,
    schedule_day: Option<i64>,
    schedule_week: Option<i64>,
}

/// `GET …/backup-policies`.
pub async fn list(
    State(app): State<App>,
    Path((org, db)): Path<(String, String)>,
    ApiQuery(q): ApiQuery,
) -> ApiResult<Response> {
    let ctx = app.lock();
    let d = ctx.world.db_idx(&org, &db)?;
    let db_id = &ctx.world.databases[d].id;
    let v = ctx.view(app.base_url());
    let items = ctx
        .world
        .backup_policies
        .iter()
        .filter(|p| &p.db_id == db_id)
        .map(|p| v.backup_policy(p))
        .collect();
    let path = format!("/v1/organizations/{org}/databases/{db}/backup-policies");
    ok(crate::views::envelope(
        items,
        &q,
        app.base_url(),
        &path,
        false,
    ))
}

/// `POST …/backup-policies` → 201. Names are unique per database (422 otherwise).
pub async fn create(
    State(app): State<App>,
    Path((org, db)): Path<(String, String)>,
    ApiJson(body): ApiJson<PolicyBody>,
) -> ApiResult<Response> {
    let mut ctx = app.lock();
    let d = ctx.world.db_idx(&org, &db)?;
    let db_id = ctx.world.databases[d].id.clone();
    let name = body
        .name
        .clone()
        .ok_or_else(|| ApiError::unprocessable("name is required"))?;
    if ctx
        .world
        .backup_policies
        .iter()
        .any(|p| p.db_id == db_id && p.name == name)
    {
        return Err(ApiError::unprocessable(format!(
            "A backup policy named {name} already exists"
        )));
    }
    let now = ctx.now;
    let mut policy = BackupPolicy {
        id: new_id(),
        db_id,
        name,
        target: "production".into(),
        retention_value: 1,
        retention_unit: "day".into(),
        frequency_value: 1,
        frequency_unit: "day".into(),
        schedule_time: "00:00".into(),
        schedule_day: None,
        schedule_week: None,
        required: false,
        created_at: now,
        updated_at: now,
        last_ran_at: None,
        next_run_at: now,
    };
    apply(&mut policy, body)?;
    policy.next_run_at = policy.first_run_after(now);
    ctx.world.backup_policies.push(policy);
    let p = ctx.world.backup_policies.last().expect("just pushed");
    created(ctx.view(app.base_url()).backup_policy(p))
}

/// The body's fields into `p`, each checked (422 for a value the API refuses).
fn apply(p: &mut BackupPolicy, b: PolicyBody) -> ApiResult<()> {
    if let Some(t) = b.target {
        if t != "production" && t != "development" {
            return Err(ApiError::unprocessable(format!("Unknown target {t}")));
        }
        p.target = t;
    }
    if let Some(u) = b.retention_unit {
        unit_length(&u)
            .ok_or_else(|| ApiError::unprocessable(format!("Unknown retention_unit {u}")))?;
        p.retention_unit = u;
    }
    if let Some(u) = b.frequency_unit {
        if u == "year" || unit_length(&u).is_none() {
            return Err(ApiError::unprocessable(format!(
                "Unknown frequency_unit {u}"
            )));
        }
        p.frequency_unit = u;
    }
    for (v, field) in [
        (b.retention_value, &mut p.retention_value),
        (b.frequency_value, &mut p.frequency_value),
    ] {
        if let Some(v) = v {
            if !(1..=1000).contains(&v) {
                return Err(ApiError::unprocessable("values must be between 1 and 1000"));
            }
            *field = v;
        }
    }
    if let Some(t) = b.schedule_time {
        chrono::NaiveTime::parse_from_str(&t, "%H:%M")
            .map_err(|_| ApiError::unprocessable(format!("schedule_time {t} is not HH:MM")))?;
        p.schedule_time = t;
    }
    if let Some(day) = b.schedule_day {
        if !(0..=6).contains(&day) {
            return Err(ApiError::unprocessable(
                "schedule_day must be between 0 and 6",
            ));
        }
        p.schedule_day = Some(day);
    }
    if let Some(week) = b.schedule_week {
        if !(0..=3).contains(&week) {
            return Err(ApiError::unprocessable(
                "schedule_week must be between 0 and 3",
            ));
        }
        p.schedule_week = Some(week);
    }
    if let Some(n) = b.name {
        p.name = n;
    }
    Ok(())
}

fn find(ctx: &Ctx<'_>, (org, db, id): &(String, String, String)) -> ApiResult<usize> {
    let d = ctx.world.db_idx(org, db)?;
    let db_id = &ctx.world.databases[d].id;
    ctx.world
        .backup_policies
        .iter()
        .position(|p| &p.db_id == db_id && &p.id == id)
        .ok_or_else(ApiError::not_found)
}

/// `GET …/backup-policies/{id}`.
pub async fn get(State(app): State<App>, Path(p): PolicyPath) -> ApiResult<Response> {
    let ctx = app.lock();
    let i = find(&ctx, &p)?;
    ok(ctx
        .view(app.base_url())
        .backup_policy(&ctx.world.backup_policies[i]))
}

/// `PATCH …/backup-policies/{id}`: the schedule restarts from now.
pub async fn update(
    State(app): State<App>,
    Path(p): PolicyPath,
    ApiJson(body): ApiJson<PolicyBody>,
) -> ApiResult<Response> {
    let mut ctx = app.lock();
    let i = find(&ctx, &p)?;
    let now = ctx.now;
    let mut policy = ctx.world.backup_policies[i].clone();
    apply(&mut policy, body)?;
    policy.updated_at = now;
    policy.next_run_at = policy.first_run_after(now);
    ctx.world.backup_policies[i] = policy;
    ok(ctx
        .view(app.base_url())
        .backup_policy(&ctx.world.backup_policies[i]))
}

/// `DELETE …/backup-policies/{id}` → 204; a required policy is refused (422). The backups it
/// took stay until they expire.
pub async fn delete(State(app): State<App>, Path(p): PolicyPath) -> ApiResult<Response> {
    let mut ctx = app.lock();
    let i = find(&ctx, &p)?;
    if ctx.world.backup_policies[i].required {
        return Err(ApiError::unprocessable(
            "Required backup policies cannot be deleted",
        ));
    }
    ctx.world.backup_policies.remove(i);
    no_content()
}
