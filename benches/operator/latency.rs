//! Scenario 4, latency: one pair at a time, branches ready at once (emulator ready delay 0);
//! time from applying the pair to its Secret holding working credentials. That is the
//! operator's own overhead: watch delays, reconcile scheduling, API and kube round trips.
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use kube::runtime::watcher::{self, Event};
use serde_json::json;

use crate::cluster::{create_namespace, delete_namespace};
use crate::emulator::Emulator;
use crate::pairs::{apply_pair, secret_works};
use crate::report::{Row, ScenarioReport, percentile};
use crate::{Args, Bench};

const NS: &str = "bench-latency";
/// Pause between runs, so that the operator's request budget (10-request burst) refills and
/// each run measures latency, not the rate limit.
const PACE: Duration = Duration::from_millis(500);
const RUN_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs the scenario; a failure is reported in the result.
pub async fn run(b: &Bench, a: &Args) -> ScenarioReport {
    let mut rep = ScenarioReport {
        name: "latency".into(),
        params: json!({"runs": a.latency_runs, "branch_ready_delay": "0s", "rate_limit_per_minute": a.rate_limit}),
        ..Default::default()
    };
    rep.notes.push(format!(
        "Clock starts before the server-side apply of the branch and the password (sent together) and \
         stops at the Secret watch event whose credentials verify in the emulator. One warm-up run is not \
         counted; runs are {} ms apart so the operator's request budget refills. p99 is nearest-rank \
         (with 50 runs: the slowest).",
        PACE.as_millis()
    ));
    if let Err(e) = measure(b, a, &mut rep).await {
        rep.error = Some(format!("{e:#}"));
    }
    if let Err(e) = delete_namespace(&b.client, NS, Duration::from_secs(120)).await {
        rep.notes.push(format!("cleanup: {e:#}"));
    }
    rep
}

/// Events of the one Secret watch the scenario keeps open for all runs.
type Secrets = futures::stream::BoxStream<'static, Result<Event<Secret>, watcher::Error>>;

/// Opens the watch of the namespace's Secrets and waits for its initial list. One watch for
/// every run: a watch per run held one of the client's connections and dropped it at the end,
/// so each run's apply opened a new TLS connection to the API server (about 45 ms on this
/// machine), which is the bench client's cost, not the operator's.
async fn watch_secrets(b: &Bench) -> Result<Secrets> {
    let secrets: Api<Secret> = Api::namespaced(b.client.clone(), NS);
    let mut events = watcher::watcher(secrets, watcher::Config::default()).boxed();
    while !matches!(events.try_next().await?, Some(Event::InitDone)) {}
    Ok(events)
}

/// One pair from apply to working Secret.
async fn one_run(emu: &Emulator, b: &Bench, events: &mut Secrets, name: &str) -> Result<Duration> {
    let t0 = Instant::now();
    apply_pair(&b.client, NS, name).await?;
    let deadline = tokio::time::Instant::now() + RUN_TIMEOUT;
    loop {
        let ev = tokio::time::timeout_at(deadline, events.try_next())
            .await
            .with_context(|| format!("{name}: no working Secret after {RUN_TIMEOUT:?}"))??;
        match ev {
            Some(Event::Apply(s) | Event::InitApply(s))
                if s.metadata.name.as_deref() == Some(name) =>
            {
                let t = t0.elapsed();
                if secret_works(emu, name, &s).await? {
                    return Ok(t);
                }
            }
            Some(_) => {}
            None => bail!("{name}: Secret watch ended"),
        }
    }
}

async fn measure(b: &Bench, a: &Args, rep: &mut ScenarioReport) -> Result<()> {
    let rate = a.rate_limit.to_string();
    let emu = b
        .emulator(
            "latency-emulator",
            &["--branch-ready-delay", "0s", "--rate-limit", &rate],
        )
        .await?;
    let mut op = b
        .operator(
            "latency-operator",
            &emu,
            &[("PSO_API_RATE_LIMIT", rate.clone())],
        )
        .await?;
    create_namespace(&b.client, NS).await?;
    let mut events = watch_secrets(b).await?;
    one_run(&emu, b, &mut events, "lat-warmup").await?;
    tokio::time::sleep(PACE).await;
    emu.reset_stats().await?;
    let mut ms = Vec::with_capacity(a.latency_runs);
    for i in 0..a.latency_runs {
        let t = one_run(&emu, b, &mut events, &format!("lat-{i:03}")).await?;
        ms.push(t.as_secs_f64() * 1000.0);
        tokio::time::sleep(PACE).await;
    }
    let stats = emu.stats().await?;
    op.check_alive()?;
    let samples = ms.clone();
    let median = percentile(&mut ms, 50.0).unwrap_or(f64::NAN);
    let p99 = percentile(&mut ms, 99.0).unwrap_or(f64::NAN);
    let runs = a.latency_runs.max(1) as f64;
    rep.rows.push(Row::num("runs", runs, 0, ""));
    rep.rows.push(
        Row::num("median apply → working Secret", median, 0, "ms")
            .target("≤ 150 ms", median <= 150.0),
    );
    rep.rows.push(
        Row::num("p99 apply → working Secret", p99, 0, "ms").target("≤ 500 ms", p99 <= 500.0),
    );
    rep.rows.push(Row::num(
        "fastest",
        ms.first().copied().unwrap_or(f64::NAN),
        0,
        "ms",
    ));
    rep.rows.push(Row::num(
        "API calls per run",
        stats.total as f64 / runs,
        1,
        "",
    ));
    rep.details = json!({"latencies_ms": samples, "api_calls": stats.operations});
    Ok(())
}
