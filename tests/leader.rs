//! Leader election against the local control plane: two electors on one Lease, exactly one
//! leads; a graceful stop, a crash and a network partition each hand over, and a partitioned
//! leader stops before the standby starts.
mod support;

use std::net::SocketAddr;
use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use kube::{Api, Client};
use planetscale_operator::leader::{LeaderConfig, LeaderElector};
use support::with_temp_ns;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::time::Instant;

const LEASE: Duration = Duration::from_secs(3);
const RENEW: Duration = Duration::from_secs(2);
const RETRY: Duration = Duration::from_millis(500);
/// Slack for API round trips and scheduling on a loaded 2-core machine.
const SLACK: Duration = Duration::from_secs(1);

fn config(ns: &str, identity: &str) -> LeaderConfig {
    LeaderConfig {
        namespace: ns.into(),
        lease_name: "planetscale-operator".into(),
        identity: identity.into(),
        lease_duration: LEASE,
        renew_deadline: RENEW,
        retry_period: RETRY,
    }
}

async fn holder(client: &Client, ns: &str) -> Option<String> {
    let leases: Api<Lease> = Api::namespaced(client.clone(), ns);
    leases
        .get("planetscale-operator")
        .await
        .expect("lease exists")
        .spec?
        .holder_identity
}

/// Waits for `rx` to become `want`; returns when it did, or panics after `timeout`.
async fn flips(
    rx: &mut watch::Receiver<bool>,
    want: bool,
    timeout: Duration,
    who: &str,
) -> Instant {
    tokio::time::timeout(timeout, rx.wait_for(|v| *v == want))
        .await
        .unwrap_or_else(|_| panic!("{who} did not become leader={want} within {timeout:?}"))
        .expect("elector alive");
    Instant::now()
}

