//! Unit tests of the configuration checks; the election itself is tested against a real API
//! server in `tests/leader.rs`.
use super::*;
use std::time::Instant;

fn config(lease: u64, renew: u64, retry: u64) -> LeaderConfig {
    LeaderConfig {
        namespace: "ns".into(),
        lease_name: "lease".into(),
        identity: "me".into(),
        lease_duration: Duration::from_millis(lease),
        renew_deadline: Duration::from_millis(renew),
        retry_period: Duration::from_millis(retry),
    }
}

#[test]
fn durations_must_nest_retry_renew_lease() {
    assert!(config(15_000, 10_000, 2_000).validate().is_ok());
    for (lease, renew, retry) in [
        (10_000, 10_000, 2_000),
        (15_000, 2_000, 2_000),
        (500, 300, 100),
        (15_000, 10_000, 0),
    ] {
        let err = config(lease, renew, retry).validate().unwrap_err();
        assert_eq!(err.reason(), "InvalidLeaderElectionDurations");
        assert!(err.to_string().contains("renew deadline"), "{err}");
    }
}

#[test]
fn lease_seconds_round_up() {
    assert_eq!(config(15_000, 10_000, 2_000).lease_seconds(), 15);
    assert_eq!(config(2_500, 2_000, 500).lease_seconds(), 3);
}

#[test]
fn identities_differ_per_call_and_start_with_the_host() {
    let (a, b) = (default_identity(), default_identity());
    assert_ne!(a, b, "two processes on one host must not share an identity");
    let host = a.rsplit_once('_').map(|(h, _)| h).unwrap();
    assert!(!host.is_empty() && b.starts_with(host), "{a} {b}");
}

/// Counts how often work started, and whether the current run is alive.
#[derive(Clone, Default)]
struct Probe {
    starts: Arc<std::sync::atomic::AtomicU32>,
    alive: Arc<std::sync::atomic::AtomicBool>,
}

struct AliveGuard(Arc<std::sync::atomic::AtomicBool>);

impl Drop for AliveGuard {
    fn drop(&mut self) {
        self.0.store(false, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Probe {
    fn starts(&self) -> u32 {
        self.starts.load(std::sync::atomic::Ordering::SeqCst)
    }
    fn alive(&self) -> bool {
        self.alive.load(std::sync::atomic::Ordering::SeqCst)
    }
    /// Work that runs until its token is cancelled.
    fn work(
        &self,
    ) -> impl FnMut(CancellationToken) -> futures::future::BoxFuture<'static, ()> + use<> {
        let probe = self.clone();
        move |token: CancellationToken| {
            let probe = probe.clone();
            Box::pin(async move {
                probe
                    .starts
                    .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                probe.alive.store(true, std::sync::atomic::Ordering::SeqCst);
                let _guard = AliveGuard(probe.alive.clone());
                token.cancelled().await;
            })
        }
    }
}

async fn until(what: &str, cond: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn work_runs_only_while_leading_and_is_dropped_when_leadership_is_lost() {
    let (tx, rx) = watch::channel(false);
    let shutdown = CancellationToken::new();
    let probe = Probe::default();
    let task = tokio::spawn(while_leader(rx, shutdown.clone(), probe.work()));
    tokio::task::yield_now().await;
    assert_eq!(probe.starts(), 0, "work started before leading");

    tx.send_replace(true);
    until("work to start", || probe.alive()).await;
    tx.send_replace(false);
    until("work to be dropped", || !probe.alive()).await;
    assert!(
        !task.is_finished(),
        "losing leadership must not end while_leader"
    );

    tx.send_replace(true);
    until("work to start again", || {
        probe.starts() == 2 && probe.alive()
    })
    .await;
    shutdown.cancel();
    task.await.unwrap();
    assert!(!probe.alive());
    assert_eq!(probe.starts(), 2);
}

#[tokio::test]
async fn a_closed_leadership_channel_ends_the_loop() {
    let (tx, rx) = watch::channel(true);
    let probe = Probe::default();
    let task = tokio::spawn(while_leader(rx, CancellationToken::new(), probe.work()));
    until("work to start", || probe.alive()).await;
    drop(tx);
    task.await.unwrap();
    assert!(!probe.alive(), "work must stop when the elector is gone");
}
