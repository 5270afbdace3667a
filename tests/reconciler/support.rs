//! The reconciler-test harness: a kind's reconcile pass called directly (no operator process,
//! no watches, no requeue timers) against the PlanetScale emulator started in this process
//! (ephemeral port, faults and clock through its admin API) and the real control plane
//! (`PSO_KUBECONFIG`, see `tests/support`).
//!
//! Why the real API server rather than a test double of it: the skeleton's behaviour is made
//! of the API server's semantics (server-side apply of the status subresource, finalizers,
//! deletion timestamps, resource versions, events), which a double would re-implement by
//! hand. The control plane costs one start per run (`make reconciler-test`), a namespace
//! per test, and milliseconds per call.
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::Event;
use kube::api::{ListParams, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::{Api, Client, Resource, ResourceExt};
use planetscale_emulator::{Config, Emulator, Settings};
use planetscale_operator::controller::reconciler::{self, Reconciler};
use planetscale_operator::controller::{Context, Settings as ControllerSettings};
use planetscale_operator::crd::{DeployRequest, PlanetScaleBranch, PlanetScalePassword};
use planetscale_operator::credentials::{ClientSettings, CredentialsStore, DefaultCredentials};
use planetscale_operator::error::Error;
use serde_json::{Value, json};

use crate::support::env::expect_json;
use crate::support::with_temp_ns;

/// Name of the credentials Secret every test namespace gets (the emulator's default token).
pub const CREDENTIALS: &str = "planetscale-credentials";
/// Field manager of the test's own writes (a user's `kubectl apply`).
pub const USER: &str = "pso-test";

/// One test's world: a namespace with a credentials Secret, an emulator, and the shared
/// controller [`Context`] a reconciler is built on.
pub struct Harness {
    pub client: Client,
    pub ns: String,
    pub emulator: Emulator,
    pub ctx: Arc<Context>,
    http: reqwest::Client,
}

/// Emulator settings of the tests: new branches become ready 60 s (emulator clock) after
/// their creation, so that a test decides when with [`Harness::advance`].
pub fn emulator_settings() -> Settings {
    Settings {
        branch_ready_delay: Duration::from_secs(60),
        retry_after: false,
        ..Settings::default()
    }
}

/// Runs `f` with a fresh [`Harness`]; afterwards the finalizers of what is left are removed
/// (no operator runs to do it) and the namespace and the emulator go.
pub async fn with_harness<F, Fut>(f: F)
where
    F: FnOnce(Harness) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let config = Config {
        settings: emulator_settings(),
        ..Config::default()
    };
    let emulator = Emulator::start(config).await.expect("start the emulator");
    crate::support::install_crds().await;
    with_temp_ns(|client, ns| async move {
        let token = emulator.default_token().expect("default token").clone();
        credentials_secret(&client, &ns, CREDENTIALS, &token.id, &token.secret).await;
        let ctx = Arc::new(context(client.clone(), &ns, emulator.url()));
        // The access policies, watched as the operator does (its test policy serves `ns`).
        let watching = ctx.clone();
        let policies = tokio::spawn(async move {
            let (client, stop) = (watching.client.clone(), Default::default());
            watching.policies.run(client, stop).await;
        });
        let h = Harness {
            client: client.clone(),
            ns: ns.clone(),
            emulator,
            ctx,
            http: reqwest::Client::builder().no_proxy().build().expect("http"),
        };
        f(h).await;
        policies.abort();
        release_all(&client, &ns).await;
    })
    .await;
}

/// The controller context the operator builds, pointed at `emulator_url`, watching `ns`.
fn context(client: Client, ns: &str, emulator_url: &str) -> Context {
    let settings = ClientSettings {
        api_url: format!("{emulator_url}/v1"),
        oauth_token_url: format!("{emulator_url}/oauth/token"),
        requests_per_minute: 6000,
    };
    let credentials =
        CredentialsStore::new(client.clone(), DefaultCredentials::default(), settings);
    context_with(client, ns, credentials)
}

/// The controller context the operator builds, watching `ns`, on the credentials store
/// `credentials` (e.g. one whose Kubernetes client may not patch Secrets).
pub fn context_with(client: Client, ns: &str, credentials: CredentialsStore) -> Context {
    let settings = ControllerSettings {
        resync_interval: Duration::from_secs(600),
        concurrency: 1,
        namespaces: Some(vec![ns.to_string()]),
    };
    let metrics = Arc::new(planetscale_operator::metrics::Metrics::new());
    Context::new(client, credentials, settings, metrics)
}

