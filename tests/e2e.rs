//! End to end on a cluster that runs Pods (`make e2e`: the local node of `make cluster-up`, or any
//! cluster with `make e2e KUBECONFIG=…`): the emulator as a Pod behind a Service, the chart
//! installed with `helm install` from the locally built image, and an application Deployment
//! that reads the password Secret through `envFrom`. Every step fails when what a user would
//! see does not happen; on a timeout it prints the Pods, events and logs of the namespace.
//!
//! `#[ignore]`d: `make integration-test` runs every test binary against a control plane without
//! a node. `make e2e` runs it with `--ignored`. Images (loaded into the cluster beforehand):
//! `PSO_E2E_OPERATOR_IMAGE`, `PSO_E2E_EMULATOR_IMAGE`, and `PSO_E2E_TOOLS_IMAGE` (anything with
//! `sh` and `curl`: the application and the metrics scraper).
//!
//! The application's health check asks the emulator whether the Secret's username and password
//! are valid on the branch (`/_emulator/verify-password`): the emulator has no MySQL endpoint,
//! so this stands in for a query until a real database backend exists.
mod support;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Event, Namespace, Pod, Secret, Service};
use kube::api::{DeleteParams, ListParams, LogParams, Patch, PatchParams, PostParams};
use kube::{Api, Client, ResourceExt};
use planetscale_operator::crd::{PlanetScaleBranch, PlanetScalePassword};
use serde_json::{Value, json};
use support::env::{TOKEN, TOKEN_ID};
use support::helm::{TempNamespace, helm, text, tool};

/// The release name; with the chart's name in it, the chart names its objects after it alone.
const RELEASE: &str = "planetscale-operator";
const ORG: &str = "acme";
const DB: &str = "shop";
/// Pods start in seconds on a warm node; generous for a loaded 2-core CI machine.
const POD_TIMEOUT: Duration = Duration::from_secs(180);
const RESOURCE_TIMEOUT: Duration = Duration::from_secs(120);

fn image(var: &str, default: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| default.to_string())
}

/// `spec.securityContext` and a container `securityContext` that the `restricted` Pod Security
/// Standard accepts.
fn pod_security() -> Value {
    json!({"runAsNonRoot": true, "runAsUser": 65532, "runAsGroup": 65532,
           "seccompProfile": {"type": "RuntimeDefault"}})
}
fn container_security() -> Value {
    json!({"allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true,
           "capabilities": {"drop": ["ALL"]}, "runAsNonRoot": true})
}

/// Everything a person debugging a timeout needs: the namespace's Pods (phase, conditions,
/// container states), its events, and the last log lines of every container.
async fn dump(client: &Client, ns: &str) -> String {
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
    let mut out = format!("=== namespace {ns}: pods ===\n");
    for p in pods
        .list(&ListParams::default())
        .await
        .map(|l| l.items)
        .unwrap_or_default()
    {
        let st = p.status.clone().unwrap_or_default();
        out += &format!(
            "{} phase={:?} node={:?} ip={:?}\n  conditions: {}\n  containers: {}\n",
            p.name_any(),
            st.phase,
            p.spec.as_ref().and_then(|s| s.node_name.clone()),
            st.pod_ip,
            serde_json::to_string(&st.conditions).unwrap_or_default(),
            serde_json::to_string(&st.container_statuses).unwrap_or_default(),
        );
        for c in p.spec.iter().flat_map(|s| s.containers.iter()) {
            let lp = LogParams {
                container: Some(c.name.clone()),
                tail_lines: Some(20),
                ..Default::default()
            };
            let log = pods
                .logs(&p.name_any(), &lp)
                .await
                .unwrap_or_else(|e| format!("<no log: {e}>"));
            out += &format!("  --- log {} ---\n{log}\n", c.name);
        }
    }
    out += &format!("=== namespace {ns}: events ===\n");
    let events: Api<Event> = Api::namespaced(client.clone(), ns);
    let mut list = events
        .list(&ListParams::default())
        .await
        .map(|l| l.items)
        .unwrap_or_default();
    list.sort_by_key(|e| e.last_timestamp.clone().map(|t| t.0));
    for e in list {
        out += &format!(
            "{} {}/{} {}: {}\n",
            e.type_.unwrap_or_default(),
            e.involved_object.kind.unwrap_or_default(),
            e.involved_object.name.unwrap_or_default(),
            e.reason.unwrap_or_default(),
            e.message.unwrap_or_default()
        );
    }
    out
}

