//! Installing the Helm chart into the local control plane, and acting as its ServiceAccount:
//! a token from the TokenRequest API in a kubeconfig of its own.
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::ServiceAccount;
use kube::api::{ListParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client, Config};
use serde_json::{Value, json};

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The chart.
pub fn chart() -> PathBuf {
    repo().join("charts/planetscale-operator")
}

/// The folder with helm and kubectl: `$PSO_TESTENV_BIN`, else the cache folder that
/// `hack/testenv/versions.sh` names (the same logic `hack/testenv/build` uses).
pub fn bin_dir() -> PathBuf {
    let out = Command::new("bash")
        .arg("-c")
        .arg("source hack/testenv/versions.sh && printf %s \"$TESTENV_BIN\"")
        .current_dir(repo())
        .output()
        .expect("run bash");
    assert!(
        out.status.success(),
        "versions.sh failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = PathBuf::from(String::from_utf8(out.stdout).expect("utf-8"));
    assert!(
        dir.join("helm").exists() && dir.join("kubectl").exists(),
        "no helm/kubectl in {}: run `make testenv-build` (or set PSO_TESTENV_BIN)",
        dir.display()
    );
    dir
}

/// `tool` (helm or kubectl) from the control plane's binary folder, as the harness admin, with
/// helm's cache and configuration in the temporary directory.
pub fn tool(tool: &str) -> Command {
    let mut command = Command::new(bin_dir().join(tool));
    command
        .env("KUBECONFIG", super::kubeconfig_path())
        .env(
            "HELM_CACHE_HOME",
            std::env::temp_dir().join("pso-helm-cache"),
        )
        .env(
            "HELM_CONFIG_HOME",
            std::env::temp_dir().join("pso-helm-config"),
        );
    command
}

/// Runs helm with `args` as the harness admin.
pub fn helm(args: &[String]) -> Output {
    tool("helm")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run helm")
}

/// Both output streams of a failed command, for failure messages.
pub fn text(out: &Output) -> String {
    format!(
        "status: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// An installed release; uninstalled when dropped (also when the test panics).
pub struct Release {
    pub name: String,
    pub namespace: String,
}

impl Release {
    /// `helm install <name> <chart> -n <namespace> <values…>`; panics with helm's output on failure.
    pub fn install(name: &str, namespace: &str, values: &[String]) -> Self {
        let mut args: Vec<String> = ["install", name, &chart().display().to_string()]
            .map(String::from)
            .to_vec();
        args.extend(["-n".into(), namespace.into()]);
        args.extend(values.iter().cloned());
        let out = helm(&args);
        // helm's own output holds only names; the values (with the emulator token) stay unprinted.
        assert!(out.status.success(), "helm install failed\n{}", text(&out));
        Self {
            name: name.into(),
            namespace: namespace.into(),
        }
    }

    /// The release's Deployment (the operator as the chart configures it).
    pub async fn deployment(&self, client: &Client) -> Deployment {
        let api: Api<Deployment> = Api::namespaced(client.clone(), &self.namespace);
        let lp = ListParams::default().labels(&format!("app.kubernetes.io/instance={}", self.name));
        let mut list = api.list(&lp).await.expect("list Deployments").items;
        assert_eq!(list.len(), 1, "the release has one Deployment");
        list.remove(0)
    }

    fn uninstall(&self) -> Output {
        let args = ["uninstall", &self.name, "-n", &self.namespace, "--wait"].map(String::from);
        helm(&args)
    }
}

impl Drop for Release {
    fn drop(&mut self) {
        let out = self.uninstall();
        if !out.status.success() {
            eprintln!("helm uninstall {} failed\n{}", self.name, text(&out));
        }
    }
}

/// The operator container's environment as the Deployment sets it. Variables taken from the
/// pod (`fieldRef`) get the values a pod named `pod_name` in the release namespace would see.
pub fn container_env(deployment: &Deployment, pod_name: &str) -> Vec<(String, String)> {
    let namespace = deployment.metadata.namespace.clone().expect("namespace");
    let spec = deployment.spec.as_ref().expect("spec");
    let pod = spec.template.spec.as_ref().expect("pod spec");
    let env = pod.containers[0].env.clone().unwrap_or_default();
    env.into_iter()
        .map(|var| {
            let field = var
                .value_from
                .as_ref()
                .and_then(|v| v.field_ref.as_ref())
                .map(|f| f.field_path.as_str());
            let value = match field {
                Some("metadata.name") => pod_name.to_string(),
                Some("metadata.namespace") => namespace.clone(),
                Some(other) => panic!("{}: unexpected fieldRef {other}", var.name),
                None => var.value.clone().unwrap_or_default(),
            };
            (var.name, value)
        })
        .collect()
}

/// A kubeconfig (a private temporary file) that authenticates as ServiceAccount `sa` of `ns`
/// with a one-hour token from the TokenRequest API, against the harness's API server.
pub async fn service_account_kubeconfig(client: &Client, ns: &str, sa: &str) -> tempfile::TempPath {
    let api: Api<ServiceAccount> = Api::namespaced(client.clone(), ns);
    let request = TokenRequest {
        spec: TokenRequestSpec {
            audiences: vec![],
            expiration_seconds: Some(3600),
            ..Default::default()
        },
        ..Default::default()
    };
    let token = api
        .create_token_request(sa, &PostParams::default(), &request)
        .await
        .unwrap_or_else(|e| panic!("TokenRequest for {ns}/{sa}: {e}"))
        .status
        .expect("TokenRequest status")
        .token;
    let harness = std::fs::read_to_string(super::kubeconfig_path()).expect("harness kubeconfig");
    let mut kc: Value = serde_norway::from_str(&harness).expect("kubeconfig YAML");
    let user = format!("system:serviceaccount:{ns}:{sa}");
    kc["users"] = json!([{"name": user, "user": {"token": token}}]);
    let context = kc["current-context"].clone();
    for ctx in kc["contexts"].as_array_mut().expect("contexts") {
        if ctx["name"] == context {
            ctx["context"]["user"] = json!(user);
        }
    }
    let file = tempfile::Builder::new()
        .prefix("pso-sa-kubeconfig-")
        .tempfile()
        .expect("temp file");
    std::fs::write(file.path(), serde_norway::to_string(&kc).expect("YAML")).expect("write");
    file.into_temp_path()
}

/// A client from a kubeconfig file (e.g. a ServiceAccount's, see
/// [`service_account_kubeconfig`]).
pub async fn client_from(kubeconfig: &Path) -> Client {
    let kc = Kubeconfig::read_from(kubeconfig).expect("read kubeconfig");
    let config = Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .expect("kubeconfig usable");
    Client::try_from(config).expect("client")
}

/// A values file (a private temporary file) for `helm install -f`.
pub fn values_file(values: &Value) -> tempfile::TempPath {
    let file = tempfile::Builder::new()
        .prefix("pso-values-")
        .suffix(".yaml")
        .tempfile()
        .expect("temp file");
    std::fs::write(file.path(), serde_norway::to_string(values).expect("YAML")).expect("write");
    file.into_temp_path()
}

/// A namespace of the test beside the one `with_temp_ns` gives; deleted when dropped (also
/// when the test panics), without waiting.
pub struct TempNamespace(pub String);

impl TempNamespace {
    pub async fn create(client: &Client, name: String) -> Self {
        use k8s_openapi::api::core::v1::Namespace;
        let ns: Namespace = serde_json::from_value(json!({
            "metadata": {"name": name, "labels": {"pso-test": "true"}}
        }))
        .expect("namespace");
        Api::<Namespace>::all(client.clone())
            .create(&PostParams::default(), &ns)
            .await
            .unwrap_or_else(|e| panic!("create namespace {name}: {e}"));
        Self(name)
    }
}

impl Drop for TempNamespace {
    fn drop(&mut self) {
        let _ = Command::new(bin_dir().join("kubectl"))
            .args(["delete", "namespace", &self.0, "--wait=false"])
            .env("KUBECONFIG", super::kubeconfig_path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}
