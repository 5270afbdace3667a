//! PlanetScaleDatabase and PlanetScaleBackup end to end: the operator binary against the local
//! control plane and the emulator. A new environment from nothing (database → branch →
//! backup → a branch restored from the backup by reference), and the deletion of a database
//! refused without its confirmation.
//!
//! Needs `make testenv-up` and `cargo build --workspace --bins`.
mod support;

use std::time::Duration;

use kube::api::{DeleteParams, Patch, PatchParams};
use kube::{Api, Resource};
use planetscale_operator::crd::{PlanetScaleBackup, PlanetScaleBranch, PlanetScaleDatabase};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use support::with_operator;

/// Emulator flags: databases, branches and backups finish within seconds.
const EMULATOR: &[&str] = &[
    "--database-ready-delay",
    "2s",
    "--branch-ready-delay",
    "1s",
    "--backup-duration",
    "2s",
];
/// How long anything here may take to become Ready.
const READY: Duration = Duration::from_secs(60);

fn object<K: DeserializeOwned>(kind: &str, name: &str, spec: Value) -> K {
    let mut o = json!({
        "apiVersion": "planetscale.operator.dev/v1alpha1",
        "kind": kind,
        "metadata": {"name": name},
    });
    o["spec"] = spec;
    serde_json::from_value(o).unwrap_or_else(|e| panic!("{kind} {name}: {e}"))
}

async fn apply<K>(api: &Api<K>, name: &str, obj: &K)
where
    K: Resource + Clone + std::fmt::Debug + Serialize + DeserializeOwned,
{
    api.patch(
        name,
        &PatchParams::apply("pso-test").force(),
        &Patch::Apply(obj),
    )
    .await
    .unwrap_or_else(|e| panic!("apply {name}: {e}"));
}

fn ready_of(
    conditions: &[k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition],
) -> Option<(&str, &str)> {
    conditions
        .iter()
        .find(|c| c.type_ == "Ready")
        .map(|c| (c.status.as_str(), c.reason.as_str()))
}

