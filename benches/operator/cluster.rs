//! The benchmark's own control plane (`hack/testenv/up` in `.bench/testenv`, with the audit
//! log on), the operator's identity in it, and namespaces.
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use futures::StreamExt;
use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::{Namespace, Secret, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRoleBinding, RoleRef, Subject};
use kube::api::{DeleteParams, ListParams, ObjectMeta, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client, Config};
use planetscale_operator::crd::{
    DeployRequest, PlanetScaleAccessPolicy, PlanetScaleBranch, PlanetScalePassword,
};
use serde_json::{Value, json};

use crate::emulator::{TOKEN, TOKEN_ID};

/// Namespace the operator runs in: its identity and the default credentials Secret.
pub const OPERATOR_NS: &str = "pso-bench-system";
/// Name of the default credentials Secret.
pub const CREDENTIALS_SECRET: &str = "planetscale-credentials";
const OPERATOR_SA: &str = "planetscale-operator";
/// The operator's user name in the audit log.
pub const OPERATOR_USER: &str = "system:serviceaccount:pso-bench-system:planetscale-operator";

/// A control plane started by the bench; stopped (logs kept) when dropped.
pub struct Testenv {
    repo: PathBuf,
    pub dir: PathBuf,
}

impl Testenv {
    /// Stops a leftover bench control plane, then starts a fresh one with `crds` applied.
    pub fn up(repo: &Path, crds: &Path) -> Result<Self> {
        let env = Self {
            repo: repo.to_path_buf(),
            dir: repo.join(".bench/testenv"),
        };
        env.script("down", &[]).ok();
        let ok = Command::new(env.repo.join("hack/testenv/up"))
            .env("TESTENV_DIR", &env.dir)
            .env("TESTENV_AUDIT", "1")
            .env("TESTENV_CRDS", crds)
            .status()
            .context("run hack/testenv/up")?;
        if !ok.success() {
            bail!("hack/testenv/up failed ({ok})");
        }
        Ok(env)
    }

    fn script(&self, name: &str, args: &[&str]) -> Result<()> {
        Command::new(self.repo.join("hack/testenv").join(name))
            .args(args)
            .env("TESTENV_DIR", &self.dir)
            .stdout(std::process::Stdio::null())
            .status()
            .with_context(|| format!("run hack/testenv/{name}"))?;
        Ok(())
    }

    /// The admin kubeconfig.
    pub fn kubeconfig(&self) -> PathBuf {
        self.dir.join("kubeconfig")
    }

    /// The API server's audit log (write requests only).
    pub fn audit_log(&self) -> PathBuf {
        self.dir.join("logs/audit.log")
    }

    /// A client authenticated as the admin.
    pub async fn client(&self) -> Result<Client> {
        let kc = Kubeconfig::read_from(self.kubeconfig())?;
        let config = Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default()).await?;
        Ok(Client::try_from(config)?)
    }
}

impl Drop for Testenv {
    fn drop(&mut self) {
        let _ = self.script("down", &["--keep-logs"]);
    }
}

/// Generates the CRDs with the release `crdgen` into `dir`.
pub fn generate_crds(crdgen: &Path, dir: &Path) -> Result<()> {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir)?;
    let ok = Command::new(crdgen).arg("--out-dir").arg(dir).status()?;
    if !ok.success() {
        bail!("crdgen failed ({ok})");
    }
    Ok(())
}

/// Creates the namespace if it does not exist.
pub async fn create_namespace(client: &Client, name: &str) -> Result<()> {
    let api: Api<Namespace> = Api::all(client.clone());
    let ns = Namespace {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..Default::default()
        },
        ..Default::default()
    };
    match api.create(&PostParams::default(), &ns).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 409 => Ok(()),
        Err(e) => Err(e).with_context(|| format!("create namespace {name}")),
    }
}

