//! The release-built operator as a child process, watching every namespace (its default
//! deployment), with its default credentials in [`OPERATOR_NS`].
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};

use crate::cluster::{CREDENTIALS_SECRET, OPERATOR_NS};
use crate::emulator::Emulator;
use crate::procs::{Memory, Proc, free_port};

/// A running operator.
pub struct Operator {
    pub process: Proc,
}

/// The environment of an operator process against `emulator`, with `env` added or overriding
/// and its health endpoint on `health`.
pub fn vars(
    kubeconfig: &Path,
    emulator: &Emulator,
    env: &[(&str, String)],
    health: u16,
) -> Vec<(String, String)> {
    let mut vars: Vec<(String, String)> = [
        ("KUBECONFIG", kubeconfig.display().to_string()),
        ("PSO_WATCH_NAMESPACES", String::new()),
        ("PSO_OPERATOR_NAMESPACE", OPERATOR_NS.into()),
        ("PSO_DEFAULT_CREDENTIALS_SECRET", CREDENTIALS_SECRET.into()),
        ("PSO_API_URL", emulator.api_url()),
        (
            "PSO_OAUTH_TOKEN_URL",
            format!("{}/oauth/token", emulator.url),
        ),
        ("PSO_METRICS_ADDR", "127.0.0.1:0".into()),
        ("PSO_HEALTH_ADDR", format!("127.0.0.1:{health}")),
        ("PSO_LOG_FORMAT", "json".into()),
        ("PSO_LOG_LEVEL", "info".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    for (k, v) in env {
        vars.retain(|(key, _)| key != k);
        vars.push((k.to_string(), v.clone()));
    }
    vars
}

impl Operator {
    /// Starts the operator against `emulator` and waits until `/readyz` answers 200.
    /// `env` adds or overrides `PSO_*` variables (e.g. `PSO_RESYNC_INTERVAL`).
    pub async fn start(
        binary: &Path,
        kubeconfig: &Path,
        emulator: &Emulator,
        env: &[(&str, String)],
        log_dir: &Path,
        name: &str,
    ) -> Result<Self> {
        let health = free_port()?;
        let vars = vars(kubeconfig, emulator, env, health);
        let process = Proc::spawn(name, binary, &["run".into()], &vars, log_dir)?;
        let mut op = Self { process };
        // Long enough for the caches of the scale scenario (20,000 objects) to sync.
        op.wait_ready(health, Duration::from_secs(180)).await?;
        Ok(op)
    }

    async fn wait_ready(&mut self, port: u16, timeout: Duration) -> Result<()> {
        let url = format!("http://127.0.0.1:{port}/readyz");
        let http = reqwest::Client::new();
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(r) = http.get(&url).send().await
                && r.status().is_success()
            {
                return Ok(());
            }
            self.process.check_alive()?;
            if Instant::now() >= deadline {
                bail!(
                    "operator not ready after {timeout:?}; log tail:\n{}",
                    self.process.log_tail(20)
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Peak and current resident memory.
    pub fn memory(&self) -> Result<Memory> {
        self.process.memory()
    }

    /// Fails when the operator has exited.
    pub fn check_alive(&mut self) -> Result<()> {
        self.process.check_alive()
    }
}
