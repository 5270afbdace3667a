//! Webhooks managed by the operator: one per database its resources use.
//!
//! Why operator-managed rather than a `PlanetScaleWebhook` kind: the webhook exists only to
//! replace the operator's own polling, so its URL (the operator's receiver), its events (those
//! that move the operator's resources) and its secret (which only the receiver needs) are all
//! the operator's business; a kind would ask every team to write one per database and keep it
//! in step. Teams that route events elsewhere can create their own webhooks: PlanetScale
//! allows five per database, and the operator touches only the one with its URL.
//!
//! Every sync (`--webhook-sync-interval`) the manager looks at the databases the reconciles
//! used recently ([`super::Hub::in_use`]):
//! - a database without a webhook gets one (an existing webhook with the operator's URL is
//!   adopted, so a restart creates no second one);
//! - every `--webhook-test-interval` it asks for a `test` delivery (which keeps the database's
//!   deliveries healthy in quiet times) and re-enables a webhook PlanetScale disabled;
//! - a webhook older than `--webhook-rotate-after` is replaced: the new one is created and
//!   its secret accepted before the old one is deleted, and the old secret stays accepted for
//!   [`GRACE`] so that a delivery in flight is not refused;
//! - a database no reconcile used for twice the resync interval loses its webhook.
//!
//! The secrets are kept in one Secret in the operator's namespace (`--webhook-secret`), one
//! key per database (`<organization>.<database>`), written with server-side apply.
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use kube::api::{Patch, PatchParams};
use planetscale_api::models::{Webhook, WebhookSpec};
use planetscale_api::{Client, Error as ApiError, Secret as Plain};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use super::{DbName, EVENTS, Hub};

/// How long the secret of a replaced webhook stays accepted.
pub const GRACE: Duration = Duration::from_secs(120);

/// The manager's settings (from the `--webhook-*` flags).
#[derive(Clone, Debug)]
pub struct ManagerConfig {
    /// The receiver's URL as PlanetScale reaches it (`webhooks.publicURL`).
    pub public_url: String,
    /// The Secret holding the webhooks' secrets: (namespace, name).
    pub secret: (String, String),
    /// How often each database gets a `test` delivery.
    pub test_interval: Duration,
    /// Age after which a webhook is replaced by one with a new secret.
    pub rotate_after: Duration,
    /// How long after its last use a database keeps its webhook.
    pub unused_after: Duration,
    /// How often the manager looks.
    pub sync_interval: Duration,
}

/// One managed webhook, as kept in the Secret.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Managed {
    id: String,
    secret: Plain,
    created_at: DateTime<Utc>,
    #[serde(skip)]
    previous: Option<(Plain, Instant)>,
    #[serde(skip)]
    last_test: Option<Instant>,
}

/// Runs until `shutdown` (on the leader, beside the controllers).
pub async fn run(hub: Arc<Hub>, kube: kube::Client, cfg: ManagerConfig, stop: CancellationToken) {
    let api: Api<Secret> = Api::namespaced(kube, &cfg.secret.0);
    let mut managed = load(&api, &cfg.secret.1).await;
    let mut tick = tokio::time::interval(cfg.sync_interval);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = stop.cancelled() => return,
        }
        let before = keys(&managed);
        let (used, unused) = hub.databases(cfg.unused_after);
        for (db, client) in used {
            if let Err(e) = ensure(&hub, &cfg, &client, &db, &mut managed).await {
                tracing::warn!(organization = %db.0, database = %db.1, error = %e, "cannot manage the webhook: deliveries for this database are not received, polling continues");
            }
        }
        for (db, client) in unused {
            remove(&hub, &client, &db, &mut managed).await;
        }
        if keys(&managed) != before
            && let Err(e) = save(&api, &cfg.secret.1, &managed).await
        {
            tracing::warn!(error = %e, "cannot write the webhook secrets Secret");
        }
    }
}

fn keys(managed: &HashMap<DbName, Managed>) -> BTreeMap<String, String> {
    managed
        .iter()
        .map(|((o, d), m)| (format!("{o}.{d}"), m.id.clone()))
        .collect()
}

fn spec(cfg: &ManagerConfig) -> WebhookSpec {
    WebhookSpec {
        url: Some(cfg.public_url.clone()),
        enabled: Some(true),
        events: Some(EVENTS.iter().map(|e| (*e).to_string()).collect()),
    }
}

fn managed_from(hook: Webhook) -> Option<Managed> {
    Some(Managed {
        id: hook.id,
        secret: hook.secret?,
        created_at: hook.created_at.unwrap_or_else(Utc::now),
        previous: None,
        last_test: None,
    })
}

