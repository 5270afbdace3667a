//! `/_emulator/...`: the admin API for tests, demos and benchmarks (no authentication;
//! bind the emulator to loopback). World-level endpoints live in `admin_world`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::admin_world;
use crate::app::App;
use crate::config::{Seed, Settings};
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::faults::FaultSpec;
use crate::ids::ts;
use crate::operations::OPERATIONS;

/// Admin routes.
pub fn routes() -> Router<App> {
    Router::new()
        .route("/_emulator/health", get(health))
        .route("/_emulator/operations", get(operations))
        .route("/_emulator/clock", get(clock))
        .route("/_emulator/clock/advance", post(advance))
        .route(
            "/_emulator/settings",
            get(get_settings).patch(patch_settings),
        )
        .route(
            "/_emulator/faults",
            get(list_faults).post(add_fault).delete(clear_faults),
        )
        .route("/_emulator/faults/{id}", delete(remove_fault))
        .route("/_emulator/stats", get(stats).delete(reset_stats))
        .route("/_emulator/reset", post(reset))
        .route(
            "/_emulator/webhook-deliveries",
            get(deliveries).delete(clear_deliveries),
        )
        .route("/_emulator/seed", post(seed))
        .merge(admin_world::routes())
}

/// `GET /_emulator/webhook-deliveries`: the recent delivery attempts, oldest first.
async fn deliveries(State(app): State<App>) -> Json<Value> {
    Json(json!({"data": app.hooks.attempts()}))
}

/// `DELETE /_emulator/webhook-deliveries`: forget them.
async fn clear_deliveries(State(app): State<App>) -> StatusCode {
    app.hooks.clear_log();
    StatusCode::NO_CONTENT
}

async fn health() -> Json<Value> {
    Json(json!({"status": "ok", "version": env!("CARGO_PKG_VERSION")}))
}

async fn operations() -> Json<Value> {
    let ops: Vec<Value> = OPERATIONS
        .iter()
        .map(|o| json!({"name": o.name, "method": o.method, "path": o.path, "in_spec": o.in_spec}))
        .collect();
    Json(json!({"data": ops}))
}

fn clock_json(app: &App) -> Json<Value> {
    let ctx = app.lock();
    Json(json!({"now": ts(ctx.now), "offset_seconds": ctx.world.clock_offset_ms as f64 / 1000.0}))
}

async fn clock(State(app): State<App>) -> Json<Value> {
    clock_json(&app)
}

/// Body of `POST /_emulator/clock/advance`: `{"by": "5m"}` or `{"seconds": 300}`.
#[derive(Deserialize)]
struct Advance {
    by: Option<String>,
    seconds: Option<f64>,
}

async fn advance(
    State(app): State<App>,
    ApiJson(body): ApiJson<Advance>,
) -> ApiResult<Json<Value>> {
    let duration = match (body.by, body.seconds) {
        (Some(by), _) => crate::clock::parse_duration(&by).map_err(ApiError::bad_request)?,
        (None, Some(s)) if s >= 0.0 && s.is_finite() => std::time::Duration::from_secs_f64(s),
        _ => {
            return Err(ApiError::bad_request(
                "send {\"by\": \"5m\"} or {\"seconds\": 300}",
            ));
        }
    };
    {
        let mut ctx = app.lock();
        crate::clock::advance(&mut ctx.world, duration);
    }
    Ok(clock_json(&app))
}

async fn get_settings(State(app): State<App>) -> Json<Value> {
    Json(serde_json::to_value(app.settings()).unwrap_or_default())
}

/// Merge the given fields into the settings (durations as `"5s"` strings or seconds).
async fn patch_settings(
    State(app): State<App>,
    ApiJson(patch): ApiJson<Value>,
) -> ApiResult<Json<Value>> {
    let Value::Object(patch) = patch else {
        return Err(ApiError::bad_request("expected a JSON object"));
    };
    let mut current = serde_json::to_value(app.settings()).unwrap_or_default();
    for (k, v) in patch {
        current[k] = v;
    }
    let settings: Settings =
        serde_json::from_value(current).map_err(|e| ApiError::invalid_params(e.to_string()))?;
    app.set_settings(settings.clone());
    app.limiter.reset();
    Ok(Json(serde_json::to_value(settings).unwrap_or_default()))
}

async fn list_faults(State(app): State<App>) -> Json<Value> {
    Json(json!({"data": app.faults.list()}))
}

async fn add_fault(
    State(app): State<App>,
    ApiJson(spec): ApiJson<FaultSpec>,
) -> ApiResult<Response> {
    let id = app.faults.add(spec).map_err(ApiError::invalid_params)?;
    Ok((StatusCode::CREATED, Json(json!({"id": id}))).into_response())
}

async fn clear_faults(State(app): State<App>) -> StatusCode {
    app.faults.clear();
    StatusCode::NO_CONTENT
}

async fn remove_fault(State(app): State<App>, Path(id): Path<u64>) -> ApiResult<StatusCode> {
    if app.faults.remove(id) {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found())
    }
}

async fn stats(State(app): State<App>) -> Json<Value> {
    Json(app.stats.snapshot())
}

async fn reset_stats(State(app): State<App>) -> StatusCode {
    app.stats.reset();
    StatusCode::NO_CONTENT
}

/// Replace the world (and settings, when the seed has them) with a seed.
pub(crate) fn install_seed(app: &App, seed: &Seed) -> ApiResult<()> {
    let now = chrono::Utc::now();
    let mut world =
        crate::seed::build_world(seed, now).map_err(|e| ApiError::invalid_params(e.to_string()))?;
    if let Some(token) = &app.default_token {
        crate::seed::install_default_token(&mut world, token, now);
    }
    *app.world
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = world;
    if let Some(settings) = &seed.settings {
        app.set_settings(settings.clone());
    }
    app.limiter.reset();
    Ok(())
}

/// Back to the startup world and settings; faults, stats and rate-limit buckets are cleared.
async fn reset(State(app): State<App>) -> ApiResult<StatusCode> {
    let seed = (*app.startup_seed).clone();
    install_seed(&app, &seed)?;
    app.faults.clear();
    app.stats.reset();
    Ok(StatusCode::NO_CONTENT)
}

/// Replace the world with the posted seed (YAML or JSON, same format as `--config`).
async fn seed(State(app): State<App>, body: Bytes) -> ApiResult<StatusCode> {
    let text =
        std::str::from_utf8(&body).map_err(|_| ApiError::bad_request("body must be UTF-8"))?;
    let seed = Seed::from_yaml(text).map_err(|e| ApiError::invalid_params(e.to_string()))?;
    install_seed(&app, &seed)?;
    Ok(StatusCode::NO_CONTENT)
}
