//! The workload: PlanetScaleBranch + PlanetScalePassword pairs (password with `branchRef`),
//! and how the bench sees that a pair works: its Secret exists and its credentials verify
//! in the emulator.
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use futures::{StreamExt, TryStreamExt, stream};
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{ListParams, Patch, PatchParams};
use kube::{Api, Client, ResourceExt};
use planetscale_operator::crd::conditions::{READY, is_condition_true};
use planetscale_operator::crd::{PlanetScaleBranch, PlanetScalePassword};
use serde_json::json;

use crate::emulator::{DATABASE, Emulator, ORG};

/// `prefix-0000` … : the name of the branch resource, the branch in PlanetScale, the
/// password resource and its Secret.
pub fn names(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}-{i:04}")).collect()
}

/// Applies one pair on the bench database (server-side apply, like `kubectl apply --server-side`).
pub async fn apply_pair(client: &Client, ns: &str, name: &str) -> Result<()> {
    apply_pair_in(client, ns, name, DATABASE).await
}

/// Applies one pair whose branch is in `database` of the bench organization.
pub async fn apply_pair_in(client: &Client, ns: &str, name: &str, database: &str) -> Result<()> {
    let pp = PatchParams::apply("pso-bench");
    let branch = json!({
        "apiVersion": "planetscale.operator.dev/v1alpha1", "kind": "PlanetScaleBranch",
        "metadata": {"name": name},
        "spec": {"organization": ORG, "database": database, "parentBranch": "main"},
    });
    let password = json!({
        "apiVersion": "planetscale.operator.dev/v1alpha1", "kind": "PlanetScalePassword",
        "metadata": {"name": name},
        "spec": {"branchRef": {"name": name}, "role": "readwriter"},
    });
    let branches: Api<PlanetScaleBranch> = Api::namespaced(client.clone(), ns);
    let passwords: Api<PlanetScalePassword> = Api::namespaced(client.clone(), ns);
    let (branch, password) = (Patch::Apply(&branch), Patch::Apply(&password));
    let (b, p) = tokio::join!(
        branches.patch(name, &pp, &branch),
        passwords.patch(name, &pp, &password),
    );
    b.with_context(|| format!("apply PlanetScaleBranch {name}"))?;
    p.with_context(|| format!("apply PlanetScalePassword {name}"))?;
    Ok(())
}

/// Applies every pair, `concurrency` at a time.
pub async fn apply_pairs(
    client: &Client,
    ns: &str,
    names: &[String],
    concurrency: usize,
) -> Result<()> {
    stream::iter(names)
        .map(|n| apply_pair(client, ns, n))
        .buffer_unordered(concurrency)
        .try_collect::<Vec<_>>()
        .await?;
    Ok(())
}

/// Whether the Secret's `username`/`password` work on branch `branch` in the emulator.
pub async fn secret_works(emulator: &Emulator, branch: &str, secret: &Secret) -> Result<bool> {
    let field = |k: &str| {
        secret
            .data
            .as_ref()
            .and_then(|d| d.get(k))
            .and_then(|v| String::from_utf8(v.0.clone()).ok())
    };
    match (field("username"), field("password")) {
        (Some(u), Some(p)) => emulator.password_valid(branch, &u, &p).await,
        _ => Ok(false),
    }
}

/// When each pair started working, relative to the start of the measurement.
#[derive(Debug, Default)]
pub struct Working {
    pub at: BTreeMap<String, Duration>,
    pub missing: Vec<String>,
}

impl Working {
    /// The time the last pair started working (when none is missing).
    pub fn last(&self) -> Option<Duration> {
        if self.missing.is_empty() {
            self.at.values().max().copied()
        } else {
            None
        }
    }
}

/// Polls the namespace's Secrets every `poll` until every pair's Secret works or `timeout`
/// (counted from `t0`) passes. Working Secrets are verified once.
pub async fn wait_working(
    client: &Client,
    ns: &str,
    emulator: &Emulator,
    names: &[String],
    t0: Instant,
    timeout: Duration,
    poll: Duration,
) -> Result<Working> {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), ns);
    let mut pending: BTreeSet<String> = names.iter().cloned().collect();
    let mut working = Working::default();
    while !pending.is_empty() && t0.elapsed() < timeout {
        let seen = t0.elapsed();
        let list = secrets.list(&ListParams::default()).await?;
        let candidates: Vec<Secret> = list
            .items
            .into_iter()
            .filter(|s| pending.contains(&s.name_any()))
            .collect();
        let checked: Vec<(String, bool)> = stream::iter(candidates)
            .map(|s| async move {
                let name = s.name_any();
                let ok = secret_works(emulator, &name, &s).await.unwrap_or(false);
                (name, ok)
            })
            .buffer_unordered(16)
            .collect()
            .await;
        for (name, _) in checked.into_iter().filter(|(_, ok)| *ok) {
            pending.remove(&name);
            working.at.insert(name, seen);
        }
        if !pending.is_empty() {
            tokio::time::sleep(poll).await;
        }
    }
    working.missing = pending.into_iter().collect();
    Ok(working)
}

/// How many branch and password resources in `ns` report `Ready=True`.
pub async fn ready_counts(client: &Client, ns: &str) -> Result<(usize, usize)> {
    let lp = ListParams::default();
    let branches: Api<PlanetScaleBranch> = Api::namespaced(client.clone(), ns);
    let passwords: Api<PlanetScalePassword> = Api::namespaced(client.clone(), ns);
    let b = branches
        .list(&lp)
        .await?
        .items
        .iter()
        .filter(|b| {
            b.status
                .as_ref()
                .is_some_and(|s| is_condition_true(&s.conditions, READY))
        })
        .count();
    let p = passwords
        .list(&lp)
        .await?
        .items
        .iter()
        .filter(|p| {
            p.status
                .as_ref()
                .is_some_and(|s| is_condition_true(&s.conditions, READY))
        })
        .count();
    Ok((b, p))
}

/// Creates `count` objects that have nothing to do with the operator in `ns`: half Secrets,
/// half ConfigMaps, each with `bytes` of data (an application's config, a TLS key, …).
pub async fn unrelated_objects(
    client: &Client,
    ns: &str,
    count: usize,
    bytes: usize,
) -> Result<()> {
    let filler = "x".repeat(bytes);
    let secrets: Api<Secret> = Api::namespaced(client.clone(), ns);
    let maps: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
    let pp = PatchParams::apply("pso-bench");
    stream::iter(0..count)
        .map(|i| {
            let (secrets, maps, pp, filler) = (&secrets, &maps, &pp, &filler);
            async move {
                let name = format!("unrelated-{i:05}");
                if i % 2 == 0 {
                    let s = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name},
                        "stringData": {"key": filler}});
                    secrets.patch(&name, pp, &Patch::Apply(s)).await.map(|_| ())
                } else {
                    let c = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name},
                        "data": {"key": filler}});
                    maps.patch(&name, pp, &Patch::Apply(c)).await.map(|_| ())
                }
            }
        })
        .buffer_unordered(32)
        .try_collect::<Vec<_>>()
        .await
        .context("create unrelated objects")?;
    Ok(())
}
