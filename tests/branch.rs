//! The PlanetScaleBranch controller end to end: the real operator binary against the local
//! control plane and the PlanetScale emulator (organization `acme`, database `shop`).
//!
//! Needs `make testenv-up` and `cargo build --workspace --bins`.
mod support;

#[path = "branch/common.rs"]
mod common;
#[path = "branch/credentials.rs"]
mod credentials;
#[path = "branch/credentials_in_use.rs"]
mod credentials_in_use;
#[path = "branch/deletion.rs"]
mod deletion;
#[path = "branch/drift.rs"]
mod drift;
#[path = "branch/ownership.rs"]
mod ownership;
#[path = "branch/postgres.rs"]
mod postgres;

use std::time::Duration;

use common::*;
use kube::{Api, ResourceExt};
use planetscale_operator::controller::branch::FINALIZER;
use planetscale_operator::crd::branch::PlanetScaleBranch;
use serde_json::json;
use support::with_operator;

/// Emulator flags of every test: new branches stay pending for 2 s.
pub const EMULATOR: &[&str] = &["--branch-ready-delay", "2s"];

#[tokio::test]
async fn create_reaches_ready_with_every_status_field_and_then_stays_quiet() {
    with_operator(EMULATOR, &[], |client, ns, emu, op| async move {
        let _operator = op; // keeps the operator running until the end
        let api: Api<PlanetScaleBranch> = Api::namespaced(client.clone(), &ns);
        apply(&api, &branch("pr-1", json!({"region": "aws-us-east-2"}))).await;
        let o = wait_ready(&api, "pr-1").await;
        let ps = ps_branch(&emu, "pr-1")
            .await
            .expect("created in PlanetScale");
        assert_every_status_field(&o, &ps);
        wait_event(&client, &ns, "pr-1", "Created").await;
        wait_event(&client, &ns, "pr-1", "Ready").await;

        // A Ready branch makes no API call until the next resync (10 minutes here), even
        // when the object changes without a spec change.
        reset_calls(&emu).await;
        merge(
            &api,
            "pr-1",
            json!({"metadata": {"labels": {"touched": "yes"}}}),
        )
        .await;
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert_eq!(calls(&emu, None, None).await, 0, "{}", emu.stats().await);

        delete_and_wait(&api, "pr-1").await;
        assert!(
            ps_branch(&emu, "pr-1").await.is_none(),
            "deletionPolicy Delete deletes"
        );
        wait_event(&client, &ns, "pr-1", "Deleted").await;
    })
    .await;
}

#[tokio::test]
async fn errors_planetscale_returns_for_parent_region_backup_and_seed_become_conditions() {
    with_operator(EMULATOR, &[], |client, ns, emu, op| async move {
        let _operator = op; // keeps the operator running until the end
        let api: Api<PlanetScaleBranch> = Api::namespaced(client.clone(), &ns);
        let cases = refusals();
        for (name, spec, _, _) in &cases {
            apply(&api, &branch(name, spec.clone())).await;
        }
        for (name, _, reason, text) in &cases {
            let o = wait_reason(&api, name, reason).await;
            let (_, _, message) = condition(&o, "Ready").unwrap();
            assert!(message.contains(text), "{name}: {message}");
            wait_event(&client, &ns, name, reason).await;
            assert!(ps_branch(&emu, name).await.is_none());
        }
        // Errors only a user can fix are retried slowly: no API call in the next seconds.
        reset_calls(&emu).await;
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert_eq!(calls(&emu, None, None).await, 0, "{}", emu.stats().await);

        // A backup that exists restores into a new branch.
        let path = "/organizations/acme/databases/shop/branches/main/backups";
        let backup = ps_post(&emu, path, json!({})).await;
        emu.advance("1m").await;
        let id = backup["id"].as_str().expect("backup id");
        apply(
            &api,
            &branch("restored", json!({"backupId": id, "clusterSize": "PS_10"})),
        )
        .await;
        let o = wait_ready(&api, "restored").await;
        assert_eq!(o.status.unwrap().parent.as_deref(), Some("main"));
        teardown(&api).await;
    })
    .await;
}

#[tokio::test]
async fn waits_for_an_initializing_database_then_creates_the_branch() {
    let emulator = ["--branch-ready-delay", "2s", "--database-ready-delay", "1h"];
    with_operator(&emulator, &[], |client, ns, emu, op| async move {
        let _operator = op; // keeps the operator running until the end
        let api: Api<PlanetScaleBranch> = Api::namespaced(client.clone(), &ns);
        ps_post(
            &emu,
            "/organizations/acme/databases",
            json!({"name": "fresh", "cluster_size": "PS_10"}),
        )
        .await;
        let mut obj = branch("early", json!({}));
        obj.spec.database = Some("fresh".into());
        apply(&api, &obj).await;
        let o = wait_reason(&api, "early", "DatabaseNotReady").await;
        assert!(condition(&o, "Ready").unwrap().2.contains("fresh"), "{o:?}");
        emu.advance("1h").await;
        let o = wait_ready(&api, "early").await;
        assert_eq!(o.status.unwrap().parent.as_deref(), Some("main"));
        teardown(&api).await;
    })
    .await;
}

