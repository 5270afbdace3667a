//! Preview environments (docs/preview-environments.md): a namespace per pull request with a
//! branch, a password and a deploy request, cleaned up by deleting the namespace. Whichever
//! credentials the namespace uses, the namespace must go and nothing may be left in
//! PlanetScale — also when the namespace's own credentials Secret is deleted with it.
//!
//! Needs `make testenv-up` (with the namespace controller) and `cargo build --workspace --bins`.
mod support;

#[path = "runtime/flows.rs"]
mod flows;

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::{DeleteParams, ListParams};
use kube::{Api, Client, Resource, ResourceExt};
use planetscale_operator::crd::{DeployRequest, PlanetScaleBranch, PlanetScalePassword, SecretRef};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use support::env::{TOKEN, TOKEN_ID, create_credentials_secret};
use support::{Emulator, Operator};

/// How long deleting the namespace may take until it is gone.
const NAMESPACE_GONE: Duration = Duration::from_secs(60);
/// The credentials Secret a preview namespace carries in the per-namespace case.
const PREVIEW_CREDENTIALS: &str = "preview-planetscale";
/// The operator's default credentials Secret, in its own namespace.
const DEFAULT_CREDENTIALS: &str = "pso-default";

#[tokio::test]
async fn deleting_a_preview_namespace_with_default_credentials_leaves_nothing_behind() {
    preview_namespace_is_deleted_cleanly(None).await;
}

#[tokio::test]
async fn deleting_a_preview_namespace_with_its_own_credentials_leaves_nothing_behind() {
    preview_namespace_is_deleted_cleanly(Some(PREVIEW_CREDENTIALS)).await;
}

/// The preview of docs/preview-environments.md in a fresh namespace, the operator's default
/// credentials in another one; resources name `credentials` in `spec.credentialsRef` (a
/// Secret in the preview namespace) or use the defaults. Deleting the namespace must remove
/// it and everything the operator created in PlanetScale.
async fn preview_namespace_is_deleted_cleanly(credentials: Option<&'static str>) {
    support::install_crds().await;
    let emu = Emulator::start(flows::EMULATOR_ARGS).await;
    let emu = &emu;
    support::with_temp_ns(|_client, ops| async move {
        support::with_temp_ns(|client, pr| async move {
            let secret_ns = if credentials.is_some() { &pr } else { &ops };
            let secret = credentials.unwrap_or(DEFAULT_CREDENTIALS);
            create_credentials_secret(client.clone(), secret_ns, secret, TOKEN_ID, TOKEN).await;
            let env = [
                ("PSO_OPERATOR_NAMESPACE", ops.as_str()),
                ("PSO_DEFAULT_CREDENTIALS_SECRET", DEFAULT_CREDENTIALS),
            ];
            let operator = Operator::start(&pr, emu, &env);
            create_preview(&client, &pr, emu, credentials).await;
            let took = delete_namespace(&client, &pr, &operator).await;
            println!(
                "namespace {pr} ({}) gone {took:?} after its deletion",
                credentials.map_or("default credentials", |_| "its own credentials Secret")
            );
            assert_nothing_left(emu).await;
            drop(operator);
        })
        .await;
    })
    .await;
}

/// A branch, a password on it (whose Secret works) and an open deploy request, all Ready.
async fn create_preview(client: &Client, ns: &str, emu: &Emulator, credentials: Option<&str>) {
    let creds = credentials.map(|name| SecretRef {
        name: name.to_string(),
    });
    let mut branch = flows::branch("pr-1234");
    branch.spec.credentials_ref = creds.clone();
    let mut password = flows::password("app", "pr-1234");
    password.spec.credentials_ref = creds.clone();
    let mut request = flows::deploy_request("schema", "pr-1234");
    request.spec.deploy = false;
    request.spec.credentials_ref = creds;
    flows::apply(client, ns, &branch).await;
    let branches: Api<PlanetScaleBranch> = Api::namespaced(client.clone(), ns);
    support::wait_for(
        &branches,
        "pr-1234",
        flows::WAIT,
        "Ready",
        flows::branch_ready,
    )
    .await;
    flows::add_table(emu, "pr-1234", "pr_1234_notes").await;
    flows::apply(client, ns, &password).await;
    flows::apply(client, ns, &request).await;
    let passwords: Api<PlanetScalePassword> = Api::namespaced(client.clone(), ns);
    support::wait_for(
        &passwords,
        "app",
        flows::WAIT,
        "Ready",
        flows::password_ready,
    )
    .await;
    flows::working_secret(client, emu, ns, "app-db", "pr-1234").await;
    let requests: Api<DeployRequest> = Api::namespaced(client.clone(), ns);
    let open = |d: &DeployRequest| d.status.as_ref().is_some_and(|s| s.number.is_some());
    support::wait_for(&requests, "schema", flows::WAIT, "opened", open).await;
}

