//! Support for integration tests against the local control plane (`make testenv-up`).
//!
//! Tests only ever talk to the control plane started by `hack/testenv/up`: the kubeconfig
//! comes from `$PSO_KUBECONFIG` or `<repo>/.testenv/kubeconfig`, never from `$KUBECONFIG`,
//! so a test run can not touch a real cluster by accident.
#![allow(dead_code, unused_imports)]

pub mod env;
pub mod helm;
pub mod process;
pub mod scrape;
pub use env::{Emulator, Operator, with_operator};
pub use process::{ChildProcess, bin_path};

use std::fmt::Debug;
use std::future::Future;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use futures::FutureExt;
use k8s_openapi::api::core::v1::{Event, Namespace};
use kube::api::{DeleteParams, ListParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client, Config, Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A control plane a test started for itself (see [`use_kubeconfig`]).
static OWN_KUBECONFIG: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

/// Points every helper of this test binary (clients, helm, kubectl) at the control plane whose
/// admin kubeconfig is `path`, instead of the shared one. Once per binary.
pub fn use_kubeconfig(path: PathBuf) {
    OWN_KUBECONFIG
        .set(path)
        .expect("use_kubeconfig is called once per test binary");
}

/// Path of the harness kubeconfig.
pub fn kubeconfig_path() -> PathBuf {
    if let Some(own) = OWN_KUBECONFIG.get() {
        return own.clone();
    }
    match std::env::var_os("PSO_KUBECONFIG") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".testenv/kubeconfig"),
    }
}

/// The harness kubeconfig's `Config`.
pub async fn config() -> Config {
    let path = kubeconfig_path();
    let kc = Kubeconfig::read_from(&path).unwrap_or_else(|e| {
        panic!(
            "no local control plane: cannot read {} ({e}). Start it with `make testenv-up`.",
            path.display()
        )
    });
    Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .expect("harness kubeconfig is usable")
}

/// A client authenticated as the harness admin (system:masters).
pub async fn client() -> Client {
    Client::try_from(config().await).expect("client from harness kubeconfig")
}

/// Runs `f` with a fresh namespace that is deleted afterwards, also when `f` panics. It is
/// labelled `pso-test: "true"`, which the tests' access policy ([`TEST_POLICY`]) serves.
pub async fn with_temp_ns<F, Fut, T>(f: F) -> T
where
    F: FnOnce(Client, String) -> Fut,
    Fut: Future<Output = T>,
{
    with_temp_ns_labelled("true", f).await
}