#[tokio::test]
async fn paused_annotation_stops_every_change_until_removed() {
    with_operator(EMULATOR, &[], |client, ns, emu, op| async move {
        let _operator = op; // keeps the operator running until the end
        let api: Api<PlanetScaleBranch> = Api::namespaced(client.clone(), &ns);
        apply(&api, &paused_branch("quiet")).await;
        let paused = |o: &PlanetScaleBranch| condition(o, "Paused").is_some_and(|c| c.0 == "True");
        support::wait_for(&api, "quiet", READY, "Paused", paused).await;
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert!(
            ps_branch(&emu, "quiet").await.is_none(),
            "paused: nothing created"
        );
        assert!(
            api.get("quiet").await.unwrap().finalizers().is_empty(),
            "paused: no finalizer"
        );

        set_paused(&api, "quiet", false).await;
        let o = wait_ready(&api, "quiet").await;
        assert!(condition(&o, "Paused").is_none(), "{o:?}");

        set_paused(&api, "quiet", true).await;
        merge(&api, "quiet", json!({"spec": {"deletionProtected": true}})).await;
        support::wait_for(&api, "quiet", READY, "Paused", paused).await;
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert!(
            !ps_branch(&emu, "quiet").await.unwrap().deletion_protected,
            "paused: no change"
        );
        let o = api.get("quiet").await.unwrap();
        assert_ne!(o.status.unwrap().observed_generation, o.metadata.generation);

        set_paused(&api, "quiet", false).await;
        wait_ready(&api, "quiet").await;
        assert!(ps_branch(&emu, "quiet").await.unwrap().deletion_protected);
        teardown(&api).await;
    })
    .await;
}

#[tokio::test]
async fn the_documented_example_becomes_ready() {
    with_operator(EMULATOR, &[], |client, ns, emu, op| async move {
        let _operator = op; // keeps the operator running until the end
        let api: Api<PlanetScaleBranch> = Api::namespaced(client.clone(), &ns);
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/branch.yaml");
        let text = std::fs::read_to_string(path).expect("examples/branch.yaml");
        let obj: PlanetScaleBranch = serde_norway::from_str(&text).expect("a PlanetScaleBranch");
        let name = obj.name_any();
        apply(&api, &obj).await;
        wait_ready(&api, &name).await;
        let ps = ps_branch(&emu, obj.spec.effective_branch_name(&name)).await;
        assert!(ps.is_some_and(|b| b.ready));
        delete_and_wait(&api, &name).await;
    })
    .await;
}

/// Specs PlanetScale refuses at create time: (name, spec, reason, text in the message).
fn refusals() -> [(&'static str, serde_json::Value, &'static str, &'static str); 4] {
    [
        (
            "bad-parent",
            json!({"parentBranch": "nope"}),
            "ParentNotFound",
            "nope",
        ),
        (
            "bad-region",
            json!({"region": "mars-north-1"}),
            "Rejected",
            "Unknown region",
        ),
        (
            "bad-backup",
            json!({"backupId": "nosuchbackup", "clusterSize": "PS_10"}),
            "BackupNotFound",
            "nosuchbackup",
        ),
        (
            "bad-seed",
            json!({"seedData": "LastSuccessfulBackup"}),
            "Rejected",
            "Data branching is not enabled",
        ),
    ]
}

/// The status of the Ready `pr-1` (region `aws-us-east-2`) says what PlanetScale says.
fn assert_every_status_field(o: &PlanetScaleBranch, ps: &planetscale_api::models::Branch) {
    let s = o.status.clone().expect("status");
    assert_eq!(s.id.as_deref(), Some(ps.id.as_str()));
    assert_eq!(s.branch_name.as_deref(), Some("pr-1"));
    assert_eq!((s.state.as_deref(), s.ready), (Some("ready"), Some(true)));
    let settings = (s.production, s.safe_migrations, s.deletion_protected);
    assert_eq!(settings, (Some(false), Some(false), Some(false)));
    assert_eq!(s.region.as_deref(), Some("aws-us-east-2"));
    assert_eq!(s.parent.as_deref(), Some("main"), "the default branch");
    let host = Some("aws-us-east-2.connect.psdb.cloud");
    assert_eq!(s.mysql_address.as_deref(), host);
    assert!(s.mysql_edge_address.is_some(), "{s:?}");
    let url = s.html_url.as_deref();
    assert!(url.is_some_and(|u| u.ends_with("/acme/shop/pr-1")), "{s:?}");
    assert!(s.created_at.is_some(), "{s:?}");
    assert!(s.create_requested_at.is_none(), "{s:?}");
    assert_eq!(s.adopted, Some(false));
    assert_eq!(s.observed_generation, o.metadata.generation);
    let finalizers = o.finalizers();
    assert!(finalizers.iter().any(|f| f == FINALIZER), "{finalizers:?}");
}