/// Polls `check` until it returns `Ok`; on timeout panics with what it last saw and a dump of
/// the namespaces.
async fn poll<T, Fut>(
    client: &Client,
    nss: &[&str],
    timeout: Duration,
    what: &str,
    mut check: impl FnMut() -> Fut,
) -> T
where
    Fut: std::future::Future<Output = Result<T, String>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        match check().await {
            Ok(v) => return v,
            Err(seen) if Instant::now() >= deadline => {
                let mut d = String::new();
                for ns in nss {
                    d += &dump(client, ns).await;
                }
                panic!("timed out after {timeout:?} waiting for {what}; last saw: {seen}\n{d}");
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    }
}

/// The Deployment has rolled out: its newest generation observed, every replica updated,
/// available, and no old replica left.
async fn wait_rolled_out(client: &Client, ns: &str, name: &str, timeout: Duration) -> Deployment {
    let api: Api<Deployment> = Api::namespaced(client.clone(), ns);
    poll(
        client,
        &[ns],
        timeout,
        &format!("Deployment {ns}/{name} rolled out and Available"),
        || {
            let api = api.clone();
            async move {
                let d = api.get(name).await.map_err(|e| e.to_string())?;
                let want = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
                let st = d.status.clone().unwrap_or_default();
                let available = st
                    .conditions
                    .iter()
                    .flatten()
                    .any(|c| c.type_ == "Available" && c.status == "True");
                let done = available
                    && st.observed_generation >= d.metadata.generation
                    && st.updated_replicas == Some(want)
                    && st.available_replicas == Some(want)
                    && st.replicas == Some(want);
                if done {
                    Ok(d)
                } else {
                    Err(serde_json::to_string(&st).unwrap_or_default())
                }
            }
        },
    )
    .await
}

/// Ready Pods of a Deployment (by its selector), oldest first.
async fn pods_of(client: &Client, ns: &str, selector: &str) -> Vec<Pod> {
    let api: Api<Pod> = Api::namespaced(client.clone(), ns);
    let mut pods = api
        .list(&ListParams::default().labels(selector))
        .await
        .expect("list pods")
        .items;
    pods.retain(|p| p.metadata.deletion_timestamp.is_none());
    pods.sort_by_key(|p| p.metadata.creation_timestamp.clone().map(|t| t.0));
    pods
}

async fn pod_log(client: &Client, ns: &str, pod: &str) -> String {
    Api::<Pod>::namespaced(client.clone(), ns)
        .logs(pod, &LogParams::default())
        .await
        .unwrap_or_else(|e| format!("<no log: {e}>"))
}

/// The emulator's admin API, through the API server's proxy to its Service (the test runs
/// outside the cluster; Pods use the Service address directly).
struct EmulatorSvc {
    ns: String,
    /// `http://<cluster IP>:8787`, as Pods reach it.
    url: String,
}

impl EmulatorSvc {
    fn path(&self, p: &str) -> String {
        format!(
            "/api/v1/namespaces/{}/services/http:emulator:8787/proxy{p}",
            self.ns
        )
    }
    fn get(&self, p: &str) -> Result<Value, String> {
        let out = tool("kubectl")
            .args(["get", "--raw", &self.path(p)])
            .output()
            .expect("kubectl");
        if !out.status.success() {
            return Err(text(&out));
        }
        serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())
    }
    fn post(&self, p: &str, body: &Value) -> Result<Value, String> {
        let file = tempfile::NamedTempFile::new().expect("temp file");
        std::fs::write(file.path(), body.to_string()).expect("write body");
        let out = tool("kubectl")
            .args(["create", "--raw", &self.path(p), "-f"])
            .arg(file.path())
            .output()
            .expect("kubectl");
        if !out.status.success() {
            return Err(text(&out));
        }
        serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())
    }
    /// Branch names, once per branch (a duplicate shows twice).
    fn branches(&self) -> Result<Vec<String>, String> {
        let state = self.get("/_emulator/state")?;
        Ok(names_in(&state, "branches"))
    }
    /// Names of the passwords not deleted.
    fn passwords(&self) -> Result<Vec<String>, String> {
        let state = self.get("/_emulator/state")?;
        Ok(names_in(&state, "passwords"))
    }
    fn valid(&self, branch: &str, username: &str, password: &str) -> Result<bool, String> {
        let v = self.post(
            "/_emulator/verify-password",
            &json!({"organization": ORG, "database": DB, "branch": branch, "username": username, "password": password}),
        )?;
        Ok(v["valid"].as_bool().unwrap_or(false))
    }
}

