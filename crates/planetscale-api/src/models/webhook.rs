//! Webhooks of a database, and the body of a delivery.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::de::or_default;
use crate::Secret;

/// A webhook: where PlanetScale sends a database's events.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Webhook {
    /// Webhook id.
    #[serde(default, deserialize_with = "or_default")]
    pub id: String,
    /// Where deliveries go.
    #[serde(default, deserialize_with = "or_default")]
    pub url: String,
    /// The key of the deliveries' `X-PlanetScale-Signature` HMAC.
    #[serde(default)]
    pub secret: Option<Secret>,
    /// Deliveries are sent only while enabled; PlanetScale disables a webhook that fails
    /// repeatedly.
    #[serde(default, deserialize_with = "or_default")]
    pub enabled: bool,
    /// Subscribed event names (e.g. `deploy_request.queued`).
    #[serde(default, deserialize_with = "or_default")]
    pub events: Vec<String>,
    /// Outcome of the last delivery.
    #[serde(default)]
    pub last_sent_result: Option<String>,
    /// Whether the last delivery succeeded.
    #[serde(default)]
    pub last_sent_success: Option<bool>,
    /// When the last delivery was sent.
    #[serde(default)]
    pub last_sent_at: Option<DateTime<Utc>>,
    /// Creation time.
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
    /// Last update.
    #[serde(default)]
    pub updated_at: Option<DateTime<Utc>>,
}

/// Body of `create_webhook` and `update_webhook` (absent fields are left alone by an update).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct WebhookSpec {
    /// Where deliveries go (required by a create).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Whether deliveries are sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Subscribed event names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<String>>,
}

/// The JSON body of a webhook delivery. `resource` is the API's own representation of the
/// object the event is about (a branch, a deploy request); decode it with that model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookEvent {
    /// When PlanetScale emitted the event (Unix seconds).
    pub timestamp: i64,
    /// The event name, e.g. `branch.ready`.
    pub event: String,
    /// Organization name.
    pub organization: String,
    /// Database name.
    pub database: String,
    /// The object the event is about.
    #[serde(default)]
    pub resource: serde_json::Value,
}
