//! Scenario 1, burst: N pairs applied at once against a rate-limited API with a branch ready
//! delay. Measures the time until every Secret works, the API calls per pair by operation,
//! and compares the time with the lower bound set by the rate limit.
use std::time::{Duration, Instant};

use anyhow::Result;
use serde_json::json;

use crate::Args;
use crate::Bench;
use crate::audit::Writes;
use crate::cluster::{create_namespace, delete_namespace};
use crate::emulator::Stats;
use crate::pairs::{Working, apply_pairs, names, wait_working};
use crate::procs::Memory;
use crate::report::{Row, ScenarioReport, percentile};

const NS: &str = "bench-burst";
/// Branches per page of the list call that serves readiness.
const PAGE: usize = 100;

/// The fewest API calls the burst needs: a create per branch and per password, plus one
/// paged list of the database's branches once they are all ready.
pub fn minimal_calls(n: usize) -> usize {
    2 * n + n.div_ceil(PAGE)
}

/// Lower bound on the burst's duration at `per_minute` requests per minute with branches
/// that take `ready` to become ready: the minimal calls at the steady rate, or the last
/// branch create (after N creates) plus the ready delay plus its password create, whichever
/// is longer. The limiter's small burst (10 requests, 1 s at 600/min) is ignored.
pub fn lower_bound(n: usize, per_minute: u32, ready: Duration) -> Duration {
    let rate = f64::from(per_minute.max(1)) / 60.0;
    let by_budget = minimal_calls(n) as f64 / rate;
    let by_path = (n as f64 + 1.0) / rate + ready.as_secs_f64();
    Duration::from_secs_f64(by_budget.max(by_path))
}

/// Runs the scenario; a failure is reported in the result, never panics.
pub async fn run(b: &Bench, a: &Args) -> ScenarioReport {
    let lb = lower_bound(a.burst_n, a.rate_limit, a.burst_ready_delay);
    let timeout = a
        .burst_timeout
        .unwrap_or_else(|| (lb * 5).max(Duration::from_secs(240)));
    let mut rep = ScenarioReport {
        name: "burst".into(),
        params: json!({
            "n": a.burst_n, "branch_ready_delay": humantime::format_duration(a.burst_ready_delay).to_string(),
            "rate_limit_per_minute": a.rate_limit, "timeout_s": timeout.as_secs(),
        }),
        ..Default::default()
    };
    rep.notes.push(format!(
        "Lower bound = max((2N + ⌈N/{PAGE}⌉) / r, (N + 1) / r + d) with r = rate limit per second, \
         d = branch ready delay: every branch and password created once, one paged list of the \
         database's branches for readiness, at the steady rate (the operator's 10-request burst ignored)."
    ));
    if let Err(e) = measure(b, a, lb, timeout, &mut rep).await {
        rep.error = Some(format!("{e:#}"));
    }
    if let Err(e) = delete_namespace(&b.client, NS, Duration::from_secs(120)).await {
        rep.notes.push(format!("cleanup: {e:#}"));
    }
    rep
}

async fn measure(
    b: &Bench,
    a: &Args,
    lb: Duration,
    timeout: Duration,
    rep: &mut ScenarioReport,
) -> Result<()> {
    let n = a.burst_n;
    let (delay, rate) = (
        format!("{}ms", a.burst_ready_delay.as_millis()),
        a.rate_limit.to_string(),
    );
    let emu = b.pairs_emulator("burst-emulator", n, &delay, &rate).await?;
    let env = [("PSO_API_RATE_LIMIT", rate.clone())];
    let mut op = b.operator("burst-operator", &emu, &env).await?;
    create_namespace(&b.client, NS).await?;
    emu.reset_stats().await?;
    let audit_start = b.audit.offset();
    let pairs = names("burst", n);
    let t0 = Instant::now();
    apply_pairs(&b.client, NS, &pairs, 50).await?;
    let applied = t0.elapsed();
    let poll = Duration::from_millis(250);
    let working = wait_working(&b.client, NS, &emu, &pairs, t0, timeout, poll).await?;
    let m = Measured {
        stats: emu.stats().await?,
        writes: b.audit.writes_since(audit_start)?,
        memory: op.memory()?,
        working,
    };
    op.check_alive()?;
    report(rep, n, lb, timeout, &m);
    let mut secs: Vec<f64> = m.working.at.values().map(Duration::as_secs_f64).collect();
    rep.details = json!({
        "apply_seconds": applied.as_secs_f64(),
        "median_working_seconds": percentile(&mut secs, 50.0),
        "lower_bound_seconds": lb.as_secs_f64(),
        "minimal_calls": minimal_calls(n),
        "api_calls_total": m.stats.total,
        "api_calls": m.stats.operations,
        "kube_writes": m.writes,
        "missing": m.working.missing.iter().take(20).collect::<Vec<_>>(),
        "operator_memory_kib": m.memory,
    });
    Ok(())
}

/// What the burst produced.
struct Measured {
    stats: Stats,
    writes: Writes,
    memory: Memory,
    working: Working,
}

fn report(rep: &mut ScenarioReport, n: usize, lb: Duration, timeout: Duration, m: &Measured) {
    let done = m.working.at.len();
    let per_pair = m.stats.total as f64 / n as f64;
    let rows = &mut rep.rows;
    rows.push(
        Row::text("Secrets working", format!("{done}/{n}")).target(&format!("{n}/{n}"), done == n),
    );
    let lb_s = lb.as_secs_f64();
    match m.working.last() {
        Some(t) => {
            let ratio = t.as_secs_f64() / lb_s;
            rows.push(Row::num(
                "time to the last working Secret",
                t.as_secs_f64(),
                1,
                "s",
            ));
            rows.push(Row::num(
                "lower bound (rate limit, minimal calls)",
                lb_s,
                1,
                "s",
            ));
            rows.push(Row::num("time / lower bound", ratio, 2, "×").target("≤ 1.2×", ratio <= 1.2));
        }
        None => {
            let shown = format!("> {} s (timed out)", timeout.as_secs());
            let target = format!("≤ 1.2 × {lb_s:.1} s");
            rows.push(Row::text("time to the last working Secret", shown).target(&target, false));
        }
    }
    rows.push(Row::num("API calls per pair", per_pair, 2, "").target("≤ 2.2", per_pair <= 2.2));
    rows.push(Row::text(
        "API calls per pair by operation",
        m.stats.per_operation(n as f64, 2),
    ));
    rows.push(Row::num(
        "429 responses",
        m.stats.rate_limited() as f64,
        0,
        "",
    ));
    rows.push(Row::num(
        "kube writes per pair",
        m.writes.total as f64 / n as f64,
        1,
        "",
    ));
    rows.push(Row::num("operator peak RSS", m.memory.peak_mib(), 1, "MiB"));
}
