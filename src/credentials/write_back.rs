//! Writing refreshed OAuth tokens back into their credentials Secret, so that a restart (or a
//! new leader) starts from the refresh token PlanetScale accepts now: the one just used no
//! longer works once it has been exchanged.
//!
//! - The write runs inside the client's refresh (the token lock is held), so no second
//!   refresh of the same client starts before it is done; the store keeps one client per
//!   Secret and moves it to the version our own write makes
//!   ([`super::CredentialsStore`]), so a write-back never makes a second client holding the
//!   same refresh token.
//! - It is an optimistic-concurrency patch on the version the tokens were read from (or last
//!   written to). When the Secret changed since, it is read again: still holding the refresh
//!   token we exchanged, the write is repeated on the new version; holding other tokens,
//!   another writer (a new login, a person, another replica) wins and ours are dropped — the
//!   store builds its next client from the Secret.
//! - Failures the API server may get over (5xx, timeouts, 429) are retried a few times with a
//!   short backoff; the last one is returned. Until a later write succeeds the tokens stay in
//!   the client's memory, and the next refresh writes again on the same version. The failure
//!   is kept per Secret ([`Outcomes`]): the resources using the Secret show it in a
//!   `CredentialsWriteBack` condition until a later write succeeds, and
//!   `credentials_write_back_failures_total` counts it.
use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use kube::api::{Patch, PatchParams};
use kube::{Api, ResourceExt};
use planetscale_api::OAuthTokens;

use std::sync::{Arc, Mutex};

use super::{Clients, KEY_ACCESS_TOKEN, KEY_EXPIRES_AT, KEY_REFRESH_TOKEN};

/// Writes refreshed tokens back ([`write()`]); on success the cached client of
/// `key` moves to the version the write made, so that it stays the only client of the Secret.
pub(super) async fn persist(
    api: Api<Secret>,
    key: (String, String),
    base: Arc<Mutex<Base>>,
    clients: Clients,
    outcomes: Outcomes,
    tokens: OAuthTokens,
) {
    let from = base.lock().expect("lock").clone();
    let secret = format!("{}/{}", key.0, key.1);
    match write(&api, &key.1, &from, &tokens).await {
        Written::Saved(rv) => {
            if let Some(c) = clients.lock().expect("lock").get_mut(&key)
                && c.version.rv == from.resource_version
            {
                c.version.rv = rv.clone();
            }
            *base.lock().expect("lock") = Base {
                resource_version: rv,
                refresh_token: tokens.refresh_token.clone(),
            };
            outcomes.succeeded(&key);
            tracing::info!(%secret, "refreshed OAuth tokens written back to the credentials Secret");
        }
        Written::Superseded => {
            outcomes.succeeded(&key);
            tracing::warn!(%secret, "the credentials Secret got other OAuth tokens meanwhile: they are kept, ours dropped");
        }
        Written::Failed(e) => {
            outcomes.failed(&key, &e);
            tracing::error!(%secret, error = %e, "could not write refreshed OAuth tokens back to the credentials Secret: they stay in memory and the next refresh writes again");
        }
    }
}

/// The last write-back failure of each Secret until a later write-back of it succeeds, and
/// the metrics that count failures (set once by the controller context).
#[derive(Clone, Default)]
pub struct Outcomes {
    failures: Arc<Mutex<HashMap<(String, String), String>>>,
    metrics: Arc<OnceLock<Arc<crate::metrics::Metrics>>>,
}

impl Outcomes {
    /// Counts failures in `metrics` from now on.
    pub fn count_in(&self, metrics: Arc<crate::metrics::Metrics>) {
        let _ = self.metrics.set(metrics);
    }

    /// What to tell the owner of a resource in `namespace` using `credentials` (`None`: the
    /// defaults) while the last write-back to that Secret failed. Never holds a token.
    pub fn failure_for(
        &self,
        defaults: &super::DefaultCredentials,
        namespace: &str,
        credentials: Option<&str>,
    ) -> Option<String> {
        let key = match credentials {
            Some(name) => (namespace.to_string(), name.to_string()),
            None => defaults.secret.clone()?,
        };
        self.failures.lock().expect("lock").get(&key).cloned()
    }

