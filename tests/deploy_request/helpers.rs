//! Shared steps of the DeployRequest end-to-end tests: an environment (namespace, emulator,
//! operator, PlanetScale client), branches with schema changes, DeployRequest resources and
//! waits that print the object and its events on timeout.
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::{Api, ResourceExt};
use planetscale_api::models::CreateBranch;
use planetscale_api::{Client, Credentials};
use planetscale_operator::crd::DeployRequest;
use serde_json::{Value, json};

use crate::support::env::{TOKEN, TOKEN_ID};
use crate::support::{self, Emulator, Operator};

/// Quick PlanetScale timings: checks and each deploy step take one second of emulator time.
pub const EMULATOR_ARGS: &[&str] = &[
    "--branch-ready-delay",
    "0s",
    "--deploy-check-duration",
    "1s",
    "--deploy-step-duration",
    "1s",
];
/// How long a test waits for one observable change.
pub const WAIT: Duration = Duration::from_secs(45);

/// One test's world.
pub struct Env {
    pub kube: kube::Client,
    pub ns: String,
    pub emulator: Emulator,
    pub operator: Operator,
    /// PlanetScale client with the test's (full access) token.
    pub ps: Client,
    /// DeployRequests of the test namespace.
    pub api: Api<DeployRequest>,
    http: reqwest::Client,
}

/// Runs `f` in a fresh environment; afterwards every DeployRequest is deleted (while the
/// operator still runs, so finalizers are released) and the operator log is printed on failure.
pub async fn run<F, Fut>(f: F)
where
    F: FnOnce(Arc<Env>) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    support::with_operator(
        EMULATOR_ARGS,
        &[],
        |kube, ns, emulator, operator| async move {
            let ps = Client::builder(Credentials::service_token(TOKEN_ID, TOKEN))
                .base_url(emulator.api_url())
                .build()
                .expect("PlanetScale client");
            let env = Arc::new(Env {
                api: Api::namespaced(kube.clone(), &ns),
                kube,
                ns,
                emulator,
                operator,
                ps,
                http: reqwest::Client::new(),
            });
            let out = AssertUnwindSafe(f(env.clone())).catch_unwind().await;
            if out.is_err() {
                let log = env.operator.log();
                let tail: Vec<&str> = log.lines().rev().take(40).collect();
                eprintln!("--- operator log (last lines) ---");
                tail.iter().rev().for_each(|l| eprintln!("{l}"));
            }
            env.delete_all().await;
            if let Err(panic) = out {
                std::panic::resume_unwind(panic);
            }
        },
    )
    .await;
}

impl Env {
    /// Creates development branch `name` from `main` and adds `tables` (CREATE TABLE
    /// statements) to its schema.
    pub async fn branch_with(&self, name: &str, tables: &[&str]) {
        let body = CreateBranch {
            name: name.into(),
            parent_branch: Some("main".into()),
            ..Default::default()
        };
        self.ps
            .create_branch("acme", "shop", &body)
            .await
            .expect("create branch");
        self.add_tables(name, tables).await;
    }

    /// Adds `tables` to the schema of `branch` (a developer running DDL on it).
    pub async fn add_tables(&self, branch: &str, tables: &[&str]) {
        let mut all = self.schema(branch).await;
        all.extend(tables.iter().map(std::string::ToString::to_string));
        self.set_schema(branch, all).await;
    }

    /// Replaces table `name` of `branch` with `ddl`.
    pub async fn replace_table(&self, branch: &str, name: &str, ddl: &str) {
        let mut all = self.schema(branch).await;
        all.retain(|t| !t.contains(&format!("`{name}`")));
        all.push(ddl.to_string());
        self.set_schema(branch, all).await;
    }

    async fn schema(&self, branch: &str) -> Vec<String> {
        let schema = self
            .ps
            .get_branch_schema("acme", "shop", branch, None)
            .await
            .expect("schema");
        schema.into_iter().map(|t| t.raw).collect()
    }

    async fn set_schema(&self, branch: &str, tables: Vec<String>) {
        let path = format!("/_emulator/organizations/acme/databases/shop/branches/{branch}/schema");
        let r = self
            .http
            .put(format!("{}{path}", self.emulator.url))
            .json(&json!({"tables": tables}))
            .send()
            .await
            .expect("emulator");
        assert!(r.status().is_success(), "set schema: {}", r.status());
    }

