//! PlanetScale credentials from Kubernetes Secrets, and one API client per credentials.
//!
//! A resource names its Secret with `spec.credentialsRef` (same namespace); without it the
//! operator's default credentials apply, unless they are switched off or restricted to other
//! namespaces. Clients are cached per Secret and rebuilt when the Secret changes (not when our
//! own write-back changes it); every client of the same token shares one rate budget.
//! Refreshed OAuth tokens are written back into the Secret ([`write_back`]), so a restart
//! never loses a rotated refresh token.
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::{Api, Client};
use planetscale_api::{ApiMetrics, Credentials, RateLimit, RateLimiter};

pub mod write_back;

use crate::crd::SecretRef;
use crate::error::{Error, Result};

/// Keys of a service-token credentials Secret.
pub const KEY_SERVICE_TOKEN_ID: &str = "serviceTokenId";
pub const KEY_SERVICE_TOKEN: &str = "serviceToken";
/// Keys of an OAuth credentials Secret.
pub const KEY_OAUTH_CLIENT_ID: &str = "oauthClientId";
pub const KEY_OAUTH_CLIENT_SECRET: &str = "oauthClientSecret";
pub const KEY_ACCESS_TOKEN: &str = "accessToken";
pub const KEY_REFRESH_TOKEN: &str = "refreshToken";
pub const KEY_EXPIRES_AT: &str = "expiresAt";

/// Where the default credentials live and who may use them.
#[derive(Clone, Debug, Default)]
pub struct DefaultCredentials {
    /// Namespace and name of the Secret; `None` when default credentials are switched off.
    pub secret: Option<(String, String)>,
    /// Namespaces allowed to use them; empty allows every namespace.
    pub allowed_namespaces: Vec<String>,
}

/// Settings of every API client the store builds.
#[derive(Clone, Debug)]
pub struct ClientSettings {
    pub api_url: String,
    pub oauth_token_url: String,
    pub requests_per_minute: u32,
}

/// Builds and caches PlanetScale clients from credentials Secrets.
pub struct CredentialsStore {
    kube: Client,
    defaults: DefaultCredentials,
    settings: ClientSettings,
    metrics: Arc<ApiMetrics>,
    observer: Option<Arc<dyn planetscale_api::Observer>>,
    /// Shared with the OAuth write-backs of the clients ([`write_back::persist`]).
    clients: Clients,
    write_backs: write_back::Outcomes,
    limiters: Mutex<HashMap<String, Arc<RateLimiter>>>,
}

type Clients = Arc<Mutex<HashMap<(String, String), Cached>>>;

struct Cached {
    version: Version,
    client: planetscale_api::Client,
}

/// The version of a Secret a cached client was built from, and the operator's own finalizer
/// patch of that version while it is in flight (see [`CredentialsStore::own_patch`]).
#[derive(Debug, Default)]
pub(crate) struct Version {
    rv: String,
    /// (version patched, whether the finalizer is on after the patch).
    own_patch: Option<(String, bool)>,
}

impl Version {
    /// Whether a Secret seen at `rv` (with the operator's finalizer: `finalized`) holds the
    /// data of this version: the same version, or the one our own finalizer patch made (the
    /// patch had this version as precondition, so the next version with the finalizer as the
    /// patch leaves it is ours).
    pub(crate) fn holds(&mut self, rv: &str, finalized: bool) -> bool {
        if self.rv == rv {
            return true;
        }
        match &self.own_patch {
            Some((from, after)) if *from == self.rv && *after == finalized => {
                self.rv = rv.to_string();
                self.own_patch = None;
                true
            }
            _ => false,
        }
    }

    /// Our patch from `from` made `to` (`None`: it failed).
    pub(crate) fn patched(&mut self, from: &str, to: Option<&str>) {
        if let Some(to) = to
            && self.rv == from
        {
            self.rv = to.to_string();
        }
        self.own_patch = None;
    }
}

impl CredentialsStore {
    pub fn new(kube: Client, defaults: DefaultCredentials, settings: ClientSettings) -> Self {
        Self {
            kube,
            defaults,
            settings,
            metrics: Arc::new(ApiMetrics::new()),
            observer: None,
            clients: Clients::default(),
            write_backs: write_back::Outcomes::default(),
            limiters: Mutex::default(),
        }
    }

    /// Where the default credentials live and which namespaces may use them.
    pub fn defaults(&self) -> &DefaultCredentials {
        &self.defaults
    }

