//! Scenario 7, webhooks (issue 21): what PlanetScale's webhook deliveries save the operator.
//!
//! The operator runs with its receiver on a loopback port (the emulator delivers to loopback
//! only) and scaled-down webhook timings; a warm-up branch makes it register the database's
//! webhook, and the bench waits until the database is in webhook mode (the operator's
//! `webhook_databases{mode="webhooks"}` gauge). Then:
//!
//! 1. **Branch**: a `PlanetScaleBranch` whose branch the emulator keeps pending for a few
//!    seconds; measured: create → Ready, and the branch reads (`get_branch`, `list_branches`)
//!    while it is pending, i.e. after its create and before its `branch.ready` delivery.
//! 2. **Deploy requests**: the same deploy (same emulator timings) once in webhook mode and
//!    once in polling mode (the emulator drops deliveries until the gauge says `polling`);
//!    measured: the reads of the deploy request and every API request spent on it from the
//!    apply to `complete_pending_revert`, and with webhooks, how long after the emulator's
//!    delivery the status shows each announced state.
//!
//! The emulator logs every API request ([`Log::Requests`]): a request belongs to the deploy
//! request by its path (its number's paths, the create and lookup, the database and the two
//! branches it reads), so earlier deploy requests polling in their revert window and the
//! webhook manager's calls are left out (they are in the details).
mod branch;
mod deploy;

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Result, bail};
use chrono::{DateTime, Utc};
use k8s_openapi::api::core::v1::Secret;
use kube::api::DeleteParams;
use kube::{Api, Client};
use planetscale_operator::crd::DeployRequest;
use planetscale_operator::crd::branch::PlanetScaleBranch;
use serde_json::json;

use crate::cluster::{OPERATOR_NS, create_namespace, delete_namespace};
use crate::emulator::{Emulator, Log, Request};
use crate::metrics::Metrics;
use crate::operator::Operator;
use crate::procs::free_port;
use crate::report::{Row, ScenarioReport, median};
use crate::{Args, Bench};
use branch::{BranchRun, branch_ready, create_branch, create_branch_with, wait_ready};

/// The source branches of the two deploys (webhook mode, then polling).
const DEPLOY_BRANCHES: [&str; 2] = ["wh-webhooks", "wh-polled"];
use deploy::{DeployRun, deploy};

const NS: &str = "bench-webhooks";
const WEBHOOK_MODE: &str = r#"planetscale_operator_webhook_databases{mode="webhooks"}"#;
const POLLING_MODE: &str = r#"planetscale_operator_webhook_databases{mode="polling"}"#;
/// Where the operator keeps the webhooks' secrets (its `--webhook-secret` default).
const HOOK_SECRETS: &str = "planetscale-operator-webhooks";
/// The operator's webhook timings, scaled down like the test's (defaults: sync 30 s, test
/// 5 m, healthy window 11 m): a quiet database stays healthy, and polling returns within
/// seconds once deliveries stop.
const WEBHOOK_ENV: [(&str, &str); 3] = [
    ("PSO_WEBHOOK_SYNC_INTERVAL", "1s"),
    ("PSO_WEBHOOK_TEST_INTERVAL", "2s"),
    ("PSO_WEBHOOK_HEALTHY_WINDOW", "8s"),
];
/// Targets: webhook-mode requests at most this share of the polled ones; the state shown at
/// most this long after its delivery (median).
const MAX_RATIO: f64 = 0.2;
const MAX_MEDIAN_DELAY_MS: f64 = 1000.0;
const WAIT: Duration = Duration::from_secs(90);
const POLL: Duration = Duration::from_millis(50);
/// The deliveries that announce a state, and the `status.deploymentState` each announces.
const ANNOUNCED: [(&str, &str); 2] = [
    ("deploy_request.in_progress", "in_progress"),
    ("deploy_request.schema_applied", "complete_pending_revert"),
];

/// Runs the scenario; a failure is reported in the result.
pub async fn run(b: &Bench, a: &Args) -> ScenarioReport {
    let d = |d: Duration| humantime::format_duration(d).to_string();
    let mut rep = ScenarioReport {
        name: "webhooks".into(),
        params: json!({
            "deploy_check_duration": d(a.webhooks_check_duration),
            "deploy_step_duration": d(a.webhooks_step_duration),
            "branch_ready_delay": d(a.webhooks_branch_ready_delay),
            "rate_limit_per_minute": a.rate_limit,
            "operator": WEBHOOK_ENV.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>(),
        }),
        ..Default::default()
    };
    rep.notes.push(
        "A deploy runs checks, then three steps (submitting, in_progress, \
         in_progress_cutover) of the step duration; autoApply. Requests are counted from the \
         emulator's request log between the apply and the status showing \
         complete_pending_revert; a request is the deploy request's by its path (its number's \
         paths, the create and the open-request lookup, get_database, and the source and main \
         branches). Delay: from the emulator's record of a delivery (after the receiver \
         answered) to the status showing its state, watched from the bench."
            .into(),
    );
    if let Err(e) = measure(b, a, &mut rep).await {
        rep.error = Some(format!("{e:#}"));
    }
    if let Err(e) = cleanup(&b.client).await {
        rep.notes.push(format!("cleanup: {e:#}"));
    }
    rep
}

