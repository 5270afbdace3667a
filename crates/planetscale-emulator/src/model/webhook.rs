//! Webhooks: where a database's events are delivered, and how the last delivery went.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Every event name a webhook can subscribe to (the spec's enum).
pub const EVENTS: &[&str] = &[
    "branch.ready",
    "branch.anomaly",
    "branch.out_of_memory",
    "branch.primary_promoted",
    "branch.schema_recommendation",
    "branch.sleeping",
    "branch.start_maintenance",
    "cluster.storage",
    "database.access_request",
    "deploy_request.closed",
    "deploy_request.errored",
    "deploy_request.in_progress",
    "deploy_request.opened",
    "deploy_request.pending_cutover",
    "deploy_request.queued",
    "deploy_request.reverted",
    "deploy_request.schema_applied",
    "keyspace.storage",
    "webhook.test",
];

/// A webhook of one database.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Webhook {
    /// Public id.
    pub id: String,
    /// Database id.
    pub db_id: String,
    /// Where deliveries go (loopback only in the emulator).
    pub url: String,
    /// The signing key, returned by every read like the real API does.
    pub secret: String,
    /// Deliveries are sent only while enabled.
    pub enabled: bool,
    /// Subscribed event names.
    pub events: Vec<String>,
    /// Outcome of the last delivery (`"200 OK"`, `"connection refused"`, …).
    pub last_sent_result: String,
    /// Whether the last delivery got a 2xx.
    pub last_sent_success: bool,
    /// When the last delivery was sent.
    pub last_sent_at: Option<DateTime<Utc>>,
    /// Failed deliveries in a row (the webhook is disabled after too many).
    pub failures: u32,
    /// The last `test_webhook` call.
    pub last_test_at: Option<DateTime<Utc>>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last update.
    pub updated_at: DateTime<Utc>,
}