    fn failed(&self, key: &(String, String), e: &kube::Error) {
        let (ns, name) = key;
        // The API server's error text names the verb and the user, never the request body.
        let message = format!(
            "refreshed OAuth tokens could not be written back to credentials Secret {ns}/{name} \
             ({e}); they stay in the operator's memory only: grant the operator's service account \
             get and patch on this Secret"
        );
        self.failures
            .lock()
            .expect("lock")
            .insert(key.clone(), message);
        if let Some(m) = self.metrics.get() {
            m.observe_write_back_failure(&format!("{ns}/{name}"));
        }
    }

    fn succeeded(&self, key: &(String, String)) {
        self.failures.lock().expect("lock").remove(key);
    }
}

/// Attempts of one write-back (conflicts that re-read do not count).
pub const ATTEMPTS: u32 = 4;
/// Conflicts one write-back follows before it gives up.
const MAX_CONFLICTS: u32 = 5;

/// The Secret version the tokens were read from or last written to, and the refresh token it
/// holds.
#[derive(Clone, Debug)]
pub struct Base {
    pub resource_version: String,
    pub refresh_token: planetscale_api::Secret,
}

/// How a write-back ended.
#[derive(Debug)]
pub enum Written {
    /// The Secret holds the new tokens, at this version.
    Saved(String),
    /// Another writer put other tokens into the Secret meanwhile: theirs stay.
    Superseded,
    /// The tokens could not be written (RBAC, the Secret is gone, the API server kept failing).
    Failed(kube::Error),
}

/// Writes `tokens` into Secret `name`, on `base`.
pub async fn write(api: &Api<Secret>, name: &str, base: &Base, tokens: &OAuthTokens) -> Written {
    let mut rv = base.resource_version.clone();
    let (mut attempt, mut conflicts) = (0, 0);
    loop {
        match patch(api, name, &rv, tokens).await {
            Ok(s) => return Written::Saved(s.resource_version().unwrap_or_default()),
            Err(kube::Error::Api(s)) if s.code == 409 && conflicts < MAX_CONFLICTS => {
                conflicts += 1;
                match api.get(name).await {
                    Ok(now) if holds(&now, &base.refresh_token) => {
                        rv = now.resource_version().unwrap_or_default();
                    }
                    Ok(_) => return Written::Superseded,
                    Err(e) => return Written::Failed(e),
                }
            }
            Err(e) if transient(&e) && attempt + 1 < ATTEMPTS => {
                // A short, bounded backoff (at most a few seconds in all): the refresh waits
                // for it, as no request should use tokens that are not saved if it can help.
                tokio::time::sleep(Duration::from_millis(250 << (2 * attempt))).await;
                attempt += 1;
            }
            Err(e) => return Written::Failed(e),
        }
    }
}

async fn patch(
    api: &Api<Secret>,
    name: &str,
    rv: &str,
    tokens: &OAuthTokens,
) -> kube::Result<Secret> {
    let body = serde_json::json!({
        "metadata": {"resourceVersion": rv},
        "stringData": {
            KEY_ACCESS_TOKEN: tokens.access_token.expose(),
            KEY_REFRESH_TOKEN: tokens.refresh_token.expose(),
            KEY_EXPIRES_AT: tokens.expires_at.to_rfc3339(),
        }
    });
    api.patch(name, &PatchParams::default(), &Patch::Merge(&body))
        .await
}

/// Whether `secret` still holds `refresh` as its refresh token.
fn holds(secret: &Secret, refresh: &planetscale_api::Secret) -> bool {
    let data = secret.data.as_ref();
    let value = data.and_then(|d| d.get(KEY_REFRESH_TOKEN));
    value.is_some_and(|v| v.0.trim_ascii() == refresh.expose().as_bytes())
}

/// Failures the API server may get over by itself.
fn transient(e: &kube::Error) -> bool {
    match e {
        kube::Error::Api(s) => s.code == 429 || s.code >= 500,
        kube::Error::HyperError(_) | kube::Error::Service(_) => true,
        _ => false,
    }
}
