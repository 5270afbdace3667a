//! Observing a run's resources through the kube-apiserver restart: retried kube calls,
//! readiness, the plaintexts in Secrets, and the wait for the end state.
use std::fmt::{Debug, Display};
use std::future::Future;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Secret;
use kube::api::ListParams;
use kube::{Api, Resource, ResourceExt};
use planetscale_operator::crd::DeployRequest;
use planetscale_operator::crd::branch::PlanetScaleBranch;
use planetscale_operator::crd::password::PlanetScalePassword;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::model::Run;
use crate::KUBE_RETRY;

/// A kube call retried (every 500 ms, up to [`KUBE_RETRY`]) while the kube-apiserver restarts.
pub async fn retry<T, E: Display, Fut>(what: &str, mut call: impl FnMut() -> Fut) -> T
where
    Fut: Future<Output = Result<T, E>>,
{
    let deadline = Instant::now() + KUBE_RETRY;
    loop {
        match call().await {
            Ok(v) => return v,
            Err(e) if Instant::now() >= deadline => panic!("{what}: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    }
}

pub fn api<K: Resource<Scope = kube::core::NamespaceResourceScope>>(run: &Run) -> Api<K>
where
    K::DynamicType: Default,
{
    Api::namespaced(run.client.clone(), &run.ns)
}

/// `Ok` when `Ready=True` for the current generation, else what the object says.
pub fn readiness<K: Resource + Serialize>(obj: &K) -> Result<(), String> {
    let v = serde_json::to_value(obj).expect("json");
    let status = &v["status"];
    let ready = status["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["type"] == "Ready");
    let current = status["observedGeneration"] == v["metadata"]["generation"];
    match ready {
        Some(c) if c["status"] == "True" && current => Ok(()),
        Some(c) => Err(format!(
            "Ready={} {}: {}",
            c["status"], c["reason"], c["message"]
        )),
        None => Err("no Ready condition".into()),
    }
}

/// Remembers the password and every value containing it (connection strings) of Secret `name`.
pub async fn note_secret(run: &Run, name: &str) {
    let api: Api<Secret> = api(run);
    if let Ok(Some(s)) = api.get_opt(name).await {
        note_plaintexts(run, &s);
    }
}

fn note_plaintexts(run: &Run, s: &Secret) {
    let data = s.data.clone().unwrap_or_default();
    let text = |k: &str| {
        data.get(k)
            .and_then(|v| String::from_utf8(v.0.clone()).ok())
    };
    let Some(password) = text("password") else {
        return;
    };
    for value in data
        .values()
        .filter_map(|v| String::from_utf8(v.0.clone()).ok())
    {
        if value.contains(&password) {
            run.note_plaintext(&value);
        }
    }
}

/// The end state reached (or not) after the disruptions.
pub struct Converged {
    /// Remaining resources not Ready at the deadline, with what they said.
    pub not_ready: Vec<String>,
    /// Deleted resources still present at the deadline.
    pub lingering: Vec<String>,
    pub took: Duration,
}

/// Polls until every remaining resource is Ready and every deleted one is gone, or `deadline`
/// passes. Notes the plaintext of every Secret it sees.
pub async fn converge(run: &Run, deadline: Duration) -> Converged {
    let started = Instant::now();
    loop {
        let (not_ready, lingering) = observe(run).await;
        let done = not_ready.is_empty() && lingering.is_empty();
        if done || started.elapsed() >= deadline {
            return Converged {
                not_ready,
                lingering,
                took: started.elapsed(),
            };
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

async fn observe(run: &Run) -> (Vec<String>, Vec<String>) {
    let deleted: Vec<String> = run.deleted().into_iter().map(|d| d.name).collect();
    let mut not_ready = Vec::new();
    let mut lingering = Vec::new();
    let mut sort = |kind: &str, name: String, ready: Result<(), String>| {
        if deleted.contains(&name) {
            lingering.push(format!("{kind} {name}"));
        } else if let Err(why) = ready {
            not_ready.push(format!("{kind} {name}: {why}"));
        }
    };
    for o in list::<PlanetScaleBranch>(run).await {
        sort("PlanetScaleBranch", o.name_any(), readiness(&o));
    }
    for o in list::<PlanetScalePassword>(run).await {
        sort("PlanetScalePassword", o.name_any(), readiness(&o));
    }
    for o in list::<DeployRequest>(run).await {
        sort("DeployRequest", o.name_any(), readiness(&o));
    }
    for s in list::<Secret>(run).await {
        note_plaintexts(run, &s);
    }
    (not_ready, lingering)
}

/// Every object of kind `K` in the run's namespace.
pub async fn list<K>(run: &Run) -> Vec<K>
where
    K: Resource<Scope = kube::core::NamespaceResourceScope> + Clone + Debug + DeserializeOwned,
    K::DynamicType: Default,
{
    let api = api::<K>(run);
    let lp = ListParams::default();
    retry("list", || api.list(&lp)).await.items
}
