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
    let ctx = std::sync::Arc::new(controller_context(client, &args));
    let shutdown = tokio_util::sync::CancellationToken::new();
    let controllers = tokio::spawn(crate::controller::run_all(ctx, shutdown.clone()));
    shutdown_signal().await;
    tracing::info!("shutting down");
    shutdown.cancel();
    if tokio::time::timeout(args.shutdown_timeout, controllers).await.is_err() {
        tracing::warn!(timeout = ?args.shutdown_timeout, "in-flight reconciles did not finish before the shutdown timeout");
    }
    Ok(())
}

/// The shared controller context from the command-line settings.
pub fn controller_context(client: Client, args: &RunArgs) -> crate::controller::Context {
    use crate::credentials::{ClientSettings, CredentialsStore, DefaultCredentials};
    let defaults = DefaultCredentials {
        secret: (!args.no_default_credentials)
            .then(|| (args.operator_namespace.clone(), args.default_credentials_secret.clone())),
        allowed_namespaces: args.default_credentials_namespaces.iter().filter(|n| !n.is_empty()).cloned().collect(),
    };
    let settings = ClientSettings {
        api_url: args.api_url.clone(),
        oauth_token_url: args.oauth_token_url.clone(),
        requests_per_minute: args.api_rate_limit,
    };
    let credentials = CredentialsStore::new(client.clone(), defaults, settings);
    let settings = crate::controller::Settings {
        resync_interval: args.resync_interval,
        concurrency: args.concurrency,
        namespaces: args.watched_namespaces(),
    };
    crate::controller::Context::new(client, credentials, settings)
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
            bail!(
                "CustomResourceDefinition {name} is missing: install the CRDs first (kubectl apply --server-side -f crds/, or the Helm chart)"
            );
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
