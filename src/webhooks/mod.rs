//! PlanetScale webhooks: events instead of polling.
//!
//! PlanetScale can `POST` a database's events (`branch.ready`, `deploy_request.queued`, …) to
//! a URL, signed with the webhook's secret. The operator receives them on its own listener
//! (`--webhook-addr`, [`server`]), checks each delivery ([`check`]: signature over the exact
//! bytes, a bounded body, a timestamp within the window, never the same delivery twice) and
//! turns it into a [`Hint`]: the resources the event concerns are woken, and their pass reads
//! PlanetScale as usual — an event is never taken as the truth.
//!
//! While a database's deliveries are healthy (one arrived within `--webhook-healthy-window`,
//! the manager's periodic `test` included), its deploy requests and pending branches poll
//! only at the slow safety interval; when deliveries stop, polling comes back by itself
//! ([`Hub::healthy`]). The [`manager`] registers one webhook per database the operator
//! serves, keeps its secret in a Secret, rotates it and removes it when unused.
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::channel::mpsc::{UnboundedReceiver, UnboundedSender, unbounded};
use planetscale_api::Secret;

pub mod check;
pub mod manager;
pub mod metrics;
pub mod server;

pub use metrics::WebhookMetrics;

/// The events the operator subscribes to (those that move its resources).
pub const EVENTS: &[&str] = &[
    "branch.ready",
    "branch.sleeping",
    "branch.primary_promoted",
    "deploy_request.opened",
    "deploy_request.queued",
    "deploy_request.in_progress",
    "deploy_request.pending_cutover",
    "deploy_request.schema_applied",
    "deploy_request.errored",
    "deploy_request.reverted",
    "deploy_request.closed",
    "webhook.test",
];

/// A database: (organization, database).
pub type DbName = (String, String);

/// What an accepted delivery says changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Hint {
    /// A branch of the database changed (ready, sleeping, primary promoted).
    Branch {
        /// Organization.
        organization: String,
        /// Database.
        database: String,
        /// Branch name.
        name: String,
    },
    /// A deploy request of the database changed state.
    DeployRequest {
        /// Organization.
        organization: String,
        /// Database.
        database: String,
        /// The request's number.
        number: i64,
        /// The state the delivery shows it in, spelled by [`deploy_request_state`] (`None`:
        /// the delivery does not say). A pass that already read this state has no news.
        shows: Option<String>,
    },
}

/// A deploy request's state as deliveries and passes are compared: open or closed, and the
/// deployment state (`open/queued`, `closed/complete_pending_revert`, …). Each deploy request
/// event the operator subscribes to changes one of the two.
pub fn deploy_request_state(dr: &planetscale_api::models::DeployRequest) -> String {
    let open = dr.state.as_ref().map_or("", |s| s.as_str());
    let deployment = dr.deployment.as_ref().and_then(|d| d.state.as_ref());
    let deployment = dr.deployment_state.as_ref().or(deployment);
    format!("{open}/{}", deployment.map_or("", |s| s.as_str()))
}

/// What the receiver knows of one database's webhook.
struct Registered {
    /// Secrets deliveries may be signed with: the current one, and during a rotation the
    /// previous one until its webhook is deleted.
    secrets: Vec<Secret>,
    /// PlanetScale's clock, as the database's API client sees it (for the timestamp window).
    clock: Arc<dyn Fn() -> chrono::DateTime<chrono::Utc> + Send + Sync>,
}

/// Shared between the receiver, the manager and the controllers (in the `Context`).
pub struct Hub {
    registered: Mutex<HashMap<DbName, Registered>>,
    /// Last accepted delivery per database.
    last_delivery: Mutex<HashMap<DbName, Instant>>,
    healthy_window: Duration,
    subscribers: Mutex<Vec<UnboundedSender<Hint>>>,
    /// The databases the reconciles use: a client with their credentials, and when.
    in_use: Mutex<HashMap<DbName, (planetscale_api::Client, Instant)>>,
    /// Deliveries seen within the timestamp window (replays are refused).
    pub(crate) seen: check::Seen,
}

impl Default for Hub {
    fn default() -> Self {
        Self::new(Duration::from_secs(600))
    }
}

