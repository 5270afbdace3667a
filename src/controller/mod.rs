//! Shared pieces of every controller: the `Context`, events, status writes, the error policy
//! with per-object backoff, and the watched-namespace APIs.
use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::Mutex;
use std::time::Duration;

use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::api::core::v1::ObjectReference;
use kube::api::{Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::{Api, Client, Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::credentials::CredentialsStore;

pub mod branch;
pub mod credentials_in_use;
pub mod deploy_request;
pub mod password;
use crate::error::Error;

/// Field manager of every write the operator makes.
pub const FIELD_MANAGER: &str = "planetscale-operator";
/// Label on every Secret the operator manages (so its Secret watch sees only those).
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
/// Value of [`MANAGED_BY_LABEL`].
pub const MANAGED_BY_VALUE: &str = "planetscale-operator";
/// Slow retry for errors only a user can fix (bad spec, bad credentials): never a hot loop.
/// The default of `--slow-retry` ([`Context::with_slow_retry`]).
pub const SLOW_RETRY: Duration = Duration::from_secs(300);
/// Longest backoff after repeated transient failures.
pub const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// Runs every controller, and the finalizer on the credentials Secrets in use, until
/// `shutdown` is cancelled; returns when all have stopped.
pub async fn run_all(ctx: Arc<Context>, shutdown: CancellationToken) {
    let changes = ctx.caches.subscribe();
    tokio::join!(
        branch::run(ctx.clone(), shutdown.clone()),
        password::run(ctx.clone(), shutdown.clone()),
        deploy_request::run(ctx.clone(), shutdown.clone()),
        credentials_in_use::run(ctx, changes, shutdown),
    );
}

/// Settings every controller reads.
#[derive(Clone, Debug)]
pub struct Settings {
    /// How often a Ready resource is compared with PlanetScale.
    pub resync_interval: Duration,
    /// Reconciles running at once per controller.
    pub concurrency: u16,
    /// Namespaces to watch; `None` for all.
    pub namespaces: Option<Vec<String>>,
}

/// Everything a reconcile needs, shared by every controller (one `Arc`).
pub struct Context {
    pub client: Client,
    pub recorder: Recorder,
    pub credentials: CredentialsStore,
    pub settings: Settings,
    /// Reconcile, resource and API metrics served on `/metrics`.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// The caches `/readyz` waits for: every controller registers the store of its kind for
    /// each namespace it watches (`None`: all), see [`crate::runtime::caches`].
    pub caches: crate::runtime::caches::Caches,
    failures: Mutex<HashMap<String, u32>>,
    slow_retry: Duration,
}

impl Context {
    pub fn new(
        client: Client,
        credentials: CredentialsStore,
        settings: Settings,
        metrics: Arc<crate::metrics::Metrics>,
    ) -> Self {
        let reporter = Reporter {
            controller: FIELD_MANAGER.into(),
            instance: std::env::var("POD_NAME").ok(),
        };
        Self {
            recorder: Recorder::new(client.clone(), reporter),
            client,
            credentials,
            settings,
            metrics,
            caches: Default::default(),
            failures: Mutex::default(),
            slow_retry: SLOW_RETRY,
        }
    }

    /// Retries errors only a user can fix every `slow_retry` instead of [`SLOW_RETRY`].
    pub fn with_slow_retry(mut self, slow_retry: Duration) -> Self {
        self.slow_retry = slow_retry;
        self
    }

    /// How long a resource waits on an error only a user can fix before it looks again.
    pub fn slow_retry(&self) -> Duration {
        self.slow_retry
    }

    /// Publishes an event on `obj`. A failure to publish is logged, never fatal. Notes must
    /// never contain a password, token or connection string.
    pub async fn event<K>(
        &self,
        obj: &K,
        type_: EventType,
        reason: &str,
        action: &str,
        note: String,
    ) where
        K: Resource<DynamicType = ()>,
    {
        let reference: ObjectReference = obj.object_ref(&());
        let ev = Event {
            type_,
            reason: reason.into(),
            note: Some(truncate(note, 1000)),
            action: action.into(),
            secondary: None,
        };
        if let Err(e) = self.recorder.publish(&ev, &reference).await {
            tracing::warn!(reason, error = %e, "could not publish event");
        }
    }

    /// Forgets the failure streak of `key` after a successful reconcile.
    pub fn reset_backoff(&self, key: &str) {
        self.failures.lock().expect("lock").remove(key);
    }

    /// Requeue after a failed reconcile: exponential backoff with jitter for transient errors
    /// (1 s, 2 s, 4 s … 5 min), the slow retry for errors only a user can fix.
    pub fn backoff(&self, key: &str, err: &Error) -> Action {
        Action::requeue(self.backoff_delay_for(key, err))
    }

    /// The delay [`Context::backoff`] requeues with (and counts the failure the same way), for
    /// controllers that also need the duration itself.
    pub fn backoff_delay_for(&self, key: &str, err: &Error) -> Duration {
        if let Error::Waiting { retry_after, .. } = err {
            return *retry_after;
        }
        if !err.is_transient() {
            return self.slow_retry;
        }
        let mut failures = self.failures.lock().expect("lock");
        let n = failures.entry(key.to_string()).or_insert(0);
        *n = n.saturating_add(1);
        backoff_delay(*n, rand::random::<f64>())
    }
}

/// The objects in `store` that take their credentials from `secret` and are `waiting` (e.g.
/// not Ready): a fixed credentials Secret wakes them at once instead of at the next slow retry.
/// A version of the Secret the operator has already built its client from wakes nothing.
/// Every Secret seen here also goes to the credentials-in-use finalizer ([`credentials_in_use`]).
pub fn waiting_on_credentials<K>(
    store: &kube::runtime::reflector::Store<K>,
    ctx: &Context,
    secret: &kube::api::PartialObjectMeta<k8s_openapi::api::core::v1::Secret>,
    credentials_ref: impl Fn(&K) -> Option<&crate::crd::SecretRef>,
    waiting: impl Fn(&K) -> bool,
) -> Vec<kube::runtime::reflector::ObjectRef<K>>
where
    K: Resource<DynamicType = ()> + Clone + 'static,
{
    let seen = credentials_in_use::SecretSeen::of(secret);
    let finalized = seen.finalized;
    let wanted = (seen.namespace.clone(), seen.name.clone());
    ctx.caches.secret_seen(seen);
    let rv = secret.metadata.resource_version.as_deref();
    if ctx
        .credentials
        .is_current(&wanted.0, &wanted.1, rv, finalized)
    {
        // The failing reconciles already used this version: waking them would only repeat
        // the same calls (a late initial list or a relist of the watch, not a fix).
        return Vec::new();
    }
    let defaults = ctx.credentials.defaults();
    store
        .state()
        .iter()
        .filter(|o| {
            let ns = o.namespace().unwrap_or_default();
            crate::credentials::locate(defaults, &ns, credentials_ref(o)).is_ok_and(|s| s == wanted)
        })
        .filter(|o| waiting(o))
        .map(|o| kube::runtime::reflector::ObjectRef::from_obj(&**o))
        .collect()
}

/// Whether `conditions` lack `Ready=True` (the usual `waiting` for [`waiting_on_credentials`]).
pub fn not_ready(
    conditions: Option<&[k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition]>,
) -> bool {
    !crate::crd::conditions::is_condition_true(conditions.unwrap_or_default(), "Ready")
}

/// A PlanetScale time as a Kubernetes `Time`, truncated to whole seconds: `Time` serialises
/// with second precision, so a sub-second value would never compare equal to what the API
/// server stores, and every resync would rewrite an unchanged status.
pub fn k8s_time(
    t: chrono::DateTime<chrono::Utc>,
) -> k8s_openapi::apimachinery::pkg::apis::meta::v1::Time {
    let ts = k8s_openapi::jiff::Timestamp::from_second(t.timestamp())
        .unwrap_or(k8s_openapi::jiff::Timestamp::UNIX_EPOCH);
    k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(ts)
}

/// Delay after the `n`th consecutive transient failure, with `jitter` in [0, 1): between half
/// and all of `min(2^(n-1) s, MAX_BACKOFF)`.
pub fn backoff_delay(n: u32, jitter: f64) -> Duration {
    let base = Duration::from_secs(1u64 << n.saturating_sub(1).min(16)).min(MAX_BACKOFF);
    base.mul_f64(0.5 + jitter.clamp(0.0, 1.0) / 2.0)
}

/// The backoff key of an object.
pub fn object_key<K: Resource<DynamicType = ()>>(obj: &K) -> String {
    key::<K>(obj.namespace().as_deref(), &obj.name_any())
}

/// The backoff key of the object `r` points at (the same as [`object_key`] of that object).
pub fn object_ref_key<K: Resource<DynamicType = ()>>(
    r: &kube::runtime::reflector::ObjectRef<K>,
) -> String {
    key::<K>(r.namespace.as_deref(), &r.name)
}

fn key<K: Resource<DynamicType = ()>>(namespace: Option<&str>, name: &str) -> String {
    format!("{}/{}/{name}", K::kind(&()), namespace.unwrap_or_default())
}

/// Drops what a cached object never needs: `metadata.managedFields` and the
/// `kubectl.kubernetes.io/last-applied-configuration` annotation. The reconciles never read
/// them, and they are most of an object's size (so the caches grow with our resources only).
pub fn trim_metadata<K: Resource>(obj: &mut K) {
    let meta = obj.meta_mut();
    meta.managed_fields = None;
    if let Some(a) = meta.annotations.as_mut() {
        a.remove("kubectl.kubernetes.io/last-applied-configuration");
    }
}

/// One `Api` per watched namespace, or one for all namespaces.
pub fn watched_apis<K>(client: &Client, namespaces: &Option<Vec<String>>) -> Vec<Api<K>>
where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>,
{
    match namespaces {
        None => vec![Api::all(client.clone())],
        Some(list) => list
            .iter()
            .map(|ns| Api::namespaced(client.clone(), ns))
            .collect(),
    }
}

/// Writes `status` with server-side apply on the status subresource.
pub async fn apply_status<K, S>(api: &Api<K>, name: &str, status: &S) -> Result<(), kube::Error>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug,
    S: Serialize,
{
    let patch = serde_json::json!({
        "apiVersion": K::api_version(&()),
        "kind": K::kind(&()),
        "status": status,
    });
    api.patch_status(
        name,
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(&patch),
    )
    .await
    .map(|_| ())
}

fn truncate(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cached_objects_keep_no_managed_fields_or_last_applied_annotation() {
        use k8s_openapi::api::core::v1::ConfigMap;
        let mut cm: ConfigMap = serde_json::from_value(serde_json::json!({
            "metadata": {
                "name": "x",
                "annotations": {
                    "kubectl.kubernetes.io/last-applied-configuration": "{}",
                    "keep": "me"
                },
                "managedFields": [{"manager": "kubectl", "operation": "Apply"}]
            }
        }))
        .expect("configmap");
        trim_metadata(&mut cm);
        assert!(cm.metadata.managed_fields.is_none());
        let annotations = cm.metadata.annotations.expect("annotations");
        assert_eq!(annotations.keys().collect::<Vec<_>>(), ["keep"]);
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff_delay(1, 1.0), Duration::from_secs(1));
        assert_eq!(backoff_delay(3, 1.0), Duration::from_secs(4));
        assert_eq!(backoff_delay(3, 0.0), Duration::from_secs(2));
        assert_eq!(backoff_delay(40, 1.0), MAX_BACKOFF);
    }

    #[test]
    fn k8s_time_survives_a_round_trip_through_the_api_server() {
        let t = chrono::DateTime::parse_from_rfc3339("2026-11-28T12:34:56.789Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let time = k8s_time(t);
        let json = serde_json::to_value(&time).unwrap();
        assert_eq!(json, "2026-11-28T12:34:56Z");
        let back: k8s_openapi::apimachinery::pkg::apis::meta::v1::Time =
            serde_json::from_value(json).unwrap();
        assert_eq!(
            back, time,
            "an unchanged status must compare equal after a round trip"
        );
    }

    #[test]
    fn truncate_respects_char_boundaries() {
        assert_eq!(truncate("héllo".into(), 2), "h");
        assert_eq!(truncate("abc".into(), 10), "abc");
    }
}
