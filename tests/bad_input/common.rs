//! Helpers of the runtime bad-input tests: manifests of the three kinds as JSON, the `Ready`
//! condition and events of any of them, API calls counted by the emulator over a time window,
//! Secrets and direct PlanetScale calls (a user fixing things outside Kubernetes).
use std::collections::BTreeMap;
use std::fmt::Debug;
use std::time::Duration;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{ListParams, ObjectMeta, Patch, PatchParams, PostParams};
use kube::core::NamespaceResourceScope;
use kube::{Api, Client, Resource};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::support::{self, Emulator, env};

/// How long a reason or a recovery that follows a watch event may take.
pub const PROMPT: Duration = Duration::from_secs(60);
/// The operator's slow retry in these tests (`PSO_SLOW_RETRY`, 5 minutes by default): how
/// often a resource stuck on something only a person can fix looks again. Short, so that a
/// fix made only in PlanetScale shows within a minute; as long as the longest fixed poll of a
/// waiting resource (30 s), so the bound on API calls per minute stays what users get.
pub const SLOW_RETRY: Duration = Duration::from_secs(30);
/// How long a recovery that only a retry notices may take: the slow retry, or the 60 s a
/// deploy request waits before it looks again for a missing source branch, whichever is
/// longer, plus a margin. Far below the default slow retry, so a test fails if the operator
/// ignores `PSO_SLOW_RETRY`.
pub const SLOW: Duration = Duration::from_secs(max(SLOW_RETRY.as_secs(), 60) + 30);

const fn max(a: u64, b: u64) -> u64 {
    if a > b { a } else { b }
}

