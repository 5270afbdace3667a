//! Scenario 5, fairness: a deploy request waits in `pending_cutover` (`autoApply: false`); its
//! `cutover: true` is set a few seconds into a burst of N new pairs that saturates the operator's
//! API budget. Measures the time from the patch to the deploy applied (`Ready=True`, `Deployed`),
//! with the burst and without one (baseline): the fair limiter serves the deploy-request
//! controller first, so the burst must not delay the cutover by minutes.
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use planetscale_api::Client as PsClient;
use planetscale_operator::crd::DeployRequest;
use serde_json::json;

use crate::cluster::{create_namespace, delete_namespace};
use crate::emulator::{DATABASE, Emulator, ORG};
use crate::pairs::{apply_pairs, names};
use crate::report::{Row, ScenarioReport};
use crate::{Args, Bench};

const NS: &str = "bench-fairness";
/// Branch and password creates the emulator has served when the cutover is requested.
const CREATES_FIRST: u64 = 100;
/// Longest wait for one deploy request state, or for the burst's first creates.
const WAIT: Duration = Duration::from_secs(180);
const POLL: Duration = Duration::from_millis(100);
/// Target: the burst adds at most this many seconds to the cutover.
const MAX_ADDED_S: f64 = 10.0;

/// Runs the scenario; a failure is reported in the result.
pub async fn run(b: &Bench, a: &Args) -> ScenarioReport {
    let mut rep = ScenarioReport {
        name: "fairness".into(),
        params: json!({
            "n": a.fairness_n, "rate_limit_per_minute": a.rate_limit,
            "branch_ready_delay": humantime::format_duration(a.burst_ready_delay).to_string(),
            "deploy_check_and_step_duration": "1s",
        }),
        ..Default::default()
    };
    rep.notes.push(format!(
        "Cutover = from the merge patch `cutover: true` on a DeployRequest in pending_cutover \
         (autoApply: false) to its Ready=True (Deployed), polled every {} ms. Baseline: one deploy \
         request, nothing else. Burst: N pairs applied at once; the patch is sent once the \
         emulator has served {CREATES_FIRST} branch and password creates.",
        POLL.as_millis()
    ));
    if let Err(e) = measure(b, a, &mut rep).await {
        rep.error = Some(format!("{e:#}"));
    }
    if let Err(e) = delete_namespace(&b.client, NS, Duration::from_secs(120)).await {
        rep.notes.push(format!("cleanup: {e:#}"));
    }
    rep
}

async fn measure(b: &Bench, a: &Args, rep: &mut ScenarioReport) -> Result<()> {
    let (n, rate) = (a.fairness_n, a.rate_limit.to_string());
    let flags = format!(
        "--branch-ready-delay {}ms --rate-limit {rate} --development-branch-limit {} \
         --deploy-check-duration 1s --deploy-step-duration 1s",
        a.burst_ready_delay.as_millis(),
        n + 100
    );
    let flags: Vec<&str> = flags.split_whitespace().collect();
    let emu = b.emulator("fairness-emulator", &flags).await?;
    let env = [("PSO_API_RATE_LIMIT", rate.clone())];
    let mut op = b.operator("fairness-operator", &emu, &env).await?;
    create_namespace(&b.client, NS).await?;
    let drs: Api<DeployRequest> = Api::namespaced(b.client.clone(), NS);
    let ps = emu.api_client()?;
    gated(&ps, &emu, &drs, "fair-base").await?;
    let baseline = cutover(&drs, "fair-base").await?.as_secs_f64();
    gated(&ps, &emu, &drs, "fair-burst").await?;
    emu.reset_stats().await?;
    let pairs = names("fair", n);
    let first = CREATES_FIRST.min(2 * n as u64);
    let during = async {
        let before = wait_creates(&emu, first).await?;
        let t = cutover(&drs, "fair-burst").await?;
        anyhow::Ok((before, t, emu.stats().await?.total))
    };
    let (_, (before, t, after)) = tokio::try_join!(apply_pairs(&b.client, NS, &pairs, 50), during)?;
    op.check_alive()?;
    let (burst, added) = (t.as_secs_f64(), t.as_secs_f64() - baseline);
    let rows = &mut rep.rows;
    rows.push(Row::num("cutover, no burst (baseline)", baseline, 1, "s"));
    rows.push(Row::num("cutover during the burst", burst, 1, "s"));
    rows.push(Row::num("delay added by the burst", added, 1, "s").target(
        "not delayed by minutes (≤ 10 s added)",
        added <= MAX_ADDED_S,
    ));
    let calls = [
        ("API calls since the burst began, at the patch", before),
        ("API calls from the patch to Deployed", after - before),
    ];
    for (metric, count) in calls {
        rows.push(Row::num(metric, count as f64, 0, ""));
    }
    let stats = emu.stats().await?;
    rep.details = json!({
        "baseline_seconds": baseline, "burst_seconds": burst, "added_seconds": added,
        "api_calls_before_patch": before, "api_calls_until_deployed": after,
        "api_calls": stats.operations,
    });
    Ok(())
}

/// Development branch `name` with a new table, and a DeployRequest `name` for it with
/// `deploy: true, autoApply: false`; returns once it waits in pending_cutover.
async fn gated(ps: &PsClient, emu: &Emulator, drs: &Api<DeployRequest>, name: &str) -> Result<()> {
    emu.branch_with_table(ps, name).await?;
    let dr: DeployRequest = serde_json::from_value(json!({
        "apiVersion": "planetscale.operator.dev/v1alpha1", "kind": "DeployRequest",
        "metadata": {"name": name},
        "spec": {"organization": ORG, "database": DATABASE, "branch": name,
                 "deploy": true, "autoApply": false},
    }))?;
    drs.create(&PostParams::default(), &dr).await?;
    wait(drs, name, "AwaitingCutover", "AwaitingCutover").await
}

/// Sets `cutover: true` on `name` and returns the time until it is deployed.
async fn cutover(drs: &Api<DeployRequest>, name: &str) -> Result<Duration> {
    let patch = json!({"spec": {"cutover": true}});
    let t0 = Instant::now();
    drs.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    wait(drs, name, "Ready", "Deployed").await?;
    Ok(t0.elapsed())
}

/// Waits until the emulator has served `count` branch and password creates; returns every
/// API call it served by then.
async fn wait_creates(emu: &Emulator, count: u64) -> Result<u64> {
    let deadline = Instant::now() + WAIT;
    loop {
        let s = emu.stats().await?;
        let creates: u64 = ["create_branch", "create_password"]
            .iter()
            .filter_map(|op| s.operations.get(*op).map(|o| o.total))
            .sum();
        if creates >= count {
            return Ok(s.total);
        }
        if Instant::now() >= deadline {
            bail!("{creates} creates after {WAIT:?}, waiting for {count}");
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Waits until condition `type_` of `name` is True with `reason`.
async fn wait(drs: &Api<DeployRequest>, name: &str, type_: &str, reason: &str) -> Result<()> {
    let deadline = Instant::now() + WAIT;
    loop {
        let dr = drs.get(name).await?;
        let is = |c: &Condition| c.type_ == type_ && c.status == "True" && c.reason == reason;
        if dr
            .status
            .as_ref()
            .is_some_and(|s| s.conditions.iter().any(is))
        {
            return Ok(());
        }
        if Instant::now() >= deadline {
            let status = serde_json::to_string(&dr.status)?;
            bail!(
                "DeployRequest {name} not {type_}=True ({reason}) after {WAIT:?}; status: {status}"
            );
        }
        tokio::time::sleep(POLL).await;
    }
}
