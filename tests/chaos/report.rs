//! What the run did (faults injected by kind, restarts, resources, request rates, from the
//! emulator's own stats and fault hit counts) and the printed summary.
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::checks::Check;
use super::disrupt::Faults;
use super::model::Run;

/// The emulator's limit per credential per minute (its default `--rate-limit`).
pub const RATE_LIMIT: u64 = 600;

/// Counts from the emulator at the end of the run.
#[derive(Debug, Default)]
pub struct Counts {
    /// `/v1` responses by status (injected ones included).
    pub by_status: BTreeMap<u16, u64>,
    pub total: u64,
    pub injected_429: u64,
    pub injected_5xx: u64,
    /// Connections closed after the request was processed (from the emulator log).
    pub dropped: u64,
    /// Of those, creates that succeeded (201) without the operator seeing the answer.
    pub lost_creates: u64,
    pub delayed: u64,
    /// 429s of the emulator's own rate limiter (all 429s minus the injected ones).
    pub limiter_429: u64,
    /// Most requests in any 60-second window of the run.
    pub peak_per_minute: u64,
    pub creates: BTreeMap<String, u64>,
}

/// Reads the emulator's stats, fault hit counts and log.
pub async fn fault_counts(run: &Run, faults: &Faults) -> Counts {
    let stats = run.emulator.stats().await;
    let rules = run.emulator.admin_get("/_emulator/faults").await;
    let hits = |id: u64| -> u64 {
        let rule = rules["data"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|r| r["id"] == id);
        let rule = rule.unwrap_or_else(|| panic!("fault rule {id} missing from {rules}"));
        rule["hits"].as_u64().expect("hits")
    };
    let mut c = Counts::default();
    for (op, v) in stats["operations"].as_object().into_iter().flatten() {
        for (status, n) in v["by_status"].as_object().into_iter().flatten() {
            let (status, n): (u16, u64) = (status.parse().unwrap_or(0), n.as_u64().unwrap_or(0));
            *c.by_status.entry(status).or_default() += n;
            if op.starts_with("create_") && (200..300).contains(&status) {
                *c.creates.entry(op.clone()).or_default() += n;
            }
        }
    }
    c.total = stats["total"].as_u64().unwrap_or(0);
    c.injected_429 = hits(faults.too_many);
    c.injected_5xx = c
        .by_status
        .iter()
        .filter(|(s, _)| **s >= 500)
        .map(|(_, n)| n)
        .sum();
    let log = strip_ansi(&run.emulator.process.log_text());
    let dropped: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("connection dropped after processing"))
        .collect();
    c.dropped = dropped.len() as u64;
    c.lost_creates = dropped
        .iter()
        .filter(|l| l.contains("operation=\"create_") && l.contains("status=201"))
        .count() as u64;
    c.delayed = hits(faults.latency);
    let all_429 = c.by_status.get(&429).copied().unwrap_or(0);
    c.limiter_429 = all_429.saturating_sub(c.injected_429);
    c.peak_per_minute = peak_per_minute(&run.samples.lock().unwrap());
    c
}

/// The text without terminal colour sequences (`ESC [ … m`).
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Most requests in any 60-second window, from `(when, running total)` samples.
fn peak_per_minute(samples: &[(std::time::Instant, u64)]) -> u64 {
    let window = Duration::from_secs(60);
    let mut peak = 0;
    for (i, (t, total)) in samples.iter().enumerate() {
        let start = samples[..=i]
            .iter()
            .find(|(s, _)| t.duration_since(*s) <= window)
            .map_or(0, |(_, n)| *n);
        peak = peak.max(total - start);
    }
    peak
}

/// Prints the summary: the plan, what was injected, restarts, resources, and every check.
pub fn print(run: &Run, c: &Counts, checks: &[Check], took: Duration) {
    let p = &run.plan;
    let kills = run.kills.load(Ordering::SeqCst);
    let deleted = run.deleted();
    let mut out = String::new();
    let mut line = |s: String| {
        out.push_str(&s);
        out.push('\n');
    };
    line("================ chaos summary ================".into());
    line(format!("plan       {p}"));
    line(format!("duration   {took:.0?}"));
    line(format!(
        "resources  {} PlanetScaleBranch, {} PlanetScalePassword, {} DeployRequest; deleted mid-run: {}",
        p.deploy_requests + 2 * p.scratch,
        p.passwords,
        p.deploy_requests,
        deleted
            .iter()
            .map(|d| format!("{} ({:?})", d.name, d.expect))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    line(format!(
        "restarts   operator SIGKILLed {kills}× ({} processes), kube-apiserver restarted {}×",
        run.operator_starts(),
        run.apiserver_restarts.load(Ordering::SeqCst)
    ));
    line(format!(
        "requests   {} to /v1, by status {:?}",
        c.total, c.by_status
    ));
    line(format!("creates    {:?}", c.creates));
    line(format!(
        "faults     5xx {} ({:.1}%), 429 injected {} ({:.1}%), dropped after processing {} ({:.1}%; {} successful creates whose answer was lost), +300 ms latency {}",
        c.injected_5xx,
        pct(c.injected_5xx, c.total),
        c.injected_429,
        pct(c.injected_429, c.total),
        c.dropped,
        pct(c.dropped, c.total),
        c.lost_creates,
        c.delayed
    ));
    line(format!(
        "rate       peak {} requests in a 60 s window (limit {RATE_LIMIT}), emulator limiter 429s {}",
        c.peak_per_minute, c.limiter_429
    ));
    line("checks".into());
    for check in checks {
        line(format!(
            "  [{}] {}",
            if check.passed { "PASS" } else { "FAIL" },
            check.name
        ));
        for d in check.detail.lines() {
            line(format!("         {d}"));
        }
    }
    line("===============================================".into());
    println!("{out}");
}

fn pct(n: u64, total: u64) -> f64 {
    if total == 0 {
        0.0
    } else {
        100.0 * n as f64 / total as f64
    }
}

/// Fails the test when any check failed (after the summary was printed).
pub fn assert_passed(checks: &[Check]) {
    let failed: Vec<&str> = checks
        .iter()
        .filter(|c| !c.passed)
        .map(|c| c.name)
        .collect();
    assert!(
        failed.is_empty(),
        "chaos checks failed: {failed:?} (see the summary above)"
    );
}
