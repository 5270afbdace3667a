//! Webhooks of a database: where PlanetScale sends its events, signed with the webhook's
//! secret (see [`crate::signature`]). At most 5 per database; one `test` every 20 seconds.

use reqwest::Method;

use super::db_path;
use crate::models::{Webhook, WebhookSpec};
use crate::pagination::ListRequest;
use crate::request::Request;
use crate::{Client, Result};

impl Client {
    /// Every webhook of the database (`GET …/webhooks`, all pages).
    pub async fn list_webhooks_all(&self, org: &str, db: &str) -> Result<Vec<Webhook>> {
        self.collect_all(ListRequest::new(
            "list_webhooks",
            &db_path(org, db, &["webhooks"]),
        ))
        .await
    }

    /// `POST …/webhooks` (201, with the signing `secret`). A create: not resent after a
    /// timeout or 5xx; on such an error, list the webhooks before trying again.
    pub async fn create_webhook(&self, org: &str, db: &str, body: &WebhookSpec) -> Result<Webhook> {
        let path = db_path(org, db, &["webhooks"]);
        self.send(
            Request::new("create_webhook", Method::POST, &path)
                .create()
                .json(body)?,
        )
        .await
    }

    /// `GET …/webhooks/{id}`.
    pub async fn get_webhook(&self, org: &str, db: &str, id: &str) -> Result<Webhook> {
        let path = db_path(org, db, &["webhooks", id]);
        self.send(Request::new("get_webhook", Method::GET, &path))
            .await
    }

    /// `PATCH …/webhooks/{id}`: url, enabled, events.
    pub async fn update_webhook(
        &self,
        org: &str,
        db: &str,
        id: &str,
        body: &WebhookSpec,
    ) -> Result<Webhook> {
        let path = db_path(org, db, &["webhooks", id]);
        self.send(Request::new("update_webhook", Method::PATCH, &path).json(body)?)
            .await
    }

    /// `DELETE …/webhooks/{id}` (204). After a lost response a retry may report
    /// [`crate::Error::NotFound`]: treat it as deleted.
    pub async fn delete_webhook(&self, org: &str, db: &str, id: &str) -> Result<()> {
        let path = db_path(org, db, &["webhooks", id]);
        self.send_empty(Request::new("delete_webhook", Method::DELETE, &path))
            .await
    }

    /// `POST …/webhooks/{id}/test` (204): PlanetScale sends a `webhook.test` delivery.
    /// More than one test per 20 seconds is refused (429).
    pub async fn test_webhook(&self, org: &str, db: &str, id: &str) -> Result<()> {
        let path = db_path(org, db, &["webhooks", id, "test"]);
        self.send_empty(Request::new("test_webhook", Method::POST, &path))
            .await
    }
}
