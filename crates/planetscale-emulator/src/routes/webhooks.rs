//! Webhooks of a database: list, create (at most 5 per database), get, update, delete, and
//! `test` (one every `webhook_test_interval`, 20 s on PlanetScale). Deliveries: `crate::webhooks`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{created, no_content, ok};
use crate::app::App;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery};
use crate::ids::{new_id, new_secret, ts, ts_opt};
use crate::model::{EVENTS, Webhook, World};
use crate::views::envelope;
use crate::webhooks::{Event, loopback_url};

/// Webhooks one database may have.
const MAX_PER_DATABASE: usize = 5;

type HookPath = Path<(String, String, String)>;

/// The API's representation of a webhook (the secret included, as the real API does).
fn view(h: &Webhook) -> Value {
    json!({
        "id": h.id,
        "url": h.url,
        "secret": h.secret,
        "enabled": h.enabled,
        "last_sent_result": h.last_sent_result,
        "last_sent_success": h.last_sent_success,
        "last_sent_at": ts_opt(h.last_sent_at),
        "created_at": ts(h.created_at),
        "updated_at": ts(h.updated_at),
        "events": h.events,
    })
}

/// `GET …/webhooks`.
pub async fn list(
    State(app): State<App>,
    Path((org, db)): Path<(String, String)>,
    ApiQuery(q): ApiQuery,
) -> ApiResult<Response> {
    let ctx = app.lock();
    let d = ctx.world.db_idx(&org, &db)?;
    let db_id = &ctx.world.databases[d].id;
    let items = ctx
        .world
        .webhooks
        .iter()
        .filter(|h| &h.db_id == db_id)
        .map(view)
        .collect();
    let path = format!("/v1/organizations/{org}/databases/{db}/webhooks");
    ok(envelope(items, &q, app.base_url(), &path, false))
}

/// Body of `create_webhook` and `update_webhook`.
#[derive(Deserialize)]
pub struct WebhookBody {
    url: Option<String>,
    enabled: Option<bool>,
    events: Option<Vec<String>>,
}

fn check_url(url: &str) -> ApiResult<()> {
    if loopback_url(url) {
        Ok(())
    } else {
        Err(ApiError::unprocessable(
            "url must be an http(s) URL on 127.0.0.1, [::1] or localhost (the emulator delivers nowhere else)",
        ))
    }
}

fn check_events(events: &[String]) -> ApiResult<()> {
    match events.iter().find(|e| !EVENTS.contains(&e.as_str())) {
        Some(e) => Err(ApiError::unprocessable(format!("Unknown event {e}"))),
        None => Ok(()),
    }
}

/// `POST …/webhooks` → 201 with the signing secret.
pub async fn create(
    State(app): State<App>,
    Path((org, db)): Path<(String, String)>,
    ApiJson(body): ApiJson<WebhookBody>,
) -> ApiResult<Response> {
    let mut ctx = app.lock();
    let d = ctx.world.db_idx(&org, &db)?;
    let Some(url) = body.url else {
        return Err(ApiError::invalid_params("url is required"));
    };
    check_url(&url)?;
    let events = body.events.unwrap_or_default();
    check_events(&events)?;
    let db_id = ctx.world.databases[d].id.clone();
    if ctx
        .world
        .webhooks
        .iter()
        .filter(|h| h.db_id == db_id)
        .count()
        >= MAX_PER_DATABASE
    {
        return Err(ApiError::unprocessable(format!(
            "A database can have at most {MAX_PER_DATABASE} webhooks"
        )));
    }
    let now = ctx.now;
    let hook = Webhook {
        id: new_id(),
        db_id,
        url,
        secret: new_secret("whsec_"),
        enabled: body.enabled.unwrap_or(true),
        events,
        last_sent_result: String::new(),
        last_sent_success: false,
        last_sent_at: None,
        failures: 0,
        last_test_at: None,
        created_at: now,
        updated_at: now,
    };
    let out = view(&hook);
    // Events before this instant are not the new webhook's.
    app.hooks
        .look(&app, &ctx.world, &ctx.view(app.base_url()), true);
    ctx.world.webhooks.push(hook);
    drop(ctx);
    app.persist();
    created(out)
}

fn find(w: &World, org: &str, db: &str, id: &str) -> ApiResult<usize> {
    let d = w.db_idx(org, db)?;
    let db_id = &w.databases[d].id;
    w.webhooks
        .iter()
        .position(|h| h.id == id && &h.db_id == db_id)
        .ok_or_else(ApiError::not_found)
}

/// `GET …/webhooks/{id}`.
pub async fn get(State(app): State<App>, Path((org, db, id)): HookPath) -> ApiResult<Response> {
    let ctx = app.lock();
    let i = find(&ctx.world, &org, &db, &id)?;
    ok(view(&ctx.world.webhooks[i]))
}

/// `PATCH …/webhooks/{id}`: url, enabled, events. Enabling resets the failure count.
pub async fn update(
    State(app): State<App>,
    Path((org, db, id)): HookPath,
    ApiJson(body): ApiJson<WebhookBody>,
) -> ApiResult<Response> {
    let mut ctx = app.lock();
    let i = find(&ctx.world, &org, &db, &id)?;
    if let Some(url) = &body.url {
        check_url(url)?;
    }
    if let Some(events) = &body.events {
        check_events(events)?;
    }
    let now = ctx.now;
    let hook = &mut ctx.world.webhooks[i];
    if let Some(url) = body.url {
        hook.url = url;
    }
    if let Some(events) = body.events {
        hook.events = events;
    }
    if let Some(enabled) = body.enabled {
        if enabled && !hook.enabled {
            hook.failures = 0;
        }
        hook.enabled = enabled;
    }
    hook.updated_at = now;
    let out = view(hook);
    drop(ctx);
    app.persist();
    ok(out)
}

/// `DELETE …/webhooks/{id}` → 204.
pub async fn delete(State(app): State<App>, Path((org, db, id)): HookPath) -> ApiResult<Response> {
    let mut ctx = app.lock();
    let i = find(&ctx.world, &org, &db, &id)?;
    ctx.world.webhooks.remove(i);
    drop(ctx);
    app.persist();
    no_content()
}

/// `POST …/webhooks/{id}/test` → 204 and a `webhook.test` delivery; 429 when asked again
/// within the test interval.
pub async fn test(State(app): State<App>, Path((org, db, id)): HookPath) -> ApiResult<Response> {
    let mut ctx = app.lock();
    let i = find(&ctx.world, &org, &db, &id)?;
    let (now, interval) = (ctx.now, ctx.settings.webhook_test_interval);
    let hook = &mut ctx.world.webhooks[i];
    if let Some(last) = hook.last_test_at
        && crate::clock::after(last, interval) > now
    {
        return Err(ApiError::custom(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_requests",
            "A webhook can be tested once every 20 seconds",
        ));
    }
    hook.last_test_at = Some(now);
    let hook = hook.clone();
    let resource = json!({"id": hook.id, "type": "Webhook", "url": hook.url});
    if let Some(event) = Event::new(&ctx.world, &hook.db_id, "webhook.test", &resource) {
        app.hooks.publish_to(&app, &hook, &event);
    }
    no_content()
}