    /// `PATCH /_emulator/settings` (e.g. `{"deploy_step_duration": "1h"}`).
    pub async fn emulator_settings(&self, settings: Value) {
        let url = format!("{}/_emulator/settings", self.emulator.url);
        let r = self
            .http
            .patch(url)
            .json(&settings)
            .send()
            .await
            .expect("emulator");
        assert!(r.status().is_success(), "patch settings: {}", r.status());
    }

    /// Requests the emulator served for API operation `op` (e.g. `get_deploy_request`).
    pub async fn calls(&self, op: &str) -> u64 {
        let stats = self.emulator.stats().await;
        stats["operations"][op]["total"].as_u64().unwrap_or(0)
    }

    /// The calls of `op` once they stopped changing for 3 s (the passes already woken have
    /// run); panics with the counts seen after [`WAIT`].
    pub async fn settled(&self, op: &str) -> u64 {
        let quiet = Duration::from_secs(3);
        let deadline = std::time::Instant::now() + WAIT;
        let (mut count, mut since) = (self.calls(op).await, std::time::Instant::now());
        let mut seen = vec![count];
        while since.elapsed() < quiet {
            assert!(
                std::time::Instant::now() < deadline,
                "{op} calls never stopped changing for {quiet:?} within {WAIT:?}: {seen:?}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
            let now = self.calls(op).await;
            if now != count {
                (count, since) = (now, std::time::Instant::now());
                seen.push(now);
            }
        }
        count
    }

    /// Tables of branch `name` in the emulator.
    pub async fn tables(&self, name: &str) -> Vec<String> {
        let world = self.emulator.world().await;
        let branch = world["branches"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["name"] == name)
            .expect("branch");
        branch["tables"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap().to_string())
            .collect()
    }

    /// The emulator's view of deploy request `number` (`state`, `deployment_state`, …).
    pub async fn ps_dr(&self, number: i64) -> Value {
        let world = self.emulator.world().await;
        world["deploy_requests"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["number"] == number)
            .cloned()
            .expect("deploy request")
    }

    /// `PATCH` the database settings through the API (e.g. `require_approval_for_deploy`).
    pub async fn database_settings(&self, settings: Value) {
        let url = format!(
            "{}/organizations/acme/databases/shop",
            self.emulator.api_url()
        );
        let r = self
            .http
            .patch(url)
            .header("Authorization", format!("{TOKEN_ID}:{TOKEN}"))
            .json(&settings)
            .send()
            .await
            .expect("emulator");
        assert!(r.status().is_success(), "patch database: {}", r.status());
    }

    /// A second identity (a service token with `accesses` on `shop`) stored in Secret `name`;
    /// returns its PlanetScale client.
    pub async fn identity(&self, name: &str, accesses: &[&str]) -> Client {
        let body = json!({"organization": "acme", "name": name, "accesses": [{"database": "shop", "accesses": accesses}]});
        let token = self
            .emulator
            .admin_post("/_emulator/service-tokens", body)
            .await;
        let (id, secret) = (
            token["id"].as_str().unwrap(),
            token["token"].as_str().unwrap(),
        );
        support::env::create_credentials_secret(self.kube.clone(), &self.ns, name, id, secret)
            .await;
        Client::builder(Credentials::service_token(id, secret.to_string()))
            .base_url(self.emulator.api_url())
            .build()
            .unwrap()
    }

    /// Creates a DeployRequest `name` from branch `branch` with extra spec fields.
    pub async fn create(&self, name: &str, branch: &str, spec: Value) -> DeployRequest {
        let mut full = json!({"organization": "acme", "database": "shop", "branch": branch});
        full.as_object_mut()
            .unwrap()
            .extend(spec.as_object().cloned().unwrap_or_default());
        let obj: DeployRequest = serde_json::from_value(json!({
            "apiVersion": "planetscale.operator.dev/v1alpha1", "kind": "DeployRequest",
            "metadata": {"name": name}, "spec": full,
        }))
        .expect("valid DeployRequest");
        self.api
            .create(&PostParams::default(), &obj)
            .await
            .expect("create DeployRequest")
    }

    /// Merge-patches the spec of `name`.
    pub async fn patch_spec(&self, name: &str, spec: Value) {
        let patch = json!({"spec": spec});
        self.api
            .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .expect("patch spec");
    }

    /// Touches an annotation so the operator looks again now (instead of at its next poll).
    pub async fn poke(&self, name: &str) {
        let patch =
            json!({"metadata": {"annotations": {"test/poke": rand::random::<u32>().to_string()}}});
        self.api
            .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .expect("poke");
    }

    /// Waits until `cond` holds for `name` (prints the object and its events on timeout).
    pub async fn wait(
        &self,
        name: &str,
        what: &str,
        cond: impl Fn(&DeployRequest) -> bool,
    ) -> DeployRequest {
        support::wait_for(&self.api, name, WAIT, what, cond).await
    }

    /// Waits until the deployment state of `name` is `state`.
    pub async fn wait_state(&self, name: &str, state: &str) -> DeployRequest {
        self.wait(name, &format!("in deployment state {state}"), |d| {
            deployment_state(d) == Some(state)
        })
        .await
    }

    /// Waits until condition `type_` of `name` has `status` and `reason`.
    pub async fn wait_cond(
        &self,
        name: &str,
        type_: &str,
        status: &str,
        reason: &str,
    ) -> DeployRequest {
        self.wait(name, &format!("{type_}={status} ({reason})"), |d| {
            condition(d, type_).is_some_and(|c| c.status == status && c.reason == reason)
        })
        .await
    }

    /// Events recorded for `name`: (reason, message).
    pub async fn events(&self, name: &str) -> Vec<(String, String)> {
        let events: Api<k8s_openapi::api::core::v1::Event> =
            Api::namespaced(self.kube.clone(), &self.ns);
        let lp = ListParams::default().fields(&format!("involvedObject.name={name}"));
        events
            .list(&lp)
            .await
            .expect("events")
            .items
            .into_iter()
            .map(|e| (e.reason.unwrap_or_default(), e.message.unwrap_or_default()))
            .collect()
    }

    /// Event reasons recorded for `name`.
    pub async fn event_reasons(&self, name: &str) -> Vec<String> {
        let events = self.events(name).await;
        events
            .into_iter()
            .filter(|(r, _)| !r.is_empty())
            .map(|(r, _)| r)
            .collect()
    }

    /// Deletes `name` and waits until it is gone.
    pub async fn delete(&self, name: &str) {
        self.api
            .delete(name, &DeleteParams::default())
            .await
            .expect("delete");
        support::wait_gone(&self.api, name, WAIT).await;
    }

    async fn delete_all(&self) {
        let list = self
            .api
            .list(&ListParams::default())
            .await
            .map(|l| l.items)
            .unwrap_or_default();
        for dr in list {
            let name = dr.name_any();
            let _ = self.api.delete(&name, &DeleteParams::default()).await;
            let gone = tokio::time::timeout(Duration::from_secs(20), async {
                while self.api.get_opt(&name).await.ok().flatten().is_some() {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            });
            if gone.await.is_err() {
                let patch = json!({"metadata": {"finalizers": null}});
                let _ = self
                    .api
                    .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                    .await;
            }
        }
    }
}

/// Condition `type_` of `dr`.
pub fn condition(dr: &DeployRequest, type_: &str) -> Option<Condition> {
    dr.status
        .as_ref()?
        .conditions
        .iter()
        .find(|c| c.type_ == type_)
        .cloned()
}

/// `status.deploymentState` of `dr`.
pub fn deployment_state(dr: &DeployRequest) -> Option<&str> {
    dr.status.as_ref()?.deployment_state.as_deref()
}

/// `status.number` of `dr`.
pub fn number(dr: &DeployRequest) -> i64 {
    dr.status
        .as_ref()
        .and_then(|s| s.number)
        .expect("status.number")
}

/// A `CREATE TABLE` statement for a small valid table.
pub fn table(name: &str) -> String {
    format!(
        "CREATE TABLE `{name}` (`id` bigint NOT NULL, `note` varchar(255), PRIMARY KEY (`id`)) ENGINE=InnoDB"
    )
}
