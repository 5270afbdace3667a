//! `make demo` end to end: runs `hack/demo/up` non-interactively (in a temporary state folder
//! with its own control plane, emulator and operator), checks what a user would see at the
//! end, then runs `hack/demo/down` and checks that everything it started is gone.
mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client, Config, ResourceExt};
use planetscale_operator::crd::conditions::is_ready_for;
use planetscale_operator::crd::{DeployRequest, PlanetScaleBranch, PlanetScalePassword};
use serde_json::json;

/// Upper bound of one `hack/demo/up` run with prebuilt binaries (it normally takes well under
/// a minute; the control plane start dominates on a busy machine).
const UP_TIMEOUT: Duration = Duration::from_secs(420);

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs a demo script with the state in `dir` and the binaries this test was built with.
async fn run_script(script: &str, dir: &Path, timeout: Duration) -> Output {
    let bins = support::bin_path("planetscale-operator");
    let mut cmd = tokio::process::Command::new(repo().join("hack/demo").join(script));
    cmd.env("PSO_DEMO_DIR", dir)
        .env("PSO_DEMO_BIN_DIR", bins.parent().expect("bin dir"))
        .env("PSO_DEMO_WAIT_SECONDS", "150")
        .env_remove("KUBECONFIG")
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    match tokio::time::timeout(timeout, cmd.output()).await {
        Ok(out) => out.expect("run the demo script"),
        Err(_) => panic!("hack/demo/{script} did not finish within {timeout:?}"),
    }
}

