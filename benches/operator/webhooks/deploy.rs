//! The deploy measurement: one deploy request from the apply to `complete_pending_revert`,
//! the requests spent on it and how long after each delivery its state shows.
use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Utc};
use futures::{StreamExt, TryStreamExt};
use kube::Api;
use kube::api::PostParams;
use kube::runtime::{WatchStreamExt, watcher};
use planetscale_operator::crd::DeployRequest;
use serde_json::json;

use super::{ANNOUNCED, by_operation, window};
use crate::emulator::{DATABASE, Emulator, ORG, Request};

/// What one deploy measurement saw.
pub struct DeployRun {
    pub took: Duration,
    /// `get_deploy_request` of this deploy request.
    pub reads: usize,
    /// Every request of this deploy request, by operation.
    pub own: BTreeMap<String, usize>,
    /// The other requests of the window (webhook manager, earlier deploy requests), by operation.
    pub others: BTreeMap<String, usize>,
    /// `(state, ms from its delivery to the status showing it)`.
    pub delays: Vec<(String, i64)>,
}

impl DeployRun {
    pub fn total(&self) -> usize {
        self.own.values().sum()
    }
}

/// Applies DeployRequest `name` (deploy of PlanetScaleBranch `name`, autoApply) and follows it to
/// `complete_pending_revert`; counts the requests it cost and the delivery delays.
pub async fn deploy(
    emu: &Emulator,
    api: &Api<DeployRequest>,
    name: &str,
    timeout: Duration,
) -> Result<DeployRun> {
    emu.clear_deliveries().await?;
    let obj: DeployRequest = serde_json::from_value(json!({
        "apiVersion": "planetscale.operator.dev/v1alpha1", "kind": "DeployRequest",
        "metadata": {"name": name},
        "spec": {"branchRef": {"name": name}, "deploy": true},
    }))?;
    let t0 = Utc::now();
    api.create(&PostParams::default(), &obj).await?;
    let (states, done) = follow(api, name, timeout).await?;
    let t1 = Utc::now();
    let number = done
        .status
        .as_ref()
        .and_then(|s| s.number)
        .context("status.number")?;
    let requests = window(emu, t0, t1)?;
    let (own, others): (Vec<Request>, Vec<Request>) =
        requests.into_iter().partition(|r| belongs(r, number, name));
    let deliveries = emu.deliveries().await?;
    let delays = ANNOUNCED
        .iter()
        .filter_map(|(event, state)| {
            let sent = deliveries.iter().find(|d| d.event == *event && d.success)?;
            let shown = states.iter().find(|(s, _)| s == state)?.1;
            Some((state.to_string(), (shown - sent.at).num_milliseconds()))
        })
        .collect();
    let reads = own
        .iter()
        .filter(|r| r.operation == "get_deploy_request")
        .count();
    Ok(DeployRun {
        took: (t1 - t0).to_std()?,
        reads,
        own: by_operation(&own),
        others: by_operation(&others),
        delays,
    })
}

/// Watches DeployRequest `name` until its status shows `complete_pending_revert`; each state
/// with the time it was first seen, and the object as it was then.
async fn follow(
    api: &Api<DeployRequest>,
    name: &str,
    timeout: Duration,
) -> Result<(Vec<(String, DateTime<Utc>)>, DeployRequest)> {
    let cfg = watcher::Config::default().fields(&format!("metadata.name={name}"));
    let mut events = watcher::watcher(api.clone(), cfg)
        .default_backoff()
        .applied_objects()
        .boxed();
    let deadline = tokio::time::Instant::now() + timeout;
    let mut states: Vec<(String, DateTime<Utc>)> = Vec::new();
    loop {
        let Ok(next) = tokio::time::timeout_at(deadline, events.try_next()).await else {
            bail!(
                "DeployRequest {name} not complete_pending_revert after {timeout:?}; states seen: {states:?}"
            );
        };
        let dr = next?.context("the watch ended")?;
        let state = dr.status.as_ref().and_then(|s| s.deployment_state.clone());
        if let Some(state) = state {
            if states.last().is_none_or(|(s, _)| *s != state) {
                states.push((state.clone(), Utc::now()));
            }
            if state == "complete_pending_revert" {
                return Ok((states, dr));
            }
        }
    }
}

/// Whether `r` was spent on deploy request `number` of branch `branch`: its own paths, the
/// create and lookup (`…/deploy-requests`), the database, the source and main branches.
fn belongs(r: &Request, number: i64, branch: &str) -> bool {
    let db = format!("/v1/organizations/{ORG}/databases/{DATABASE}");
    let own = format!("{db}/deploy-requests/{number}");
    let under = |p: &str| r.path == p || r.path.starts_with(&format!("{p}/"));
    under(&own)
        || r.path == format!("{db}/deploy-requests")
        || r.path == db
        || under(&format!("{db}/branches/{branch}"))
        || r.path == format!("{db}/branches/main")
}
