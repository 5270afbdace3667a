//! Sending: one worker per webhook sends its deliveries in order, each with up to
//! `webhook_attempts` attempts and a doubling backoff. PlanetScale waits at most 2 seconds for
//! a 2xx and follows no redirects; so does this. Too many failed deliveries in a row disable
//! the webhook (`enabled: false`), as PlanetScale does.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

use super::{Attempt, Event, SIGNATURE_HEADER, loopback_url, sign};
use crate::app::App;
use crate::model::Webhook;

/// How long a receiver has to answer.
const TIMEOUT: Duration = Duration::from_secs(2);

struct Job {
    url: String,
    secret: String,
    event: &'static str,
    body: Vec<u8>,
}

/// The per-webhook delivery queues.
#[derive(Default)]
pub struct Sender {
    queues: Mutex<HashMap<String, UnboundedSender<Job>>>,
    http: OnceLock<reqwest::Client>,
}

impl Sender {
    /// Queues `event` for `hook`, starting its worker if needed.
    pub fn queue(&self, app: &App, hook: &Webhook, event: &Event) {
        let job = Job {
            url: hook.url.clone(),
            secret: hook.secret.clone(),
            event: event.name,
            body: serde_json::to_vec(&event.body).expect("JSON"),
        };
        let mut queues = self
            .queues
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let tx = queues.entry(hook.id.clone()).or_insert_with(|| {
            let (tx, rx) = unbounded_channel();
            tokio::spawn(worker(app.clone(), self.client(), hook.id.clone(), rx));
            tx
        });
        if let Err(e) = tx.send(job) {
            // The worker ended (emulator shutting down): nothing to deliver to.
            drop(e);
        }
    }

    /// Ends every worker once its queue is empty (emulator shutdown).
    pub fn close(&self) {
        self.queues
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clear();
    }

    fn client(&self) -> reqwest::Client {
        self.http
            .get_or_init(|| {
                reqwest::Client::builder()
                    .redirect(reqwest::redirect::Policy::none())
                    .timeout(TIMEOUT)
                    .build()
                    .expect("HTTP client")
            })
            .clone()
    }
}

async fn worker(app: App, http: reqwest::Client, id: String, mut rx: UnboundedReceiver<Job>) {
    while let Some(job) = rx.recv().await {
        let settings = app.settings();
        if !settings.webhook_delay.is_zero() {
            tokio::time::sleep(settings.webhook_delay).await;
        }
        if app.settings().webhook_drop {
            app.hooks
                .record(attempt(&id, &job, 1, "dropped".into(), false));
            continue;
        }
        deliver(&app, &http, &id, &job).await;
    }
}

/// Sends `job` until an attempt gets a 2xx or the attempts run out.
async fn deliver(app: &App, http: &reqwest::Client, id: &str, job: &Job) {
    let settings = app.settings();
    let mut backoff = settings.webhook_retry_backoff;
    for n in 1..=settings.webhook_attempts.max(1) {
        let (result, success) = post(http, job).await;
        app.hooks
            .record(attempt(id, job, n, result.clone(), success));
        let enabled = note_result(app, id, &result, success);
        if success || !enabled {
            return;
        }
        if n < settings.webhook_attempts {
            tokio::time::sleep(backoff).await;
            backoff *= 2;
        }
    }
}

async fn post(http: &reqwest::Client, job: &Job) -> (String, bool) {
    if !loopback_url(&job.url) {
        return ("refused: not a loopback URL".into(), false);
    }
    let signature = sign(&job.secret, &job.body);
    let sent = http
        .post(&job.url)
        .header("Content-Type", "application/json")
        .header("User-Agent", "PlanetScale-Webhook (emulator)")
        .header(SIGNATURE_HEADER, signature)
        .body(job.body.clone())
        .send()
        .await;
    match sent {
        Ok(r) => (r.status().to_string(), r.status().is_success()),
        Err(e) if e.is_timeout() => ("timeout".into(), false),
        Err(e) if e.is_connect() => ("connection refused".into(), false),
        Err(e) => (format!("error: {e}"), false),
    }
}

/// Writes the outcome into the webhook; returns whether it is still enabled.
fn note_result(app: &App, id: &str, result: &str, success: bool) -> bool {
    let mut ctx = app.lock();
    let now = ctx.now;
    let disable_after = ctx.settings.webhook_disable_after;
    let Some(hook) = ctx.world.webhooks.iter_mut().find(|h| h.id == id) else {
        return false;
    };
    hook.last_sent_result = result.to_string();
    hook.last_sent_success = success;
    hook.last_sent_at = Some(now);
    hook.failures = if success { 0 } else { hook.failures + 1 };
    if disable_after > 0 && hook.failures >= disable_after {
        hook.enabled = false;
    }
    hook.enabled
}

fn attempt(id: &str, job: &Job, n: u32, result: String, success: bool) -> Attempt {
    Attempt {
        webhook: id.to_string(),
        event: job.event.to_string(),
        attempt: n,
        result,
        success,
        at: crate::ids::ts(chrono::Utc::now()),
    }
}
