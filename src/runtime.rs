//! Start-up checks, the HTTP endpoints, leader election, the controllers, and graceful
//! shutdown.
//!
//! Start-up fails fast, with a message that says what to do, when a CRD is missing or when the
//! operator may not list and watch its kinds (and Secrets) in a namespace it is told to watch.
//!
//! Order of shutdown on SIGTERM: `/readyz` turns 503, the controllers finish their in-flight
//! reconciles (up to `--shutdown-timeout`), then the leader lease is released so that a
//! standby takes over at once, then the HTTP server stops.
use std::sync::Arc;

use anyhow::{Context as _, bail};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::{Api, Client, ResourceExt};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::config::RunArgs;
use crate::controller::Context;
use crate::http::{HttpServer, Readiness};
use crate::leader::{LeaderElector, while_leader};
use crate::metrics::Metrics;

mod access;
mod webhooks;

/// Runs the operator until SIGTERM or SIGINT.
pub async fn run(args: RunArgs) -> anyhow::Result<()> {
    let client = Client::try_default().await.context(
        "cannot build a Kubernetes client: set KUBECONFIG or run inside a cluster with a ServiceAccount",
    )?;
    check_crds(&client).await?;
    access::check(&client, args.watched_namespaces().as_deref()).await?;
    access::check_write_back(&client, &default_credentials(&args)).await?;
    let metrics = Arc::new(Metrics::new());
    let readiness = Readiness::new(args.leader_elect);
    let http = Serving::start(&args, &metrics, &readiness).await?;
    let election = Election::start(&client, &args)?;
    let (leader, reachable) = (election.subscribe(), election.lease_reachable());
    tokio::spawn(follow_leadership(
        leader.clone(),
        reachable,
        metrics.clone(),
        readiness.clone(),
    ));
    tracing::info!(
        namespaces = ?args.watched_namespaces(),
        api_url = %args.api_url,
        leader_elect = args.leader_elect,
        "planetscale-operator started"
    );
    let mut ctx = controller_context(client, &args, metrics.clone());
    ctx.caches = readiness.caches();
    let receiver = webhooks::start(&args, &mut ctx, &metrics).await?;
    let ctx = Arc::new(ctx);
    let shutdown = CancellationToken::new();
    let controllers = run_controllers(ctx, metrics, readiness.clone(), leader, shutdown.clone());
    let mut controllers = tokio::spawn(controllers);
    let early_exit = tokio::select! {
        _ = shutdown_signal() => None,
        ended = &mut controllers => Some(ended),
    };
    tracing::info!("shutting down");
    readiness.set_shutting_down();
    shutdown.cancel();
    if early_exit.is_none()
        && tokio::time::timeout(args.shutdown_timeout, controllers)
            .await
            .is_err()
    {
        tracing::warn!(timeout = ?args.shutdown_timeout, "in-flight reconciles did not finish before the shutdown timeout");
    }
    election.stop().await;
    http.stop().await;
    webhooks::stop(receiver).await;
    match early_exit {
        Some(ended) => bail!("the controllers stopped on their own ({ended:?})"),
        None => Ok(()),
    }
}

/// The HTTP server task and its stop token.
struct Serving {
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    stop: CancellationToken,
}

impl Serving {
    /// Binds the metrics and health addresses (failing fast when they are taken) and serves.
    async fn start(
        args: &RunArgs,
        metrics: &Arc<Metrics>,
        readiness: &Readiness,
    ) -> anyhow::Result<Self> {
        let server = HttpServer::bind(
            args.metrics_addr,
            args.health_addr,
            metrics.clone(),
            readiness.clone(),
        )
        .await?;
        tracing::info!(metrics = %server.metrics_addr(), health = %server.health_addr(), "serving /metrics, /healthz, /readyz");
        let stop = CancellationToken::new();
        let task = tokio::spawn(server.run(stop.clone()));
        Ok(Self { task, stop })
    }

    async fn stop(self) {
        self.stop.cancel();
        match self.task.await {
            Ok(Err(e)) => tracing::warn!(error = %e, "HTTP server failed"),
            Err(e) => tracing::warn!(error = %e, "HTTP server task failed"),
            Ok(Ok(())) => {}
        }
    }
}

/// Where the controllers start: runs them while this replica leads, until `shutdown`.
///
/// `leader` is `true` while this replica may write (always, without leader election). The
/// controllers get a child of `shutdown` and should finish in-flight reconciles when it is
/// cancelled; when leadership is lost they are dropped at once (see [`while_leader`]).
/// `metrics` is for the controllers' reconcile metrics; `readiness` waits for the caches the
/// controllers register in `ctx.caches` (which must be `readiness.caches()`): one per kind and
/// watched namespace, forgotten again whenever the controllers stop.
pub async fn run_controllers(
    ctx: Arc<Context>,
    metrics: Arc<Metrics>,
    readiness: Readiness,
    leader: watch::Receiver<bool>,
    shutdown: CancellationToken,
) {
    let _ = metrics; // the controllers reach the metrics through `ctx.metrics`
    let caches = readiness.caches();
    let expected = expected_caches(ctx.settings.namespaces.as_deref());
    while_leader(leader, shutdown, |token| {
        caches.start(expected.clone());
        let stopped = crate::stores::StopOnDrop(caches.clone());
        let run = crate::controller::run_all(ctx.clone(), token);
        async move {
            let _stopped = stopped;
            run.await;
        }
    })
    .await;
}

