//! Scenario 2, idle: N Ready pairs left alone for a stretch of emulator clock. Measures the
//! API calls and kube writes a steady state costs.
//!
//! Time mapping: the operator runs with a short resync interval R (`--idle-resync`, 30 s)
//! that stands for its default of 10 minutes, so one emulator minute is R / 10 of real time.
//! The window lasts `minutes` emulator minutes (`minutes / 10 × R` real), and the emulator
//! clock is advanced by one minute every R / 10. Figures are per resync interval and per
//! emulator minute, which is what the operator costs per minute at its default resync.
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use serde_json::json;

use crate::cluster::{create_namespace, delete_namespace};
use crate::emulator::Emulator;
use crate::pairs::{apply_pairs, names, ready_counts, wait_working};
use crate::report::{Row, ScenarioReport};
use crate::{Args, Bench};

const NS: &str = "bench-idle";
/// Databases the pairs live in (all on acme/shop).
const DATABASES: f64 = 1.0;

/// Runs the scenario; a failure is reported in the result.
pub async fn run(b: &Bench, a: &Args) -> ScenarioReport {
    let mut rep = ScenarioReport {
        name: "idle".into(),
        params: json!({
            "n": a.idle_n, "resync_interval": humantime::format_duration(a.idle_resync).to_string(),
            "emulator_minutes": a.idle_minutes, "stands_for_resync": "10m",
        }),
        ..Default::default()
    };
    rep.notes.push(format!(
        "The operator's resync interval {} stands for its default 10 m: one emulator minute = {:.1} s real; \
         the clock is advanced 1 m at a time over {} emulator minutes. Setup (not measured) used no rate limit \
         and no branch ready delay.",
        humantime::format_duration(a.idle_resync),
        a.idle_resync.as_secs_f64() / 10.0,
        a.idle_minutes
    ));
    if let Err(e) = measure(b, a, &mut rep).await {
        rep.error = Some(format!("{e:#}"));
    }
    if let Err(e) = delete_namespace(&b.client, NS, Duration::from_secs(120)).await {
        rep.notes.push(format!("cleanup: {e:#}"));
    }
    rep
}

/// Waits until every resource is Ready and the API has been quiet for `quiet`.
async fn settle(
    b: &Bench,
    emu: &Emulator,
    n: usize,
    quiet: Duration,
    timeout: Duration,
) -> Result<Duration> {
    let t0 = Instant::now();
    let mut last = (emu.stats().await?.total, Instant::now());
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let total = emu.stats().await?.total;
        if total != last.0 {
            last = (total, Instant::now());
        }
        let (rb, rp) = ready_counts(&b.client, NS).await?;
        if rb == n && rp == n && last.1.elapsed() >= quiet {
            return Ok(t0.elapsed());
        }
        if t0.elapsed() > timeout {
            bail!("not settled after {timeout:?}: {rb}/{n} branches and {rp}/{n} passwords Ready");
        }
    }
}

async fn measure(b: &Bench, a: &Args, rep: &mut ScenarioReport) -> Result<()> {
    let n = a.idle_n;
    let emu = b.pairs_emulator("idle-emulator", n, "0s", "0").await?;
    let env = [
        (
            "PSO_RESYNC_INTERVAL",
            format!("{}ms", a.idle_resync.as_millis()),
        ),
        ("PSO_API_RATE_LIMIT", "60000".to_string()),
    ];
    let mut op = b.operator("idle-operator", &emu, &env).await?;
    create_namespace(&b.client, NS).await?;
    let pairs = names("idle", n);
    let t0 = Instant::now();
    apply_pairs(&b.client, NS, &pairs, 50).await?;
    let working = wait_working(
        &b.client,
        NS,
        &emu,
        &pairs,
        t0,
        a.setup_timeout,
        Duration::from_millis(500),
    )
    .await?;
    if !working.missing.is_empty() {
        bail!(
            "setup: {} of {n} Secrets not working after {:?}",
            working.missing.len(),
            a.setup_timeout
        );
    }
    let settled = settle(b, &emu, n, Duration::from_secs(3), Duration::from_secs(120)).await?;

    emu.reset_stats().await?;
    let audit_start = b.audit.offset();
    let step = a.idle_resync / 10;
    let start = Instant::now();
    for i in 1..=a.idle_minutes {
        tokio::time::sleep_until((start + step * i).into()).await;
        emu.advance("1m").await?;
    }
    let window = start.elapsed();
    let stats = emu.stats().await?;
    op.check_alive()?;
    tokio::time::sleep(Duration::from_millis(500)).await; // the audit log is written as requests finish
    let writes = b.audit.writes_since(audit_start)?;
    report(rep, a, &stats, &writes);
    rep.details = json!({
        "setup_seconds": t0.elapsed().as_secs_f64() - window.as_secs_f64(),
        "settle_seconds": settled.as_secs_f64(),
        "window_real_seconds": window.as_secs_f64(),
        "api_calls_total": stats.total,
        "api_calls": stats.operations,
        "kube_writes": writes,
    });
    Ok(())
}

fn report(
    rep: &mut ScenarioReport,
    a: &Args,
    stats: &crate::emulator::Stats,
    writes: &crate::audit::Writes,
) {
    let minutes = f64::from(a.idle_minutes.max(1));
    let per_interval = stats.total as f64 / (minutes / 10.0) / DATABASES;
    let per_minute = |count: u64| count as f64 / minutes;
    let window = format!("in {} emulator minutes", a.idle_minutes);
    let rows = &mut rep.rows;
    rows.push(Row::num("Ready pairs", a.idle_n as f64, 0, ""));
    let calls = "API calls per database per resync interval";
    rows.push(Row::num(calls, per_interval, 1, "").target("≤ 1", per_interval <= 1.0));
    rows.push(Row::num(
        "API calls per minute",
        per_minute(stats.total),
        2,
        "/min",
    ));
    let by_op = stats.per_operation(1.0, 0);
    rows.push(Row::text(
        &format!("API calls {window} by operation"),
        by_op,
    ));
    let writes_row = Row::num(
        "kube writes per minute",
        per_minute(writes.total),
        2,
        "/min",
    );
    rows.push(writes_row.target("0", writes.total == 0));
    let kinds: Vec<String> = writes
        .by_kind
        .iter()
        .map(|(k, c)| format!("{k} {c}"))
        .collect();
    let kinds = if kinds.is_empty() {
        "none".into()
    } else {
        kinds.join(", ")
    };
    rows.push(Row::text(&format!("kube writes {window}"), kinds));
}
