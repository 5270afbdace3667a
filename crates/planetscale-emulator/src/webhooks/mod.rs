//! Webhook deliveries like PlanetScale's: every tick the world is advanced and compared with
//! the last tick (`watch`); each change with an event (`branch.ready`, `deploy_request.*`)
//! becomes a signed `POST` to every enabled webhook of the database that subscribes to it
//! (`send`), with retries and backoff on failure. `test_webhook` sends `webhook.test`.
//!
//! The emulator allows `http://` URLs but only on loopback (`127.0.0.1`, `localhost`,
//! `[::1]`): it never sends anything off the machine. `PATCH /_emulator/settings` can drop
//! (`webhook_drop`) or delay (`webhook_delay`) deliveries; `GET /_emulator/webhook-deliveries`
//! lists the recent attempts.

mod send;
mod watch;

use std::collections::VecDeque;
use std::sync::Mutex;

use hmac::{Hmac, Mac};
use serde::Serialize;
use serde_json::{Value, json};
use sha2::Sha256;

use crate::app::App;
use crate::model::World;

pub use send::Sender;
pub use watch::spawn;

/// How many delivery attempts `GET /_emulator/webhook-deliveries` keeps.
const LOG_SIZE: usize = 1000;

/// The header carrying the signature.
pub const SIGNATURE_HEADER: &str = "X-PlanetScale-Signature";

/// Hex HMAC-SHA256 of `body` keyed with `secret` (the `X-PlanetScale-Signature` value).
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether deliveries may go to `url`: `http`/`https` on a loopback host only.
pub fn loopback_url(url: &str) -> bool {
    let Ok(u) = url::Url::parse(url) else {
        return false;
    };
    let host_ok = match u.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    };
    matches!(u.scheme(), "http" | "https") && host_ok && u.username().is_empty()
}

/// One event of one database, ready to be sent to its webhooks.
#[derive(Debug, Clone)]
pub struct Event {
    /// Database id.
    pub db_id: String,
    /// Event name, e.g. `deploy_request.queued`.
    pub name: &'static str,
    /// The documented body (`timestamp`, `event`, `organization`, `database`, `resource`).
    pub body: Value,
}

impl Event {
    /// The event `name` about `resource` (the API's representation) in database `db_id`.
    pub fn new(w: &World, db_id: &str, name: &'static str, resource: &Value) -> Option<Self> {
        let db = w.db_by_id(db_id)?;
        let org = w.org_of(db);
        let body = json!({
            "timestamp": w.now().timestamp(),
            "event": name,
            "organization": org.name,
            "database": db.name,
            "resource": resource,
        });
        Some(Self {
            db_id: db_id.to_string(),
            name,
            body,
        })
    }
}

/// One delivery attempt, as listed by the admin API.
#[derive(Debug, Clone, Serialize)]
pub struct Attempt {
    /// Webhook id.
    pub webhook: String,
    /// Event name.
    pub event: String,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// `"200 OK"`, `"dropped"`, or the transport error.
    pub result: String,
    /// Whether the receiver answered 2xx.
    pub success: bool,
    /// Real time of the attempt (RFC 3339).
    pub at: String,
}

/// The delivery side of a running emulator (in the `App`).
#[derive(Default)]
pub struct Hooks {
    sender: Sender,
    seen: Mutex<watch::Seen>,
    log: Mutex<VecDeque<Attempt>>,
}

impl Hooks {
    /// Looks at the world and publishes the events since the last look. Without webhooks
    /// nothing is looked at unless `always` (a webhook being created: what it sees now is the
    /// start, so that it gets no event of a change made before it existed).
    pub(crate) fn look(&self, app: &App, w: &World, v: &crate::views::V<'_>, always: bool) {
        let mut seen = self
            .seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if w.webhooks.is_empty() && !always {
            *seen = watch::Seen::default();
            return;
        }
        for e in &watch::scan(w, v, &mut seen) {
            self.publish(app, w, e);
        }
    }

    /// Queues `event` for every enabled webhook of its database that subscribes to it.
    pub fn publish(&self, app: &App, w: &World, event: &Event) {
        for hook in w
            .webhooks
            .iter()
            .filter(|h| h.db_id == event.db_id && h.enabled)
            .filter(|h| event.name == "webhook.test" || h.events.iter().any(|e| e == event.name))
        {
            self.sender.queue(app, hook, event);
        }
    }

    /// Queues `event` for the one webhook `id` (a `webhook.test`).
    pub fn publish_to(&self, app: &App, hook: &crate::model::Webhook, event: &Event) {
        self.sender.queue(app, hook, event);
    }

    /// Ends the delivery workers (emulator shutdown).
    pub fn close(&self) {
        self.sender.close();
    }

    /// Records one attempt.
    pub fn record(&self, attempt: Attempt) {
        let mut log = self
            .log
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if log.len() == LOG_SIZE {
            log.pop_front();
        }
        log.push_back(attempt);
    }

    /// The recent attempts, oldest first.
    pub fn attempts(&self) -> Vec<Attempt> {
        let log = self
            .log
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        log.iter().cloned().collect()
    }

    /// Forgets the recorded attempts.
    pub fn clear_log(&self) {
        self.log
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_the_hex_hmac_sha256_of_the_body() {
        // RFC 4231 test case 2.
        assert_eq!(
            sign("Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn deliveries_go_to_loopback_only() {
        assert!(loopback_url("http://127.0.0.1:8080/hook"));
        assert!(loopback_url("https://localhost/hook"));
        assert!(loopback_url("http://[::1]:9/x"));
        assert!(!loopback_url("https://example.com/hook"));
        assert!(!loopback_url("http://10.0.0.1/hook"));
        assert!(!loopback_url("ftp://127.0.0.1/hook"));
        assert!(!loopback_url("http://user@127.0.0.1/hook"));
        assert!(!loopback_url("not a url"));
    }
}