/// The names of the state's `kind` list (`branches`, `passwords`), leaving out deleted ones
/// (the emulator keeps deleted passwords, flagged).
fn names_in(state: &Value, kind: &str) -> Vec<String> {
    let mut out: Vec<String> = state[kind]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|o| o["deleted"] != true)
        .filter_map(|o| o["name"].as_str().map(String::from))
        .collect();
    out.sort();
    out
}

fn ready<K: serde::Serialize>(obj: &K) -> Result<(), String> {
    let v = serde_json::to_value(obj).expect("json");
    let current = v["status"]["observedGeneration"] == v["metadata"]["generation"];
    let ready = v["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Ready" && c["status"] == "True");
    if current && ready {
        Ok(())
    } else {
        Err(v["status"].to_string())
    }
}

async fn create<K>(api: &Api<K>, obj: Value) -> K
where
    K: kube::Resource + Clone + std::fmt::Debug + serde::de::DeserializeOwned + serde::Serialize,
{
    let obj: K = serde_json::from_value(obj).expect("object");
    api.create(&PostParams::default(), &obj)
        .await
        .unwrap_or_else(|e| panic!("create {}: {e}", obj.name_any()))
}

fn restricted_ns(name: &str) -> Value {
    json!({"metadata": {"name": name, "labels": {
        "pso-test": "true",
        "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/enforce-version": "latest"}}})
}

/// Runs `curl -fsS URL` in a Pod (restricted) and returns its output once it succeeded.
async fn curl_in_pod(client: &Client, ns: &str, name: &str, url: &str) -> String {
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
    create(&pods, json!({
        "metadata": {"name": name},
        "spec": {"restartPolicy": "Never", "securityContext": pod_security(),
          "containers": [{"name": "curl", "image": image("PSO_E2E_TOOLS_IMAGE", "curlimages/curl:8.11.1"),
            "imagePullPolicy": "IfNotPresent",
            "command": ["curl", "-fsS", "--retry", "5", "--retry-connrefused", url],
            "securityContext": container_security()}]}
    })).await;
    poll(
        client,
        &[ns],
        POD_TIMEOUT,
        &format!("Pod {name} to succeed"),
        || {
            let pods = pods.clone();
            async move {
                let p = pods.get(name).await.map_err(|e| e.to_string())?;
                match p.status.and_then(|s| s.phase).as_deref() {
                    Some("Succeeded") => Ok(()),
                    other => Err(format!("phase {other:?}")),
                }
            }
        },
    )
    .await;
    let log = pod_log(client, ns, name).await;
    pods.delete(name, &DeleteParams::default())
        .await
        .expect("delete curl pod");
    without_retry_notes(&log)
}

/// The Pod's log without what curl writes to stderr before a retry (`curl: (7) Failed to
/// connect …`, `Warning: Problem … Will retry`): a Service whose iptables rules are still being
/// written refuses the first connection, and the log holds stderr and the body together.
fn without_retry_notes(log: &str) -> String {
    log.lines()
        .filter(|l| !l.starts_with("curl: (") && !l.starts_with("Warning: "))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// The Lease's holder, as the pod name (identities are `<pod name>_<random>`).
async fn leader_pod(leases: &Api<Lease>) -> Result<String, String> {
    let l = leases
        .get("planetscale-operator")
        .await
        .map_err(|e| e.to_string())?;
    let holder = l.spec.and_then(|s| s.holder_identity).unwrap_or_default();
    match holder.rsplit_once('_') {
        Some((pod, _)) if !pod.is_empty() => Ok(pod.to_string()),
        _ => Err(format!("holder {holder:?}")),
    }
}

/// `helm uninstall` of the release in this namespace when the test panics.
struct UninstallOnPanic(String);

impl Drop for UninstallOnPanic {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let args = ["uninstall", RELEASE, "-n", &self.0].map(String::from);
            let out = helm(&args);
            if !out.status.success() {
                eprintln!("helm uninstall after the failure failed\n{}", text(&out));
            }
        }
    }
}

fn helm_ok(args: &[&str]) {
    let args: Vec<String> = args.iter().map(std::string::ToString::to_string).collect();
    let out = helm(&args);
    assert!(
        out.status.success(),
        "helm {} failed\n{}",
        args[0],
        text(&out)
    );
}

