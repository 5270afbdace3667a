//! The branch measurement: create → Ready while the database is in webhook mode, and the
//! branch reads while the branch is pending.
use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use chrono::Utc;
use kube::Api;
use kube::api::PostParams;
use planetscale_operator::crd::branch::PlanetScaleBranch;
use planetscale_operator::crd::conditions::{READY, is_condition_true};
use serde_json::json;

use super::{POLL, WAIT, by_operation, window};
use crate::Args;
use crate::emulator::{DATABASE, Emulator, ORG, Request};

/// What the branch measurement saw.
pub struct BranchRun {
    pub took: Duration,
    /// From the `branch.ready` delivery to Ready (`None`: no delivery recorded).
    pub after_delivery: Option<Duration>,
    /// Branch reads after the create and before the delivery (polling while pending).
    pub pending_reads: Vec<Request>,
    /// Branch reads after the delivery (the woken pass).
    pub woken_reads: usize,
    pub requests: BTreeMap<String, usize>,
}

pub async fn create_branch(api: &Api<PlanetScaleBranch>, name: &str) -> Result<()> {
    create_branch_with(api, name, false).await
}

/// Creates `PlanetScaleBranch` `name`; with `adopt`, it takes over the branch of that name
/// that already exists in PlanetScale.
pub async fn create_branch_with(
    api: &Api<PlanetScaleBranch>,
    name: &str,
    adopt: bool,
) -> Result<()> {
    let obj: PlanetScaleBranch = serde_json::from_value(json!({
        "apiVersion": "planetscale.operator.dev/v1alpha1", "kind": "PlanetScaleBranch",
        "metadata": {"name": name},
        "spec": {"organization": ORG, "database": DATABASE, "parentBranch": "main", "adopt": adopt},
    }))?;
    api.create(&PostParams::default(), &obj).await?;
    Ok(())
}

/// `Ready=True` for the current generation.
fn is_ready(b: &PlanetScaleBranch) -> bool {
    let s = b.status.as_ref();
    s.and_then(|s| s.observed_generation) == b.metadata.generation
        && s.is_some_and(|s| is_condition_true(&s.conditions, READY))
}

pub async fn wait_ready(api: &Api<PlanetScaleBranch>, name: &str, timeout: Duration) -> Result<()> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let b = api.get(name).await?;
        if is_ready(&b) {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            let status = serde_json::to_string(&b.status)?;
            bail!("PlanetScaleBranch {name} not Ready after {timeout:?}; status: {status}");
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Creates branch `name` (pending in the emulator for the ready delay) and waits until it is
/// Ready; classifies the emulator's branch reads meanwhile by the `branch.ready` delivery.
pub async fn branch_ready(
    emu: &Emulator,
    api: &Api<PlanetScaleBranch>,
    name: &str,
    a: &Args,
) -> Result<BranchRun> {
    emu.clear_deliveries().await?;
    let t0 = Utc::now();
    create_branch(api, name).await?;
    wait_ready(api, name, a.webhooks_branch_ready_delay + WAIT).await?;
    let t1 = Utc::now();
    let delivered = emu
        .deliveries()
        .await?
        .into_iter()
        .find(|d| d.event == "branch.ready" && d.success)
        .map(|d| d.at);
    let requests = window(emu, t0, t1)?;
    let created = requests
        .iter()
        .find(|r| r.operation == "create_branch")
        .map(|r| r.at)
        .context("no create_branch between the apply and Ready")?;
    let read = |r: &&Request| matches!(r.operation.as_str(), "get_branch" | "list_branches");
    let after_create = requests.iter().filter(read).filter(|r| r.at > created);
    let (pending_reads, woken): (Vec<&Request>, Vec<&Request>) =
        after_create.partition(|r| delivered.is_none_or(|d| r.at < d));
    Ok(BranchRun {
        took: (t1 - t0).to_std()?,
        after_delivery: delivered.and_then(|d| (t1 - d).to_std().ok()),
        pending_reads: pending_reads.into_iter().cloned().collect(),
        woken_reads: woken.len(),
        requests: by_operation(&requests),
    })
}
