//! The resources of a run: created at random moments while the disruptions go on, some deleted
//! mid-run.
use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::join_all;
use kube::api::{DeleteParams, Patch, PatchParams};
use kube::{Api, Resource, ResourceExt};
use planetscale_api::Credentials;
use planetscale_operator::crd::DeployRequest;
use planetscale_operator::crd::branch::PlanetScaleBranch;
use planetscale_operator::crd::password::PlanetScalePassword;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::model::{Expect, Plan, Policy, Run};
use super::observe::{api, note_secret, readiness, retry};
use crate::support::{Emulator, env};

async fn apply<K>(run: &Run, manifest: Value)
where
    K: Resource<Scope = kube::core::NamespaceResourceScope>
        + Clone
        + Debug
        + Serialize
        + DeserializeOwned,
    K::DynamicType: Default,
{
    let obj: K = serde_json::from_value(manifest).expect("valid manifest");
    let name = obj.name_any();
    let api = api::<K>(run);
    let pp = PatchParams::apply("pso-chaos").force();
    let patch = Patch::Apply(&obj);
    retry(&format!("apply {name}"), || api.patch(&name, &pp, &patch)).await;
}

fn manifest(kind: &str, name: &str, spec: Value) -> Value {
    let mut manifest = json!({
        "apiVersion": "planetscale.operator.dev/v1alpha1",
        "kind": kind,
        "metadata": {"name": name},
    });
    manifest["spec"] = spec;
    manifest
}

fn branch_spec(policy: Policy) -> Value {
    json!({"organization": "acme", "database": "shop", "parentBranch": "main", "deletionPolicy": policy.as_str()})
}

fn password_spec(plan: &Plan, i: usize) -> Value {
    let roles = ["reader", "writer", "readwriter", "admin"];
    let policy = plan.password_deletion(i).unwrap_or(Policy::Delete);
    let mut spec = json!({
        "branchRef": {"name": format!("dr-{}", i % plan.deploy_requests)},
        "role": roles[i % roles.len()],
        "deletionPolicy": policy.as_str(),
    });
    // Some Secrets carry connection strings in other shapes, to search them for leaks too.
    let formats = [None, Some("go-sql-driver"), Some("jdbc"), Some("prisma")];
    if let Some(f) = formats[i % formats.len()] {
        spec["secret"] = json!({"formats": [f]});
    }
    spec
}

/// The `CREATE TABLE` statements of `main` (read before any fault is injected), plus those the
/// run adds, by table name.
pub type Ddl = BTreeMap<String, String>;

fn chaos_table(i: usize) -> (String, String) {
    let name = format!("chaos_{i}");
    let ddl = format!("CREATE TABLE `{name}` (`id` bigint NOT NULL, PRIMARY KEY (`id`))");
    (name, ddl)
}

/// `main`'s tables, read with the API before any fault is injected (the emulator's request
/// counts are reset afterwards, so they hold only the operator's calls).
pub async fn main_schema(emulator: &Emulator) -> Ddl {
    let ps =
        planetscale_api::Client::builder(Credentials::service_token(env::TOKEN_ID, env::TOKEN))
            .base_url(emulator.api_url())
            .build()
            .expect("client");
    let tables = ps
        .get_branch_schema("acme", "shop", "main", None)
        .await
        .expect("main's schema");
    let mut ddl: Ddl = tables.into_iter().map(|t| (t.name, t.raw)).collect();
    let r = reqwest::Client::new()
        .delete(format!("{}/_emulator/stats", emulator.url))
        .send()
        .await
        .expect("emulator");
    assert!(r.status().is_success(), "reset stats");
    ddl.extend((0..1000).map(chaos_table));
    ddl
}

/// Creates everything (at random moments over a few seconds) and runs the mid-run deletions;
/// returns once every creation and deletion was sent.
pub async fn run(run: Arc<Run>, ddl: Ddl) {
    let plan = run.plan;
    let ddl = Arc::new(ddl);
    let mut tasks = Vec::new();
    for i in 0..plan.deploy_requests {
        tasks.push(tokio::spawn(deploy_request_chain(
            run.clone(),
            ddl.clone(),
            i,
        )));
    }
    for i in 0..plan.passwords {
        tasks.push(tokio::spawn(password(run.clone(), i)));
    }
    for j in 0..plan.scratch {
        tasks.push(tokio::spawn(scratch(
            run.clone(),
            format!("scratch-del-{j}"),
            Policy::Delete,
        )));
        tasks.push(tokio::spawn(scratch(
            run.clone(),
            format!("scratch-keep-{j}"),
            Policy::Retain,
        )));
    }
    for t in join_all(tasks).await {
        t.expect("workload task");
    }
}