/// Creates (or adopts), tests, re-enables and rotates the webhook of `db`; registers its
/// secrets with the receiver.
async fn ensure(
    hub: &Hub,
    cfg: &ManagerConfig,
    client: &Client,
    db: &DbName,
    managed: &mut HashMap<DbName, Managed>,
) -> Result<(), ApiError> {
    let (org, name) = (&db.0, &db.1);
    if !managed.contains_key(db) {
        let ours = client
            .list_webhooks_all(org, name)
            .await?
            .into_iter()
            .filter(|h| h.url == cfg.public_url)
            .max_by_key(|h| h.created_at);
        let hook = match ours {
            Some(h) => h,
            None => client.create_webhook(org, name, &spec(cfg)).await?,
        };
        let m = managed_from(hook)
            .ok_or_else(|| ApiError::Config("no secret in the webhook".into()))?;
        tracing::info!(organization = %org, database = %name, webhook = %m.id, "webhook registered");
        managed.insert(db.clone(), m);
    }
    let m = managed.get_mut(db).expect("inserted");
    let age = (client.server_now() - m.created_at)
        .to_std()
        .unwrap_or_default();
    if age > cfg.rotate_after {
        rotate(hub, cfg, client, db, m).await?;
    }
    register(hub, client, db, m);
    if m.last_test.is_none_or(|t| t.elapsed() >= cfg.test_interval) {
        m.last_test = Some(Instant::now());
        if !client.get_webhook(org, name, &m.id).await?.enabled {
            let enable = WebhookSpec {
                enabled: Some(true),
                ..WebhookSpec::default()
            };
            client.update_webhook(org, name, &m.id, &enable).await?;
        }
        if let Err(e) = client.test_webhook(org, name, &m.id).await {
            tracing::debug!(organization = %org, database = %name, error = %e, "webhook test not sent");
        }
    }
    Ok(())
}

/// Replaces the webhook of `db` by a new one: the new secret is accepted before the new
/// webhook is enabled and before the old one is deleted, and the old one for [`GRACE`] after.
async fn rotate(
    hub: &Hub,
    cfg: &ManagerConfig,
    client: &Client,
    db: &DbName,
    m: &mut Managed,
) -> Result<(), ApiError> {
    let (org, name) = (&db.0, &db.1);
    // Created disabled: PlanetScale may deliver through it as soon as it exists, and a
    // delivery signed with a secret the receiver does not know yet would be refused.
    let disabled = WebhookSpec {
        enabled: Some(false),
        ..spec(cfg)
    };
    let hook = client.create_webhook(org, name, &disabled).await?;
    let Some(mut new) = managed_from(hook) else {
        return Err(ApiError::Config("no secret in the webhook".into()));
    };
    new.previous = Some((m.secret.clone(), Instant::now()));
    let old = std::mem::replace(m, new);
    register(hub, client, db, m);
    // Its secret is accepted now. Should enabling fail, the old webhook stays (not deleted
    // below), and the next test of the new one enables it.
    let enable = WebhookSpec {
        enabled: Some(true),
        ..WebhookSpec::default()
    };
    client.update_webhook(org, name, &m.id, &enable).await?;
    match client.delete_webhook(org, name, &old.id).await {
        Ok(()) | Err(ApiError::NotFound { .. }) => {}
        Err(e) => return Err(e),
    }
    tracing::info!(organization = %org, database = %name, webhook = %m.id, "webhook secret rotated");
    Ok(())
}

fn register(hub: &Hub, client: &Client, db: &DbName, m: &mut Managed) {
    if m.previous
        .as_ref()
        .is_some_and(|(_, at)| at.elapsed() > GRACE)
    {
        m.previous = None;
    }
    let mut secrets = vec![m.secret.clone()];
    secrets.extend(m.previous.as_ref().map(|(s, _)| s.clone()));
    let clock = client.clone();
    hub.register(db.clone(), secrets, Arc::new(move || clock.server_now()));
}

/// Deletes the webhook of a database no resource uses any more.
async fn remove(hub: &Hub, client: &Client, db: &DbName, managed: &mut HashMap<DbName, Managed>) {
    hub.unregister(db);
    let Some(m) = managed.get(db) else {
        hub.forget(db);
        return;
    };
    match client.delete_webhook(&db.0, &db.1, &m.id).await {
        Ok(()) | Err(ApiError::NotFound { .. }) => {
            tracing::info!(organization = %db.0, database = %db.1, webhook = %m.id, "webhook deleted: no resource uses the database any more");
            managed.remove(db);
            hub.forget(db);
        }
        Err(e) => {
            tracing::warn!(organization = %db.0, database = %db.1, error = %e, "cannot delete the webhook; retrying at the next sync");
        }
    }
}

async fn load(api: &Api<Secret>, name: &str) -> HashMap<DbName, Managed> {
    let secret = match api.get_opt(name).await {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the webhook secrets Secret; webhooks are adopted by URL");
            None
        }
    };
    let data = secret.and_then(|s| s.data).unwrap_or_default();
    data.into_iter()
        .filter_map(|(k, v)| {
            let (org, db) = k.split_once('.')?;
            let m: Managed = serde_json::from_slice(&v.0).ok()?;
            Some(((org.to_string(), db.to_string()), m))
        })
        .collect()
}

async fn save(
    api: &Api<Secret>,
    name: &str,
    managed: &HashMap<DbName, Managed>,
) -> kube::Result<()> {
    let data: BTreeMap<String, ByteString> = managed
        .iter()
        .map(|((o, d), m)| {
            let json = serde_json::to_vec(m).expect("JSON");
            (format!("{o}.{d}"), ByteString(json))
        })
        .collect();
    let secret = Secret {
        metadata: kube::api::ObjectMeta {
            name: Some(name.to_string()),
            ..Default::default()
        },
        data: Some(data),
        type_: Some("Opaque".into()),
        ..Default::default()
    };
    let params = PatchParams::apply(crate::controller::FIELD_MANAGER).force();
    api.patch(name, &params, &Patch::Apply(&secret)).await?;
    Ok(())
}
