//! Helpers of the branch controller tests: manifests, conditions, events, direct PlanetScale
//! calls (a user acting outside Kubernetes) and emulator request counts.
use std::time::Duration;

use k8s_openapi::api::core::v1::Event;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams};
use kube::{Api, Client, ResourceExt};
use planetscale_api::Credentials;
use planetscale_api::models::Branch;
use planetscale_operator::crd::branch::PlanetScaleBranch;
use serde_json::{Value, json};

use crate::support::{self, Emulator, env};

/// How long a branch may take to become Ready (the emulator's branch ready delay is seconds).
pub const READY: Duration = Duration::from_secs(45);

/// A `PlanetScaleBranch` in organization `acme`, database `shop`, with `spec` merged in.
pub fn branch(name: &str, spec: Value) -> PlanetScaleBranch {
    let mut s = json!({"organization": "acme", "database": "shop"});
    let Value::Object(spec) = spec else {
        panic!("spec object: {spec}")
    };
    s.as_object_mut().unwrap().extend(spec);
    serde_json::from_value(json!({
        "apiVersion": "planetscale.operator.dev/v1alpha1",
        "kind": "PlanetScaleBranch",
        "metadata": {"name": name},
        "spec": s,
    }))
    .expect("valid PlanetScaleBranch")
}

/// The pause annotation.
pub const PAUSED: &str = "planetscale.operator.dev/paused";

/// A `branch(name, {})` with the pause annotation.
pub fn paused_branch(name: &str) -> PlanetScaleBranch {
    let mut obj = branch(name, json!({}));
    obj.metadata.annotations = Some([(PAUSED.to_string(), "true".to_string())].into());
    obj
}

/// Sets (`true`) or removes the pause annotation.
pub async fn set_paused(api: &Api<PlanetScaleBranch>, name: &str, on: bool) {
    let value = if on { json!("true") } else { json!(null) };
    merge(
        api,
        name,
        json!({"metadata": {"annotations": {PAUSED: value}}}),
    )
    .await;
}

/// Server-side applies `obj` as the test's field manager.
pub async fn apply(api: &Api<PlanetScaleBranch>, obj: &PlanetScaleBranch) -> PlanetScaleBranch {
    let pp = PatchParams::apply("pso-test").force();
    api.patch(&obj.name_any(), &pp, &Patch::Apply(obj))
        .await
        .unwrap_or_else(|e| panic!("apply {}: {e}", obj.name_any()))
}

/// Merge-patches `patch` into the object.
pub async fn merge(api: &Api<PlanetScaleBranch>, name: &str, patch: Value) {
    api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap_or_else(|e| panic!("patch {name}: {e}"));
}

/// The `type` condition's (status, reason, message), if present.
pub fn condition(obj: &PlanetScaleBranch, type_: &str) -> Option<(String, String, String)> {
    let s = obj.status.as_ref()?;
    let c = s.conditions.iter().find(|c| c.type_ == type_)?;
    Some((c.status.clone(), c.reason.clone(), c.message.clone()))
}

/// `Ready=True` for the current generation.
pub fn is_ready(obj: &PlanetScaleBranch) -> bool {
    let gen_ok = obj.status.as_ref().and_then(|s| s.observed_generation) == obj.metadata.generation;
    gen_ok && condition(obj, "Ready").is_some_and(|c| c.0 == "True")
}

/// `Ready=False` with `reason`.
pub fn not_ready_because(obj: &PlanetScaleBranch, reason: &str) -> bool {
    condition(obj, "Ready").is_some_and(|c| c.0 == "False" && c.1 == reason)
}

/// Waits until the object is Ready and returns it.
pub async fn wait_ready(api: &Api<PlanetScaleBranch>, name: &str) -> PlanetScaleBranch {
    support::wait_for(api, name, READY, "Ready", is_ready).await
}

/// Waits until `Ready=False` with `reason`.
pub async fn wait_reason(
    api: &Api<PlanetScaleBranch>,
    name: &str,
    reason: &str,
) -> PlanetScaleBranch {
    let what = format!("Ready=False reason {reason}");
    support::wait_for(api, name, READY, &what, |o| not_ready_because(o, reason)).await
}

