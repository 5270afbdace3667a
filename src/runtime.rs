//! Start-up checks, the controllers, and graceful shutdown.
use anyhow::{Context as _, bail};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::{Api, Client, ResourceExt};

use crate::config::RunArgs;

/// Runs the operator until SIGTERM or SIGINT.
pub async fn run(args: RunArgs) -> anyhow::Result<()> {
    let client = Client::try_default().await.context(
        "cannot build a Kubernetes client: set KUBECONFIG or run inside a cluster with a ServiceAccount",
    )?;
    check_crds(&client).await?;
    tracing::info!(
        namespaces = ?args.watched_namespaces(),
        api_url = %args.api_url,
        "planetscale-operator started"
    );
    shutdown_signal().await;
    tracing::info!("shutting down");
    Ok(())
}

/// Fails fast, with a message that says what to do, when a CRD is missing or not Established.
async fn check_crds(client: &Client) -> anyhow::Result<()> {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    for want in crate::crd::all() {
        let name = want.name_any();
        let crd = api.get_opt(&name).await.with_context(|| {
            format!("cannot read CustomResourceDefinition {name}: is the API server reachable and may the operator read CRDs?")
        })?;
        let Some(crd) = crd else {
            bail!("CustomResourceDefinition {name} is missing: install the CRDs first (kubectl apply --server-side -f crds/, or the Helm chart)");
        };
        let established = crd
            .status
            .and_then(|s| s.conditions)
            .unwrap_or_default()
            .iter()
            .any(|c| c.type_ == "Established" && c.status == "True");
        if !established {
            bail!("CustomResourceDefinition {name} is not Established yet");
        }
    }
    Ok(())
}

/// Resolves on the first SIGTERM or SIGINT.
pub async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("install SIGTERM handler");
    tokio::select! {
        _ = term.recv() => {},
        _ = tokio::signal::ctrl_c() => {},
    }
}