/// The caches the controllers need: each kind in each watched namespace (`None`: all).
fn expected_caches(namespaces: Option<&[String]>) -> Vec<crate::stores::CacheId> {
    use crate::crd::{DeployRequest, branch::PlanetScaleBranch, password::PlanetScalePassword};
    use crate::stores::CacheId;
    let namespaces: Vec<Option<&str>> = match namespaces {
        None => vec![None],
        Some(list) => list.iter().map(|n| Some(n.as_str())).collect(),
    };
    namespaces
        .into_iter()
        .flat_map(|ns| {
            [
                CacheId::of::<PlanetScaleBranch>(ns),
                CacheId::of::<PlanetScalePassword>(ns),
                CacheId::of::<DeployRequest>(ns),
                CacheId::of::<crate::crd::PlanetScaleDatabase>(ns),
                CacheId::of::<crate::crd::PlanetScaleBackup>(ns),
            ]
        })
        .collect()
}

/// Leadership: a Lease elector, or always leading when leader election is off.
enum Election {
    Off {
        leader: watch::Sender<bool>,
        reachable: watch::Sender<bool>,
    },
    On(LeaderElector),
}

impl Election {
    fn start(client: &Client, args: &RunArgs) -> anyhow::Result<Self> {
        if !args.leader_elect {
            let (leader, reachable) = (watch::Sender::new(true), watch::Sender::new(true));
            return Ok(Self::Off { leader, reachable });
        }
        let config = args.leader_config();
        tracing::info!(
            lease = %config.lease_name,
            namespace = %config.namespace,
            identity = %config.identity,
            "leader election on"
        );
        Ok(Self::On(LeaderElector::start(client.clone(), config)?))
    }

    fn subscribe(&self) -> watch::Receiver<bool> {
        match self {
            Self::Off { leader, .. } => leader.subscribe(),
            Self::On(elector) => elector.subscribe(),
        }
    }

    fn lease_reachable(&self) -> watch::Receiver<bool> {
        match self {
            Self::Off { reachable, .. } => reachable.subscribe(),
            Self::On(elector) => elector.lease_reachable(),
        }
    }

    /// Steps down (releasing the lease) and closes the channels.
    async fn stop(self) {
        match self {
            Self::Off { leader, .. } => {
                leader.send_replace(false);
            }
            Self::On(elector) => elector.stop().await,
        }
    }
}

/// Mirrors leadership into the leader gauge and `/readyz` until the channels close.
async fn follow_leadership(
    mut leader: watch::Receiver<bool>,
    mut reachable: watch::Receiver<bool>,
    metrics: Arc<Metrics>,
    readiness: Readiness,
) {
    loop {
        let leading = *leader.borrow_and_update();
        metrics.set_leader(leading);
        readiness.set_leader(leading);
        readiness.set_lease_reachable(*reachable.borrow_and_update());
        let open = tokio::select! {
            changed = leader.changed() => changed.is_ok(),
            changed = reachable.changed() => changed.is_ok(),
        };
        if !open {
            metrics.set_leader(false);
            readiness.set_leader(false);
            return;
        }
    }
}

/// Where the default credentials live and who may use them, from the command line.
fn default_credentials(args: &RunArgs) -> crate::credentials::DefaultCredentials {
    crate::credentials::DefaultCredentials {
        secret: (!args.no_default_credentials).then(|| {
            (
                args.operator_namespace.clone(),
                args.default_credentials_secret.clone(),
            )
        }),
        allowed_namespaces: args
            .default_credentials_namespaces
            .iter()
            .filter(|n| !n.is_empty())
            .cloned()
            .collect(),
    }
}

/// The shared controller context from the command-line settings.
pub fn controller_context(
    client: Client,
    args: &RunArgs,
    metrics: Arc<Metrics>,
) -> crate::controller::Context {
    use crate::credentials::{ClientSettings, CredentialsStore};
    let defaults = default_credentials(args);
    let settings = ClientSettings {
        api_url: args.api_url.clone(),
        oauth_token_url: args.oauth_token_url.clone(),
        requests_per_minute: args.api_rate_limit,
    };
    let credentials =
        CredentialsStore::new(client.clone(), defaults, settings).with_observer(metrics.clone());
    let settings = crate::controller::Settings {
        resync_interval: args.resync_interval,
        concurrency: args.concurrency,
        namespaces: args.watched_namespaces(),
    };
    crate::controller::Context::new(client, credentials, settings, metrics)
        .with_slow_retry(args.slow_retry)
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
