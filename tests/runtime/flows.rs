//! The three things a user does with the operator, end to end, for the runtime, chart and
//! leader-election tests: a `PlanetScaleBranch` becomes Ready, a `PlanetScalePassword` on it
//! writes a Secret whose credentials work, and a `DeployRequest` of a schema change on it is
//! deployed (`deploymentState: complete`).
#![allow(dead_code)] // shared by several test binaries, each using a part

use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::api::{DeleteParams, Patch, PatchParams};
use kube::{Api, Client, Resource, ResourceExt};
use planetscale_api::Credentials;
use planetscale_operator::crd::{
    DeployRequest, PlanetScaleBackup, PlanetScaleBranch, PlanetScaleDatabase, PlanetScalePassword,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::support::env::{TOKEN, TOKEN_ID};
use crate::support::{self, Emulator};

/// Emulator timings of the flows: branches are ready after a second, each deploy step takes one.
pub const EMULATOR_ARGS: &[&str] = &[
    "--branch-ready-delay",
    "1s",
    "--deploy-check-duration",
    "1s",
    "--deploy-step-duration",
    "1s",
    "--backup-duration",
    "1s",
];
/// How long one flow may take to reach its end state.
pub const WAIT: Duration = Duration::from_secs(90);

/// A development branch `name` of `acme/shop` from `main`.
pub fn branch(name: &str) -> PlanetScaleBranch {
    serde_json::from_value(json!({
        "apiVersion": "planetscale.operator.dev/v1alpha1", "kind": "PlanetScaleBranch",
        "metadata": {"name": name},
        "spec": {"organization": "acme", "database": "shop", "parentBranch": "main",
                 "deletionPolicy": "Delete"},
    }))
    .expect("valid PlanetScaleBranch")
}

/// A read-write password on the `PlanetScaleBranch` `branch`, in Secret `<name>-db`.
pub fn password(name: &str, branch: &str) -> PlanetScalePassword {
    serde_json::from_value(json!({
        "apiVersion": "planetscale.operator.dev/v1alpha1", "kind": "PlanetScalePassword",
        "metadata": {"name": name},
        "spec": {"branchRef": {"name": branch}, "role": "readwriter",
                 "secret": {"name": format!("{name}-db"), "formats": ["mysql-url"]}},
    }))
    .expect("valid PlanetScalePassword")
}

/// A deploy request of `branch` into `main`, deployed without a revert window.
pub fn deploy_request(name: &str, branch: &str) -> DeployRequest {
    serde_json::from_value(json!({
        "apiVersion": "planetscale.operator.dev/v1alpha1", "kind": "DeployRequest",
        "metadata": {"name": name},
        "spec": {"branchRef": {"name": branch}, "deploy": true, "autoApply": true,
                 "skipRevert": true, "notes": "runtime test"},
    }))
    .expect("valid DeployRequest")
}

/// Server-side applies `obj` in `ns` as the test's field manager.
pub async fn apply<K>(client: &Client, ns: &str, obj: &K)
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + std::fmt::Debug
        + Serialize
        + DeserializeOwned,
{
    let api: Api<K> = Api::namespaced(client.clone(), ns);
    let pp = PatchParams::apply("pso-test").force();
    api.patch(&obj.name_any(), &pp, &Patch::Apply(obj))
        .await
        .unwrap_or_else(|e| panic!("apply {} {}: {e}", K::kind(&()), obj.name_any()));
}

/// `Ready=True` for the current generation.
pub fn ready(conditions: &[Condition], generation: Option<i64>) -> bool {
    conditions
        .iter()
        .any(|c| c.type_ == "Ready" && c.status == "True" && c.observed_generation == generation)
}

pub fn branch_ready(b: &PlanetScaleBranch) -> bool {
    let conditions = b.status.as_ref().map(|s| s.conditions.as_slice());
    ready(conditions.unwrap_or_default(), b.metadata.generation)
}

pub fn password_ready(p: &PlanetScalePassword) -> bool {
    let conditions = p.status.as_ref().map(|s| s.conditions.as_slice());
    ready(conditions.unwrap_or_default(), p.metadata.generation)
}

/// Deployed to the end: `Ready=True` (reason `Deployed`) and `deploymentState: complete`.
pub fn deployed(d: &DeployRequest) -> bool {
    let Some(s) = d.status.as_ref() else {
        return false;
    };
    let reason_deployed = s
        .conditions
        .iter()
        .any(|c| c.type_ == "Ready" && c.status == "True" && c.reason == "Deployed");
    reason_deployed && s.deployment_state.as_deref() == Some("complete")
}

/// Replaces the schema of branch `name` with its current tables plus `table` (a developer's
/// DDL on the branch).
pub async fn add_table(emu: &Emulator, branch: &str, table: &str) {
    let ps = planetscale_api::Client::builder(Credentials::service_token(TOKEN_ID, TOKEN))
        .base_url(emu.api_url())
        .build()
        .expect("PlanetScale client");
    let schema = ps
        .get_branch_schema("acme", "shop", branch, None)
        .await
        .expect("schema");
    let mut tables: Vec<String> = schema.into_iter().map(|t| t.raw).collect();
    tables.push(format!(
        "CREATE TABLE `{table}` (`id` bigint NOT NULL, `note` varchar(255), PRIMARY KEY (`id`)) ENGINE=InnoDB"
    ));
    let path = format!("/_emulator/organizations/acme/databases/shop/branches/{branch}/schema");
    let r = reqwest::Client::new()
        .put(format!("{}{path}", emu.url))
        .json(&json!({ "tables": tables }))
        .send()
        .await
        .expect("emulator");
    assert!(r.status().is_success(), "set schema: {}", r.status());
}

/// The credentials in Secret `name`, once the emulator accepts them on `branch`.
pub async fn working_secret(client: &Client, emu: &Emulator, ns: &str, name: &str, branch: &str) {
    let secrets: Api<k8s_openapi::api::core::v1::Secret> = Api::namespaced(client.clone(), ns);
    support::eventually(
        WAIT,
        &format!("Secret {name} with working credentials"),
        || async {
            let Some(secret) = secrets.get_opt(name).await.expect("get Secret") else {
                return Err("no Secret".to_string());
            };
            let data = secret.data.unwrap_or_default();
            let text = |k: &str| {
                data.get(k)
                    .map(|v| String::from_utf8_lossy(&v.0).into_owned())
            };
            let (Some(user), Some(pass)) = (text("username"), text("password")) else {
                return Err("no username/password".to_string());
            };
            if emu
                .password_valid("acme", "shop", branch, &user, &pass)
                .await
            {
                Ok(())
            } else {
                Err(format!("username {user} does not work on {branch}"))
            }
        },
    )
    .await;
}

/// All three flows in `ns`, names starting with `prefix`: a branch Ready, a password on it
/// with working credentials, a schema change deployed. Prints how long each took.
pub async fn run_all(client: &Client, ns: &str, emu: &Emulator, prefix: &str) {
    let started = std::time::Instant::now();
    let (b, p, d) = (
        format!("{prefix}-feature"),
        format!("{prefix}-app"),
        format!("{prefix}-ship"),
    );
    apply(client, ns, &branch(&b)).await;
    let branches: Api<PlanetScaleBranch> = Api::namespaced(client.clone(), ns);
    support::wait_for(&branches, &b, WAIT, "Ready", branch_ready).await;
    println!("{ns}: branch {b} Ready after {:?}", started.elapsed());

    add_table(emu, &b, &format!("{}_invoices", prefix.replace('-', "_"))).await;
    apply(client, ns, &password(&p, &b)).await;
    apply(client, ns, &deploy_request(&d, &b)).await;
    let passwords: Api<PlanetScalePassword> = Api::namespaced(client.clone(), ns);
    support::wait_for(&passwords, &p, WAIT, "Ready", password_ready).await;
    working_secret(client, emu, ns, &format!("{p}-db"), &b).await;
    println!(
        "{ns}: password {p} Ready, Secret works, after {:?}",
        started.elapsed()
    );
    let requests: Api<DeployRequest> = Api::namespaced(client.clone(), ns);
    support::wait_for(&requests, &d, WAIT, "deployed (complete)", deployed).await;
    println!(
        "{ns}: deploy request {d} complete after {:?}",
        started.elapsed()
    );
}

/// The database `shop`, observed only (reported, never changed), and a backup of `branch`:
/// every verb the chart grants on the two kinds is used (finalizer patches, status applies).
pub async fn database_and_backup(client: &Client, ns: &str, prefix: &str, branch: &str) {
    let (d, k) = (format!("{prefix}-shop"), format!("{prefix}-backup"));
    let db: PlanetScaleDatabase = serde_json::from_value(json!({
        "apiVersion": "planetscale.operator.dev/v1alpha1", "kind": "PlanetScaleDatabase",
        "metadata": {"name": d},
        "spec": {"organization": "acme", "databaseName": "shop", "managementPolicy": "Observe"},
    }))
    .expect("valid PlanetScaleDatabase");
    let backup: PlanetScaleBackup = serde_json::from_value(json!({
        "apiVersion": "planetscale.operator.dev/v1alpha1", "kind": "PlanetScaleBackup",
        "metadata": {"name": k},
        "spec": {"organization": "acme", "database": "shop", "branch": branch},
    }))
    .expect("valid PlanetScaleBackup");
    apply(client, ns, &db).await;
    apply(client, ns, &backup).await;
    let dbs: Api<PlanetScaleDatabase> = Api::namespaced(client.clone(), ns);
    support::wait_for(&dbs, &d, WAIT, "Ready", |o| {
        ready(
            o.status.as_ref().map_or(&[], |s| &s.conditions),
            o.metadata.generation,
        )
    })
    .await;
    let backups: Api<PlanetScaleBackup> = Api::namespaced(client.clone(), ns);
    support::wait_for(&backups, &k, WAIT, "Ready", |o| {
        ready(
            o.status.as_ref().map_or(&[], |s| &s.conditions),
            o.metadata.generation,
        )
    })
    .await;
}

/// Deletes every resource of the five kinds in `ns` and waits until they are gone (the
/// operator must still run: it releases the finalizers).
pub async fn delete_all(client: &Client, ns: &str) {
    delete_kind::<DeployRequest>(client, ns).await;
    delete_kind::<PlanetScaleBackup>(client, ns).await;
    delete_kind::<PlanetScaleDatabase>(client, ns).await;
    delete_kind::<PlanetScalePassword>(client, ns).await;
    delete_kind::<PlanetScaleBranch>(client, ns).await;
}

async fn delete_kind<K>(client: &Client, ns: &str)
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + std::fmt::Debug
        + Serialize
        + DeserializeOwned,
{
    let api: Api<K> = Api::namespaced(client.clone(), ns);
    let names: Vec<String> = api
        .list(&Default::default())
        .await
        .expect("list")
        .items
        .iter()
        .map(kube::ResourceExt::name_any)
        .collect();
    for name in &names {
        let _ = api.delete(name, &DeleteParams::default()).await;
    }
    for name in &names {
        support::wait_gone(&api, name, WAIT).await;
    }
}