/// A custom resource `K` named `name` on acme/shop with the test's credentials, `spec`
/// merged in (e.g. `{"branch": "main"}`).
pub fn object<K>(name: &str, spec: Value) -> K
where
    K: Resource<DynamicType = ()> + serde::de::DeserializeOwned,
{
    object_on(
        name,
        json!({"organization": "acme", "database": "shop"}),
        spec,
    )
}

/// A custom resource `K` named `name` with the test's credentials, the `base` spec and `spec`
/// merged over it; a `null` in `spec` removes the base's field.
pub fn object_on<K>(name: &str, base: Value, spec: Value) -> K
where
    K: Resource<DynamicType = ()> + serde::de::DeserializeOwned,
{
    let (Value::Object(mut s), Value::Object(spec)) = (base, spec) else {
        panic!("base and spec must be objects")
    };
    s.insert("credentialsRef".into(), json!({"name": CREDENTIALS}));
    s.extend(spec);
    s.retain(|_, v| !v.is_null());
    serde_json::from_value(json!({
        "apiVersion": K::api_version(&()),
        "kind": K::kind(&()),
        "metadata": {"name": name},
        "spec": s,
    }))
    .unwrap_or_else(|e| panic!("a valid {}: {e}", K::kind(&())))
}

/// Creates a service-token credentials Secret.
pub async fn credentials_secret(client: &Client, ns: &str, name: &str, id: &str, token: &str) {
    crate::support::env::create_credentials_secret(client.clone(), ns, name, id, token).await;
}

/// Removes the finalizers of every resource left in `ns`, so the namespace can go.
async fn release_all(client: &Client, ns: &str) {
    release::<PlanetScaleBranch>(client, ns).await;
    release::<PlanetScalePassword>(client, ns).await;
    release::<DeployRequest>(client, ns).await;
    release::<planetscale_operator::crd::PlanetScaleDatabase>(client, ns).await;
    release::<planetscale_operator::crd::PlanetScaleBackup>(client, ns).await;
}

async fn release<K>(client: &Client, ns: &str)
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + std::fmt::Debug
        + serde::de::DeserializeOwned,
{
    let api: Api<K> = Api::namespaced(client.clone(), ns);
    let Ok(list) = api.list(&ListParams::default()).await else {
        return;
    };
    let patch = json!({"metadata": {"finalizers": null}});
    for o in list.items {
        let _ = api
            .patch(
                &o.name_any(),
                &PatchParams::default(),
                &Patch::Merge(&patch),
            )
            .await;
    }
}

impl Harness {
    /// The API of kind `K` in the test namespace.
    pub fn api<K>(&self) -> Api<K>
    where
        K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>,
    {
        Api::namespaced(self.client.clone(), &self.ns)
    }

    /// Server-side applies `obj` as the user.
    pub async fn apply<K>(&self, obj: &K) -> K
    where
        K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
            + Clone
            + std::fmt::Debug
            + serde::Serialize
            + serde::de::DeserializeOwned,
    {
        let pp = PatchParams::apply(USER).force();
        self.api::<K>()
            .patch(&obj.name_any(), &pp, &Patch::Apply(obj))
            .await
            .unwrap_or_else(|e| panic!("apply {}: {e}", obj.name_any()))
    }

    /// Merge-patches `patch` into object `name` as the user.
    pub async fn merge<K>(&self, name: &str, patch: Value)
    where
        K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
            + Clone
            + std::fmt::Debug
            + serde::de::DeserializeOwned,
    {
        self.api::<K>()
            .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .unwrap_or_else(|e| panic!("patch {name}: {e}"));
    }

    /// The object as the API server has it now.
    pub async fn get<K>(&self, name: &str) -> Option<K>
    where
        K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
            + Clone
            + std::fmt::Debug
            + serde::de::DeserializeOwned,
    {
        self.api::<K>().get_opt(name).await.expect("get")
    }

    /// One reconcile pass of `name` by `r` (as the controller runs it after a wake-up).
    pub async fn pass<R: Reconciler>(&self, r: &R, name: &str) -> Result<Action, Error>
    where
        R::Kind: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>,
    {
        let obj = self.stub::<R::Kind>(name).await;
        reconciler::pass(&obj, r).await
    }