fn step(t0: Instant, what: &str) {
    eprintln!("e2e: [{:>6.1}s] {what}", t0.elapsed().as_secs_f64());
}

#[tokio::test]
#[ignore = "needs a cluster that runs Pods and the images: make e2e"]
async fn chart_operator_and_app_run_as_pods() {
    let t0 = Instant::now();
    let client = support::client().await;
    let suffix: u32 = rand::random::<u32>() % 100_000;
    let sys = format!("pso-e2e-{suffix}");
    let app = format!("pso-e2e-{suffix}-app");
    let namespaces: Api<Namespace> = Api::all(client.clone());
    for ns in [&sys, &app] {
        create(&namespaces, restricted_ns(ns)).await;
    }
    // Deleted when the test ends, also on a panic (after the release, see below).
    let _ns_guards = (TempNamespace(sys.clone()), TempNamespace(app.clone()));

    // The namespaces really enforce `restricted`: a Pod without the settings is refused, so the
    // Pods below that do start were checked against it.
    let refused = Api::<Pod>::namespaced(client.clone(), &app)
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({
                "metadata": {"name": "not-restricted"},
                "spec": {"containers": [{"name": "c", "image": image("PSO_E2E_TOOLS_IMAGE", "x")}]}
            }))
            .unwrap(),
        )
        .await;
    match refused {
        Err(kube::Error::Api(s)) if s.code == 403 && s.message.contains("restricted") => {}
        other => panic!("a Pod breaking the restricted standard was not refused: {other:?}"),
    }

    // 1. The emulator as a Pod behind a Service.
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &sys);
    create(&deployments, json!({
        "metadata": {"name": "emulator"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "emulator"}},
          "template": {"metadata": {"labels": {"app": "emulator"}},
            "spec": {"securityContext": pod_security(), "automountServiceAccountToken": false,
              "containers": [{"name": "emulator", "image": image("PSO_E2E_EMULATOR_IMAGE", "planetscale-emulator:dev"),
                "imagePullPolicy": "IfNotPresent",
                "args": ["--default-token-id", TOKEN_ID, "--default-token", TOKEN, "--branch-ready-delay", "2s"],
                "ports": [{"name": "http", "containerPort": 8787}],
                "readinessProbe": {"httpGet": {"path": "/_emulator/health", "port": "http"}, "periodSeconds": 2},
                "securityContext": container_security()}]}}}
    })).await;
    let services: Api<Service> = Api::namespaced(client.clone(), &sys);
    let svc = create(&services, json!({
        "metadata": {"name": "emulator"},
        "spec": {"selector": {"app": "emulator"}, "ports": [{"name": "http", "port": 8787, "targetPort": "http"}]}
    })).await;
    let ip = svc.spec.and_then(|s| s.cluster_ip).expect("cluster IP");
    let emu = EmulatorSvc {
        ns: sys.clone(),
        url: format!("http://{ip}:8787"),
    };
    wait_rolled_out(&client, &sys, "emulator", POD_TIMEOUT).await;
    poll(
        &client,
        &[&sys],
        POD_TIMEOUT,
        "emulator reachable through the API server's proxy",
        || async { emu.get("/_emulator/health") },
    )
    .await;
    step(t0, "emulator Pod Ready");

    // 2. helm install from the locally built image, two replicas, the emulator's token.
    let (repo, tag) = image("PSO_E2E_OPERATOR_IMAGE", "planetscale-operator:dev")
        .rsplit_once(':')
        .map(|(r, t)| (r.to_string(), t.to_string()))
        .expect("PSO_E2E_OPERATOR_IMAGE is repository:tag");
    let chart = support::helm::chart().display().to_string();
    let api_url = format!("operator.apiUrl={}/v1", emu.url);
    let token_url = format!("operator.oauthTokenUrl={}/oauth/token", emu.url);
    let repo_v = format!("image.repository={repo}");
    let tag_v = format!("image.tag={tag}");
    let token_id = format!("defaultCredentials.serviceTokenId={TOKEN_ID}");
    let token = format!("defaultCredentials.serviceToken={TOKEN}");
    let apps_ns = format!("defaultCredentials.allowedNamespaces={{{app}}}");
    // The access policy serving the application's namespace (named after it: unique).
    let policy = serde_json::json!([{"name": app, "rules": [{
        "name": "e2e",
        "namespaces": {"names": [app]},
        "credentials": {"default": true},
        "organizations": ["*"],
    }]}]);
    let policy = format!("accessPolicies={policy}");
    helm_ok(&[
        "install",
        RELEASE,
        &chart,
        "-n",
        &sys,
        "--set",
        &repo_v,
        "--set",
        &tag_v,
        "--set",
        "image.pullPolicy=IfNotPresent",
        "--set",
        "replicaCount=2",
        "--set",
        &api_url,
        "--set",
        &token_url,
        "--set",
        "defaultCredentials.create=true",
        "--set",
        &token_id,
        "--set",
        &token,
        "--set",
        &apps_ns,
        "--set-json",
        &policy,
    ]);
    // Uninstalled at the end of the test; on a panic by this guard (the ClusterRole and its
    // binding would otherwise outlive the namespaces and block the next install).
    let _release_guard = UninstallOnPanic(sys.clone());
    let operator = wait_rolled_out(&client, &sys, RELEASE, POD_TIMEOUT).await;
    let selector = format!("app.kubernetes.io/instance={RELEASE}");
    let pods = pods_of(&client, &sys, &selector).await;
    assert_eq!(pods.len(), 2, "two operator Pods");
    for p in &pods {
        let ready = p
            .status
            .iter()
            .flat_map(|s| s.conditions.iter().flatten())
            .any(|c| c.type_ == "Ready" && c.status == "True");
        assert!(
            ready,
            "{} Ready through the chart's /readyz probe",
            p.name_any()
        );
        let c = &p.spec.as_ref().unwrap().containers[0];
        assert!(
            c.readiness_probe.is_some() && c.liveness_probe.is_some(),
            "the chart's probes are set"
        );
    }
    let leases: Api<Lease> = Api::namespaced(client.clone(), &sys);
    let leader = poll(
        &client,
        &[&sys],
        RESOURCE_TIMEOUT,
        "a leader in the Lease",
        || leader_pod(&leases),
    )
    .await;
    assert!(
        pods.iter().any(|p| p.name_any() == leader),
        "the leader {leader} is one of the Pods"
    );
    step(
        t0,
        &format!("operator Deployment Available (2 replicas), leader {leader}"),
    );
    let _ = operator;

    // 3. /metrics through the chart's Service, scraped from a Pod (cluster IP, kube-proxy).
    let msvc = services
        .get(&format!("{RELEASE}-metrics"))
        .await
        .expect("metrics Service");
    let mip = msvc
        .spec
        .and_then(|s| s.cluster_ip)
        .expect("metrics cluster IP");
    let body = curl_in_pod(
        &client,
        &app,
        "scrape",
        &format!("http://{mip}:8080/metrics"),
    )
    .await;
    let scrape = support::scrape::Scrape::parse(&body);
    assert!(
        scrape.value("planetscale_operator_leader", &[]).is_some(),
        "/metrics through the Service has the leader gauge:\n{body}"
    );
    step(t0, "/metrics scraped through the Service");

    // 4. A branch and a password with restartOnRotation, and an application reading the Secret.
    let branches: Api<PlanetScaleBranch> = Api::namespaced(client.clone(), &app);
    let passwords: Api<PlanetScalePassword> = Api::namespaced(client.clone(), &app);
    create(
        &branches,
        json!({
            "apiVersion": "planetscale.operator.dev/v1alpha1", "kind": "PlanetScaleBranch",
            "metadata": {"name": "e2e-dev"},
            "spec": {"organization": ORG, "database": DB, "parentBranch": "main"}
        }),
    )
    .await;
    create(
        &passwords,
        json!({
            "apiVersion": "planetscale.operator.dev/v1alpha1", "kind": "PlanetScalePassword",
            "metadata": {"name": "app"},
            "spec": {"organization": ORG, "database": DB, "branch": "e2e-dev", "role": "reader",
              "restartOnRotation": [{"kind": "Deployment", "name": "app"}],
              "secret": {"name": "app-db"}}
        }),
    )
    .await;
    poll(
        &client,
        &[&app, &sys],
        RESOURCE_TIMEOUT,
        "branch and password Ready",
        || async {
            ready(&branches.get("e2e-dev").await.map_err(|e| e.to_string())?)?;
            ready(&passwords.get("app").await.map_err(|e| e.to_string())?)
        },
    )
    .await;
    // The app goes in once its Secret exists (before, its Pods wait out a kubelet back-off).
    let app_deployments: Api<Deployment> = Api::namespaced(client.clone(), &app);
    // Healthy only while the Secret's credentials work on the branch (see the module doc).
    let check = format!(
        "curl -fsS -H 'content-type: application/json' -d \"{{\\\"organization\\\":\\\"{ORG}\\\",\\\"database\\\":\\\"$database\\\",\\\"branch\\\":\\\"e2e-dev\\\",\\\"username\\\":\\\"$username\\\",\\\"password\\\":\\\"$password\\\"}}\" {}/_emulator/verify-password | grep -q '\"valid\":true'",
        emu.url
    );
    create(&app_deployments, json!({
        "metadata": {"name": "app"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "app"}},
          "template": {"metadata": {"labels": {"app": "app"}},
            "spec": {"securityContext": pod_security(), "automountServiceAccountToken": false,
              "terminationGracePeriodSeconds": 1,
              "containers": [{"name": "app", "image": image("PSO_E2E_TOOLS_IMAGE", "curlimages/curl:8.11.1"),
                "imagePullPolicy": "IfNotPresent",
                "envFrom": [{"secretRef": {"name": "app-db"}}],
                "command": ["sh", "-c", "echo \"app: database user $username\"; exec sleep 2147483647"],
                "readinessProbe": {"exec": {"command": ["sh", "-c", check]}, "periodSeconds": 2, "failureThreshold": 1},
                "securityContext": container_security()}]}}}
    })).await;
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &app);
    let creds = |s: &Secret| -> (String, String) {
        let d = s.data.clone().unwrap_or_default();
        let get =
            |k: &str| String::from_utf8(d.get(k).map(|b| b.0.clone()).unwrap_or_default()).unwrap();
        (get("username"), get("password"))
    };
    let (user1, pass1) = creds(&secrets.get("app-db").await.expect("Secret app-db"));
    assert!(
        emu.valid("e2e-dev", &user1, &pass1).expect("verify"),
        "the Secret's password works"
    );
    wait_rolled_out(&client, &app, "app", POD_TIMEOUT).await;
    let app_pods = pods_of(&client, &app, "app=app").await;
    for p in &app_pods {
        let log = pod_log(&client, &app, &p.name_any()).await;
        assert!(
            log.contains(&format!("database user {user1}")),
            "{} reads the Secret: {log}",
            p.name_any()
        );
    }
    step(
        t0,
        "branch + password Ready; app Deployment Available on the Secret's credentials",
    );

    // 5. Leader handover between Pods: delete the leader, measure until the other one holds the
    // Lease; a branch created meanwhile exists exactly once in PlanetScale.
    let pods_api: Api<Pod> = Api::namespaced(client.clone(), &sys);
    let leader = leader_pod(&leases).await.expect("leader");
    let standby = pods_of(&client, &sys, &selector)
        .await
        .into_iter()
        .map(|p| p.name_any())
        .find(|n| *n != leader)
        .expect("standby");
    let t_delete = Instant::now();
    pods_api
        .delete(&leader, &DeleteParams::default())
        .await
        .expect("delete leader");
    create(
        &branches,
        json!({
            "apiVersion": "planetscale.operator.dev/v1alpha1", "kind": "PlanetScaleBranch",
            "metadata": {"name": "e2e-handover"},
            "spec": {"organization": ORG, "database": DB, "parentBranch": "main"}
        }),
    )
    .await;
    let new_leader = poll(
        &client,
        &[&sys],
        RESOURCE_TIMEOUT,
        "the standby to take the Lease",
        || async {
            match leader_pod(&leases).await {
                Ok(l) if l != leader => Ok(l),
                other => Err(format!("{other:?}")),
            }
        },
    )
    .await;
    let handover = t_delete.elapsed();
    eprintln!(
        "e2e: leader handover between Pods: {handover:?} ({leader} deleted -> {new_leader} holds the Lease; {})",
        if new_leader == standby {
            "the standby"
        } else {
            "the replacement Pod"
        }
    );
    poll(
        &client,
        &[&app, &sys],
        RESOURCE_TIMEOUT,
        "branch e2e-handover Ready",
        || async {
            ready(
                &branches
                    .get("e2e-handover")
                    .await
                    .map_err(|e| e.to_string())?,
            )
        },
    )
    .await;
    wait_rolled_out(&client, &sys, RELEASE, POD_TIMEOUT).await;
    let in_ps = emu.branches().expect("state");
    for b in ["e2e-dev", "e2e-handover"] {
        assert_eq!(
            in_ps.iter().filter(|n| *n == b).count(),
            1,
            "{b} exactly once in PlanetScale: {in_ps:?}"
        );
    }
    assert_eq!(
        emu.passwords().expect("state").len(),
        1,
        "one password in PlanetScale"
    );
    step(
        t0,
        &format!(
            "leader handover in {:.1}s, no duplicates",
            handover.as_secs_f64()
        ),
    );

    // 6. restartOnRotation: rotate; the app rolls and its new Pods use the new credentials.
    let before: BTreeSet<String> = app_pods.iter().map(kube::ResourceExt::name_any).collect();
    passwords
        .patch(
            "app",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {
            "planetscale.operator.dev/rotate": "e2e-1"}}})),
        )
        .await
        .expect("annotate");
    let (user2, pass2) = poll(
        &client,
        &[&app, &sys],
        RESOURCE_TIMEOUT,
        "the Secret to hold a new password",
        || async {
            let c = creds(&secrets.get("app-db").await.map_err(|e| e.to_string())?);
            if c.0 != user1 {
                Ok(c)
            } else {
                Err("same username".into())
            }
        },
    )
    .await;
    assert!(
        emu.valid("e2e-dev", &user2, &pass2).expect("verify"),
        "the new password works"
    );
    poll(
        &client,
        &[&app, &sys],
        POD_TIMEOUT,
        "the app to roll onto new Pods",
        || async {
            let pods = pods_of(&client, &app, "app=app").await;
            let names: BTreeSet<String> = pods.iter().map(kube::ResourceExt::name_any).collect();
            if names.len() == 2 && names.is_disjoint(&before) {
                Ok(())
            } else {
                Err(format!("{names:?}"))
            }
        },
    )
    .await;
    wait_rolled_out(&client, &app, "app", POD_TIMEOUT).await;
    for p in pods_of(&client, &app, "app=app").await {
        let log = pod_log(&client, &app, &p.name_any()).await;
        assert!(
            log.contains(&format!("database user {user2}")),
            "{} uses the new credentials: {log}",
            p.name_any()
        );
    }
    step(
        t0,
        "rotation rolled the app; new Pods use the new credentials",
    );

    // 7. helm upgrade with changed values rolls the operator; nothing is lost or duplicated.
    let old_pods: BTreeSet<String> = pods_of(&client, &sys, &selector)
        .await
        .iter()
        .map(kube::ResourceExt::name_any)
        .collect();
    let passwords_before = emu.passwords().expect("state");
    helm_ok(&[
        "upgrade",
        RELEASE,
        &chart,
        "-n",
        &sys,
        "--reuse-values",
        "--set",
        "operator.logLevel=debug",
    ]);
    poll(
        &client,
        &[&sys],
        POD_TIMEOUT,
        "the operator to roll onto new Pods",
        || async {
            let names: BTreeSet<String> = pods_of(&client, &sys, &selector)
                .await
                .iter()
                .map(kube::ResourceExt::name_any)
                .collect();
            if names.len() == 2 && names.is_disjoint(&old_pods) {
                Ok(())
            } else {
                Err(format!("{names:?}"))
            }
        },
    )
    .await;
    wait_rolled_out(&client, &sys, RELEASE, POD_TIMEOUT).await;
    let env =
        support::helm::container_env(&deployments.get(RELEASE).await.expect("deployment"), "x");
    assert!(
        env.contains(&("PSO_LOG_LEVEL".into(), "debug".into())),
        "the new values are in effect: {env:?}"
    );
    // The new leader reconciles: a change after the upgrade is acted on.
    passwords
        .patch(
            "app",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {
            "planetscale.operator.dev/rotate": "e2e-2"}}})),
        )
        .await
        .expect("annotate");
    poll(
        &client,
        &[&app, &sys],
        RESOURCE_TIMEOUT,
        "a rotation after the upgrade",
        || async {
            let c = creds(&secrets.get("app-db").await.map_err(|e| e.to_string())?);
            if c.0 != user2 {
                Ok(())
            } else {
                Err("same username".into())
            }
        },
    )
    .await;
    poll(
        &client,
        &[&app, &sys],
        RESOURCE_TIMEOUT,
        "branch and password still Ready",
        || async {
            ready(&branches.get("e2e-dev").await.map_err(|e| e.to_string())?)?;
            ready(
                &branches
                    .get("e2e-handover")
                    .await
                    .map_err(|e| e.to_string())?,
            )?;
            ready(&passwords.get("app").await.map_err(|e| e.to_string())?)
        },
    )
    .await;
    let in_ps = emu.branches().expect("state");
    for b in ["e2e-dev", "e2e-handover"] {
        assert_eq!(
            in_ps.iter().filter(|n| *n == b).count(),
            1,
            "{b} kept, once, across the upgrade: {in_ps:?}"
        );
    }
    eprintln!(
        "e2e: passwords before the upgrade {passwords_before:?}, after {:?}",
        emu.passwords()
    );
    step(t0, "helm upgrade rolled the operator; resources kept");

    // 8. Delete the resources (the operator deletes them in PlanetScale), then helm uninstall
    // leaves nothing of the release.
    app_deployments
        .delete("app", &DeleteParams::default())
        .await
        .expect("delete app");
    passwords
        .delete("app", &DeleteParams::default())
        .await
        .expect("delete password");
    for b in ["e2e-dev", "e2e-handover"] {
        branches
            .delete(b, &DeleteParams::default())
            .await
            .expect("delete branch");
    }
    poll(
        &client,
        &[&app, &sys],
        RESOURCE_TIMEOUT,
        "the resources gone here and in PlanetScale",
        || async {
            let here = branches
                .list(&ListParams::default())
                .await
                .map_err(|e| e.to_string())?
                .items
                .len()
                + passwords
                    .list(&ListParams::default())
                    .await
                    .map_err(|e| e.to_string())?
                    .items
                    .len();
            let there = emu
                .branches()?
                .into_iter()
                .filter(|b| b.starts_with("e2e-"))
                .count()
                + emu.passwords()?.len();
            if here == 0 && there == 0 {
                Ok(())
            } else {
                Err(format!("{here} here, {there} in PlanetScale"))
            }
        },
    )
    .await;
    helm_ok(&["uninstall", RELEASE, "-n", &sys, "--wait"]);
    poll(
        &client,
        &[&sys],
        POD_TIMEOUT,
        "nothing of the release left (helm uninstall)",
        || async {
            let left = leftovers(&sys).await;
            if left.is_empty() { Ok(()) } else { Err(left) }
        },
    )
    .await;
    // The Lease is the operator's, not the chart's: it stays in the release namespace until that
    // namespace goes (docs/install.md says so). Its holder is not always released: helm deletes
    // the RBAC and the ServiceAccount while the last Pod is still shutting down.
    if let Some(l) = leases
        .get_opt("planetscale-operator")
        .await
        .expect("get Lease")
    {
        let holder = l.spec.and_then(|s| s.holder_identity).unwrap_or_default();
        eprintln!("e2e: the operator's Lease stays in {sys} (holder {holder:?})");
    }
    step(t0, "resources deleted, helm uninstall left nothing behind");
}