/// [`with_temp_ns`] with the label `pso-test: <value>`: any value but `"true"` gives a
/// namespace no access policy of the tests serves (the policy tests write their own).
pub async fn with_temp_ns_labelled<F, Fut, T>(value: &str, f: F) -> T
where
    F: FnOnce(Client, String) -> Fut,
    Fut: Future<Output = T>,
{
    let client = client().await;
    let name = format!("t-{:08x}", rand::random::<u32>());
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let ns = Namespace {
        metadata: kube::api::ObjectMeta {
            name: Some(name.clone()),
            labels: Some([("pso-test".to_string(), value.to_string())].into()),
            ..Default::default()
        },
        ..Default::default()
    };
    namespaces
        .create(&PostParams::default(), &ns)
        .await
        .expect("create test namespace");
    let out = std::panic::AssertUnwindSafe(f(client, name.clone()))
        .catch_unwind()
        .await;
    let _ = namespaces.delete(&name, &DeleteParams::default()).await;
    match out {
        Ok(v) => v,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// Polls `api.get(name)` every 200 ms until `cond` holds or `timeout` passes. On timeout it
/// panics with the object as YAML and its events, so the failure explains itself.
pub async fn wait_for<K>(
    api: &Api<K>,
    name: &str,
    timeout: Duration,
    what: &str,
    cond: impl Fn(&K) -> bool,
) -> K
where
    K: Resource + Clone + Debug + DeserializeOwned + Serialize,
{
    let deadline = Instant::now() + timeout;
    let mut last = None;
    loop {
        match api.get_opt(name).await {
            Ok(Some(obj)) if cond(&obj) => return obj,
            Ok(obj) => last = obj,
            Err(e) => eprintln!("wait_for {name}: get failed: {e}"),
        }
        if Instant::now() >= deadline {
            let shown = match &last {
                Some(o) => serde_norway::to_string(o).unwrap_or_default(),
                None => "<absent>".into(),
            };
            let events = events_for(api, name, last.as_ref()).await;
            panic!(
                "timed out after {timeout:?} waiting for {name} to be {what}\n--- object ---\n{shown}--- events ---\n{events}"
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Waits until `name` no longer exists.
pub async fn wait_gone<K>(api: &Api<K>, name: &str, timeout: Duration)
where
    K: Resource + Clone + Debug + DeserializeOwned + Serialize,
{
    let deadline = Instant::now() + timeout;
    loop {
        let obj = api.get_opt(name).await.expect("get");
        let Some(obj) = obj else { return };
        if Instant::now() >= deadline {
            let shown = serde_norway::to_string(&obj).unwrap_or_default();
            let events = events_for(api, name, Some(&obj)).await;
            panic!(
                "timed out after {timeout:?} waiting for {name} to be gone\n--- object ---\n{shown}--- events ---\n{events}"
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The events that involve the object, one line each (type, reason, message). They are looked
/// up in the object's namespace or, when the object never appeared, in the namespace `api`
/// looks in (every namespace for a cluster-scoped `api`).
pub async fn events_for<K>(api: &Api<K>, name: &str, obj: Option<&K>) -> String
where
    K: Resource,
{
    let ns = obj
        .and_then(kube::ResourceExt::namespace)
        .or_else(|| api.namespace().map(String::from));
    let events: Api<Event> = match &ns {
        Some(ns) => Api::namespaced(client().await, ns),
        None => Api::all(client().await),
    };
    let lp = ListParams::default().fields(&format!("involvedObject.name={name}"));
    match events.list(&lp).await {
        Ok(list) if list.items.is_empty() => "<no events>\n".into(),
        Ok(list) => list
            .items
            .iter()
            .map(|e| {
                format!(
                    "{} {} {}\n",
                    e.type_.as_deref().unwrap_or("?"),
                    e.reason.as_deref().unwrap_or("?"),
                    e.message.as_deref().unwrap_or("")
                )
            })
            .collect(),
        Err(e) => format!("<events unavailable: {e}>\n"),
    }
}

/// Polls an arbitrary async check until it returns `Some`, or panics with the last
/// observation after `timeout`.
pub async fn eventually<T, O: Debug, Fut>(
    timeout: Duration,
    what: &str,
    mut check: impl FnMut() -> Fut,
) -> T
where
    Fut: Future<Output = Result<T, O>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        match check().await {
            Ok(v) => return v,
            Err(seen) if Instant::now() >= deadline => {
                panic!("timed out after {timeout:?} waiting for {what}; last saw: {seen:?}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

/// Applies every CRD that `crdgen` prints (server-side apply) and waits until each is
/// Established, once per test process (later calls return the same CRDs); the test access
/// policy is applied on every call. Returns the CRDs applied.
///
/// Once: an apply of our six CRDs changes nothing after the first, yet costs the API server
/// about 0.45 s of CPU (a server-side apply over their large schemas); called by every test it
/// was most of the control plane's work in the reconciler tests.
pub async fn install_crds()
-> Vec<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition>
{
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
    static APPLIED: tokio::sync::OnceCell<Vec<CustomResourceDefinition>> =
        tokio::sync::OnceCell::const_new();
    let crds = APPLIED.get_or_init(apply_crds).await.clone();
    install_test_policy().await;
    crds
}

async fn apply_crds()
-> Vec<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition>
{
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
    use kube::api::{Patch, PatchParams};
    let out = std::process::Command::new(bin_path("crdgen"))
        .output()
        .expect("run crdgen");
    assert!(
        out.status.success(),
        "crdgen failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let crds: Vec<CustomResourceDefinition> = text
        .split("\n---")
        .map(|doc| doc.trim_start_matches("---").trim())
        .filter(|doc| !doc.is_empty())
        .map(|doc| serde_norway::from_str(doc).expect("crdgen prints CRD YAML"))
        .collect();
    let api: Api<CustomResourceDefinition> = Api::all(client().await);
    for crd in &crds {
        let name = crd.name_any();
        api.patch(
            &name,
            &PatchParams::apply("pso-test").force(),
            &Patch::Apply(crd),
        )
        .await
        .unwrap_or_else(|e| panic!("apply CRD {name}: {e}"));
        wait_established(&api, &name, Duration::from_secs(60)).await;
    }
    crds
}

/// The access policy every test namespace ([`with_temp_ns`]) is served by.
pub const TEST_POLICY: &str = "pso-test";

/// Applies [`TEST_POLICY`]: namespaces labelled `pso-test: "true"` may use any credentials
/// for anything (every role, every production action), as the tests did before policies.
pub async fn install_test_policy() {
    use kube::api::{Patch, PatchParams};
    use planetscale_operator::crd::PlanetScaleAccessPolicy;
    let policy: PlanetScaleAccessPolicy = serde_json::from_value(serde_json::json!({
        "apiVersion": "planetscale.operator.dev/v1alpha1",
        "kind": "PlanetScaleAccessPolicy",
        "metadata": { "name": TEST_POLICY },
        "spec": { "rules": [{
            "name": "test-namespaces",
            "namespaces": { "selector": { "matchLabels": { "pso-test": "true" } } },
            "credentials": { "default": true, "secrets": ["*"] },
            "organizations": ["*"],
            "passwordRoles": ["reader", "writer", "readwriter", "admin"],
            "production": { "adopt": true, "delete": true, "promote": true, "passwords": true, "deleteDatabases": true }
        }]}
    }))
    .expect("the test policy");
    let api: Api<PlanetScaleAccessPolicy> = Api::all(client().await);
    api.patch(
        TEST_POLICY,
        &PatchParams::apply("pso-test").force(),
        &Patch::Apply(&policy),
    )
    .await
    .unwrap_or_else(|e| panic!("apply the test access policy: {e}"));
}

/// Waits until the CustomResourceDefinition `name` is Established (its kind is served).
pub async fn wait_established(
    api: &Api<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition>,
    name: &str,
    timeout: Duration,
) {
    wait_for(api, name, timeout, "Established", |c| {
        c.status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|cs| {
                cs.iter()
                    .any(|c| c.type_ == "Established" && c.status == "True")
            })
    })
    .await;
}