/// Branch `dr-<i>`; once PlanetScale has it, a developer adds table `chaos_<i>` to it; then the
/// `DeployRequest` `dr-<i>` (deployed for even `i`, checks only for odd `i`).
async fn deploy_request_chain(run: Arc<Run>, ddl: Arc<Ddl>, i: usize) {
    let name = format!("dr-{i}");
    tokio::time::sleep(run.random_ms(0, 3000)).await;
    apply::<PlanetScaleBranch>(
        &run,
        manifest("PlanetScaleBranch", &name, branch_spec(Policy::Delete)),
    )
    .await;
    let tables = wait_ps_branch_ready(&run, &name).await;
    let mut schema: Vec<String> = tables.iter().filter_map(|t| ddl.get(t).cloned()).collect();
    schema.push(chaos_table(i).1);
    let url = format!(
        "{}/_emulator/organizations/acme/databases/shop/branches/{name}/schema",
        run.emulator.url
    );
    let r = reqwest::Client::new()
        .put(url)
        .json(&json!({"tables": schema}))
        .send()
        .await;
    assert!(
        r.is_ok_and(|r| r.status().is_success()),
        "set the schema of {name}"
    );
    let spec = json!({"branchRef": {"name": name}, "deploy": i.is_multiple_of(2), "notes": format!("chaos {i}")});
    apply::<DeployRequest>(&run, manifest("DeployRequest", &name, spec)).await;
}

/// Waits until the emulator has branch `name` ready; returns its tables.
async fn wait_ps_branch_ready(run: &Run, name: &str) -> Vec<String> {
    let deadline = Instant::now() + run.plan.converge_deadline();
    loop {
        let world = run.emulator.world().await;
        let found = world["branches"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|b| b["name"] == name && b["database"] == "shop" && b["ready"] == true);
        if let Some(b) = found {
            let tables = b["tables"].as_array().cloned().unwrap_or_default();
            return tables
                .iter()
                .filter_map(|t| t.as_str().map(String::from))
                .collect();
        }
        assert!(
            Instant::now() < deadline,
            "branch {name} never became ready in PlanetScale"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Password `pw-<i>`; some are deleted: with `Delete` at a random moment (perhaps before their
/// first password exists), with `Retain` once Ready (so a password must stay behind).
async fn password(run: Arc<Run>, i: usize) {
    let name = format!("pw-{i}");
    tokio::time::sleep(run.random_ms(0, 3000)).await;
    let spec = password_spec(&run.plan, i);
    apply::<PlanetScalePassword>(&run, manifest("PlanetScalePassword", &name, spec)).await;
    let api = api::<PlanetScalePassword>(&run);
    match run.plan.password_deletion(i) {
        None => {}
        Some(Policy::Delete) => {
            tokio::time::sleep(run.random_ms(0, 8000)).await;
            let obj = retry(&format!("get {name}"), || api.get(&name)).await;
            delete(&run, &api, &name).await;
            let uid = obj.uid().expect("uid");
            run.record_deleted("PlanetScalePassword", &name, Expect::PasswordsGone { uid });
        }
        Some(Policy::Retain) => {
            let Some(obj) = wait_ready(&run, &api, &name).await else {
                return;
            };
            note_secret(&run, &name).await;
            let uid = obj.uid().expect("uid");
            let kept = obj.status.and_then(|s| s.password_name).unwrap_or_default();
            delete(&run, &api, &name).await;
            run.record_deleted(
                "PlanetScalePassword",
                &name,
                Expect::PasswordKept { uid, name: kept },
            );
        }
    }
}

/// A branch without passwords or deploy request, deleted during the run.
async fn scratch(run: Arc<Run>, name: String, policy: Policy) {
    tokio::time::sleep(run.random_ms(0, 3000)).await;
    apply::<PlanetScaleBranch>(
        &run,
        manifest("PlanetScaleBranch", &name, branch_spec(policy)),
    )
    .await;
    let api = api::<PlanetScaleBranch>(&run);
    let expect = match policy {
        Policy::Delete => {
            tokio::time::sleep(run.random_ms(0, 8000)).await;
            Expect::BranchGone
        }
        Policy::Retain => {
            if wait_ready(&run, &api, &name).await.is_none() {
                return;
            }
            Expect::BranchKept
        }
    };
    delete(&run, &api, &name).await;
    run.record_deleted("PlanetScaleBranch", &name, expect);
}

async fn delete<K>(run: &Run, api: &Api<K>, name: &str)
where
    K: Resource + Clone + Debug + DeserializeOwned,
{
    let _ = run;
    retry(&format!("delete {name}"), || async {
        match api.delete(name, &DeleteParams::default()).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
            Err(e) => Err(e),
        }
    })
    .await;
}

/// Waits (up to the run's convergence deadline) until `name` is Ready; `None` (noted as a
/// problem) when it never is.
async fn wait_ready<K>(run: &Run, api: &Api<K>, name: &str) -> Option<K>
where
    K: Resource + Clone + Debug + Serialize + DeserializeOwned,
{
    let deadline = Instant::now() + run.plan.converge_deadline();
    loop {
        if let Ok(Some(obj)) = api.get_opt(name).await
            && readiness(&obj).is_ok()
        {
            return Some(obj);
        }
        if Instant::now() >= deadline {
            run.problem(format!("{name} never became Ready, so it was not deleted"));
            return None;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
