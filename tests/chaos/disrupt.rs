//! The disruptions: emulator fault rules, operator SIGKILLs (each followed by a restart), one
//! kube-apiserver restart, and a sampler of the emulator's request count (for the per-minute
//! peak).
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::model::Run;
use crate::support::{self, Emulator};

/// The emulator's fault rules of a run, by kind.
pub struct Faults {
    /// The 429 rule (added first: when several rules hit one request, the first status wins,
    /// so its hit count is exactly the number of injected 429s).
    pub too_many: u64,
    /// The latency rule (every request).
    pub latency: u64,
}

/// Where `make chaos` put the control plane whose kube-apiserver this test restarts. Refuses
/// to run against any other (the shared one of the other tests).
pub fn chaos_testenv_dir() -> PathBuf {
    let dir = std::env::var_os("PSO_CHAOS_TESTENV_DIR")
        .map(PathBuf::from)
        .expect(
            "PSO_CHAOS_TESTENV_DIR is not set: run the chaos test with `make chaos`, which starts \
         its own control plane (the test restarts its kube-apiserver)",
        );
    let kubeconfig = support::kubeconfig_path();
    assert!(
        kubeconfig.starts_with(&dir),
        "PSO_KUBECONFIG ({}) must be the kubeconfig of the chaos control plane in {}",
        kubeconfig.display(),
        dir.display()
    );
    dir
}

/// 10% 5xx (500, 502, 503), 5% 429, 2% connections dropped after the request was processed,
/// 300 ms on every request: on every `/v1` call, for the whole run. On top, 15% of the creates
/// (branch, password, deploy request) are dropped after processing.
pub async fn inject_faults(emulator: &Emulator) -> Faults {
    let add = |rule: Value| async move {
        let r = emulator.admin_post("/_emulator/faults", rule).await;
        r["id"].as_u64().expect("fault id")
    };
    let all = "/v1/**";
    let too_many =
        add(json!({"path": all, "status": 429, "retry_after": 1, "probability": 0.05})).await;
    for status in [500, 502, 503] {
        // 1 - (1 - 0.035)^3 ≈ 10% of the requests get one of them.
        add(json!({"path": all, "status": status, "probability": 0.035})).await;
    }
    add(json!({"path": all, "drop_connection": true, "probability": 0.02})).await;
    // The dangerous moment, more often: a create that happened, whose answer is lost.
    for operation in ["create_branch", "create_password", "create_deploy_request"] {
        let rule = json!({"operation": operation, "drop_connection": true, "probability": 0.15});
        add(rule).await;
    }
    let latency = add(json!({"path": all, "latency": "300ms"})).await;
    Faults { too_many, latency }
}

/// The emulator's request total every second, until aborted.
pub async fn sample_stats(run: Arc<Run>) {
    loop {
        let total = run.emulator.stats().await["total"].as_u64().unwrap_or(0);
        run.samples.lock().unwrap().push((Instant::now(), total));
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// SIGKILLs the operator `plan.kills` times at random moments (1.5–5 s apart), starting a new
/// one right after each kill; restarts the kube-apiserver once, halfway.
pub async fn kill_and_restart(run: Arc<Run>) {
    for k in 0..run.plan.kills {
        tokio::time::sleep(run.random_ms(1500, 5000)).await;
        run.kill_and_restart_operator();
        if k == run.plan.kills / 2 {
            restart_apiserver(&run).await;
        }
    }
}

/// `hack/testenv/restart-apiserver --kill` on the chaos control plane: a crash, then the same
/// command line again.
async fn restart_apiserver(run: &Run) {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("hack/testenv/restart-apiserver");
    let dir = run.testenv.clone();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(script)
            .arg("--kill")
            .env("TESTENV_DIR", dir)
            .output()
            .expect("run hack/testenv/restart-apiserver")
    })
    .await
    .expect("restart task");
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "restarting the kube-apiserver failed:\n{text}"
    );
    println!("chaos: {}", text.trim());
    run.apiserver_restarts.fetch_add(1, Ordering::SeqCst);
}
