//! The end-state checks of a chaos run. Each says what it found; none stops the others, so
//! the summary shows every result.
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Event, Secret};
use kube::ResourceExt;
use planetscale_operator::crd::DeployRequest;
use planetscale_operator::crd::branch::PlanetScaleBranch;
use planetscale_operator::crd::password::PlanetScalePassword;
use serde_json::Value;

use super::model::{Expect, Run};
use super::observe::{Converged, list};
use super::report::{Counts, RATE_LIMIT};

/// One check's outcome.
pub struct Check {
    pub name: &'static str,
    pub passed: bool,
    /// What was found (the offenders when it failed).
    pub detail: String,
}

fn check(name: &'static str, offenders: Vec<String>, ok_detail: String) -> Check {
    let passed = offenders.is_empty();
    let detail = offenders
        .into_iter()
        .reduce(|all, one| all + "\n" + &one)
        .unwrap_or(ok_detail);
    Check {
        name,
        passed,
        detail,
    }
}

/// How long the PlanetScale-side checks may take to hold after convergence (a password minted
/// by a reconcile still in flight is cleaned up by the next one).
const SETTLE: Duration = Duration::from_secs(30);

/// Every check, in the order the summary prints them.
pub async fn all(run: &Run, converged: &Converged, counts: &Counts) -> Vec<Check> {
    let mut out = vec![
        ready(run, converged),
        check(
            "every deleted resource is gone from Kubernetes",
            converged.lingering.clone(),
            format!("{} deleted", run.deleted().len()),
        ),
    ];
    let started = Instant::now();
    let remote = loop {
        let world = run.emulator.world().await;
        let checks = vec![
            secrets_valid(run).await,
            one_password_each(run, &world).await,
            deleted_remote(run, &world),
            no_orphan_passwords(run, &world).await,
            one_deploy_request_each(run, &world),
        ];
        if checks.iter().all(|c| c.passed) || started.elapsed() >= SETTLE {
            break checks;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    out.extend(remote);
    out.push(no_plaintext(run).await);
    out.push(no_panic(run));
    out.push(rate_limit(counts));
    out
}

fn ready(run: &Run, c: &Converged) -> Check {
    let mut offenders = c.not_ready.clone();
    offenders.extend(run.problems());
    check(
        "every resource Ready",
        offenders,
        format!("all Ready {:.0?} after the last disruption", c.took),
    )
}

/// Every live password resource's Secret holds credentials PlanetScale accepts.
async fn secrets_valid(run: &Run) -> Check {
    let secrets: BTreeMap<String, Secret> = list::<Secret>(run)
        .await
        .into_iter()
        .map(|s| (s.name_any(), s))
        .collect();
    let passwords = list::<PlanetScalePassword>(run).await;
    let mut offenders = Vec::new();
    for p in &passwords {
        let status = p.status.clone().unwrap_or_default();
        let secret_name = status.secret_name.clone().unwrap_or_else(|| p.name_any());
        let get = |k: &str| {
            let s = secrets.get(&secret_name)?;
            String::from_utf8(s.data.as_ref()?.get(k)?.0.clone()).ok()
        };
        let (Some(user), Some(pass), Some(branch)) =
            (get("username"), get("password"), status.branch)
        else {
            offenders.push(format!(
                "{}: Secret {secret_name} without credentials",
                p.name_any()
            ));
            continue;
        };
        if !run
            .emulator
            .password_valid("acme", "shop", &branch, &user, &pass)
            .await
        {
            offenders.push(format!(
                "{}: credentials of user {user} rejected on {branch}",
                p.name_any()
            ));
        }
    }
    check(
        "every Secret's credentials are valid in PlanetScale",
        offenders,
        format!("{} Secrets verified", passwords.len()),
    )
}

/// Live (not deleted) emulator passwords named `k8s-<uid>-…`.
fn live_of<'a>(world: &'a Value, uid: &str) -> Vec<&'a str> {
    let prefix = format!("k8s-{uid}-");
    world["passwords"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["deleted"] == false)
        .filter_map(|p| p["name"].as_str())
        .filter(|n| n.starts_with(&prefix))
        .collect()
}

/// Exactly one live password per resource, the one its status names.
async fn one_password_each(run: &Run, world: &Value) -> Check {
    let passwords = list::<PlanetScalePassword>(run).await;
    let mut offenders = Vec::new();
    for p in &passwords {
        let live = live_of(world, &p.uid().unwrap_or_default());
        let current = p.status.as_ref().and_then(|s| s.password_name.clone());
        if live.len() != 1 || current.as_deref() != live.first().copied() {
            offenders.push(format!(
                "{}: live {live:?}, status names {current:?}",
                p.name_any()
            ));
        }
    }
    check(
        "exactly one live password per resource (no duplicates)",
        offenders,
        format!("{} resources, one password each", passwords.len()),
    )
}

/// Deleted resources: their passwords or branches gone, or kept with Retain.
fn deleted_remote(run: &Run, world: &Value) -> Check {
    let branch_exists = |name: &str| {
        world["branches"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|b| b["name"] == name)
    };
    let mut offenders = Vec::new();
    for d in run.deleted() {
        let problem = match &d.expect {
            Expect::PasswordsGone { uid } => {
                let live = live_of(world, uid);
                (!live.is_empty()).then(|| format!("still live: {live:?}"))
            }
            Expect::PasswordKept { uid, name } => {
                let live = live_of(world, uid);
                (live != [name.as_str()])
                    .then(|| format!("expected only {name} kept, live {live:?}"))
            }
            Expect::BranchGone => branch_exists(&d.name).then(|| "branch still exists".to_string()),
            Expect::BranchKept => {
                (!branch_exists(&d.name)).then(|| "branch was deleted".to_string())
            }
        };
        if let Some(p) = problem {
            offenders.push(format!("{} {}: {p}", d.kind, d.name));
        }
    }
    check(
        "deleted resources' PlanetScale objects are gone (or kept by Retain)",
        offenders,
        format!("{} deleted resources as expected", run.deleted().len()),
    )
}

