//! Scenario 6, scale: N PlanetScaleBranch + PlanetScalePassword pairs (10,000) across D
//! databases (100) of one organization, then a **restart** of the operator with all of them
//! Ready, and a resync period left alone.
//!
//! Setup (not measured): the emulator starts with the D databases seeded from a config file,
//! no rate limit, no ready delay and room for N/D development branches per database; an
//! operator with a raised budget creates every pair, as it would have over its lifetime. The
//! bench waits until every resource is Ready and the API is quiet, and stops that operator.
//!
//! Measured: the emulator's rate limit goes back to the budget (600 per minute) and a new
//! operator process starts with its default budget, as after a rollout. Reported: the time to
//! `/readyz` (every cache synced), the time until every resource has finished one reconcile
//! (the operator's `reconcile_duration_seconds` count per controller), the API requests and
//! kube writes that restart spent, the peak RSS; then one resync interval of idle requests and
//! the RSS at its end (steady).
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use futures::{StreamExt, TryStreamExt, stream};
use serde_json::json;

use crate::cluster::{create_namespace, delete_namespace};
use crate::emulator::{Emulator, Stats};
use crate::metrics::Metrics;
use crate::operator::Operator;
use crate::pairs::{apply_pair_in, ready_counts};
use crate::procs::{Memory, free_port};
use crate::report::{Row, ScenarioReport};
use crate::{Args, Bench};

const NS: &str = "bench-scale";
/// How many objects of a kind one page of a PlanetScale list holds.
const PAGE: usize = 100;
/// API quiet for this long counts as settled.
const QUIET: Duration = Duration::from_secs(3);

/// The workload's shape.
#[derive(Debug, Clone, Copy)]
struct Shape {
    pairs: usize,
    databases: usize,
}

impl Shape {
    fn database(i: usize) -> String {
        format!("scale-{i:03}")
    }

    /// `(resource name, database)` of every pair: pair `j` of database `i` is `s{i}-{j}`.
    fn pairs(self) -> Vec<(String, String)> {
        (0..self.pairs)
            .map(|k| {
                let (db, j) = (k % self.databases, k / self.databases);
                (format!("s{db:03}-{j:04}"), Self::database(db))
            })
            .collect()
    }

    /// Pairs in the fullest database.
    fn per_database(self) -> usize {
        self.pairs.div_ceil(self.databases)
    }

    /// The fewest requests that list every branch (its pairs' plus `main`) and every
    /// password of one database: one paged list per kind, 100 objects a page.
    fn pages_per_database(self) -> usize {
        let n = self.per_database();
        (n + 1).div_ceil(PAGE) + n.div_ceil(PAGE)
    }
}

/// Runs the scenario; a failure is reported in the result.
pub async fn run(b: &Bench, a: &Args) -> ScenarioReport {
    let shape = Shape {
        pairs: a.scale_n,
        databases: a.scale_databases.clamp(1, a.scale_n.max(1)),
    };
    let mut rep = ScenarioReport {
        name: "scale".into(),
        params: json!({
            "n": shape.pairs, "databases": shape.databases,
            "resync_interval": humantime::format_duration(a.scale_resync).to_string(),
            "rate_limit": a.rate_limit,
        }),
        ..Default::default()
    };
    rep.notes.push(format!(
        "Setup (not measured): the emulator has {d} databases seeded (config file), no rate limit, no \
         branch ready delay and a development branch limit of {room} per database; an operator with a \
         60000/min budget creates the {n} pairs. Then that operator stops, the emulator's limit is set \
         to {r}/min, and a new operator starts with a {r}/min budget and a resync interval of {ri}.",
        d = shape.databases,
        room = shape.per_database() + 10,
        n = shape.pairs,
        r = a.rate_limit,
        ri = humantime::format_duration(a.scale_resync),
    ));
    if let Err(e) = measure(b, a, shape, &mut rep).await {
        rep.error = Some(format!("{e:#}"));
    }
    let cleanup = Duration::from_secs(900);
    if let Err(e) = delete_namespace(&b.client, NS, cleanup).await {
        rep.notes.push(format!("cleanup: {e:#}"));
    }
    rep
}