fn text(out: &Output) -> String {
    format!(
        "--- stdout ---\n{}--- stderr ---\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Runs `hack/demo/down` when dropped, so a failing test leaves nothing running.
struct DownOnDrop(PathBuf);

impl Drop for DownOnDrop {
    fn drop(&mut self) {
        if self.0.exists() {
            let _ = std::process::Command::new(repo().join("hack/demo/down"))
                .env("PSO_DEMO_DIR", &self.0)
                .status();
        }
    }
}

/// `name pid` lines of the demo's and its control plane's PID files.
fn recorded_pids(dir: &Path) -> Vec<(String, u32)> {
    ["pids", "testenv/pids"]
        .iter()
        .filter_map(|f| std::fs::read_to_string(dir.join(f)).ok())
        .flat_map(|t| {
            t.lines()
                .filter_map(|l| {
                    let (name, pid) = l.split_once(' ')?;
                    Some((name.to_string(), pid.trim().parse().ok()?))
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Whether `pid` is a live process (a zombie counts as gone).
fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

async fn demo_client(dir: &Path) -> Client {
    let kc = Kubeconfig::read_from(dir.join("kubeconfig")).expect("the demo writes its kubeconfig");
    let config = Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .expect("demo kubeconfig");
    Client::try_from(config).expect("client")
}

/// `export NAME=value` lines of the demo's env file.
fn demo_env(dir: &Path) -> BTreeMap<String, String> {
    std::fs::read_to_string(dir.join("env"))
        .expect("the demo writes .demo/env")
        .lines()
        .filter_map(|l| l.strip_prefix("export ")?.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

async fn assert_all_ready(client: &Client) {
    let b: PlanetScaleBranch = Api::namespaced(client.clone(), "demo")
        .get("demo-feature")
        .await
        .expect("branch");
    let p: PlanetScalePassword = Api::namespaced(client.clone(), "demo")
        .get("demo-app")
        .await
        .expect("password");
    let d: DeployRequest = Api::namespaced(client.clone(), "demo")
        .get("add-orders-status")
        .await
        .expect("deploy request");
    let ready = [
        (
            "PlanetScaleBranch",
            is_ready_for(
                &b.status
                    .as_ref()
                    .map(|s| s.conditions.clone())
                    .unwrap_or_default(),
                b.metadata.generation,
            ),
        ),
        (
            "PlanetScalePassword",
            is_ready_for(
                &p.status
                    .as_ref()
                    .map(|s| s.conditions.clone())
                    .unwrap_or_default(),
                p.metadata.generation,
            ),
        ),
        (
            "DeployRequest",
            is_ready_for(
                &d.status
                    .as_ref()
                    .map(|s| s.conditions.clone())
                    .unwrap_or_default(),
                d.metadata.generation,
            ),
        ),
    ];
    assert!(
        ready.iter().all(|(_, r)| *r),
        "not all Ready: {ready:?}\nbranch: {:?}\npassword: {:?}\ndeploy request: {:?}",
        b.status,
        p.status,
        d.status
    );
    let state = d.status.as_ref().and_then(|s| s.deployment_state.clone());
    assert!(
        matches!(
            state.as_deref(),
            Some("complete_pending_revert" | "complete")
        ),
        "the deploy request is applied, deployment state {state:?}"
    );
}

/// The Secret carries DATABASE_URL and a password the emulator accepts.
async fn assert_secret_works(client: &Client, dir: &Path) {
    let secret: Secret = Api::namespaced(client.clone(), "demo")
        .get("demo-feature-db")
        .await
        .expect("password Secret");
    let data = secret.data.unwrap_or_default();
    let value = |k: &str| {
        let v = data.get(k).unwrap_or_else(|| {
            panic!(
                "Secret {} has no {k}; keys: {:?}",
                secret.metadata.name.as_deref().unwrap_or("?"),
                data.keys().collect::<Vec<_>>()
            )
        });
        String::from_utf8(v.0.clone()).expect("utf-8")
    };
    assert!(
        value("DATABASE_URL").starts_with("mysql://"),
        "DATABASE_URL is a mysql:// URL"
    );
    let emulator = demo_env(dir)
        .remove("EMULATOR_URL")
        .expect("EMULATOR_URL in .demo/env");
    let body = json!({"organization": "acme", "database": "shop", "branch": "demo-feature",
        "username": value("username"), "password": value("password")});
    let verdict: serde_json::Value = reqwest::Client::new()
        .post(format!("{emulator}/_emulator/verify-password"))
        .json(&body)
        .send()
        .await
        .expect("emulator reachable")
        .json()
        .await
        .expect("JSON");
    assert_eq!(
        verdict["valid"],
        json!(true),
        "the emulator accepts the Secret's password: {verdict}"
    );
}

#[tokio::test]
async fn make_demo_ends_with_everything_ready_and_demo_down_stops_it() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("demo");
    let _down = DownOnDrop(dir.clone());
    let up = run_script("up", &dir, UP_TIMEOUT).await;
    eprintln!("{}", text(&up));
    assert!(
        up.status.success(),
        "hack/demo/up failed ({}); operator log:\n{}",
        up.status,
        std::fs::read_to_string(dir.join("logs/operator.log")).unwrap_or_default()
    );
    let stdout = String::from_utf8_lossy(&up.stdout);
    for shown in [
        "demo-feature",
        "DATABASE_URL",
        "export KUBECONFIG=",
        "make demo-down",
    ] {
        assert!(stdout.contains(shown), "the summary shows {shown:?}");
    }

    let client = demo_client(&dir).await;
    assert_all_ready(&client).await;
    assert_secret_works(&client, &dir).await;
    let names: Vec<String> = Api::<PlanetScaleBranch>::namespaced(client, "demo")
        .list(&Default::default())
        .await
        .expect("list")
        .items
        .iter()
        .map(|b| b.name_any())
        .collect();
    assert_eq!(names, ["demo-feature"]);

    let pids = recorded_pids(&dir);
    let started: Vec<&str> = pids.iter().map(|(n, _)| n.as_str()).collect();
    for name in [
        "emulator",
        "operator",
        "etcd",
        "kube-apiserver",
        "kube-controller-manager",
    ] {
        assert!(
            started.contains(&name),
            "{name} recorded in the PID files: {pids:?}"
        );
    }
    let down = run_script("down", &dir, Duration::from_secs(120)).await;
    assert!(
        down.status.success(),
        "hack/demo/down failed:\n{}",
        text(&down)
    );
    let left: Vec<_> = pids.iter().filter(|(_, pid)| alive(*pid)).collect();
    assert!(left.is_empty(), "still running after demo-down: {left:?}");
    assert!(!dir.exists(), "demo-down removes the state folder");
}