/// Every live password the operator made (`k8s-…`) belongs to a resource, or was kept by
/// Retain.
async fn no_orphan_passwords(run: &Run, world: &Value) -> Check {
    let mut owners: Vec<String> = list::<PlanetScalePassword>(run)
        .await
        .iter()
        .filter_map(kube::ResourceExt::uid)
        .collect();
    for d in run.deleted() {
        if let Expect::PasswordKept { uid, .. } = d.expect {
            owners.push(uid);
        }
    }
    let offenders: Vec<String> = world["passwords"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["deleted"] == false)
        .filter_map(|p| p["name"].as_str())
        .filter(|n| n.starts_with("k8s-"))
        .filter(|n| {
            !owners
                .iter()
                .any(|uid| n.starts_with(&format!("k8s-{uid}-")))
        })
        .map(|n| format!("orphan password {n}"))
        .collect();
    check(
        "no orphan passwords in PlanetScale",
        offenders,
        "none".into(),
    )
}

/// One PlanetScale deploy request per `DeployRequest` (a lost create response must not open
/// a second one).
fn one_deploy_request_each(run: &Run, world: &Value) -> Check {
    let mut per_branch: BTreeMap<String, usize> = BTreeMap::new();
    for dr in world["deploy_requests"].as_array().into_iter().flatten() {
        let branch = dr["branch"].as_str().unwrap_or("?").to_string();
        *per_branch.entry(branch).or_default() += 1;
    }
    let mut offenders = Vec::new();
    for i in 0..run.plan.deploy_requests {
        let n = per_branch.remove(&format!("dr-{i}")).unwrap_or(0);
        if n != 1 {
            offenders.push(format!("dr-{i}: {n} deploy requests in PlanetScale"));
        }
    }
    offenders.extend(
        per_branch
            .into_iter()
            .map(|(b, n)| format!("{n} unexpected from {b}")),
    );
    check(
        "exactly one deploy request per DeployRequest",
        offenders,
        "yes".into(),
    )
}

/// No password or connection string from any Secret in an operator log line, an event or a
/// resource (status included).
async fn no_plaintext(run: &Run) -> Check {
    let plaintexts: Vec<String> = run.plaintexts.lock().unwrap().iter().cloned().collect();
    let mut haystacks: Vec<(String, String)> = run
        .operator_logs()
        .into_iter()
        .enumerate()
        .map(|(i, log)| (format!("operator log #{i}"), log))
        .collect();
    for e in list::<Event>(run).await {
        let what = format!(
            "event {} on {}",
            e.reason.clone().unwrap_or_default(),
            e.involved_object.name.clone().unwrap_or_default()
        );
        haystacks.push((what, e.message.unwrap_or_default()));
    }
    let json = |v: Vec<Value>| serde_json::to_string(&v).unwrap_or_default();
    haystacks.push((
        "PlanetScaleBranch resources".into(),
        json(values(list::<PlanetScaleBranch>(run).await)),
    ));
    haystacks.push((
        "PlanetScalePassword resources".into(),
        json(values(list::<PlanetScalePassword>(run).await)),
    ));
    haystacks.push((
        "DeployRequest resources".into(),
        json(values(list::<DeployRequest>(run).await)),
    ));
    let mut secrets = plaintexts.clone();
    secrets.push(crate::support::env::TOKEN.to_string());
    let mut offenders = Vec::new();
    for (what, text) in &haystacks {
        if secrets.iter().any(|p| text.contains(p.as_str())) {
            offenders.push(format!(
                "a password, token or connection string is in the {what}"
            ));
        }
    }
    let mut c = check(
        "no plaintext password, token or connection string in logs, events or statuses",
        offenders,
        format!(
            "{} plaintexts searched in {} logs, events and resources",
            secrets.len(),
            haystacks.len()
        ),
    );
    if plaintexts.is_empty() {
        c.passed = false;
        c.detail = "no plaintext was collected from the Secrets: nothing to search for".into();
    }
    c
}

fn values<T: serde::Serialize>(items: Vec<T>) -> Vec<Value> {
    items
        .into_iter()
        .map(|i| serde_json::to_value(i).expect("json"))
        .collect()
}

/// No operator process panicked.
fn no_panic(run: &Run) -> Check {
    let offenders: Vec<String> = run
        .operator_logs()
        .iter()
        .enumerate()
        .filter_map(|(i, log)| {
            let line = log.lines().find(|l| l.contains("panicked at"))?;
            Some(format!(
                "operator #{i}: {}",
                line.chars().take(300).collect::<String>()
            ))
        })
        .collect();
    check(
        "no operator panic",
        offenders,
        format!("{} operator logs", run.operator_starts()),
    )
}

/// The emulator's own limiter never refused a request, and no 60-second window exceeded the
/// limit.
fn rate_limit(c: &Counts) -> Check {
    let mut offenders = Vec::new();
    if c.limiter_429 > 0 {
        offenders.push(format!(
            "the emulator's rate limiter answered 429 {} times",
            c.limiter_429
        ));
    }
    if c.peak_per_minute > RATE_LIMIT {
        offenders.push(format!(
            "{} requests in one 60 s window (limit {RATE_LIMIT})",
            c.peak_per_minute
        ));
    }
    check(
        "API calls stayed under the rate limit",
        offenders,
        format!(
            "peak {} per minute of {RATE_LIMIT}, no limiter 429",
            c.peak_per_minute
        ),
    )
}