    /// Also reports every request of this store's clients to `observer` (the operator's metrics).
    pub fn with_observer(mut self, observer: Arc<dyn planetscale_api::Observer>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// How the OAuth write-backs of this store's clients ended, per Secret.
    pub fn write_backs(&self) -> &write_back::Outcomes {
        &self.write_backs
    }

    /// Counters of every API request made through this store's clients.
    pub fn metrics(&self) -> &Arc<ApiMetrics> {
        &self.metrics
    }

    /// A client for a resource in `namespace` with `credentials_ref`.
    pub async fn client_for(
        &self,
        namespace: &str,
        credentials_ref: Option<&SecretRef>,
    ) -> Result<planetscale_api::Client> {
        let (ns, name) = locate(&self.defaults, namespace, credentials_ref)?;
        self.client_from_secret(&ns, &name).await
    }

    /// Whether `resource_version` of Secret `ns/name` (carrying the operator's finalizer:
    /// `finalized`) holds the data the cached client was built from: the same version (a
    /// relist, a late initial list), or the one the operator's own finalizer patch made. Such
    /// a watch event changes nothing.
    pub fn is_current(
        &self,
        ns: &str,
        name: &str,
        resource_version: Option<&str>,
        finalized: bool,
    ) -> bool {
        let key = (ns.to_string(), name.to_string());
        let mut clients = self.clients.lock().expect("lock");
        let cached = clients.get_mut(&key);
        resource_version.is_some_and(|rv| cached.is_some_and(|c| c.version.holds(rv, finalized)))
    }

    /// The operator is about to patch only its finalizer on version `from` of Secret
    /// `ns/name` (with `from` as precondition), leaving it on (`finalized`) or off; then
    /// [`CredentialsStore::own_patch_done`]. The version it makes keeps the cached client.
    pub fn own_patch(&self, ns: &str, name: &str, from: &str, finalized: bool) {
        let key = (ns.to_string(), name.to_string());
        if let Some(c) = self.clients.lock().expect("lock").get_mut(&key)
            && c.version.rv == from
        {
            c.version.own_patch = Some((from.to_string(), finalized));
        }
    }

    /// The patch announced with [`CredentialsStore::own_patch`] made version `to` (`None`: it
    /// failed).
    pub fn own_patch_done(&self, ns: &str, name: &str, from: &str, to: Option<&str>) {
        let key = (ns.to_string(), name.to_string());
        if let Some(c) = self.clients.lock().expect("lock").get_mut(&key) {
            c.version.patched(from, to);
        }
    }

    /// A client for the credentials in Secret `ns/name` (cached until the Secret changes).
    pub async fn client_from_secret(
        &self,
        ns: &str,
        name: &str,
    ) -> Result<planetscale_api::Client> {
        let api: Api<Secret> = Api::namespaced(self.kube.clone(), ns);
        let secret = api.get_opt(name).await?.ok_or_else(|| {
            Error::CredentialsNotFound(format!("credentials Secret {ns}/{name} does not exist"))
        })?;
        let rv = secret.metadata.resource_version.clone().unwrap_or_default();
        let key = (ns.to_string(), name.to_string());
        if let Some(c) = self.clients.lock().expect("lock").get(&key)
            && c.version.rv == rv
        {
            return Ok(c.client.clone());
        }
        let creds = parse_secret(&format!("{ns}/{name}"), secret.data.as_ref())?;
        let client = self.build(&creds, api, key.clone(), &rv)?;
        let cached = Cached {
            version: Version {
                rv,
                own_patch: None,
            },
            client: client.clone(),
        };
        self.clients.lock().expect("lock").insert(key, cached);
        Ok(client)
    }

    fn build(
        &self,
        creds: &Credentials,
        api: Api<Secret>,
        key: (String, String),
        rv: &str,
    ) -> Result<planetscale_api::Client> {
        let limiter = self.limiter_for(identity(creds));
        let mut builder = planetscale_api::Client::builder(creds.clone())
            .base_url(&self.settings.api_url)
            .oauth_token_url(&self.settings.oauth_token_url)
            .rate_limiter(limiter)
            .metrics(self.metrics.clone());
        if let Some(observer) = &self.observer {
            builder = builder.observer(observer.clone());
        }
        if let Credentials::OAuth { refresh_token, .. } = creds {
            let base = Arc::new(Mutex::new(write_back::Base {
                resource_version: rv.to_string(),
                refresh_token: refresh_token.clone(),
            }));
            let (clients, outcomes) = (self.clients.clone(), self.write_backs.clone());
            builder = builder.on_token_refresh(move |tokens| {
                let (api, key, base) = (api.clone(), key.clone(), base.clone());
                write_back::persist(api, key, base, clients.clone(), outcomes.clone(), tokens)
            });
        }
        builder.build().map_err(|e| {
            Error::CredentialsInvalid(format!("cannot build a PlanetScale client: {e}"))
        })
    }

    fn limiter_for(&self, identity: String) -> Arc<RateLimiter> {
        let per_minute = self.settings.requests_per_minute.max(1);
        self.limiters
            .lock()
            .expect("lock")
            .entry(identity)
            .or_insert_with(|| {
                // Empty at start: a restarted operator (a crash loop, a new leader) cannot
                // know what the previous process spent in the last minute.
                RateLimiter::new(
                    RateLimit::per_minute(per_minute, burst(per_minute)).starting_empty(),
                )
            })
            .clone()
    }
}

/// The Secret (namespace, name) that applies to a resource in `namespace` with `credentials_ref`.
pub fn locate(
    defaults: &DefaultCredentials,
    namespace: &str,
    credentials_ref: Option<&SecretRef>,
) -> Result<(String, String)> {
    if let Some(r) = credentials_ref {
        return Ok((namespace.to_string(), r.name.clone()));
    }
    let Some(secret) = &defaults.secret else {
        return Err(Error::CredentialsNotFound(
            "spec.credentialsRef is not set and the operator's default credentials are switched off: \
             name a credentials Secret in spec.credentialsRef"
                .into(),
        ));
    };
    let allowed = &defaults.allowed_namespaces;
    if !allowed.is_empty() && !allowed.iter().any(|n| n == namespace) {
        return Err(Error::CredentialsNotFound(format!(
            "spec.credentialsRef is not set and namespace {namespace} may not use the operator's default \
             credentials: name a credentials Secret in spec.credentialsRef"
        )));
    }
    Ok(secret.clone())
}

/// A small burst: a tenth of a second's worth of budget, at least 1.
fn burst(per_minute: u32) -> u32 {
    (per_minute / 60).clamp(1, 10)
}

/// The identity whose rate budget a client shares: the token id or the OAuth client id.
fn identity(creds: &Credentials) -> String {
    match creds {
        Credentials::ServiceToken { id, .. } => format!("token:{id}"),
        Credentials::OAuth { client_id, .. } => format!("oauth:{client_id}"),
    }
}

/// Reads credentials from a Secret's data. Errors name the missing or malformed keys, never values.
pub fn parse_secret(
    what: &str,
    data: Option<&BTreeMap<String, ByteString>>,
) -> Result<Credentials> {
    let empty = BTreeMap::new();
    let data = data.unwrap_or(&empty);
    let get = |k: &str| -> Result<Option<String>> {
        match data.get(k) {
            None => Ok(None),
            Some(v) => String::from_utf8(v.0.clone())
                .map(|s| Some(s.trim().to_string()).filter(|s| !s.is_empty()))
                .map_err(|_| {
                    Error::CredentialsInvalid(format!(
                        "credentials Secret {what}: key {k} is not UTF-8"
                    ))
                }),
        }
    };
    if let (Some(id), Some(token)) = (get(KEY_SERVICE_TOKEN_ID)?, get(KEY_SERVICE_TOKEN)?) {
        return Ok(Credentials::service_token(id, token));
    }
    let oauth_keys = [
        KEY_OAUTH_CLIENT_ID,
        KEY_OAUTH_CLIENT_SECRET,
        KEY_ACCESS_TOKEN,
        KEY_REFRESH_TOKEN,
        KEY_EXPIRES_AT,
    ];
    let values = oauth_keys
        .iter()
        .map(|k| get(k))
        .collect::<Result<Vec<_>>>()?;
    if values.iter().all(Option::is_none)
        || data.contains_key(KEY_SERVICE_TOKEN_ID)
        || data.contains_key(KEY_SERVICE_TOKEN)
    {
        return Err(Error::CredentialsInvalid(format!(
            "credentials Secret {what} must hold either {KEY_SERVICE_TOKEN_ID} and {KEY_SERVICE_TOKEN}, or \
             {KEY_OAUTH_CLIENT_ID}, {KEY_OAUTH_CLIENT_SECRET}, {KEY_ACCESS_TOKEN}, {KEY_REFRESH_TOKEN} and {KEY_EXPIRES_AT}"
        )));
    }
    let missing: Vec<&str> = oauth_keys
        .iter()
        .zip(&values)
        .filter(|(_, v)| v.is_none())
        .map(|(k, _)| *k)
        .collect();
    if !missing.is_empty() {
        return Err(Error::CredentialsInvalid(format!(
            "credentials Secret {what} holds OAuth tokens but lacks {}",
            missing.join(", ")
        )));
    }
    let [client_id, client_secret, access, refresh, expires]: [String; 5] = values
        .into_iter()
        .map(Option::unwrap_or_default)
        .collect::<Vec<_>>()
        .try_into()
        .expect("5 keys");
    let expires_at = DateTime::parse_from_rfc3339(&expires).map(|t| t.with_timezone(&Utc)).map_err(|_| {
        Error::CredentialsInvalid(format!(
            "credentials Secret {what}: {KEY_EXPIRES_AT} must be an RFC 3339 time such as 2026-01-31T12:00:00Z"
        ))
    })?;
    Ok(Credentials::OAuth {
        client_id,
        client_secret: client_secret.into(),
        access_token: access.into(),
        refresh_token: refresh.into(),
        expires_at,
    })
}

#[cfg(test)]
#[path = "credentials_tests.rs"]
mod tests;
