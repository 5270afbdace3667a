//! The Helm chart installed for real (`helm install` into the local control plane, CRDs
//! included), and the operator run out of cluster as the chart's ServiceAccount — with a token
//! from the TokenRequest API and exactly the environment the chart's Deployment sets — so that
//! every flow runs under exactly the chart's RBAC. Nothing can run pods here (no kubelet, no
//! images), so the release has `replicaCount: 0` and the operator is a child process instead.
//!
//! One deviation from the rendered environment: in the cluster-wide install the operator is
//! told to watch only the test's namespace (`PSO_WATCH_NAMESPACES`), because the shared control
//! plane holds other tests' resources that their own operators reconcile. The ClusterRole is
//! what grants that access either way, and the test also lists every kind across all
//! namespaces with the ServiceAccount's token.
//!
//! Needs helm and kubectl from `make testenv-build`, the control plane and the built binaries.
mod support;

#[path = "runtime/flows.rs"]
mod flows;
#[path = "runtime/installed.rs"]
mod installed;

use std::time::{Duration, Instant};

use installed::{Installed, values};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Event, Secret};
use kube::api::{ListParams, PartialObjectMeta, PostParams};
use kube::{Api, ResourceExt};
use planetscale_operator::crd::{DeployRequest, PlanetScaleBranch, PlanetScalePassword};
use serde_json::json;
use support::helm::{TempNamespace, client_from};
use support::{Emulator, Operator};

/// Fails when the operator's log shows any refusal by the API server.
fn assert_never_refused(op: &Operator) {
    let log = op.log();
    let refused: Vec<&str> = log
        .lines()
        .filter(|l| {
            let l = l.to_lowercase();
            l.contains("forbidden") || l.contains("\"403\"") || l.contains(" 403")
        })
        .take(5)
        .collect();
    assert!(
        refused.is_empty(),
        "the API server refused the operator:\n{refused:#?}"
    );
}

/// Whether `result` is the API server's 403.
fn forbidden<T: std::fmt::Debug>(result: Result<T, kube::Error>) -> bool {
    matches!(result, Err(kube::Error::Api(s)) if s.code == 403)
}

#[tokio::test]
async fn cluster_wide_install_runs_every_flow_as_the_charts_service_account() {
    support::install_crds().await;
    let emu = Emulator::start(flows::EMULATOR_ARGS).await;
    support::with_temp_ns(|client, ns| async move {
        let team = TempNamespace::create(&client, format!("{ns}-team")).await;
        let installed = Installed::install(&client, &ns, &values(&emu, json!({}))).await;
        assert_eq!(
            installed.env("PSO_WATCH_NAMESPACES"),
            "",
            "cluster-wide by default"
        );
        assert_eq!(installed.env("PSO_LEADER_ELECT"), "true");

        // The ClusterRole lets the ServiceAccount list (and watch) every kind everywhere.
        let sa = client_from(&installed.kubeconfig).await;
        let lp = ListParams::default().limit(1);
        Api::<PlanetScaleBranch>::all(sa.clone())
            .list(&lp)
            .await
            .expect("list branches");
        Api::<PlanetScalePassword>::all(sa.clone())
            .list(&lp)
            .await
            .expect("list passwords");
        Api::<DeployRequest>::all(sa.clone())
            .list(&lp)
            .await
            .expect("list deploy requests");
        Api::<PartialObjectMeta<Secret>>::all(sa.clone())
            .list_metadata(&lp)
            .await
            .expect("list Secrets (metadata)");

        let op = installed.start(&[("PSO_WATCH_NAMESPACES", &team.0)]);
        flows::run_all(&client, &team.0, &emu, "cw").await;

        // Leader election under the chart's Role: the Lease names this process.
        let leases: Api<Lease> = Api::namespaced(client.clone(), &ns);
        let lease = leases
            .get(installed.env("PSO_LEASE_NAME"))
            .await
            .expect("the Lease");
        let holder = lease
            .spec
            .and_then(|s| s.holder_identity)
            .unwrap_or_default();
        assert!(
            holder.starts_with(&installed.pod),
            "Lease held by {holder:?}"
        );
        // Events under the chart's RBAC: `kubectl describe` shows what happened.
        let events: Api<Event> = Api::namespaced(client.clone(), &team.0);
        let reasons: Vec<String> = events
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .into_iter()
            .filter_map(|e| e.reason)
            .collect();
        assert!(
            reasons.iter().any(|r| r == "Created"),
            "events: {reasons:?}"
        );
        assert_eq!(
            op.readyz().await,
            (200, "ready: leader, caches synced\n".to_string())
        );
        assert_never_refused(&op);

        flows::delete_all(&client, &team.0).await;
        assert_never_refused(&op);
        drop(op);
        drop(installed);
    })
    .await;
}