/// The (reason, message) of the events about `name` in `ns`.
pub async fn events(client: &Client, ns: &str, name: &str) -> Vec<(String, String)> {
    let api: Api<Event> = Api::namespaced(client.clone(), ns);
    let lp = ListParams::default().fields(&format!("involvedObject.name={name}"));
    let list = api.list(&lp).await.expect("list events");
    list.items
        .into_iter()
        .map(|e| (e.reason.unwrap_or_default(), e.message.unwrap_or_default()))
        .collect()
}

/// Waits until an event with `reason` about `name` exists; returns its message.
pub async fn wait_event(client: &Client, ns: &str, name: &str, reason: &str) -> String {
    support::eventually(READY, &format!("a {reason} event on {name}"), || async {
        let all = events(client, ns, name).await;
        match all.iter().find(|(r, _)| r == reason) {
            Some((_, m)) => Ok(m.clone()),
            None => Err(all),
        }
    })
    .await
}

/// A PlanetScale client with the emulator's full-access token: a user acting outside
/// Kubernetes.
pub fn planetscale(emulator: &Emulator) -> planetscale_api::Client {
    planetscale_api::Client::builder(Credentials::service_token(env::TOKEN_ID, env::TOKEN))
        .base_url(emulator.api_url())
        .build()
        .expect("client")
}

/// The branch as PlanetScale has it, if it exists.
pub async fn ps_branch(emulator: &Emulator, name: &str) -> Option<Branch> {
    match planetscale(emulator).get_branch("acme", "shop", name).await {
        Ok(b) => Some(b),
        Err(planetscale_api::Error::NotFound { .. }) => None,
        Err(e) => panic!("get_branch {name}: {e}"),
    }
}

/// A POST to the PlanetScale API (for calls the typed client does not have).
pub async fn ps_post(emulator: &Emulator, path: &str, body: Value) -> Value {
    let r = reqwest::Client::new()
        .post(format!("{}{path}", emulator.api_url()))
        .header("Authorization", format!("{}:{}", env::TOKEN_ID, env::TOKEN))
        .json(&body)
        .send()
        .await
        .expect("emulator reachable");
    let status = r.status();
    let text = r.text().await.unwrap_or_default();
    assert!(status.is_success(), "POST {path}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// Requests the emulator answered, for `operation` (all when `None`) with HTTP `status`
/// (any when `None`).
pub async fn calls(emulator: &Emulator, operation: Option<&str>, status: Option<u16>) -> u64 {
    let stats = emulator.stats().await;
    let ops = stats["operations"].as_object().cloned().unwrap_or_default();
    ops.iter()
        .filter(|(name, _)| operation.is_none_or(|o| o == name.as_str()))
        .map(|(_, v)| match status {
            Some(s) => v["by_status"][s.to_string()].as_u64().unwrap_or(0),
            None => v["total"].as_u64().unwrap_or(0),
        })
        .sum()
}

/// Forgets the emulator's request counts.
pub async fn reset_calls(emulator: &Emulator) {
    let r = reqwest::Client::new()
        .delete(format!("{}/_emulator/stats", emulator.url))
        .send()
        .await
        .expect("emulator reachable");
    assert!(r.status().is_success(), "reset stats: {}", r.status());
}

/// Deletes `name` and waits until it is gone (the operator has run the finalizer).
pub async fn delete_and_wait(api: &Api<PlanetScaleBranch>, name: &str) {
    api.delete(name, &DeleteParams::default())
        .await
        .unwrap_or_else(|e| panic!("delete {name}: {e}"));
    support::wait_gone(api, name, READY).await;
}

/// Lets every remaining object go without touching PlanetScale (deletionPolicy Retain), so
/// that the namespace can be deleted while the operator still runs.
pub async fn teardown(api: &Api<PlanetScaleBranch>) {
    let list = api.list(&ListParams::default()).await.expect("list");
    for o in &list.items {
        let name = o.name_any();
        let retain = json!({
            "metadata": {"annotations": {PAUSED: null}},
            "spec": {"deletionPolicy": "Retain"},
        });
        let _ = api
            .patch(&name, &PatchParams::default(), &Patch::Merge(&retain))
            .await;
        let _ = api.delete(&name, &DeleteParams::default()).await;
    }
    for o in &list.items {
        support::wait_gone(api, &o.name_any(), READY).await;
    }
}
