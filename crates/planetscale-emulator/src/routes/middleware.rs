//! Request pipeline: observe (stats, logs, persistence) → faults → rate limit and auth.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::Notify;

use crate::app::App;
use crate::auth::{self, Caller, DB_ACCESSES};
use crate::error::{ApiError, ApiResult};
use crate::ids::hash_secret;
use crate::model::World;
use crate::operations::{self, Auth, Matched};

/// Handle to close the connection a request arrived on (set by the server loop).
#[derive(Clone, Debug)]
pub struct ConnHandle(pub Arc<Notify>);

/// Outermost layer: match the operation, count the response, log it, persist changes.
pub async fn observe(State(app): State<App>, mut req: Request, next: Next) -> Response {
    let (method, path) = (req.method().clone(), req.uri().path().to_string());
    let matched = operations::lookup(method.as_str(), &path);
    if let Some(m) = &matched {
        req.extensions_mut().insert(m.clone());
    }
    let started = Instant::now();
    let mut response = next.run(req).await;
    if let Some(realdb) = &app.realdb {
        realdb.sync(&app).await;
    }
    set_date_header(&app, &mut response);
    let status = response.status().as_u16();
    let operation = matched.as_ref().map_or("", |m| m.op.name);
    if !operation.is_empty() {
        app.stats.record(operation, status);
    }
    let elapsed_ms = started.elapsed().as_millis() as u64;
    tracing::info!(%method, path, operation, status, elapsed_ms, "request");
    if method != Method::GET && method != Method::HEAD {
        app.persist();
    }
    response
}

/// `Date` in emulator time (as real servers send their own time), so clients that measure
/// server-side deadlines such as password expiry against the server's clock follow
/// `/_emulator/clock/advance`.
fn set_date_header(app: &App, response: &mut Response) {
    let now = app
        .world
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .now();
    let date = now.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
    if let Ok(value) = header::HeaderValue::from_str(&date) {
        response.headers_mut().insert(header::DATE, value);
    }
}

/// Injected faults for API and OAuth requests (never for `/_emulator`).
pub async fn faults(State(app): State<App>, req: Request, next: Next) -> Response {
    if req.uri().path().starts_with("/_emulator") {
        return next.run(req).await;
    }
    let operation = req.extensions().get::<Matched>().map(|m| m.op.name);
    let action = app
        .faults
        .check(req.method().as_str(), req.uri().path(), operation);
    if let Some(latency) = action.latency {
        let latency_ms = latency.as_millis() as u64;
        tracing::info!(
            method = %req.method(),
            path = req.uri().path(),
            operation,
            latency_ms,
            "fault: delaying the response"
        );
        tokio::time::sleep(latency).await;
    }
    if let Some((status, code, message, retry_after)) = action.error {
        return fault_response(&app, status, &code, &message, retry_after);
    }
    if let Some(delay) = action.answer_latency {
        return answer_late(&app, req, next, operation, delay).await;
    }
    if action.drop_connection {
        let conn = req.extensions().get::<ConnHandle>().cloned();
        let processed = next.run(req).await;
        if let Some(conn) = conn {
            // The outer layer never sees this response: count and persist here.
            let status = processed.status().as_u16();
            if let Some(op) = operation {
                app.stats.record(op, status);
            }
            app.persist();
            tracing::info!(
                operation,
                status,
                "connection dropped after processing (fault)"
            );
            conn.0.notify_one();
            return std::future::pending().await;
        }
        return ApiError::custom(
            axum::http::StatusCode::BAD_GATEWAY,
            "dropped",
            "connection dropped",
        )
        .into_response();
    }
    next.run(req).await
}

/// Handles the request, then waits `delay` before answering (the `answer_latency` fault). The
/// change is persisted at once: a client that disconnects meanwhile does not undo it.
async fn answer_late(
    app: &App,
    req: Request,
    next: Next,
    operation: Option<&str>,
    delay: std::time::Duration,
) -> Response {
    let processed = next.run(req).await;
    app.persist();
    let latency_ms = delay.as_millis() as u64;
    let status = processed.status().as_u16();
    tracing::info!(
        operation,
        status,
        latency_ms,
        "fault: handled, delaying the answer"
    );
    tokio::time::sleep(delay).await;
    processed
}

fn fault_response(app: &App, status: u16, code: &str, message: &str, retry_after: u64) -> Response {
    let status = axum::http::StatusCode::from_u16(status)
        .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::json!({"code": code, "message": message});
    let mut response = (status, axum::Json(body)).into_response();
    if status.as_u16() == 429 && app.settings().retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, retry_after.into());
    }
    response
}

fn auth_header(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// Rate limit and authenticate `/v1` requests; unknown `/v1` paths are 404 after auth.
pub async fn guard(State(app): State<App>, mut req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if !(path == "/v1" || path.starts_with("/v1/")) {
        return next.run(req).await;
    }
    let matched = req.extensions().get::<Matched>().cloned();
    let header = auth_header(req.headers());
    match admit(&app, header.as_deref(), matched.as_ref()) {
        Ok(Some(caller)) => {
            req.extensions_mut().insert(caller);
            next.run(req).await
        }
        Ok(None) => next.run(req).await,
        Err(e) => e.into_response(),
    }
}

fn admit(app: &App, header: Option<&str>, matched: Option<&Matched>) -> ApiResult<Option<Caller>> {
    let settings = app.settings();
    let mut ctx = app.lock();
    let key = header.map_or_else(|| "anonymous".to_string(), hash_secret);
    if let Err(secs) = app.limiter.check(&key, settings.rate_limit, ctx.now) {
        return Err(ApiError::RateLimited {
            retry_after: settings.retry_after.then_some(secs),
        });
    }
    if matches!(matched.map(|m| m.op.auth), Some(Auth::Public)) {
        return Ok(None);
    }
    let now = ctx.now;
    let caller = auth::authenticate(&mut ctx.world, header, now)?;
    let Some(m) = matched else {
        return Err(ApiError::not_found());
    };
    authorize(&ctx.world, &caller, m)?;
    Ok(Some(caller))
}

fn authorize(w: &World, caller: &Caller, m: &Matched) -> ApiResult<()> {
    let org = match m.param("organization") {
        Some(name) => Some(&w.orgs[w.org_idx(name)?]),
        None => None,
    };
    if let Some(org) = org {
        super::require(caller.can_reach_org(&org.id))?;
    }
    let db = match (org, m.param("database")) {
        (Some(org), Some(db)) => Some(&w.databases[w.db_idx(&org.name, db)?]),
        _ => None,
    };
    let allowed = match m.op.auth {
        Auth::Public | Auth::Any => true,
        Auth::OAuthOnly(scopes) => {
            caller.service_token_id().is_none()
                && org.is_none_or(|o| caller.org_allows(&o.id, &[], scopes))
                && (org.is_some() || caller.has_scope(scopes))
        }
        Auth::Org(accesses, scopes) => {
            org.is_some_and(|o| caller.org_allows(&o.id, accesses, scopes))
        }
        Auth::Db(accesses, scopes) => match (org, db) {
            (Some(o), Some(d)) => caller.db_allows(&o.id, &d.id, accesses, scopes),
            _ => false,
        },
    };
    super::require(allowed)?;
    match db {
        Some(d) => super::role_rules::check_engine(m.op.name, &d.kind),
        None => Ok(()),
    }
}

/// Accesses that let a caller see a database in `list_databases`.
pub fn list_database_accesses() -> Vec<&'static str> {
    let mut v = DB_ACCESSES.to_vec();
    v.push("read_databases");
    v
}
