//! `make bench`: the operator's use of the PlanetScale API budget, its kube writes, memory and
//! latency, measured against its own local control plane (`.bench/testenv`) and the emulator,
//! with the operator as a separate release-built process. Writes `target/bench/report.json`
//! and `report.md` and prints a table. docs/performance.md explains each scenario.
//!
//! Every parameter is a flag and a `BENCH_*` variable: `make bench BENCH_N=20` runs small.
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Parser;
use kube::Client;

mod audit;
mod burst;
mod cluster;
mod emulator;
mod fairness;
mod idle;
mod latency;
mod memory;
mod metrics;
mod operator;
mod pairs;
mod procs;
mod report;
mod scale;
mod webhooks;

use audit::AuditLog;
use emulator::Emulator;
use operator::Operator;
use report::{Report, ScenarioReport};

/// Benchmark of the planetscale-operator (see docs/performance.md).
#[derive(Parser, Debug, Clone)]
#[command(name = "bench")]
pub struct Args {
    /// Scenarios to run, comma-separated: burst, idle, latency, memory, fairness, scale, webhooks.
    #[arg(
        long,
        env = "BENCH_SCENARIOS",
        value_delimiter = ',',
        default_value = "burst,idle,latency,memory,fairness,scale,webhooks"
    )]
    pub scenarios: Vec<String>,
    /// Number of pairs for burst, idle, memory and scale at once (overrides their own).
    #[arg(long, env = "BENCH_N")]
    pub n: Option<usize>,
    /// Burst: pairs applied at once.
    #[arg(long, env = "BENCH_BURST_N", default_value_t = 200)]
    pub burst_n: usize,
    /// Burst and fairness: the emulator's branch ready delay.
    #[arg(long, env = "BENCH_BURST_READY_DELAY", default_value = "5s", value_parser = humantime::parse_duration)]
    pub burst_ready_delay: Duration,
    /// Burst, latency and fairness: API requests per minute (the emulator's limit and the operator's budget).
    #[arg(long, env = "BENCH_RATE_LIMIT", default_value_t = 600)]
    pub rate_limit: u32,
    /// Burst: give up after this long (default: 5 × the lower bound, at least 4 minutes).
    #[arg(long, env = "BENCH_BURST_TIMEOUT", value_parser = humantime::parse_duration)]
    pub burst_timeout: Option<Duration>,
    /// Idle: Ready pairs.
    #[arg(long, env = "BENCH_IDLE_N", default_value_t = 200)]
    pub idle_n: usize,
    /// Idle: the operator's resync interval, standing for its default 10 minutes.
    #[arg(long, env = "BENCH_IDLE_RESYNC", default_value = "30s", value_parser = humantime::parse_duration)]
    pub idle_resync: Duration,
    /// Idle: minutes of emulator clock measured.
    #[arg(long, env = "BENCH_IDLE_MINUTES", default_value_t = 10)]
    pub idle_minutes: u32,
    /// Memory: pairs.
    #[arg(long, env = "BENCH_MEMORY_N", default_value_t = 1000)]
    pub memory_n: usize,
    /// Memory: unrelated objects added (half Secrets, half ConfigMaps).
    #[arg(long, env = "BENCH_UNRELATED", default_value_t = 10_000)]
    pub unrelated: usize,
    /// Memory: bytes of data in each unrelated object.
    #[arg(long, env = "BENCH_UNRELATED_BYTES", default_value_t = 1024)]
    pub unrelated_bytes: usize,
    /// Setup of idle and memory: give up waiting for the pairs after this long.
    #[arg(long, env = "BENCH_SETUP_TIMEOUT", default_value = "6m", value_parser = humantime::parse_duration)]
    pub setup_timeout: Duration,
    /// Latency: measured runs (one warm-up run comes first and is not counted).
    #[arg(long, env = "BENCH_LATENCY_RUNS", default_value_t = 50)]
    pub latency_runs: usize,
    /// Fairness: pairs applied at once while a deploy request is cut over.
    #[arg(long, env = "BENCH_FAIRNESS_N", default_value_t = 500)]
    pub fairness_n: usize,
    /// Scale: Ready pairs the operator restarts with.
    #[arg(long, env = "BENCH_SCALE_N", default_value_t = 10_000)]
    pub scale_n: usize,
    /// Scale: databases the pairs are spread over (evenly).
    #[arg(long, env = "BENCH_SCALE_DATABASES", default_value_t = 100)]
    pub scale_databases: usize,
    /// Scale: the operator's resync interval, standing for its default 10 minutes.
    #[arg(long, env = "BENCH_SCALE_RESYNC", default_value = "2m", value_parser = humantime::parse_duration)]
    pub scale_resync: Duration,
    /// Scale: after the setup, write this shell script (an operator as the restart starts it)
    /// and wait until it is removed, to try builds on the same pairs (docs/performance.md).
    #[arg(long, env = "BENCH_SCALE_HOLD")]
    pub scale_hold: Option<PathBuf>,
    /// Scale: give up waiting for the pairs of the setup after this long.
    #[arg(long, env = "BENCH_SCALE_SETUP_TIMEOUT", default_value = "90m", value_parser = humantime::parse_duration)]
    pub scale_setup_timeout: Duration,
    /// Webhooks: how long the emulator's deploy checks run.
    #[arg(long, env = "BENCH_WEBHOOKS_CHECK_DURATION", default_value = "5s", value_parser = humantime::parse_duration)]
    pub webhooks_check_duration: Duration,
    /// Webhooks: each of a deploy's three steps (submitting, in progress, cutover).
    #[arg(long, env = "BENCH_WEBHOOKS_STEP_DURATION", default_value = "60s", value_parser = humantime::parse_duration)]
    pub webhooks_step_duration: Duration,
    /// Webhooks: how long the measured branch stays pending in the emulator.
    #[arg(long, env = "BENCH_WEBHOOKS_BRANCH_READY_DELAY", default_value = "5s", value_parser = humantime::parse_duration)]
    pub webhooks_branch_ready_delay: Duration,
    /// Take the operator, emulator and crdgen binaries from this folder instead of
    /// `target/release` (to compare two builds back to back).
    #[arg(long, env = "BENCH_BIN_DIR")]
    pub bin_dir: Option<PathBuf>,
    /// Where report.json, report.md and logs/ go (default: <repo>/target/bench).
    #[arg(long, env = "BENCH_OUT")]
    pub out: Option<PathBuf>,
    /// The operators' log level (`PSO_LOG_LEVEL`), e.g. `debug` to see each pass in
    /// `logs/<scenario>-operator.log`; debug logging slows the operator, so figures taken
    /// with it are not comparable.
    #[arg(long, env = "BENCH_OPERATOR_LOG", default_value = "info")]
    pub operator_log: String,
    /// Passed by `cargo bench`. Without it (`cargo test --benches` runs bench targets too) the
    /// program only says how to run it.
    #[arg(long, hide = true)]
    pub bench: bool,
}

