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
use serde::Serialize;
use serde::de::DeserializeOwned;
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