async fn measure(b: &Bench, a: &Args, shape: Shape, rep: &mut ScenarioReport) -> Result<()> {
    let emu = emulator(b, shape).await?;
    let resync = (
        "PSO_RESYNC_INTERVAL",
        format!("{}ms", a.scale_resync.as_millis()),
    );
    let pairs = shape.pairs();

    // Setup: every pair created by an operator with room to spare.
    let t_setup = Instant::now();
    {
        let port = free_port()?;
        let env = [
            resync.clone(),
            ("PSO_API_RATE_LIMIT", "60000".into()),
            ("PSO_METRICS_ADDR", format!("127.0.0.1:{port}")),
        ];
        let mut op = b.operator("scale-setup-operator", &emu, &env).await?;
        create_namespace(&b.client, NS).await?;
        stream::iter(&pairs)
            .map(|(name, db)| apply_pair_in(&b.client, NS, name, db))
            .buffer_unordered(50)
            .try_collect::<Vec<_>>()
            .await?;
        let metrics = Metrics::new(port);
        wait_ready(b, &mut op, &metrics, shape.pairs, a.scale_setup_timeout).await?;
        settle(&emu, Duration::from_secs(300)).await?;
    }
    let setup = t_setup.elapsed();
    println!(
        "bench: scale: {} pairs Ready after {setup:.0?}; restarting the operator",
        shape.pairs
    );

    // The restart.
    emu.patch_settings(json!({ "rate_limit": a.rate_limit }))
        .await?;
    if let Some(hold) = &a.scale_hold {
        hold_for_experiments(b, &emu, hold, &resync, a.rate_limit).await?;
    }
    emu.reset_stats().await?;
    let audit_start = b.audit.offset();
    let metrics_port = free_port()?;
    let env = [
        resync,
        ("PSO_API_RATE_LIMIT", a.rate_limit.to_string()),
        ("PSO_METRICS_ADDR", format!("127.0.0.1:{metrics_port}")),
    ];
    let t0 = Instant::now();
    let mut op = b.operator("scale-operator", &emu, &env).await?;
    let synced = t0.elapsed();
    let metrics = Metrics::new(metrics_port);
    let reconciled =
        wait_reconciled(&mut op, &metrics, shape.pairs, Duration::from_secs(600)).await?;
    let reconciled_at = t0.elapsed();
    settle(&emu, Duration::from_secs(300)).await?;
    let restart_stats = emu.stats().await?;
    let restart_memory = op.memory()?;
    let restart_writes = b.audit.writes_since(audit_start)?;

    // One resync interval left alone; the emulator clock moves 10 minutes, as in `idle`.
    emu.reset_stats().await?;
    let idle_audit = b.audit.offset();
    let step = a.scale_resync / 10;
    let start = Instant::now();
    for i in 1..=10 {
        tokio::time::sleep_until((start + step * i).into()).await;
        emu.advance("1m").await?;
    }
    settle(&emu, Duration::from_secs(120)).await?;
    let idle_stats = emu.stats().await?;
    op.check_alive()?;
    let steady = op.memory()?;
    let failures = metrics.failures().await.unwrap_or_default();
    tokio::time::sleep(Duration::from_millis(500)).await; // the audit log is written as requests finish
    let idle_writes = b.audit.writes_since(idle_audit)?;

    let figures = Figures {
        synced,
        reconciled_at,
        restart_stats: &restart_stats,
        restart_memory,
        idle_stats: &idle_stats,
        steady,
        restart_writes: restart_writes.total,
        idle_writes: idle_writes.total,
    };
    report(rep, shape, &figures);
    rep.details = json!({
        "setup_seconds": setup.as_secs_f64(),
        "restart": {
            "readyz_seconds": synced.as_secs_f64(),
            "reconciled_seconds": reconciled_at.as_secs_f64(),
            "reconciles_finished": reconciled,
            "api_calls": restart_stats.operations,
            "kube_writes": restart_writes,
            "memory_kib": restart_memory,
        },
        "idle": {
            "api_calls": idle_stats.operations,
            "kube_writes": idle_writes,
            "memory_kib": steady,
        },
        "reconcile_failures": failures,
    });
    Ok(())
}

