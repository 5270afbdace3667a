//! The checks of one delivery, in order: a bounded body, a signature header, the documented
//! JSON shape, a database this operator registered, a signature that verifies (constant
//! time, over the exact bytes) with one of its secrets, a timestamp within [`WINDOW`] of
//! PlanetScale's clock, and a body not seen before. PlanetScale documents no delivery id:
//! the digest of the body and its signature is the delivery's identity (the body's
//! `timestamp` makes it unique).
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use planetscale_api::models::WebhookEvent;
use sha2::{Digest, Sha256};

use super::{Hint, Hub, deploy_request_state};

/// Largest body accepted (PlanetScale's are a few KiB: one branch or deploy request).
pub const MAX_BODY: usize = 256 * 1024;
/// How far a delivery's `timestamp` may be from PlanetScale's clock (seconds).
pub const WINDOW: i64 = 300;

/// Why a delivery was refused; `reason` is the metric label, `status` the HTTP answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Body larger than [`MAX_BODY`] (413).
    TooLarge,
    /// No `X-PlanetScale-Signature` header (401).
    Unsigned,
    /// Not the documented JSON body (400).
    Malformed,
    /// No webhook of this operator for the body's database (401).
    UnknownDatabase,
    /// The signature does not verify with the database's secrets (401).
    BadSignature,
    /// The timestamp is outside the window (400).
    Stale,
    /// The same delivery was already accepted (409).
    Replay,
}

impl Refusal {
    /// Stable label for metrics and logs.
    pub fn reason(self) -> &'static str {
        match self {
            Refusal::TooLarge => "too_large",
            Refusal::Unsigned => "unsigned",
            Refusal::Malformed => "malformed",
            Refusal::UnknownDatabase => "unknown_database",
            Refusal::BadSignature => "bad_signature",
            Refusal::Stale => "stale",
            Refusal::Replay => "replay",
        }
    }

    /// The HTTP status answered.
    pub fn status(self) -> u16 {
        match self {
            Refusal::TooLarge => 413,
            Refusal::Unsigned | Refusal::UnknownDatabase | Refusal::BadSignature => 401,
            Refusal::Malformed | Refusal::Stale => 400,
            Refusal::Replay => 409,
        }
    }
}

/// Digests of the deliveries accepted within the window.
#[derive(Default)]
pub struct Seen(Mutex<HashMap<[u8; 32], Instant>>);

impl Seen {
    /// Remembers the delivery; false when it was already seen. The signature is part of its
    /// identity: during a rotation both webhooks deliver the same body, signed differently.
    fn first_time(&self, body: &[u8], signature: &str) -> bool {
        let mut h = Sha256::new();
        h.update(body);
        h.update(signature.trim().to_ascii_lowercase().as_bytes());
        let digest: [u8; 32] = h.finalize().into();
        let keep = Duration::from_secs(2 * WINDOW as u64);
        let mut seen = self.0.lock().expect("lock");
        if seen.len() > 1024 {
            seen.retain(|_, at| at.elapsed() < keep);
        }
        match seen.get(&digest) {
            Some(at) if at.elapsed() < keep => false,
            _ => {
                seen.insert(digest, Instant::now());
                true
            }
        }
    }
}

/// Checks one delivery (see the module docs); the decoded event when it is accepted.
pub fn check(hub: &Hub, body: &[u8], signature: Option<&str>) -> Result<WebhookEvent, Refusal> {
    if body.len() > MAX_BODY {
        return Err(Refusal::TooLarge);
    }
    let signature = signature
        .filter(|s| !s.trim().is_empty())
        .ok_or(Refusal::Unsigned)?;
    let event: WebhookEvent = serde_json::from_slice(body).map_err(|_| Refusal::Malformed)?;
    let db = (event.organization.clone(), event.database.clone());
    let (secrets, now) = hub.keys(&db).ok_or(Refusal::UnknownDatabase)?;
    let signed = secrets
        .iter()
        .any(|s| planetscale_api::signature::verify(s.expose(), body, signature));
    if !signed {
        return Err(Refusal::BadSignature);
    }
    if (now.timestamp() - event.timestamp).abs() > WINDOW {
        return Err(Refusal::Stale);
    }
    if !hub.seen.first_time(body, signature) {
        return Err(Refusal::Replay);
    }
    Ok(event)
}

/// The resources an accepted event concerns (`None`: nothing to wake, e.g. `webhook.test`).
pub fn hint(event: &WebhookEvent) -> Option<Hint> {
    let (organization, database) = (event.organization.clone(), event.database.clone());
    let resource = &event.resource;
    if event.event.starts_with("branch.") {
        let name = resource.get("name")?.as_str()?.to_string();
        return Some(Hint::Branch {
            organization,
            database,
            name,
        });
    }
    if event.event.starts_with("deploy_request.") {
        let number = resource.get("number")?.as_i64()?;
        let shown = serde_json::from_value(resource.clone()).ok();
        let shows = shown
            .filter(|dr: &planetscale_api::models::DeployRequest| dr.state.is_some())
            .map(|dr| deploy_request_state(&dr));
        return Some(Hint::DeployRequest {
            organization,
            database,
            number,
            shows,
        });
    }
    None
}

#[cfg(test)]
#[path = "check_tests.rs"]
mod tests;