/// What every scenario shares: binaries, the control plane, the operator's identity.
pub struct Bench {
    pub bin_dir: PathBuf,
    pub logs: PathBuf,
    pub client: Client,
    pub operator_kubeconfig: PathBuf,
    pub audit: AuditLog,
    pub operator_log: String,
}

impl Bench {
    /// Starts an emulator with `extra` flags; its log is `logs/<name>.log`.
    pub async fn emulator(&self, name: &str, extra: &[&str]) -> Result<Emulator> {
        self.emulator_with_log(name, extra, emulator::Log::Quiet)
            .await
    }

    /// The same, with what the emulator logs.
    pub async fn emulator_with_log(
        &self,
        name: &str,
        extra: &[&str],
        log: emulator::Log,
    ) -> Result<Emulator> {
        let bin = self.bin_dir.join("planetscale-emulator");
        Emulator::start(&bin, extra, &self.logs, name, log).await
    }

    /// An emulator for `n` pairs: branches ready after `ready_delay` (e.g. `"5000ms"`),
    /// `rate_limit` requests per minute (`"0"`: none), and room for `n` development branches.
    pub async fn pairs_emulator(
        &self,
        name: &str,
        n: usize,
        ready_delay: &str,
        rate_limit: &str,
    ) -> Result<Emulator> {
        let limit = (n + 100).to_string();
        let flags = [
            "--branch-ready-delay",
            ready_delay,
            "--rate-limit",
            rate_limit,
            "--development-branch-limit",
            &limit,
        ];
        self.emulator(name, &flags).await
    }

    /// Starts the operator against `emulator` with `env` overrides and waits until it is ready.
    pub async fn operator(
        &self,
        name: &str,
        emulator: &Emulator,
        env: &[(&str, String)],
    ) -> Result<Operator> {
        let bin = self.bin_dir.join("planetscale-operator");
        let mut env = env.to_vec();
        if !env.iter().any(|(k, _)| *k == "PSO_LOG_LEVEL") {
            env.push(("PSO_LOG_LEVEL", self.operator_log.clone()));
        }
        Operator::start(
            &bin,
            &self.operator_kubeconfig,
            emulator,
            &env,
            &self.logs,
            name,
        )
        .await
    }
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `target/release` of the running bench executable (`target/release/deps/operator-<hash>`).
fn release_dir(bin_dir: Option<&Path>) -> Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let dir = match bin_dir {
        Some(dir) => dir,
        None => exe
            .parent()
            .and_then(Path::parent)
            .context("bench executable has no target dir")?,
    };
    for bin in ["planetscale-operator", "planetscale-emulator", "crdgen"] {
        if !dir.join(bin).exists() {
            bail!(
                "{} is missing: build it with `cargo build --release --workspace --bins` (make bench does)",
                dir.join(bin).display()
            );
        }
    }
    Ok(dir.to_path_buf())
}