/// An emulator with `shape.databases` databases in `acme` and room for their branches.
async fn emulator(b: &Bench, shape: Shape) -> Result<Emulator> {
    let mut databases = vec![json!({"name": crate::emulator::DATABASE})];
    databases.extend((0..shape.databases).map(|i| json!({"name": Shape::database(i)})));
    let config = json!({
        "organizations": [{"name": crate::emulator::ORG, "databases": databases}],
    });
    let path = b.logs.join("scale-emulator-config.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&config)?)?;
    let room = (shape.per_database() + 10).to_string();
    let path = path.display().to_string();
    let flags = [
        "--config",
        &path,
        "--branch-ready-delay",
        "0s",
        "--rate-limit",
        "0",
        "--development-branch-limit",
        &room,
    ];
    b.emulator("scale-emulator", &flags).await
}

/// With every pair Ready and the setup's operator stopped, writes `path`, a shell script that
/// starts an operator as the measured restart would (`sh path` in another terminal, to try a
/// build or an allocator on the same 10,000 pairs without another setup), and waits until the
/// file is removed. The operator it starts must be stopped before the file is removed.
async fn hold_for_experiments(
    b: &Bench,
    emu: &Emulator,
    path: &std::path::Path,
    resync: &(&str, String),
    rate_limit: u32,
) -> Result<()> {
    let env = [
        resync.clone(),
        ("PSO_API_RATE_LIMIT", rate_limit.to_string()),
        ("PSO_METRICS_ADDR", "127.0.0.1:19090".to_string()),
    ];
    let vars = crate::operator::vars(&b.operator_kubeconfig, emu, &env, 19091);
    let mut script = String::from("# An operator as the scale scenario's restart starts it.\n");
    for (k, v) in vars {
        script.push_str(&format!("export {k}='{v}'\n"));
    }
    script.push_str(&format!(
        "exec \"${{OPERATOR:-{}}}\" run\n",
        b.bin_dir.join("planetscale-operator").display()
    ));
    std::fs::write(path, script)?;
    println!(
        "bench: scale: holding; `sh {p}` starts an operator on the pairs; remove {p} to go on",
        p = path.display()
    );
    while path.exists() {
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    emu.reset_stats().await
}

/// Waits until every branch and password resource is Ready: the setup operator's `resources`
/// gauge (its cache) says so, then one list of each kind confirms it.
async fn wait_ready(
    b: &Bench,
    op: &mut Operator,
    metrics: &Metrics,
    n: usize,
    timeout: Duration,
) -> Result<()> {
    let t0 = Instant::now();
    let mut said = Instant::now();
    let gauge =
        |kind: &str| format!("planetscale_operator_resources{{kind=\"{kind}\",ready=\"True\"}}");
    loop {
        let rb = metrics
            .value(&gauge("PlanetScaleBranch"))
            .await
            .unwrap_or(0.0) as usize;
        let rp = metrics
            .value(&gauge("PlanetScalePassword"))
            .await
            .unwrap_or(0.0) as usize;
        if rb >= n && rp >= n {
            let (rb, rp) = ready_counts(&b.client, NS).await?;
            if rb == n && rp == n {
                return Ok(());
            }
        }
        op.check_alive()?;
        if t0.elapsed() > timeout {
            bail!("setup: {rb}/{n} branches and {rp}/{n} passwords Ready after {timeout:?}");
        }
        if said.elapsed() > Duration::from_secs(30) {
            println!(
                "bench: scale: setup {rb}/{n} branches, {rp}/{n} passwords Ready after {:.0?}",
                t0.elapsed()
            );
            said = Instant::now();
        }
        tokio::time::sleep(SETUP_POLL).await;
    }
}

/// How often the setup looks at the operator's `resources` gauge. Listing every branch and
/// password resource instead (20,000 objects at the default size, about 60 MB of JSON) every
/// 3 s kept the API server busier than the operator's own writes.
const SETUP_POLL: Duration = Duration::from_secs(5);

/// Waits until the emulator has served no request for [`QUIET`].
async fn settle(emu: &Emulator, timeout: Duration) -> Result<()> {
    let t0 = Instant::now();
    let mut last = (emu.stats().await?.total, Instant::now());
    loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let total = emu.stats().await?.total;
        if total != last.0 {
            last = (total, Instant::now());
        } else if last.1.elapsed() >= QUIET {
            return Ok(());
        }
        if t0.elapsed() > timeout {
            bail!("the API was not quiet for {QUIET:?} within {timeout:?} ({total} calls so far)");
        }
    }
}

/// Waits until each of the branch and password controllers has finished `n` reconciles;
/// returns the counts.
async fn wait_reconciled(
    op: &mut Operator,
    metrics: &Metrics,
    n: usize,
    timeout: Duration,
) -> Result<(u64, u64)> {
    let t0 = Instant::now();
    loop {
        let done = metrics.finished().await.unwrap_or_default();
        if done.0 >= n as u64 && done.1 >= n as u64 {
            return Ok(done);
        }
        op.check_alive()?;
        if t0.elapsed() > timeout {
            bail!(
                "after the restart, {}/{n} branch and {}/{n} password reconciles finished within {timeout:?}",
                done.0,
                done.1
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

struct Figures<'a> {
    synced: Duration,
    reconciled_at: Duration,
    restart_stats: &'a Stats,
    restart_memory: Memory,
    idle_stats: &'a Stats,
    steady: Memory,
    restart_writes: u64,
    idle_writes: u64,
}

fn report(rep: &mut ScenarioReport, shape: Shape, f: &Figures<'_>) {
    let rows = &mut rep.rows;
    let dbs = shape.databases as f64;
    let pages = shape.pages_per_database();
    let page_rule = format!(
        "≤ {pages} (⌈{}/{PAGE}⌉ + ⌈{}/{PAGE}⌉)",
        shape.per_database() + 1,
        shape.per_database()
    );
    rows.push(Row::text(
        "Ready pairs / databases",
        format!("{} / {}", shape.pairs, shape.databases),
    ));
    let peak = f.restart_memory.peak_mib();
    rows.push(Row::num("peak RSS (restart)", peak, 1, "MiB").target("≤ 100 MiB", peak <= 100.0));
    let steady = f.steady.current_mib();
    rows.push(
        Row::num("steady RSS (after a resync)", steady, 1, "MiB")
            .target("≤ 100 MiB", steady <= 100.0),
    );
    let synced = f.synced.as_secs_f64();
    rows.push(
        Row::num("restart → caches synced (/readyz)", synced, 1, "s")
            .target("≤ 30 s", synced <= 30.0),
    );
    rows.push(Row::num(
        "restart → every resource reconciled once",
        f.reconciled_at.as_secs_f64(),
        1,
        "s",
    ));
    let per_db = f.restart_stats.total as f64 / dbs;
    rows.push(
        Row::num("API requests of the restart per database", per_db, 2, "")
            .target(&page_rule, per_db <= pages as f64),
    );
    let gets = ["get_branch", "get_password"]
        .iter()
        .filter_map(|op| f.restart_stats.operations.get(*op))
        .map(|o| o.total)
        .sum::<u64>();
    rows.push(
        Row::num("per-object GETs of the restart", gets as f64, 0, "").target("0", gets == 0),
    );
    rows.push(Row::text(
        "API requests of the restart by operation",
        f.restart_stats.per_operation(1.0, 0),
    ));
    rows.push(Row::num(
        "kube writes of the restart",
        f.restart_writes as f64,
        0,
        "",
    ));
    let idle = f.idle_stats.total as f64 / dbs;
    rows.push(
        Row::num("idle API requests per database per resync", idle, 2, "")
            .target(&page_rule, idle <= pages as f64),
    );
    rows.push(Row::text(
        "idle API requests per resync by operation",
        f.idle_stats.per_operation(1.0, 0),
    ));
    rows.push(
        Row::num("idle kube writes per resync", f.idle_writes as f64, 0, "")
            .target("0", f.idle_writes == 0),
    );
    let limited = f.restart_stats.rate_limited() + f.idle_stats.rate_limited();
    rows.push(
        Row::num(
            "429 responses (emulator limit = the budget)",
            limited as f64,
            0,
            "",
        )
        .target("0 (600/min never exceeded)", limited == 0),
    );
}