#[tokio::test]
async fn a_new_environment_from_nothing_and_a_branch_restored_from_a_backup_by_reference() {
    with_operator(EMULATOR, &[], |client, ns, emu, op| async move {
        let _operator = op;
        let dbs: Api<PlanetScaleDatabase> = Api::namespaced(client.clone(), &ns);
        let branches: Api<PlanetScaleBranch> = Api::namespaced(client.clone(), &ns);
        let backups: Api<PlanetScaleBackup> = Api::namespaced(client.clone(), &ns);

        let db: PlanetScaleDatabase = object(
            "PlanetScaleDatabase",
            "orders",
            json!({"organization": "acme", "clusterSize": "PS_10",
                   "settings": {"requireApprovalForDeploy": true}}),
        );
        apply(&dbs, "orders", &db).await;
        let d = support::wait_for(&dbs, "orders", READY, "Ready", |d| {
            ready_of(d.status.as_ref().map_or(&[], |s| &s.conditions)) == Some(("True", "Ready"))
        })
        .await;
        let s = d.status.unwrap();
        assert_eq!(s.engine.as_deref(), Some("mysql"));
        assert_eq!(s.default_branch.as_deref(), Some("main"));
        assert_eq!(s.require_approval_for_deploy, Some(true), "setting applied");

        let backup: PlanetScaleBackup = object(
            "PlanetScaleBackup",
            "before-launch",
            json!({"organization": "acme", "database": "orders", "branch": "main",
                   "retention": {"value": 2, "unit": "day"}}),
        );
        // The branch is applied first: it waits for the backup resource to be Ready.
        let restored: PlanetScaleBranch = object(
            "PlanetScaleBranch",
            "restored",
            json!({"organization": "acme", "database": "orders",
                   "backupRef": {"name": "before-launch"}, "clusterSize": "PS_10"}),
        );
        apply(&branches, "restored", &restored).await;
        support::wait_for(
            &branches,
            "restored",
            READY,
            "waiting for its backup",
            |b| {
                ready_of(b.status.as_ref().map_or(&[], |s| &s.conditions))
                    == Some(("False", "BackupNotReady"))
            },
        )
        .await;
        apply(&backups, "before-launch", &backup).await;
        let b = support::wait_for(&backups, "before-launch", READY, "Ready", |b| {
            ready_of(b.status.as_ref().map_or(&[], |s| &s.conditions)) == Some(("True", "Ready"))
        })
        .await;
        let bs = b.status.unwrap();
        assert_eq!(bs.state.as_deref(), Some("success"));
        assert!(bs.expires_at.is_some() && bs.size.is_some());

        let r = support::wait_for(&branches, "restored", READY, "Ready", |b| {
            ready_of(b.status.as_ref().map_or(&[], |s| &s.conditions)) == Some(("True", "Ready"))
        })
        .await;
        assert_eq!(r.status.unwrap().parent.as_deref(), Some("main"));
        // The branch (deletionPolicy Delete) and the backup (Retain by default) go first.
        branches
            .delete("restored", &DeleteParams::default())
            .await
            .unwrap();
        support::wait_gone(&branches, "restored", READY).await;
        backups
            .delete("before-launch", &DeleteParams::default())
            .await
            .unwrap();
        support::wait_gone(&backups, "before-launch", READY).await;
        let stats = emu.stats().await;
        assert_eq!(
            stats["operations"]["delete_backup"]["total"]
                .as_u64()
                .unwrap_or(0),
            0
        );

        // Deleting the database without the confirmation is refused; the database stays.
        let patch = json!({"spec": {"deletionPolicy": "Delete"}});
        dbs.patch("orders", &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .unwrap();
        dbs.delete("orders", &DeleteParams::default())
            .await
            .unwrap();
        let d = support::wait_for(&dbs, "orders", READY, "DeletionBlocked", |d| {
            d.status.as_ref().is_some_and(|s| {
                s.conditions
                    .iter()
                    .any(|c| c.type_ == "DeletionBlocked" && c.reason == "DeletionNotConfirmed")
            })
        })
        .await;
        assert!(d.metadata.deletion_timestamp.is_some());
        let stats = emu.stats().await;
        assert_eq!(
            stats["operations"]["delete_database"]["total"]
                .as_u64()
                .unwrap_or(0),
            0
        );

        // Confirmed: deleted.
        let patch = json!({"spec": {"deletionConfirmation": "orders"}});
        dbs.patch("orders", &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .unwrap();
        support::wait_gone(&dbs, "orders", READY).await;
        let stats = emu.stats().await;
        assert_eq!(
            stats["operations"]["delete_database"]["total"], 1,
            "{stats}"
        );
    })
    .await;
}

/// The documents of examples/environment/`file`.
fn environment(file: &str) -> Vec<kube::api::DynamicObject> {
    let path = format!("{}/examples/environment/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_norway::Deserializer::from_str(&text)
        .map(|d| {
            let v = Value::deserialize(d).unwrap_or_else(|e| panic!("{path}: {e}"));
            serde_json::from_value(v).unwrap_or_else(|e| panic!("{path}: {e}"))
        })
        .collect()
}

/// Applies every object of examples/environment/`file` in `ns`; their names.
async fn apply_environment(client: &kube::Client, ns: &str, file: &str) -> Vec<String> {
    let mut names = Vec::new();
    for obj in environment(file) {
        let types = obj.types.clone().expect("apiVersion and kind");
        let (group, version) = types.api_version.split_once('/').expect("a group");
        let gvk = kube::core::GroupVersionKind::gvk(group, version, &types.kind);
        let ar = kube::core::ApiResource::from_gvk(&gvk);
        let api: Api<kube::api::DynamicObject> = Api::namespaced_with(client.clone(), ns, &ar);
        let name = obj.metadata.name.clone().expect("a name");
        api.patch(
            &name,
            &PatchParams::apply("pso-test").force(),
            &Patch::Apply(&obj),
        )
        .await
        .unwrap_or_else(|e| panic!("apply {}/{name}: {e}", types.kind));
        names.push(format!("{}/{name}", types.kind));
    }
    names
}

/// Waits until `name` of kind `K` is Ready=True.
async fn wait_ready<K>(client: &kube::Client, ns: &str, name: &str) -> K
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + std::fmt::Debug
        + Serialize
        + DeserializeOwned
        + planetscale_operator::crd::ManagedResource,
{
    let api: Api<K> = Api::namespaced(client.clone(), ns);
    support::wait_for(&api, name, READY, "Ready", |o| {
        ready_of(o.conditions()) == Some(("True", "Ready"))
    })
    .await
}

#[tokio::test]
async fn the_environment_example_waits_for_its_database_then_becomes_ready() {
    use planetscale_operator::crd::PlanetScalePassword;
    with_operator(EMULATOR, &[], |client, ns, emu, op| async move {
        let _operator = op;
        // The branch, the credentials and the backup name the database by databaseRef:
        // applied before it, they wait for it without calling PlanetScale.
        apply_environment(&client, &ns, "02-branches.yaml").await;
        apply_environment(&client, &ns, "03-credentials.yaml").await;
        apply_environment(&client, &ns, "04-backup.yaml").await;
        let backups: Api<PlanetScaleBackup> = Api::namespaced(client.clone(), &ns);
        support::wait_for(&backups, "before-launch", READY, "DatabaseNotReady", |b| {
            ready_of(b.status.as_ref().map_or(&[], |s| &s.conditions))
                == Some(("False", "DatabaseNotReady"))
        })
        .await;
        let branches: Api<PlanetScaleBranch> = Api::namespaced(client.clone(), &ns);
        support::wait_for(&branches, "staging", READY, "DatabaseNotReady", |b| {
            ready_of(b.status.as_ref().map_or(&[], |s| &s.conditions))
                == Some(("False", "DatabaseNotReady"))
        })
        .await;
        let stats = emu.stats().await;
        for op in ["create_backup", "create_branch", "get_database"] {
            assert_eq!(
                stats["operations"][op]["total"].as_u64().unwrap_or(0),
                0,
                "{op} before the database resource is Ready: {stats}"
            );
        }

        apply_environment(&client, &ns, "01-database.yaml").await;
        let d: PlanetScaleDatabase = wait_ready(&client, &ns, "storefront").await;
        let s = d.status.unwrap();
        let policies: Vec<_> = s.backup_policies.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(policies, ["nightly", "dev-weekly"], "{s:?}");
        assert!(s.backup_policies.iter().all(|p| p.next_run_at.is_some()));
        // The database watch wakes the waiting resources: no slow retry in between.
        let b: PlanetScaleBackup = wait_ready(&client, &ns, "before-launch").await;
        assert_eq!(b.status.unwrap().database.as_deref(), Some("storefront"));
        let _: PlanetScalePassword = wait_ready(&client, &ns, "storefront-reader").await;
        let staging: PlanetScaleBranch = wait_ready(&client, &ns, "staging").await;
        let s = staging.status.unwrap();
        let at = (s.organization.as_deref(), s.database.as_deref());
        assert_eq!(at, (Some("acme"), Some("storefront")), "{s:?}");
        let _: PlanetScalePassword = wait_ready(&client, &ns, "staging-app").await;
        let stats = emu.stats().await;
        assert_eq!(
            stats["operations"]["create_backup_policy"]["total"], 2,
            "{stats}"
        );
    })
    .await;
}