#[tokio::test]
async fn namespaced_install_works_in_its_namespace_and_is_refused_everywhere_else() {
    support::install_crds().await;
    let emu = Emulator::start(flows::EMULATOR_ARGS).await;
    support::with_temp_ns(|client, ns| async move {
        let a = TempNamespace::create(&client, format!("{ns}-a")).await;
        let b = TempNamespace::create(&client, format!("{ns}-b")).await;
        let extra = json!({"watchNamespaces": [a.0]});
        let installed = Installed::install(&client, &ns, &values(&emu, extra)).await;
        assert_eq!(installed.env("PSO_WATCH_NAMESPACES"), a.0);

        // The ServiceAccount's token: allowed in `a`, refused in `b` and cluster-wide, and in
        // its own namespace it reads only the default credentials Secret.
        let sa = client_from(&installed.kubeconfig).await;
        let lp = ListParams::default().limit(1);
        Api::<PlanetScaleBranch>::namespaced(sa.clone(), &a.0)
            .list(&lp)
            .await
            .expect("list branches in the watched namespace");
        let in_b: Api<PlanetScaleBranch> = Api::namespaced(sa.clone(), &b.0);
        assert!(forbidden(in_b.list(&lp).await), "branches in {}", b.0);
        let secrets_b: Api<Secret> = Api::namespaced(sa.clone(), &b.0);
        assert!(forbidden(secrets_b.list(&lp).await), "Secrets in {}", b.0);
        let all: Api<PlanetScalePassword> = Api::all(sa.clone());
        assert!(forbidden(all.list(&lp).await), "passwords cluster-wide");
        let own: Api<Secret> = Api::namespaced(client.clone(), &ns);
        let other: Secret = serde_json::from_value(json!({
            "metadata": {"name": "not-the-operators"}, "stringData": {"k": "v"}
        }))
        .unwrap();
        own.create(&PostParams::default(), &other)
            .await
            .expect("create Secret");
        let own_sa: Api<Secret> = Api::namespaced(sa.clone(), &ns);
        assert!(
            forbidden(own_sa.get("not-the-operators").await),
            "another Secret of its namespace"
        );
        let creds = installed.env("PSO_DEFAULT_CREDENTIALS_SECRET").to_string();
        own_sa
            .get(&creds)
            .await
            .expect("the default credentials Secret");

        // Told to watch a namespace outside its Role, the operator stops at once and says so.
        let both = format!("{},{}", a.0, b.0);
        let refused = installed.start(&[("PSO_WATCH_NAMESPACES", &both)]);
        let (status, log) = wait_exit(refused, Duration::from_secs(30)).await;
        assert!(!status.success(), "exit status {status}\n{log}");
        let want = format!(
            "may not list planetscalebranches.planetscale.operator.dev in namespace {}",
            b.0
        );
        assert!(log.contains(&want), "no {want:?} in\n{log}");
        assert!(log.contains("watchNamespaces"), "no hint in\n{log}");
        let a_refused = format!("in namespace {}", a.0);
        assert!(!log.contains(&a_refused), "{} was refused too\n{log}", a.0);

        // With the chart's settings it works in `a` and leaves `b` alone.
        flows::apply(&client, &b.0, &flows::branch("ns-b-untouched")).await;
        let op = installed.start(&[]);
        flows::run_all(&client, &a.0, &emu, "ns").await;
        let untouched = Api::<PlanetScaleBranch>::namespaced(client.clone(), &b.0)
            .get("ns-b-untouched")
            .await
            .unwrap();
        assert!(untouched.status.is_none(), "{} was reconciled", b.0);
        assert!(untouched.finalizers().is_empty(), "{} got a finalizer", b.0);
        assert_never_refused(&op);

        flows::delete_all(&client, &a.0).await;
        assert_never_refused(&op);
        drop(op);
        drop(installed);
    })
    .await;
}

/// Waits until the operator exits; returns its status and log.
async fn wait_exit(mut op: Operator, timeout: Duration) -> (std::process::ExitStatus, String) {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = op.process.child.try_wait().expect("wait") {
            return (status, op.log());
        }
        assert!(
            Instant::now() < deadline,
            "the operator still runs after {timeout:?}\n{}",
            op.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