async fn cleanup(client: &Client) -> Result<()> {
    delete_namespace(client, NS, Duration::from_secs(120)).await?;
    // The secrets of this run's webhooks, which died with its emulator.
    let secrets: Api<Secret> = Api::namespaced(client.clone(), OPERATOR_NS);
    match secrets.delete(HOOK_SECRETS, &DeleteParams::default()).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// The emulator (logging requests, with the two deploy branches) and the operator with its
/// receiver on a free loopback port.
async fn start(b: &Bench, a: &Args) -> Result<(Emulator, Operator, Metrics)> {
    let flags = format!(
        "--branch-ready-delay 0s --rate-limit {} --deploy-check-duration {}ms \
         --deploy-step-duration {}ms",
        a.rate_limit,
        a.webhooks_check_duration.as_millis(),
        a.webhooks_step_duration.as_millis()
    );
    let flags: Vec<&str> = flags.split_whitespace().collect();
    let emu = b
        .emulator_with_log("webhooks-emulator", &flags, Log::Requests)
        .await?;
    emu.patch_settings(json!({"webhook_test_interval": "1s"}))
        .await?;
    let ps = emu.api_client()?;
    for branch in DEPLOY_BRANCHES {
        emu.branch_with_table(&ps, branch).await?;
    }
    let (receiver, metrics_port) = (free_port()?, free_port()?);
    let mut env: Vec<(&str, String)> = WEBHOOK_ENV.map(|(k, v)| (k, v.to_string())).into();
    env.extend([
        ("PSO_WEBHOOK_ADDR", format!("127.0.0.1:{receiver}")),
        (
            "PSO_WEBHOOK_PUBLIC_URL",
            format!("http://127.0.0.1:{receiver}/webhooks/planetscale"),
        ),
        ("PSO_API_RATE_LIMIT", a.rate_limit.to_string()),
        ("PSO_METRICS_ADDR", format!("127.0.0.1:{metrics_port}")),
    ]);
    let op = b.operator("webhooks-operator", &emu, &env).await?;
    Ok((emu, op, Metrics::new(metrics_port)))
}

async fn measure(b: &Bench, a: &Args, rep: &mut ScenarioReport) -> Result<()> {
    let (emu, mut op, metrics) = start(b, a).await?;
    create_namespace(&b.client, NS).await?;
    let branches: Api<PlanetScaleBranch> = Api::namespaced(b.client.clone(), NS);
    create_branch(&branches, "wh-warm").await?;
    wait_ready(&branches, "wh-warm", WAIT).await?;
    // The deploys' branches, as in the product's journey: a PlanetScaleBranch each (adopting
    // the branch the emulator holds with the new table), named by the deploy request's branchRef.
    for name in DEPLOY_BRANCHES {
        create_branch_with(&branches, name, true).await?;
        wait_ready(&branches, name, WAIT).await?;
    }
    wait_mode(&metrics, WEBHOOK_MODE).await?;

    let delay = humantime::format_duration(a.webhooks_branch_ready_delay).to_string();
    emu.patch_settings(json!({ "branch_ready_delay": delay }))
        .await?;
    let branch = branch_ready(&emu, &branches, "wh-branch", a).await?;
    let held = metrics.value(WEBHOOK_MODE).await? == 1.0;
    let timeout = a.webhooks_check_duration + 3 * a.webhooks_step_duration + 2 * WAIT;
    let drs: Api<DeployRequest> = Api::namespaced(b.client.clone(), NS);
    let hooked = deploy(&emu, &drs, "wh-webhooks", timeout).await?;
    let held = held && metrics.value(WEBHOOK_MODE).await? == 1.0;
    emu.patch_settings(json!({"webhook_drop": true})).await?;
    wait_mode(&metrics, POLLING_MODE).await?;
    let polled = deploy(&emu, &drs, "wh-polled", timeout).await?;
    let still_polling = metrics.value(POLLING_MODE).await? == 1.0;
    op.check_alive()?;
    if !held || !still_polling {
        rep.notes.push(format!(
            "The database left its mode during a measurement: webhook mode held {held}, \
             polling mode held {still_polling}."
        ));
    }
    report(rep, &branch, &hooked, &polled);
    Ok(())
}

/// Waits until the operator's gauge `series` (a database mode) is 1.
async fn wait_mode(metrics: &Metrics, series: &str) -> Result<()> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let v = metrics.value(series).await.unwrap_or(0.0);
        if v == 1.0 {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            bail!("{series} is {v} after {WAIT:?}, waiting for 1");
        }
        tokio::time::sleep(POLL).await;
    }
}

