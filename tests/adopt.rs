//! The documented example "adopt what you already have" (docs/adopt.md, examples/adopt/),
//! end to end: the operator binary against the local control plane and the emulator. The
//! emulator's production database `shop` and its `main` branch are first observed (Ready, and
//! no write request reaches PlanetScale), then taken over with `adopt: true`.
//!
//! Needs `make testenv-up` and `cargo build --workspace --bins`.
mod support;

use std::time::Duration;

use kube::api::{Patch, PatchParams};
use kube::{Api, Client};
use planetscale_operator::crd::{PlanetScaleBranch, PlanetScaleDatabase};
use serde_json::Value;
use support::with_operator;

/// How long anything here may take to become Ready.
const READY: Duration = Duration::from_secs(60);

/// The objects of an example file, in order.
fn example(file: &str) -> Vec<Value> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/adopt")
        .join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    text.split("\n---\n")
        .map(|doc| serde_norway::from_str(doc).unwrap_or_else(|e| panic!("{file}: {e}")))
        .collect()
}

/// `kubectl apply --server-side` of every object of `file`.
async fn apply(client: &Client, ns: &str, file: &str) {
    let pp = PatchParams::apply("pso-test").force();
    for obj in example(file) {
        let name = obj["metadata"]["name"].as_str().expect("name").to_string();
        match obj["kind"].as_str() {
            Some("PlanetScaleDatabase") => {
                let api: Api<PlanetScaleDatabase> = Api::namespaced(client.clone(), ns);
                api.patch(&name, &pp, &Patch::Apply(&obj)).await.map(|_| ())
            }
            Some("PlanetScaleBranch") => {
                let api: Api<PlanetScaleBranch> = Api::namespaced(client.clone(), ns);
                api.patch(&name, &pp, &Patch::Apply(&obj)).await.map(|_| ())
            }
            other => panic!("{file}: unexpected kind {other:?}"),
        }
        .unwrap_or_else(|e| panic!("apply {file} {name}: {e}"));
    }
}

/// Requests the emulator answered that may write (any operation but `get_…`/`list_…`).
async fn writes(emu: &support::env::Emulator) -> Vec<(String, u64)> {
    let stats = emu.stats().await;
    let ops = stats["operations"].as_object().cloned().unwrap_or_default();
    ops.into_iter()
        .filter(|(op, _)| !op.starts_with("get_") && !op.starts_with("list_"))
        .map(|(op, v)| (op, v["total"].as_u64().unwrap_or(0)))
        .collect()
}

fn ready(conditions: &[k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition]) -> bool {
    conditions
        .iter()
        .any(|c| c.type_ == "Ready" && c.status == "True")
}

#[tokio::test]
async fn observe_production_then_adopt_it() {
    with_operator(&[], &[], |client, ns, emu, op| async move {
        let _operator = op;
        let dbs: Api<PlanetScaleDatabase> = Api::namespaced(client.clone(), &ns);
        let branches: Api<PlanetScaleBranch> = Api::namespaced(client.clone(), &ns);
        let before = writes(&emu).await;

        apply(&client, &ns, "01-observe.yaml").await;
        let d = support::wait_for(&dbs, "shop", READY, "database observed", |d| {
            d.status.as_ref().is_some_and(|s| ready(&s.conditions))
        })
        .await;
        assert_eq!(d.status.unwrap().adopted, Some(true));
        let b = support::wait_for(&branches, "shop-main", READY, "branch observed", |b| {
            b.status.as_ref().is_some_and(|s| ready(&s.conditions))
        })
        .await;
        let s = b.status.expect("status");
        assert_eq!((s.observed_only, s.production), (Some(true), Some(true)));
        assert_eq!(writes(&emu).await, before, "observing wrote to PlanetScale");

        apply(&client, &ns, "02-manage.yaml").await;
        support::wait_for(&branches, "shop-main", READY, "branch adopted", |b| {
            let s = b.status.as_ref();
            s.is_some_and(|s| s.observed_only.is_none() && ready(&s.conditions))
        })
        .await;
        let events = support::events_for(&branches, "shop-main", None).await;
        assert!(events.contains("Adopted"), "{events}");
        // Taking over changes nothing by itself: the spec asks for nothing new.
        assert_eq!(writes(&emu).await, before, "adopting wrote to PlanetScale");
    })
    .await;
}