/// The operator's environment in every test: [`SLOW_RETRY`].
pub fn operator_env() -> [(&'static str, String); 1] {
    [("PSO_SLOW_RETRY", format!("{}s", SLOW_RETRY.as_secs()))]
}

/// [`support::with_operator`] with the suite's emulator flags and [`operator_env`].
pub async fn with_operator<F, Fut, T>(f: F) -> T
where
    F: FnOnce(Client, String, Emulator, support::Operator) -> Fut,
    Fut: std::future::Future<Output = T>,
{
    let vars = operator_env();
    let env: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    support::with_operator(super::EMULATOR, &env, f).await
}

/// A namespaced object of one of our kinds from its JSON manifest (`apiVersion` added).
pub fn object<K: DeserializeOwned>(kind: &str, name: &str, spec: Value) -> K {
    let mut manifest = json!({
        "apiVersion": "planetscale.operator.dev/v1alpha1",
        "kind": kind,
        "metadata": {"name": name},
    });
    manifest["spec"] = spec;
    serde_json::from_value(manifest).unwrap_or_else(|e| panic!("{kind} {name}: {e}"))
}

/// Server-side applies `obj` as the test's field manager.
pub async fn apply<K>(api: &Api<K>, name: &str, obj: &K)
where
    K: Resource + Clone + Debug + Serialize + DeserializeOwned,
{
    let pp = PatchParams::apply("pso-test").force();
    api.patch(name, &pp, &Patch::Apply(obj))
        .await
        .unwrap_or_else(|e| panic!("apply {name}: {e}"));
}

/// Merge-patches `patch` into the object.
pub async fn merge<K>(api: &Api<K>, name: &str, patch: Value)
where
    K: Resource + Clone + Debug + DeserializeOwned,
{
    api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap_or_else(|e| panic!("patch {name}: {e}"));
}

/// The `type` condition's (status, reason, message).
pub fn condition<K: Serialize>(obj: &K, type_: &str) -> Option<(String, String, String)> {
    let v = serde_json::to_value(obj).ok()?;
    let c = v["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == type_)?
        .clone();
    let s = |k: &str| c[k].as_str().unwrap_or_default().to_string();
    Some((s("status"), s("reason"), s("message")))
}

/// `Ready=True` for the current generation.
pub fn is_ready<K: Serialize>(obj: &K) -> bool {
    let v = serde_json::to_value(obj).expect("json");
    let current = v["status"]["observedGeneration"] == v["metadata"]["generation"];
    current && condition(obj, "Ready").is_some_and(|c| c.0 == "True")
}

/// Every request the emulator answered so far.
pub async fn total_calls(emu: &Emulator) -> u64 {
    emu.stats().await["total"].as_u64().unwrap_or(0)
}

/// Creates Secret `name` with `data`, or replaces the data of the existing one.
pub async fn put_secret(client: &Client, ns: &str, name: &str, data: &[(&str, &str)]) {
    let api: Api<Secret> = Api::namespaced(client.clone(), ns);
    let data: BTreeMap<String, ByteString> = data
        .iter()
        .map(|(k, v)| (k.to_string(), ByteString(v.as_bytes().to_vec())))
        .collect();
    match api.get_opt(name).await.expect("get Secret") {
        Some(mut existing) => {
            existing.data = Some(data);
            api.replace(name, &PostParams::default(), &existing)
                .await
                .expect("replace Secret");
        }
        None => {
            let secret = Secret {
                metadata: ObjectMeta {
                    name: Some(name.into()),
                    ..Default::default()
                },
                data: Some(data),
                ..Default::default()
            };
            api.create(&PostParams::default(), &secret)
                .await
                .expect("create Secret");
        }
    }
}

/// Service-token credentials for the emulator's full-access default token.
pub fn full_access() -> [(&'static str, &'static str); 2] {
    [
        ("serviceTokenId", env::TOKEN_ID),
        ("serviceToken", env::TOKEN),
    ]
}

/// A PlanetScale client with the full-access token: a user acting outside Kubernetes.
pub fn planetscale(emu: &Emulator) -> planetscale_api::Client {
    let creds = planetscale_api::Credentials::service_token(env::TOKEN_ID, env::TOKEN);
    planetscale_api::Client::builder(creds)
        .base_url(emu.api_url())
        .build()
        .expect("client")
}

/// Development branch `name` of acme/shop (ready at once with the test's emulator flags) with
/// one more table than `main`: something to open a deploy request for.
pub async fn dev_branch_with_change(emu: &Emulator, name: &str) {
    let ps = planetscale(emu);
    let body = planetscale_api::models::CreateBranch {
        name: name.into(),
        parent_branch: Some("main".into()),
        ..Default::default()
    };
    ps.create_branch("acme", "shop", &body)
        .await
        .expect("create branch");
    support::eventually(PROMPT, &format!("branch {name} ready"), || async {
        match ps.get_branch("acme", "shop", name).await {
            Ok(b) if b.ready => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    let mut tables: Vec<String> = ps
        .get_branch_schema("acme", "shop", name, None)
        .await
        .expect("schema")
        .into_iter()
        .map(|t| t.raw)
        .collect();
    tables.push("CREATE TABLE `audit` (`id` bigint NOT NULL, PRIMARY KEY (`id`))".into());
    let url = format!("/_emulator/organizations/acme/databases/shop/branches/{name}/schema");
    let r = reqwest::Client::new()
        .put(format!("{}{url}", emu.url))
        .json(&json!({"tables": tables}))
        .send()
        .await
        .expect("emulator");
    assert!(r.status().is_success(), "set schema: {}", r.status());
}

/// `Api` of kind `K` in `ns`.
pub fn api<K>(client: &Client, ns: &str) -> Api<K>
where
    K: Resource<Scope = NamespaceResourceScope>,
    K::DynamicType: Default,
{
    Api::namespaced(client.clone(), ns)
}

/// Deletes every resource of the namespace while the operator still runs, leaving PlanetScale
/// as it is (`deletionPolicy: Retain`), so that the namespace can go.
pub async fn teardown(client: &Client, ns: &str) {
    use planetscale_operator::crd::DeployRequest;
    use planetscale_operator::crd::branch::PlanetScaleBranch;
    use planetscale_operator::crd::password::PlanetScalePassword;
    let retain = json!({"spec": {"deletionPolicy": "Retain"}});
    let branches = api::<PlanetScaleBranch>(client, ns);
    let passwords = api::<PlanetScalePassword>(client, ns);
    let drs = api::<DeployRequest>(client, ns);
    let lp = ListParams::default();
    let dp = kube::api::DeleteParams::default();
    for o in branches.list(&lp).await.expect("list").items {
        let name = o.metadata.name.expect("name");
        let _ = branches
            .patch(&name, &PatchParams::default(), &Patch::Merge(&retain))
            .await;
        let _ = branches.delete(&name, &dp).await;
    }
    for o in passwords.list(&lp).await.expect("list").items {
        let name = o.metadata.name.expect("name");
        let _ = passwords
            .patch(&name, &PatchParams::default(), &Patch::Merge(&retain))
            .await;
        let _ = passwords.delete(&name, &dp).await;
    }
    for o in drs.list(&lp).await.expect("list").items {
        let _ = drs.delete(&o.metadata.name.expect("name"), &dp).await;
    }
    support::eventually(PROMPT, "every resource gone", || async {
        let left = branches.list(&lp).await.expect("list").items.len()
            + passwords.list(&lp).await.expect("list").items.len()
            + drs.list(&lp).await.expect("list").items.len();
        if left == 0 {
            Ok(())
        } else {
            Err(format!("{left} left"))
        }
    })
    .await;
}
