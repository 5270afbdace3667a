//! The receiver: `POST /webhooks/planetscale` on its own listener (`--webhook-addr`), behind
//! the chart's webhook Service (and optional Ingress). It answers at once — PlanetScale
//! waits at most 2 seconds — with 204 for an accepted delivery and a status that names the
//! refusal otherwise ([`super::check::Refusal`]); every delivery is counted in
//! `webhook_deliveries_total`. Nothing secret is logged: not the body, not the signature.
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::check::{MAX_BODY, Refusal, check, hint};
use super::{Hub, WebhookMetrics};

/// The path deliveries are posted to.
pub const PATH: &str = "/webhooks/planetscale";

#[derive(Clone)]
struct Receiver {
    hub: Arc<Hub>,
    metrics: WebhookMetrics,
}

/// The bound receiver; see [`WebhookServer::run`].
pub struct WebhookServer {
    listener: TcpListener,
    receiver: Receiver,
}

impl WebhookServer {
    /// Binds `addr`.
    pub async fn bind(
        addr: SocketAddr,
        hub: Arc<Hub>,
        metrics: WebhookMetrics,
    ) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        Ok(Self {
            listener,
            receiver: Receiver { hub, metrics },
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown`; keeps the `webhook_databases` gauge current.
    pub async fn run(self, shutdown: CancellationToken) -> std::io::Result<()> {
        let gauge = tokio::spawn(keep_modes(self.receiver.clone(), shutdown.clone()));
        let app = Router::new()
            .route(PATH, post(receive))
            .with_state(self.receiver);
        let served = axum::serve(self.listener, app)
            .with_graceful_shutdown(shutdown.cancelled_owned())
            .await;
        gauge.abort();
        served
    }
}

async fn keep_modes(r: Receiver, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    loop {
        tokio::select! {
            _ = tick.tick() => {
                let (webhooks, polling) = r.hub.modes();
                r.metrics.set_modes(webhooks, polling);
            }
            () = shutdown.cancelled() => return,
        }
    }
}

async fn receive(
    State(r): State<Receiver>,
    headers: HeaderMap,
    body: Body,
) -> (StatusCode, &'static str) {
    let result = match axum::body::to_bytes(body, MAX_BODY).await {
        Err(_) => Err(Refusal::TooLarge),
        Ok(bytes) => {
            let signature = headers
                .get(planetscale_api::signature::HEADER)
                .and_then(|v| v.to_str().ok());
            check(&r.hub, &bytes, signature)
        }
    };
    match result {
        Ok(event) => {
            r.metrics.delivery("accepted");
            tracing::debug!(event = %event.event, organization = %event.organization, database = %event.database, "webhook delivery accepted");
            let db = (event.organization.clone(), event.database.clone());
            r.hub.delivered(db, hint(&event));
            (StatusCode::NO_CONTENT, "")
        }
        Err(refusal) => {
            r.metrics.delivery(refusal.reason());
            tracing::info!(reason = refusal.reason(), "webhook delivery refused");
            let status = StatusCode::from_u16(refusal.status()).expect("valid status");
            (status, refusal.reason())
        }
    }
}
