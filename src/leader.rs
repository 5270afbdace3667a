//! Leader election on a `coordination.k8s.io/v1` Lease, so that only one replica writes.
//!
//! The algorithm is client-go's: every `retry_period` each replica reads the Lease; the holder
//! renews it, the others take it over only once they have seen it unchanged for its
//! `leaseDurationSeconds` (measured on their own monotonic clock, so clock skew between nodes
//! does not matter) or when it has no holder. Every write is a `replace` carrying the
//! `resourceVersion` that was read, so two replicas can never both win: the second gets 409.
//!
//! **Fencing.** A leader whose renewal has not succeeded within `renew_deadline` of the start of
//! its last successful renewal flips its receiver to `false` at that instant, even while a
//! request is still hanging. Another replica can only take over `lease_duration` after it saw
//! that renewal, which is later; so between the two there is always a gap of at least
//! `lease_duration - renew_deadline` during which nobody writes.
//!
//! Why not kube-lease-manager 0.13: its `watch()` channel stays `true` while renewals fail or
//! hang (it only reports a change after a successful sync), so a partitioned leader would keep
//! writing after another replica took over; it also compares the server's `renewTime` with the
//! local wall clock, and counts durations in whole seconds.
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use kube::api::{ObjectMeta, PostParams};
use kube::{Api, Client};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Where and how to elect a leader.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaderConfig {
    /// Namespace of the Lease.
    pub namespace: String,
    /// Name of the Lease.
    pub lease_name: String,
    /// This replica's identity, unique per process (see [`default_identity`]).
    pub identity: String,
    /// How long a Lease is valid without renewal; a standby waits this long before taking over.
    pub lease_duration: Duration,
    /// How long the leader keeps leading without a successful renewal (< `lease_duration`).
    pub renew_deadline: Duration,
    /// How often every replica reads (and the leader renews) the Lease (< `renew_deadline`).
    pub retry_period: Duration,
}

/// Leader election errors.
#[derive(Debug, thiserror::Error)]
pub enum LeaderError {
    /// The durations do not satisfy `retry_period < renew_deadline < lease_duration`.
    #[error(
        "leader election needs retry period ({retry:?}) < renew deadline ({renew:?}) < lease duration ({lease:?}), and a lease of at least 1s"
    )]
    InvalidDurations {
        /// `retry_period`
        retry: Duration,
        /// `renew_deadline`
        renew: Duration,
        /// `lease_duration`
        lease: Duration,
    },
}

impl LeaderError {
    /// Stable reason for logs and metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::InvalidDurations { .. } => "InvalidLeaderElectionDurations",
        }
    }
}

impl LeaderConfig {
    /// Checks `retry_period < renew_deadline < lease_duration` and `lease_duration >= 1s`.
    pub fn validate(&self) -> Result<(), LeaderError> {
        let ok = !self.retry_period.is_zero()
            && self.retry_period < self.renew_deadline
            && self.renew_deadline < self.lease_duration
            && self.lease_duration >= Duration::from_secs(1);
        ok.then_some(()).ok_or(LeaderError::InvalidDurations {
            retry: self.retry_period,
            renew: self.renew_deadline,
            lease: self.lease_duration,
        })
    }

    /// `leaseDurationSeconds` as written to the Lease (rounded up to whole seconds).
    fn lease_seconds(&self) -> i32 {
        let secs =
            self.lease_duration.as_secs() + u64::from(self.lease_duration.subsec_nanos() > 0);
        i32::try_from(secs).unwrap_or(i32::MAX)
    }
}

/// `<hostname>_<random>`: the pod name plus a per-process suffix, so that a restarted
/// container never mistakes its predecessor's lease for its own.
pub fn default_identity() -> String {
    use std::hash::{BuildHasher, Hasher};
    let host = crate::config::env::host_name().unwrap_or_else(|| "planetscale-operator".into());
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    format!("{host}_{:08x}", hasher.finish() as u32)
}

/// A running elector. [`LeaderElector::subscribe`] tells whether this replica leads.
#[derive(Debug)]
pub struct LeaderElector {
    leader: Arc<watch::Sender<bool>>,
    reachable: watch::Receiver<bool>,
    stop: CancellationToken,
    task: JoinHandle<()>,
}

impl LeaderElector {
    /// Validates `config` and starts electing in a background task.
    pub fn start(client: Client, config: LeaderConfig) -> Result<Self, LeaderError> {
        config.validate()?;
        let leader = Arc::new(watch::Sender::new(false));
        let (reachable_tx, reachable) = watch::channel(false);
        let stop = CancellationToken::new();
        let elector = Elector {
            api: Api::namespaced(client, &config.namespace),
            config,
            observed: None,
            leader: leader.clone(),
            reachable: reachable_tx,
        };
        let task = tokio::spawn(elector.run(stop.clone()));
        Ok(Self {
            leader,
            reachable,
            stop,
            task,
        })
    }

    /// `true` while this replica holds the lease. It flips to `false` the moment leadership is
    /// lost or the renew deadline passes, before anyone else can take over: stop writing then.
    pub fn subscribe(&self) -> watch::Receiver<bool> {
        self.leader.subscribe()
    }

    /// `true` while the elector's last successful round trip to the Lease is recent (within
    /// the lease duration): a standby that is `true` here is a healthy standby.
    pub fn lease_reachable(&self) -> watch::Receiver<bool> {
        self.reachable.clone()
    }

    /// Graceful stop: flips to `false`, then releases the lease (if held) so that a standby
    /// takes over at its next retry instead of waiting for expiry.
    pub async fn stop(self) {
        self.stop.cancel();
        let _ = self.task.await;
    }

    /// Stops at once without releasing the lease, as a crash would: the receivers flip to
    /// `false`, the others take over once the lease expires.
    pub fn abort(self) {
        self.task.abort();
        self.leader.send_replace(false);
    }
}

/// Runs `work` while this replica leads, until `shutdown`; returns when `shutdown` is
/// cancelled, when the leadership channel closes, or when `work` returns by itself.
///
/// `work` receives a child of `shutdown`: on shutdown it should finish its in-flight
/// reconciles and return (graceful). When leadership is lost instead, the `work` future is
/// dropped at once, aborting in-flight reconciles because another replica may take over; it
/// is called again after the next election win. Anything `work` spawns must stop with it.
pub async fn while_leader<F, Fut>(
    mut leader: watch::Receiver<bool>,
    shutdown: CancellationToken,
    mut work: F,
) where
    F: FnMut(CancellationToken) -> Fut,
    Fut: Future<Output = ()>,
{
    loop {
        tokio::select! {
            biased;
            _ = shutdown.cancelled() => return,
            won = leader.wait_for(|leading| *leading) => if won.is_err() { return },
        }
        tracing::info!("leading: starting the controllers");
        tokio::select! {
            () = work(shutdown.child_token()) => return,
            lost = leader.wait_for(|leading| !*leading) => {
                tracing::warn!("leadership lost: controllers stopped, in-flight reconciles aborted");
                if lost.is_err() {
                    return;
                }
            }
        }
    }
}

/// What a replica last saw of the Lease, and when it first saw that version.
#[derive(Debug)]
struct Observed {
    resource_version: Option<String>,
    at: Instant,
}

/// How one round ended.
enum Round {
    Leading,
    Following,
}

struct Elector {
    api: Api<Lease>,
    config: LeaderConfig,
    observed: Option<Observed>,
    leader: Arc<watch::Sender<bool>>,
    reachable: watch::Sender<bool>,
}

mod elector;

#[cfg(test)]
mod tests;