/// The operator's namespace, ServiceAccount (cluster-admin) and default credentials Secret;
/// writes a kubeconfig with the ServiceAccount's token to `out`, so that the audit log tells
/// the operator's writes from the bench's own.
pub async fn operator_identity(client: &Client, admin_kubeconfig: &Path, out: &Path) -> Result<()> {
    create_namespace(client, OPERATOR_NS).await?;
    let pp = PatchParams::apply("pso-bench").force();
    // The bench's own control plane: one access policy serving every namespace with anything.
    let policy: PlanetScaleAccessPolicy = serde_json::from_value(json!({
        "apiVersion": "planetscale.operator.dev/v1alpha1",
        "kind": "PlanetScaleAccessPolicy",
        "metadata": {"name": "pso-bench"},
        "spec": {"rules": [{
            "name": "everything",
            "namespaces": {"selector": {}},
            "credentials": {"default": true, "secrets": ["*"]},
            "organizations": ["*"],
            "passwordRoles": ["reader", "writer", "readwriter", "admin"],
            "production": {"adopt": true, "delete": true, "promote": true, "passwords": true},
        }]},
    }))?;
    let policies: Api<PlanetScaleAccessPolicy> = Api::all(client.clone());
    match policies
        .patch("pso-bench", &pp, &Patch::Apply(&policy))
        .await
    {
        // A build from before access policies (`BENCH_BIN_DIR`, an A/B run): its crdgen has no
        // such kind and its operator needs none.
        Err(kube::Error::Api(s)) if s.code == 404 => {}
        other => {
            other?;
        }
    }
    let sas: Api<ServiceAccount> = Api::namespaced(client.clone(), OPERATOR_NS);
    let sa =
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": OPERATOR_SA}});
    sas.patch(OPERATOR_SA, &pp, &Patch::Apply(sa)).await?;
    let crb = ClusterRoleBinding {
        metadata: ObjectMeta {
            name: Some("pso-bench-operator".into()),
            ..Default::default()
        },
        role_ref: RoleRef {
            api_group: "rbac.authorization.k8s.io".into(),
            kind: "ClusterRole".into(),
            name: "cluster-admin".into(),
        },
        subjects: Some(vec![Subject {
            kind: "ServiceAccount".into(),
            name: OPERATOR_SA.into(),
            namespace: Some(OPERATOR_NS.into()),
            ..Default::default()
        }]),
    };
    let crbs: Api<ClusterRoleBinding> = Api::all(client.clone());
    crbs.patch("pso-bench-operator", &pp, &Patch::Apply(&crb))
        .await?;
    credentials_secret(client).await?;
    let token = service_account_token(&sas).await?;
    write_token_kubeconfig(admin_kubeconfig, &token, out)
}

async fn credentials_secret(client: &Client) -> Result<()> {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), OPERATOR_NS);
    let s = json!({
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": CREDENTIALS_SECRET},
        "stringData": {"serviceTokenId": TOKEN_ID, "serviceToken": TOKEN},
    });
    let pp = PatchParams::apply("pso-bench").force();
    secrets
        .patch(CREDENTIALS_SECRET, &pp, &Patch::Apply(s))
        .await?;
    Ok(())
}

async fn service_account_token(sas: &Api<ServiceAccount>) -> Result<String> {
    let req = TokenRequest {
        spec: TokenRequestSpec {
            audiences: vec![],
            expiration_seconds: Some(24 * 3600),
            ..Default::default()
        },
        ..Default::default()
    };
    let resp: TokenRequest = sas
        .create_subresource("token", OPERATOR_SA, &PostParams::default(), &req)
        .await
        .context("TokenRequest for the operator's ServiceAccount")?;
    resp.status
        .map(|s| s.token)
        .context("TokenRequest answered without a token")
}

fn write_token_kubeconfig(admin: &Path, token: &str, out: &Path) -> Result<()> {
    let text = std::fs::read_to_string(admin)?;
    let mut kc: Value = serde_norway::from_str(&text)?;
    let users = kc["users"].as_array_mut().context("kubeconfig users")?;
    for u in users {
        u["user"] = json!({ "token": token });
    }
    std::fs::write(out, serde_norway::to_string(&kc)?)?;
    std::fs::set_permissions(out, std::fs::Permissions::from_mode(0o600))?;
    Ok(())
}

/// Deletes a namespace of ours without waiting for the operator: strips our finalizers first
/// (the operator is stopped by then), then waits until the namespace is gone.
pub async fn delete_namespace(client: &Client, ns: &str, timeout: Duration) -> Result<()> {
    strip_finalizers::<PlanetScaleBranch>(client, ns).await?;
    strip_finalizers::<PlanetScalePassword>(client, ns).await?;
    strip_finalizers::<DeployRequest>(client, ns).await?;
    let api: Api<Namespace> = Api::all(client.clone());
    match api.delete(ns, &DeleteParams::background()).await {
        Ok(_) => {}
        Err(kube::Error::Api(e)) if e.code == 404 => return Ok(()),
        Err(e) => return Err(e.into()),
    }
    let deadline = Instant::now() + timeout;
    while api.get_opt(ns).await?.is_some() {
        if Instant::now() >= deadline {
            bail!("namespace {ns} still exists after {timeout:?}");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Ok(())
}

async fn strip_finalizers<K>(client: &Client, ns: &str) -> Result<()>
where
    K: kube::Resource<Scope = kube::core::NamespaceResourceScope>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
    K::DynamicType: Default,
{
    let api: Api<K> = Api::namespaced(client.clone(), ns);
    let patch = Patch::Merge(json!({"metadata": {"finalizers": null}}));
    let names: Vec<String> = api
        .list_metadata(&ListParams::default())
        .await?
        .items
        .into_iter()
        .filter_map(|o| o.metadata.name)
        .collect();
    // 32 at a time: the scale scenario leaves 20,000 objects.
    futures::stream::iter(names)
        .for_each_concurrent(32, |name| {
            let (api, patch) = (&api, &patch);
            async move {
                let _ = api.patch(&name, &PatchParams::default(), patch).await;
            }
        })
        .await;
    Ok(())
}