/// Two electors; returns (leader, standby) with their receivers once exactly one leads.
async fn elect_two(
    client: &Client,
    ns: &str,
) -> [(LeaderElector, watch::Receiver<bool>, &'static str); 2] {
    let a = LeaderElector::start(client.clone(), config(ns, "a")).unwrap();
    let b = LeaderElector::start(client.clone(), config(ns, "b")).unwrap();
    let (mut ra, mut rb) = (a.subscribe(), b.subscribe());
    tokio::select! {
        r = ra.wait_for(|v| *v) => { r.unwrap(); }
        r = rb.wait_for(|v| *v) => { r.unwrap(); }
        _ = tokio::time::sleep(Duration::from_secs(15)) => panic!("nobody became leader within 15s"),
    }
    let leader_is_a = *ra.borrow();
    if leader_is_a {
        [(a, ra, "a"), (b, rb, "b")]
    } else {
        [(b, rb, "b"), (a, ra, "a")]
    }
}

/// Watches both receivers for `window` and fails if both ever lead at once.
async fn never_both(
    a: &mut watch::Receiver<bool>,
    b: &mut watch::Receiver<bool>,
    window: Duration,
) {
    let end = Instant::now() + window;
    loop {
        assert!(
            !(*a.borrow_and_update() && *b.borrow_and_update()),
            "two leaders at once"
        );
        tokio::select! {
            _ = a.changed() => {}
            _ = b.changed() => {}
            _ = tokio::time::sleep_until(end) => return,
        }
    }
}

#[tokio::test]
async fn exactly_one_leads_and_a_graceful_stop_hands_over_at_once() {
    with_temp_ns(|client, ns| async move {
        let [(leader, mut lr, lname), (standby, mut sr, sname)] = elect_two(&client, &ns).await;
        assert!(!*sr.borrow(), "{sname} leads too");
        assert_eq!(holder(&client, &ns).await.as_deref(), Some(lname));
        never_both(&mut lr, &mut sr, 4 * RETRY).await;
        assert!(*lr.borrow(), "{lname} lost the lease without any fault");

        let stopped = Instant::now();
        leader.stop().await;
        assert!(!*lr.borrow(), "a stopped elector must report false");
        let took_over = flips(&mut sr, true, LEASE, sname).await - stopped;
        println!("graceful handover took {took_over:?}");
        // Released, not expired: faster than waiting out the lease would allow.
        assert!(
            took_over < LEASE - RETRY,
            "standby waited {took_over:?}: was the lease released?"
        );
        assert_eq!(holder(&client, &ns).await.as_deref(), Some(sname));
        standby.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_crashed_leader_is_replaced_once_its_lease_expires() {
    with_temp_ns(|client, ns| async move {
        let [(leader, _lr, lname), (standby, mut sr, sname)] = elect_two(&client, &ns).await;
        let crashed = Instant::now();
        leader.abort();
        let took_over = flips(&mut sr, true, LEASE + 2 * RETRY + SLACK, sname).await - crashed;
        println!("{lname} crashed; {sname} took over after {took_over:?}");
        // The last renewal was at most one retry period before the crash.
        assert!(
            took_over >= LEASE - RETRY,
            "took over after {took_over:?}, before the lease expired"
        );
        assert_eq!(holder(&client, &ns).await.as_deref(), Some(sname));
        standby.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_partitioned_leader_stops_before_the_standby_starts() {
    with_temp_ns(|client, ns| async move {
        let partition = Partition::start(&support::config().await).await;
        let cut_off = partition.client();
        let a = LeaderElector::start(cut_off, config(&ns, "a")).unwrap();
        let mut ra = a.subscribe();
        flips(&mut ra, true, Duration::from_secs(15), "a").await;
        let b = LeaderElector::start(client.clone(), config(&ns, "b")).unwrap();
        let mut rb = b.subscribe();
        let mut b_ok = b.lease_reachable();
        tokio::time::timeout(Duration::from_secs(10), b_ok.wait_for(|v| *v))
            .await
            .unwrap()
            .unwrap();
        assert!(!*rb.borrow(), "b leads while a holds the lease");

        let cut = Instant::now();
        partition.cut();
        let a_stopped = flips(&mut ra, false, RENEW + SLACK, "a").await;
        println!(
            "partitioned leader stepped down {:?} after the cut",
            a_stopped - cut
        );
        assert!(
            a_stopped - cut <= RENEW + RETRY,
            "a led {:?} after the cut",
            a_stopped - cut
        );
        let b_started = flips(&mut rb, true, LEASE + 2 * RETRY + SLACK, "b").await;
        println!("standby took over {:?} after the cut", b_started - cut);
        assert!(b_started > a_stopped, "b started before a stopped");
        assert_eq!(holder(&client, &ns).await.as_deref(), Some("b"));
        a.abort();
        b.stop().await;
    })
    .await;
}

/// A TCP proxy in front of the API server that can be cut: afterwards it holds every
/// connection open and forwards nothing, so requests hang like in a network partition.
struct Partition {
    addr: SocketAddr,
    config: kube::Config,
    cut: watch::Sender<bool>,
}

impl Partition {
    async fn start(config: &kube::Config) -> Self {
        let url = &config.cluster_url;
        let upstream = format!("{}:{}", url.host().unwrap(), url.port_u16().unwrap());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (cut, cut_rx) = watch::channel(false);
        tokio::spawn(async move {
            while let Ok((down, _)) = listener.accept().await {
                tokio::spawn(forward(down, upstream.clone(), cut_rx.clone()));
            }
        });
        Self {
            addr,
            config: config.clone(),
            cut,
        }
    }

    /// A client that reaches the API server only through this proxy (TLS passes through).
    fn client(&self) -> Client {
        let mut config = self.config.clone();
        config.cluster_url = format!("https://{}", self.addr).parse().unwrap();
        Client::try_from(config).unwrap()
    }

    fn cut(&self) {
        self.cut.send_replace(true);
    }
}

async fn forward(mut down: TcpStream, upstream: String, mut cut: watch::Receiver<bool>) {
    let already_cut = *cut.borrow();
    if already_cut {
        return std::future::pending().await;
    }
    let Ok(mut up) = TcpStream::connect(&upstream).await else {
        return;
    };
    let cut_now = async move {
        let _ = cut.wait_for(|c| *c).await;
    };
    tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut down, &mut up) => {}
        () = cut_now => {
            // Keep both sockets open and silent until the test ends.
            std::future::pending::<()>().await;
        }
    }
}
