//! The operator's HTTP endpoints: `/metrics` on the metrics address, `/healthz` and `/readyz` on
//! the health address (one listener serves all three when both addresses are equal).
//!
//! - `/healthz` answers 200 while the process and its async runtime are alive (liveness).
//! - `/readyz` answers 200 only when [`Readiness::check`] passes, else 503 with the reason.
//!
//! Readiness with leader election on: the **leader** is ready once its controllers' caches are
//! synced; a **standby** is ready while its elector can reach the Lease (it is a healthy
//! replacement, and marking it unready would stall rolling updates and PodDisruptionBudgets of
//! a 2-replica Deployment). A standby runs no controllers and so has no caches: it starts them
//! when it wins the lease, and is unready as a leader until they have synced. Without leader
//! election the single replica is ready once the caches are synced. Every replica turns unready
//! as soon as shutdown starts. The body says why (`ready: leader, caches synced`,
//! `not ready: leader, waiting for caches to sync: PlanetScalePassword in team-a`, …).
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::metrics::{CONTENT_TYPE, Metrics};
use crate::stores::{CacheStatus, Stores};

/// Shared readiness state; clones share it. The controllers register their caches in
/// [`Readiness::caches`], the runtime sets the leadership flags from the elector.
#[derive(Clone, Debug)]
pub struct Readiness {
    inner: Arc<ReadinessInner>,
}

#[derive(Debug)]
struct ReadinessInner {
    leader_election: bool,
    caches: Stores,
    leader: AtomicBool,
    lease_reachable: AtomicBool,
    shutting_down: AtomicBool,
}

impl Readiness {
    /// Not ready yet: caches not synced, not leader, Lease not reached.
    pub fn new(leader_election: bool) -> Self {
        Self {
            inner: Arc::new(ReadinessInner {
                leader_election,
                caches: Stores::default(),
                leader: AtomicBool::new(false),
                lease_reachable: AtomicBool::new(false),
                shutting_down: AtomicBool::new(false),
            }),
        }
    }

    /// The controllers' caches (reflector stores): give this to the controllers' context.
    pub fn caches(&self) -> Stores {
        self.inner.caches.clone()
    }

    /// This replica holds the leader lease.
    pub fn set_leader(&self, leader: bool) {
        self.inner.leader.store(leader, Ordering::SeqCst);
    }

    /// The elector's last round trip to the Lease succeeded recently.
    pub fn set_lease_reachable(&self, reachable: bool) {
        self.inner
            .lease_reachable
            .store(reachable, Ordering::SeqCst);
    }

    /// Shutdown started: stop receiving traffic.
    pub fn set_shutting_down(&self) {
        self.inner.shutting_down.store(true, Ordering::SeqCst);
    }

    /// `Ok(why ready)` or `Err(why not)`, as served by `/readyz`.
    pub fn check(&self) -> Result<String, String> {
        let i = &self.inner;
        if i.shutting_down.load(Ordering::SeqCst) {
            return Err("shutting down".into());
        }
        let caches = match i.caches.status() {
            CacheStatus::Synced => Ok("caches synced".to_string()),
            CacheStatus::NotRunning => Err("controllers not started yet".to_string()),
            CacheStatus::Waiting(ids) => Err(format!(
                "waiting for caches to sync: {}",
                ids.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        };
        if !i.leader_election {
            return caches;
        }
        if i.leader.load(Ordering::SeqCst) {
            return caches
                .map(|why| format!("leader, {why}"))
                .map_err(|why| format!("leader, {why}"));
        }
        if i.lease_reachable.load(Ordering::SeqCst) {
            Ok("standby, caches start when this replica leads".into())
        } else {
            Err("standby, cannot reach the leader Lease".into())
        }
    }
}

/// Bound listeners, ready to serve; see [`HttpServer::bind`] and [`HttpServer::run`].
#[derive(Debug)]
pub struct HttpServer {
    metrics: TcpListener,
    health: Option<TcpListener>,
    state: AppState,
}

#[derive(Clone, Debug)]
struct AppState {
    metrics: Arc<Metrics>,
    readiness: Readiness,
}

impl HttpServer {
    /// Binds the metrics and health addresses (once when they are equal). Port 0 picks a free
    /// port for each; [`HttpServer::metrics_addr`] and [`HttpServer::health_addr`] tell which.
    pub async fn bind(
        metrics_addr: SocketAddr,
        health_addr: SocketAddr,
        metrics: Arc<Metrics>,
        readiness: Readiness,
    ) -> std::io::Result<Self> {
        let bind = |addr: SocketAddr| async move {
            TcpListener::bind(addr)
                .await
                .map_err(|e| std::io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}")))
        };
        let metrics_listener = bind(metrics_addr).await?;
        let health = if health_addr == metrics_addr && metrics_addr.port() != 0 {
            None
        } else {
            Some(bind(health_addr).await?)
        };
        let state = AppState { metrics, readiness };
        Ok(Self {
            metrics: metrics_listener,
            health,
            state,
        })
    }

    /// The address `/metrics` is served on.
    pub fn metrics_addr(&self) -> SocketAddr {
        self.metrics
            .local_addr()
            .expect("bound listener has an address")
    }

    /// The address `/healthz` and `/readyz` are served on.
    pub fn health_addr(&self) -> SocketAddr {
        self.health
            .as_ref()
            .unwrap_or(&self.metrics)
            .local_addr()
            .expect("bound listener has an address")
    }

    /// Serves until `shutdown` is cancelled, then stops accepting and finishes open requests.
    pub async fn run(self, shutdown: CancellationToken) -> std::io::Result<()> {
        let health_routes = Router::new()
            .route("/healthz", get(healthz))
            .route("/readyz", get(readyz));
        let metrics_routes = Router::new().route("/metrics", get(metrics));
        let serve = |listener: TcpListener, router: Router<AppState>| {
            let app = router.with_state(self.state.clone());
            axum::serve(listener, app).with_graceful_shutdown(shutdown.clone().cancelled_owned())
        };
        match self.health {
            None => serve(self.metrics, metrics_routes.merge(health_routes)).await,
            Some(health) => {
                let (m, h) = tokio::join!(
                    serve(self.metrics, metrics_routes),
                    serve(health, health_routes)
                );
                m.and(h)
            }
        }
    }
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    match state.readiness.check() {
        Ok(why) => (StatusCode::OK, format!("ready: {why}\n")),
        Err(why) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {why}\n"),
        ),
    }
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    state.readiness.caches().publish_resources(&state.metrics);
    (
        [(header::CONTENT_TYPE, CONTENT_TYPE)],
        state.metrics.encode(),
    )
}

#[cfg(test)]
mod tests;