/// The API requests the emulator answered between `from` and `to`.
fn window(emu: &Emulator, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<Request>> {
    Ok(emu
        .requests()?
        .into_iter()
        .filter(|r| r.at >= from && r.at <= to)
        .collect())
}

fn by_operation(requests: &[Request]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for r in requests {
        *m.entry(r.operation.clone()).or_default() += 1;
    }
    m
}

fn ops(m: &BTreeMap<String, usize>) -> String {
    let parts: Vec<String> = m.iter().map(|(k, v)| format!("{k} {v}")).collect();
    parts.join(", ")
}

fn report(rep: &mut ScenarioReport, branch: &BranchRun, hooked: &DeployRun, polled: &DeployRun) {
    let rows = &mut rep.rows;
    rows.push(Row::num(
        "branch create → Ready, webhooks",
        branch.took.as_secs_f64(),
        1,
        "s",
    ));
    if let Some(d) = branch.after_delivery {
        rows.push(Row::num(
            "branch.ready delivery → Ready",
            d.as_secs_f64() * 1000.0,
            0,
            "ms",
        ));
    }
    let polls = branch.pending_reads.len();
    rows.push(
        Row::num(
            "branch reads while pending (before branch.ready)",
            polls as f64,
            0,
            "",
        )
        .target("0 while the webhook is healthy", polls == 0),
    );
    rows.push(Row::num(
        "branch reads after branch.ready (the woken pass)",
        branch.woken_reads as f64,
        0,
        "",
    ));
    let took = |r: &DeployRun| r.took.as_secs_f64();
    rows.push(Row::text(
        "deploy apply → complete_pending_revert, webhooks / polled",
        format!("{:.0} s / {:.0} s", took(hooked), took(polled)),
    ));
    let pairs = [
        (
            "get_deploy_request of the deploy request",
            hooked.reads,
            polled.reads,
        ),
        (
            "API requests spent on the deploy request",
            hooked.total(),
            polled.total(),
        ),
    ];
    for (metric, h, p) in pairs {
        rows.push(Row::text(
            &format!("{metric}, webhooks / polled"),
            format!("{h} / {p}"),
        ));
        let ratio = h as f64 / p.max(1) as f64;
        rows.push(
            Row::num(&format!("{metric}, ratio"), ratio, 2, "")
                .target("≤ 1/5 (0.20)", ratio <= MAX_RATIO),
        );
    }
    rows.push(Row::text(
        "deploy request's requests, webhooks",
        ops(&hooked.own),
    ));
    rows.push(Row::text(
        "deploy request's requests, polled",
        ops(&polled.own),
    ));
    let mut ms: Vec<f64> = hooked.delays.iter().map(|(_, d)| *d as f64).collect();
    let shown: Vec<String> = hooked
        .delays
        .iter()
        .map(|(s, d)| format!("{s} {d} ms"))
        .collect();
    let med = median(&mut ms).unwrap_or(f64::NAN);
    rows.push(
        Row::num("delivery → state in status, median", med, 0, "ms")
            .target("≤ 1 s", med <= MAX_MEDIAN_DELAY_MS),
    );
    let max = ms.iter().copied().fold(f64::NAN, f64::max);
    rows.push(Row::num("delivery → state in status, max", max, 0, "ms"));
    rows.push(Row::text(
        "delivery → state in status, each",
        shown.join(", "),
    ));
    rep.details = json!({
        "branch": {
            "seconds": branch.took.as_secs_f64(),
            "pending_reads": branch.pending_reads,
            "woken_reads": branch.woken_reads,
            "requests_by_operation": branch.requests,
        },
        "deploy_webhooks": deploy_details(hooked),
        "deploy_polled": deploy_details(polled),
    });
}

fn deploy_details(r: &DeployRun) -> serde_json::Value {
    json!({
        "seconds": r.took.as_secs_f64(),
        "reads": r.reads,
        "own_by_operation": r.own,
        "other_requests_by_operation": r.others,
        "delivery_to_status_ms": r.delays,
    })
}