    /// The object to hand to a pass: as cached, or (when gone) its name and namespace.
    async fn stub<K>(&self, name: &str) -> K
    where
        K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
            + Clone
            + std::fmt::Debug
            + serde::de::DeserializeOwned,
    {
        match self.get::<K>(name).await {
            Some(o) => o,
            None => {
                let meta = json!({"metadata": {"name": name, "namespace": self.ns}});
                let mut v = meta;
                v["apiVersion"] = json!(K::api_version(&()));
                v["kind"] = json!(K::kind(&()));
                v["spec"] = json!({});
                serde_json::from_value(v).unwrap_or_else(|_| panic!("{name} is gone"))
            }
        }
    }

    /// The (reason, message) of the events about `name`, oldest first.
    pub async fn events(&self, name: &str) -> Vec<(String, String)> {
        let api: Api<Event> = self.api();
        let lp = ListParams::default().fields(&format!("involvedObject.name={name}"));
        let mut list = api.list(&lp).await.expect("list events").items;
        list.sort_by_key(|e| e.metadata.creation_timestamp.clone());
        list.into_iter()
            .map(|e| (e.reason.unwrap_or_default(), e.message.unwrap_or_default()))
            .collect()
    }

    /// The reasons of the events about `name`.
    pub async fn event_reasons(&self, name: &str) -> Vec<String> {
        self.events(name)
            .await
            .into_iter()
            .map(|(r, _)| r)
            .collect()
    }

    /// Moves the emulator's clock forward by `by` (e.g. `"61s"`).
    pub async fn advance(&self, by: &str) {
        self.admin_post("/_emulator/clock/advance", json!({ "by": by }))
            .await;
    }

    /// Adds a fault: `spec` as `POST /_emulator/faults` takes it (e.g. `{"operation":
    /// "create_branch", "status": 500, "count": 1}`).
    pub async fn fault(&self, spec: Value) {
        self.admin_post("/_emulator/faults", spec).await;
    }

    /// Removes every fault.
    pub async fn clear_faults(&self) {
        let r = self
            .http
            .delete(format!("{}/_emulator/faults", self.emulator.url()))
            .send()
            .await
            .expect("emulator reachable");
        assert!(r.status().is_success(), "clear faults: {}", r.status());
    }

    /// Requests the emulator answered for `operation` (all when `None`).
    pub async fn calls(&self, operation: Option<&str>) -> u64 {
        let stats = self.admin_get("/_emulator/stats").await;
        let ops = stats["operations"].as_object().cloned().unwrap_or_default();
        ops.iter()
            .filter(|(name, _)| operation.is_none_or(|o| o == name.as_str()))
            .map(|(_, v)| v["total"].as_u64().unwrap_or(0))
            .sum()
    }

    /// Requests the emulator answered that may write: every operation but a `get_…` or a
    /// `list_…`, per operation (to say which one in a failure).
    pub async fn writes(&self) -> std::collections::BTreeMap<String, u64> {
        let stats = self.admin_get("/_emulator/stats").await;
        let ops = stats["operations"].as_object().cloned().unwrap_or_default();
        ops.iter()
            .filter(|(name, _)| !name.starts_with("get_") && !name.starts_with("list_"))
            .map(|(name, v)| (name.clone(), v["total"].as_u64().unwrap_or(0)))
            .collect()
    }

    /// A PlanetScale client with the emulator's default token (a user acting outside
    /// Kubernetes).
    pub fn planetscale(&self) -> planetscale_api::Client {
        let token = self.emulator.default_token().expect("default token");
        let creds = planetscale_api::Credentials::service_token(&token.id, token.secret.as_str());
        planetscale_api::Client::builder(creds)
            .base_url(format!("{}/v1", self.emulator.url()))
            .build()
            .expect("client")
    }

    async fn admin_get(&self, path: &str) -> Value {
        let url = format!("{}{path}", self.emulator.url());
        expect_json(self.http.get(url), path).await
    }

    async fn admin_post(&self, path: &str, body: Value) -> Value {
        let url = format!("{}{path}", self.emulator.url());
        expect_json(self.http.post(url).json(&body), path).await
    }
}
