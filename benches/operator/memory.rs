//! Scenario 3, memory: the operator's peak resident memory (`VmHWM`) with N pairs, then
//! again after unrelated Secrets and ConfigMaps are added to the cluster. The operator
//! watches every namespace, as deployed by the chart.
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use serde_json::json;

use crate::cluster::{create_namespace, delete_namespace};
use crate::pairs::{apply_pairs, names, unrelated_objects, wait_working};
use crate::procs::Memory;
use crate::report::{Row, ScenarioReport};
use crate::{Args, Bench};

const NS: &str = "bench-memory";
const UNRELATED_NS: &str = "bench-unrelated";
/// How long the operator gets to take in the cluster's changes before memory is read.
const OBSERVE: Duration = Duration::from_secs(10);
/// N of the memory target.
const TARGET_N: usize = 1000;

/// Runs the scenario; a failure is reported in the result.
pub async fn run(b: &Bench, a: &Args) -> ScenarioReport {
    let mut rep = ScenarioReport {
        name: "memory".into(),
        params: json!({"n": a.memory_n, "unrelated": a.unrelated, "unrelated_bytes": a.unrelated_bytes}),
        ..Default::default()
    };
    rep.notes.push(format!(
        "Peak RSS is VmHWM of /proc/<pid>/status, read {o}s after the pairs work. Then the peak is \
         reset to the current RSS (clear_refs 5), the unrelated objects (half Secrets, half ConfigMaps, \
         {b} bytes each, in another namespace) are created, and {o}s later the change is the new peak \
         minus the RSS at the reset. Setup used no rate limit and no branch ready delay.",
        o = OBSERVE.as_secs(),
        b = a.unrelated_bytes
    ));
    if a.memory_n < TARGET_N {
        rep.notes.push(format!(
            "Measured at N={} instead of the target's N={TARGET_N}; the target is compared as is.",
            a.memory_n
        ));
    }
    if let Err(e) = measure(b, a, &mut rep).await {
        rep.error = Some(format!("{e:#}"));
    }
    for ns in [NS, UNRELATED_NS] {
        if let Err(e) = delete_namespace(&b.client, ns, Duration::from_secs(120)).await {
            rep.notes.push(format!("cleanup: {e:#}"));
        }
    }
    rep
}

async fn measure(b: &Bench, a: &Args, rep: &mut ScenarioReport) -> Result<()> {
    let n = a.memory_n;
    let emu = b.pairs_emulator("memory-emulator", n, "0s", "0").await?;
    let mut op = b
        .operator(
            "memory-operator",
            &emu,
            &[("PSO_API_RATE_LIMIT", "60000".to_string())],
        )
        .await?;
    let idle = op.memory()?;
    create_namespace(&b.client, NS).await?;
    let pairs = names("mem", n);
    let t0 = Instant::now();
    apply_pairs(&b.client, NS, &pairs, 50).await?;
    let working = wait_working(
        &b.client,
        NS,
        &emu,
        &pairs,
        t0,
        a.setup_timeout,
        Duration::from_secs(1),
    )
    .await?;
    let setup = t0.elapsed();
    if !working.missing.is_empty() {
        rep.notes.push(format!(
            "only {} of {n} pairs worked within {:?}; memory measured anyway",
            working.at.len(),
            a.setup_timeout
        ));
    }
    tokio::time::sleep(OBSERVE).await;
    let with_pairs = op.memory()?;
    op.check_alive()?;
    let peak_reset = Memory::reset_peak(op.process.pid());
    if let Err(e) = &peak_reset {
        let note = format!("cannot reset the peak ({e:#}): the change is of the overall peak");
        rep.notes.push(note);
    }
    let before = op.memory()?;

    create_namespace(&b.client, UNRELATED_NS).await?;
    let t1 = Instant::now();
    unrelated_objects(&b.client, UNRELATED_NS, a.unrelated, a.unrelated_bytes).await?;
    let created = t1.elapsed();
    tokio::time::sleep(OBSERVE).await;
    let with_unrelated = op.memory()?;
    op.check_alive()?;
    if working.at.is_empty() {
        bail!("no pair worked within {:?}", a.setup_timeout);
    }
    let base = match peak_reset {
        Ok(()) => before.current_kib,
        Err(_) => with_pairs.peak_kib,
    };
    report(
        rep,
        n,
        working.at.len(),
        idle,
        with_pairs,
        base,
        with_unrelated,
    );
    rep.details = json!({
        "setup_seconds": setup.as_secs_f64(),
        "unrelated_create_seconds": created.as_secs_f64(),
        "memory_kib": {"started": idle, "with_pairs": with_pairs, "peak_reset_to": before,
            "with_unrelated": with_unrelated},
    });
    Ok(())
}

fn report(
    rep: &mut ScenarioReport,
    n: usize,
    worked: usize,
    idle: Memory,
    pairs: Memory,
    base_kib: u64,
    unrelated: Memory,
) {
    let peak = pairs.peak_mib();
    let delta = (unrelated.peak_kib as f64 - base_kib as f64) / 1024.0;
    rep.rows
        .push(Row::text("pairs working", format!("{worked}/{n}")));
    rep.rows.push(Row::num(
        "peak RSS after start (no resources)",
        idle.peak_mib(),
        1,
        "MiB",
    ));
    rep.rows.push(
        Row::num(&format!("peak RSS with {n} pairs"), peak, 1, "MiB")
            .target(&format!("≤ 50 MiB at N={TARGET_N}"), peak <= 50.0),
    );
    rep.rows.push(Row::num(
        "RSS now with the pairs",
        pairs.current_mib(),
        1,
        "MiB",
    ));
    rep.rows.push(
        Row::num("peak RSS change from unrelated objects", delta, 1, "MiB")
            .target("< 5 MiB", delta < 5.0),
    );
    rep.rows.push(Row::num(
        "RSS now with unrelated objects",
        unrelated.current_mib(),
        1,
        "MiB",
    ));
}