/// Deletes namespace `ns` and waits until it is gone; returns how long that took. On timeout
/// it shows what holds the namespace: our resources with their conditions, and the Secrets.
async fn delete_namespace(client: &Client, ns: &str, operator: &Operator) -> Duration {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let started = Instant::now();
    namespaces
        .delete(ns, &DeleteParams::default())
        .await
        .expect("delete namespace");
    loop {
        if namespaces
            .get_opt(ns)
            .await
            .expect("get namespace")
            .is_none()
        {
            return started.elapsed();
        }
        if started.elapsed() > NAMESPACE_GONE {
            let left = leftovers(client, ns).await;
            let log = operator.log();
            let tail: Vec<&str> = log.lines().rev().take(12).collect();
            panic!(
                "namespace {ns} still exists {NAMESPACE_GONE:?} after its deletion; in it:\n{left}\
                 --- operator log (last lines, newest first) ---\n{}",
                tail.join("\n")
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Our resources in `ns` (finalizers, Ready and DeletionBlocked) and its Secrets (finalizers).
async fn leftovers(client: &Client, ns: &str) -> String {
    let mut out = String::new();
    out += &describe::<PlanetScaleBranch>(client, ns, |o| o.status.as_ref().map(|s| &s.conditions))
        .await;
    out +=
        &describe::<PlanetScalePassword>(client, ns, |o| o.status.as_ref().map(|s| &s.conditions))
            .await;
    out +=
        &describe::<DeployRequest>(client, ns, |o| o.status.as_ref().map(|s| &s.conditions)).await;
    let secrets: Api<Secret> = Api::namespaced(client.clone(), ns);
    for s in secrets
        .list(&ListParams::default())
        .await
        .map(|l| l.items)
        .unwrap_or_default()
    {
        out += &format!("Secret {} finalizers {:?}\n", s.name_any(), s.finalizers());
    }
    out
}

async fn describe<K>(
    client: &Client,
    ns: &str,
    conditions: impl Fn(&K) -> Option<&Vec<k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition>>,
) -> String
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + std::fmt::Debug
        + DeserializeOwned,
{
    let api: Api<K> = Api::namespaced(client.clone(), ns);
    let items = api.list(&ListParams::default()).await.map(|l| l.items);
    let mut out = String::new();
    for o in items.unwrap_or_default() {
        let shown: Vec<String> = conditions(&o)
            .into_iter()
            .flatten()
            .filter(|c| c.type_ == "Ready" || c.type_ == "DeletionBlocked")
            .map(|c| format!("{}={} {}: {}", c.type_, c.status, c.reason, c.message))
            .collect();
        out += &format!(
            "{} {} finalizers {:?}\n  {}\n",
            K::kind(&()),
            o.name_any(),
            o.finalizers(),
            shown.join("\n  ")
        );
    }
    out
}

/// The emulator holds no branch but `main`, no live password and no open deploy request.
async fn assert_nothing_left(emu: &Emulator) {
    let world = emu.world().await;
    let list = |key: &str| world[key].as_array().cloned().unwrap_or_default();
    let branches: Vec<Value> = list("branches")
        .into_iter()
        .filter(|b| b["name"] != "main")
        .collect();
    let passwords: Vec<Value> = list("passwords")
        .into_iter()
        .filter(|p| p["deleted"] == json!(false))
        .collect();
    let requests: Vec<Value> = list("deploy_requests")
        .into_iter()
        .filter(|d| d["state"] != "closed")
        .collect();
    assert!(
        branches.is_empty() && passwords.is_empty() && requests.is_empty(),
        "left in PlanetScale: branches {branches:?}, live passwords {passwords:?}, open deploy requests {requests:?}"
    );
}