/// Every object that still carries the release's label, any kind the chart makes, in any
/// namespace (Pods go after their Deployment, so callers poll).
async fn leftovers(sys: &str) -> String {
    let selector = format!("app.kubernetes.io/instance={RELEASE}");
    let out = tool("kubectl")
        .args([
            "get",
            "deployments,replicasets,pods,services,serviceaccounts,secrets,configmaps,roles,rolebindings,clusterroles,clusterrolebindings,poddisruptionbudgets,networkpolicies",
            "-A", "-l", &selector, "-o", "name",
        ])
        .output()
        .expect("kubectl");
    assert!(out.status.success(), "{}", text(&out));
    let mut left = String::from_utf8_lossy(&out.stdout).to_string();
    // The ReplicaSets and Pods of the Deployment carry only the selector labels: look at the
    // release namespace's pods too.
    let pods = Api::<Pod>::namespaced(support::client().await, sys)
        .list(&ListParams::default())
        .await
        .expect("pods");
    for p in pods.items {
        if p.labels()
            .get("app.kubernetes.io/instance")
            .map(String::as_str)
            == Some(RELEASE)
        {
            left += &format!(
                "pod/{} (terminating: {})\n",
                p.name_any(),
                p.metadata.deletion_timestamp.is_some()
            );
        }
    }
    left
}

#[test]
fn curl_retry_notes_are_dropped_and_the_body_is_kept() {
    let log = "curl: (7) Failed to connect to 10.0.0.134 port 8080 after 0 ms: Couldn't connect to server\n\
               Warning: Problem : connection refused. Will retry in 1 seconds. 5 retries left.\n\
               # TYPE planetscale_operator_leader gauge\n\
               planetscale_operator_leader 1\n";
    assert_eq!(
        without_retry_notes(log),
        "# TYPE planetscale_operator_leader gauge\nplanetscale_operator_leader 1\n"
    );
}