impl Hub {
    /// A hub whose databases count as healthy for `healthy_window` after a delivery.
    pub fn new(healthy_window: Duration) -> Self {
        Self {
            registered: Mutex::default(),
            last_delivery: Mutex::default(),
            healthy_window,
            subscribers: Mutex::default(),
            in_use: Mutex::default(),
            seen: check::Seen::default(),
        }
    }

    /// Accepts deliveries for `db` signed with any of `secrets` (current first), timed by
    /// `clock` (PlanetScale's time as the database's client sees it).
    pub fn register(
        &self,
        db: DbName,
        secrets: Vec<Secret>,
        clock: Arc<dyn Fn() -> chrono::DateTime<chrono::Utc> + Send + Sync>,
    ) {
        let mut registered = self.registered.lock().expect("lock");
        registered.insert(db, Registered { secrets, clock });
    }

    /// Stops accepting deliveries for `db` (its webhook is gone): polling takes over.
    pub fn unregister(&self, db: &DbName) {
        self.registered.lock().expect("lock").remove(db);
        self.last_delivery.lock().expect("lock").remove(db);
    }

    /// The secrets and clock of `db`, if its deliveries are accepted.
    fn keys(&self, db: &DbName) -> Option<(Vec<Secret>, chrono::DateTime<chrono::Utc>)> {
        let registered = self.registered.lock().expect("lock");
        registered.get(db).map(|r| (r.secrets.clone(), (r.clock)()))
    }

    /// Whether `db`'s deliveries arrive: one was accepted within the healthy window. Its
    /// resources then poll only at the safety interval.
    pub fn healthy(&self, organization: &str, database: &str) -> bool {
        let last = self.last_delivery.lock().expect("lock");
        last.get(&(organization.to_string(), database.to_string()))
            .is_some_and(|at| at.elapsed() < self.healthy_window)
    }

    /// How many registered databases are healthy, and how many are polled.
    pub fn modes(&self) -> (i64, i64) {
        let dbs: Vec<DbName> = self
            .registered
            .lock()
            .expect("lock")
            .keys()
            .cloned()
            .collect();
        let healthy = dbs.iter().filter(|(o, d)| self.healthy(o, d)).count();
        (healthy as i64, (dbs.len() - healthy) as i64)
    }

    /// Records an accepted delivery of `db` and wakes the resources of `hint`.
    pub fn delivered(&self, db: DbName, hint: Option<Hint>) {
        self.last_delivery
            .lock()
            .expect("lock")
            .insert(db, Instant::now());
        if let Some(hint) = hint {
            let mut subscribers = self.subscribers.lock().expect("lock");
            subscribers.retain(|s| s.unbounded_send(hint.clone()).is_ok());
        }
    }

    /// Notes that a reconcile uses `database` with `client`: the manager gives it a webhook.
    pub fn in_use(&self, organization: &str, database: &str, client: &planetscale_api::Client) {
        let db = (organization.to_string(), database.to_string());
        let mut in_use = self.in_use.lock().expect("lock");
        in_use.insert(db, (client.clone(), Instant::now()));
    }

    /// The databases used within `max_age` and those used before, each with its client.
    #[allow(clippy::type_complexity)]
    pub fn databases(
        &self,
        max_age: Duration,
    ) -> (
        Vec<(DbName, planetscale_api::Client)>,
        Vec<(DbName, planetscale_api::Client)>,
    ) {
        let in_use = self.in_use.lock().expect("lock");
        in_use
            .iter()
            .map(|(db, (c, at))| ((db.clone(), c.clone()), at.elapsed() < max_age))
            .fold(
                (Vec::new(), Vec::new()),
                |(mut used, mut unused), (d, recent)| {
                    if recent {
                        used.push(d);
                    } else {
                        unused.push(d);
                    }
                    (used, unused)
                },
            )
    }

    /// Forgets that `db` was used (its webhook is gone).
    pub fn forget(&self, db: &DbName) {
        self.in_use.lock().expect("lock").remove(db);
    }

    /// A stream of the hints of accepted deliveries (one per controller; it ends being
    /// served when dropped).
    pub fn subscribe(&self) -> UnboundedReceiver<Hint> {
        let (tx, rx) = unbounded();
        self.subscribers.lock().expect("lock").push(tx);
        rx
    }
}