fn commit() -> String {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .current_dir(repo_root())
            .output()
    };
    let hash = git(&["rev-parse", "--short", "HEAD"])
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let dirty = git(&["diff", "--quiet", "HEAD"]).is_ok_and(|o| !o.status.success());
    if dirty { format!("{hash}-dirty") } else { hash }
}

async fn run_scenarios(args: &Args, bench: &Bench, done: &mut Vec<ScenarioReport>) -> Result<()> {
    for name in &args.scenarios {
        let t = Instant::now();
        println!("bench: scenario {name} …");
        let mut rep = match name.as_str() {
            "burst" => burst::run(bench, args).await,
            "idle" => idle::run(bench, args).await,
            "memory" => memory::run(bench, args).await,
            "latency" => latency::run(bench, args).await,
            "fairness" => fairness::run(bench, args).await,
            "scale" => scale::run(bench, args).await,
            "webhooks" => webhooks::run(bench, args).await,
            other => {
                bail!(
                    "unknown scenario {other:?}: use burst, idle, memory, latency, fairness, \
                     scale or webhooks"
                )
            }
        };
        rep.wall_seconds = t.elapsed().as_secs_f64();
        println!("bench: scenario {name} done in {:.0} s", rep.wall_seconds);
        done.push(rep);
    }
    Ok(())
}

async fn setup(args: &Args, repo: &Path) -> Result<(cluster::Testenv, Bench, PathBuf)> {
    let bin_dir = release_dir(args.bin_dir.as_deref())?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| repo.join("target/bench"));
    let logs = out.join("logs");
    let _ = std::fs::remove_dir_all(&logs);
    std::fs::create_dir_all(&logs)?;
    let crds = repo.join(".bench/crds");
    cluster::generate_crds(&bin_dir.join("crdgen"), &crds)?;
    let env = cluster::Testenv::up(repo, &crds)?;
    let client = env.client().await?;
    let operator_kubeconfig = repo.join(".bench/operator.kubeconfig");
    cluster::operator_identity(&client, &env.kubeconfig(), &operator_kubeconfig).await?;
    let audit = AuditLog::new(&env.audit_log(), cluster::OPERATOR_USER);
    let bench = Bench {
        bin_dir,
        logs,
        client,
        operator_kubeconfig,
        audit,
        operator_log: args.operator_log.clone(),
    };
    Ok((env, bench, out))
}

async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let mut args = Args::parse();
    if !args.bench {
        println!("bench: not run; use `make bench` or `cargo bench --bench operator` (see --help)");
        return std::process::ExitCode::SUCCESS;
    }
    if let Some(n) = args.n {
        (args.burst_n, args.idle_n, args.memory_n, args.scale_n) = (n, n, n, n);
    }
    let repo = repo_root();
    let (env, bench, out) = match setup(&args, &repo).await {
        Ok(v) => v,
        Err(e) => {
            eprintln!("bench: setup failed: {e:#}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let mut done = Vec::new();
    let outcome = tokio::select! {
        r = run_scenarios(&args, &bench, &mut done) => r,
        _ = shutdown_signal() => Err(anyhow::anyhow!("interrupted")),
    };
    drop(bench);
    drop(env);
    let report = Report {
        generated_at: chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
        commit: commit(),
        cpus: std::thread::available_parallelism().map_or(0, std::num::NonZero::get),
        scenarios: done,
    };
    finish(&report, &out, outcome)
}

fn finish(report: &Report, out: &Path, outcome: Result<()>) -> std::process::ExitCode {
    if let Err(e) = report.write(out) {
        eprintln!("bench: cannot write the report: {e:#}");
        return std::process::ExitCode::FAILURE;
    }
    println!("\n{}", report.table());
    println!("bench: wrote {}/report.json and report.md", out.display());
    let failed = report.scenarios.iter().any(|s| s.error.is_some());
    match outcome {
        Err(e) => {
            eprintln!("bench: stopped: {e:#}");
            std::process::ExitCode::FAILURE
        }
        Ok(()) if failed => std::process::ExitCode::FAILURE,
        Ok(()) => std::process::ExitCode::SUCCESS,
    }
}
