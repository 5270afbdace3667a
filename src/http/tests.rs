//! Real HTTP against 127.0.0.1:0: what a kubelet probe and a Prometheus scrape see.
use std::time::{Duration, Instant};

use super::*;
use crate::crd::branch::PlanetScaleBranch;
use crate::stores::{CacheId, SyncMark};

const LOCAL: &str = "127.0.0.1:0";

async fn start(
    leader_election: bool,
    same_addr: bool,
) -> (HttpServer, Readiness, Arc<Metrics>, CancellationToken) {
    let metrics = Arc::new(Metrics::new());
    let readiness = Readiness::new(leader_election);
    let addr: SocketAddr = LOCAL.parse().unwrap();
    let server = if same_addr {
        // Bind port 0 once, then ask for that same address for both endpoints.
        let probe = TcpListener::bind(addr).await.unwrap();
        let fixed = probe.local_addr().unwrap();
        drop(probe);
        HttpServer::bind(fixed, fixed, metrics.clone(), readiness.clone())
            .await
            .unwrap()
    } else {
        HttpServer::bind(addr, addr, metrics.clone(), readiness.clone())
            .await
            .unwrap()
    };
    (server, readiness, metrics, CancellationToken::new())
}

/// The controllers start with one cache (branches in `team-a`); returns what marks it synced.
fn start_caches(readiness: &Readiness) -> SyncMark {
    let caches = readiness.caches();
    caches.start([CacheId::of::<PlanetScaleBranch>(Some("team-a"))]);
    let (store, _writer) = kube::runtime::reflector::store::<PlanetScaleBranch>();
    caches.track(Some("team-a"), &store)
}

/// The cache's first list has arrived.
fn sync(readiness: &Readiness, listed: &SyncMark) {
    listed.synced();
    assert_eq!(readiness.caches().status(), CacheStatus::Synced);
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let resp = http()
        .get(format!("http://{addr}{path}"))
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

#[tokio::test]
async fn health_and_metrics_are_served_on_their_own_addresses() {
    let (server, readiness, metrics, stop) = start(false, false).await;
    let (m_addr, h_addr) = (server.metrics_addr(), server.health_addr());
    assert_ne!(m_addr, h_addr);
    let task = tokio::spawn(server.run(stop.clone()));
    metrics.set_leader(true);

    assert_eq!(get(h_addr, "/healthz").await, (200, "ok\n".into()));
    assert_eq!(
        get(h_addr, "/readyz").await,
        (503, "not ready: controllers not started yet\n".into())
    );
    let listed = start_caches(&readiness);
    assert_eq!(
        get(h_addr, "/readyz").await,
        (
            503,
            "not ready: waiting for caches to sync: PlanetScaleBranch in team-a\n".into()
        )
    );
    sync(&readiness, &listed);
    assert_eq!(
        get(h_addr, "/readyz").await,
        (200, "ready: caches synced\n".into())
    );

    let resp = http()
        .get(format!("http://{m_addr}/metrics"))
        .send()
        .await
        .unwrap();
    let ctype = resp.headers()[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(ctype.starts_with("application/openmetrics-text"), "{ctype}");
    let body = resp.text().await.unwrap();
    assert!(
        body.lines().any(|l| l == "planetscale_operator_leader 1"),
        "{body}"
    );

    assert_eq!(
        get(m_addr, "/healthz").await.0,
        404,
        "health is not on the metrics port"
    );
    assert_eq!(
        get(h_addr, "/metrics").await.0,
        404,
        "metrics are not on the health port"
    );
    stop.cancel();
    task.await.unwrap().unwrap();
}

#[tokio::test]
async fn one_listener_serves_everything_when_the_addresses_are_equal() {
    let (server, readiness, _metrics, stop) = start(false, true).await;
    let addr = server.metrics_addr();
    assert_eq!(addr, server.health_addr());
    let task = tokio::spawn(server.run(stop.clone()));
    sync(&readiness, &start_caches(&readiness));
    for path in ["/healthz", "/readyz", "/metrics"] {
        assert_eq!(get(addr, path).await.0, 200, "{path}");
    }
    stop.cancel();
    task.await.unwrap().unwrap();
}

#[tokio::test]
async fn readyz_follows_leadership_and_shutdown() {
    let (server, readiness, _metrics, stop) = start(true, false).await;
    let addr = server.health_addr();
    let task = tokio::spawn(server.run(stop.clone()));
    let ready = || get(addr, "/readyz");

    assert_eq!(
        ready().await,
        (
            503,
            "not ready: standby, cannot reach the leader Lease\n".into()
        )
    );
    readiness.set_lease_reachable(true);
    assert_eq!(
        ready().await,
        (
            200,
            "ready: standby, caches start when this replica leads\n".into()
        )
    );
    readiness.set_leader(true);
    assert_eq!(
        ready().await,
        (
            503,
            "not ready: leader, controllers not started yet\n".into()
        )
    );
    let listed = start_caches(&readiness);
    assert_eq!(
        ready().await,
        (
            503,
            "not ready: leader, waiting for caches to sync: PlanetScaleBranch in team-a\n".into()
        )
    );
    sync(&readiness, &listed);
    assert_eq!(
        ready().await,
        (200, "ready: leader, caches synced\n".into())
    );
    readiness.set_shutting_down();
    assert_eq!(ready().await, (503, "not ready: shutting down\n".into()));
    assert_eq!(
        get(addr, "/healthz").await.0,
        200,
        "still alive while shutting down"
    );
    stop.cancel();
    task.await.unwrap().unwrap();
}

#[tokio::test]
async fn cancelling_the_token_stops_the_server_and_frees_the_port() {
    let (server, _readiness, _metrics, stop) = start(false, false).await;
    let addr = server.health_addr();
    let task = tokio::spawn(server.run(stop.clone()));
    assert_eq!(get(addr, "/healthz").await.0, 200);
    stop.cancel();
    let deadline = Instant::now() + Duration::from_secs(5);
    while !task.is_finished() {
        assert!(
            Instant::now() < deadline,
            "server still running 5s after shutdown"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    task.await.unwrap().unwrap();
    let refused = http().get(format!("http://{addr}/healthz")).send().await;
    assert!(
        refused.is_err(),
        "port still answers after shutdown: {refused:?}"
    );
}

#[tokio::test]
async fn binding_a_busy_address_names_it() {
    let busy = TcpListener::bind(LOCAL).await.unwrap();
    let addr = busy.local_addr().unwrap();
    let err = HttpServer::bind(addr, addr, Arc::new(Metrics::new()), Readiness::new(false))
        .await
        .unwrap_err();
    assert!(err.to_string().contains(&addr.to_string()), "{err}");
}
