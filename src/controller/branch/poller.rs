//! One look at PlanetScale serves every resource of a database.
//!
//! - **Pending branches** do not poll one by one. A reconcile that finds its branch not ready
//!   registers it with [`Poller::wait_for`] and makes no further call. One task per database
//!   looks at all registered branches per tick — a `get_branch` when only one is pending, else
//!   the branch list newest first, stopping as soon as every pending branch was seen (usually
//!   the first page) — and wakes exactly the resources whose branch changed (ready, gone, or
//!   another state), handing over what it saw ([`Poller::take_seen`]) so that the woken
//!   reconcile makes no call of its own. Ticks start at [`FIRST_TICK`] and double up to
//!   [`MAX_TICK`] while nothing changes; a new registration brings them back to the first.
//!   While the database's webhook deliveries are healthy a tick waits at least
//!   [`SAFETY_TICK`]: `branch.ready` wakes the resource first ([`Poller::release`]).
//! - **Resync of Ready branches** shares one full list per database: [`Poller::snapshot`]
//!   returns a list no older than asked for, fetched once for all concurrent askers (the
//!   controllers' shared [`crate::controller::snapshot`]). A
//!   resource requeues at the snapshot's time plus the resync interval, so the resources of a
//!   database converge on one list per interval.
//! - **The engine of a database** (Vitess or PostgreSQL), which the first create of each
//!   branch needs, is read once per database and resync interval for all its resources
//!   ([`Poller::database_kind`]): a burst of new branches costs one `get_database`.
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::TryStreamExt;
use futures::channel::mpsc::UnboundedSender;
use kube::runtime::reflector::ObjectRef;
use planetscale_api::models::{Branch, DatabaseKind, ListBranches};
use planetscale_api::{Client, Error as ApiError};

use crate::controller::planetscale::PlanetScale;
use crate::controller::snapshot::{Options, Snapshot, Snapshots};
use crate::crd::branch::PlanetScaleBranch;

/// First look after a branch starts waiting (and after a change).
pub const FIRST_TICK: Duration = Duration::from_secs(2);
/// Longest time between two looks while branches are pending.
pub const MAX_TICK: Duration = Duration::from_secs(30);
/// Shortest wait between two looks while the database's webhook deliveries are healthy: its
/// `branch.ready` wakes the resource instead ([`crate::webhooks`]); the look is only a
/// safety net for a lost delivery.
pub const SAFETY_TICK: Duration = Duration::from_secs(60);
/// A registration not renewed for this long is dropped (its resource is gone, or it moved on).
const STALE: Duration = Duration::from_secs(300);
/// Failed looks in a row after which every registered resource looks on its own.
const MAX_FAILURES: u32 = 3;
/// How long what a look saw is handed over to the woken reconcile.
const SEEN_FOR: Duration = Duration::from_secs(60);

/// Where the wake-ups of one controller go (its `reconcile_on` stream).
pub type Wake = UnboundedSender<ObjectRef<PlanetScaleBranch>>;

pub use crate::controller::snapshot::DbKey;

/// A full list of a database's branches, by name.
pub type Listed = HashMap<String, Branch>;

/// What a snapshot keeps of a branch: what the status and the plan read (of its region the
/// slug), not who created it or its API address.
fn slim(b: Branch) -> Branch {
    Branch {
        actor: None,
        url: None,
        region: b
            .region
            .as_ref()
            .map(crate::controller::planetscale::slim_region),
        ..b
    }
}

struct Waiter {
    obj: ObjectRef<PlanetScaleBranch>,
    wake: Wake,
    /// The branch state the resource last saw.
    state: Option<String>,
    registered: Instant,
}

#[derive(Default)]
struct Db {
    waiters: HashMap<String, Waiter>,
    client: Option<Client>,
    polling: bool,
    /// Set by a new registration: the next tick is the first tick again.
    hurry: bool,
    /// What the last look saw of the branches it woke (`None`: not found).
    seen: HashMap<String, (Option<Branch>, Instant)>,
}

/// Shared looks at PlanetScale for every branch resource (see the module docs).
pub struct Poller {
    dbs: Mutex<HashMap<DbKey, Db>>,
    /// The last full list of each database (shared by resyncs).
    snapshots: Snapshots<Listed>,
    /// The `kind` of each database (shared by first creates).
    kinds: Snapshots<Option<DatabaseKind>>,
    /// Which databases' webhook deliveries are healthy.
    webhooks: Arc<crate::webhooks::Hub>,
}

impl Default for Poller {
    fn default() -> Self {
        Self {
            dbs: Mutex::default(),
            // A failed list is not shared (the next resync lists again), and a 404 or 403 is
            // an error like any other: a branch has no other way to be read in bulk.
            snapshots: Snapshots::new(Options::default()),
            kinds: Snapshots::new(Options::default()),
            webhooks: Arc::default(),
        }
    }
}

impl Poller {
    /// A poller that backs off while `webhooks` says a database's deliveries are healthy.
    pub fn with_webhooks(webhooks: Arc<crate::webhooks::Hub>) -> Self {
        Self {
            webhooks,
            ..Self::default()
        }
    }

    /// Drops the registration of the branch `name` of every credentials' view of the
    /// database: a webhook says it changed, and its resource is woken to look itself.
    pub fn release(&self, organization: &str, database: &str, name: &str) {
        let mut dbs = self.dbs.lock().expect("lock");
        dbs.iter_mut()
            .filter(|(k, _)| k.organization == organization && k.database == database)
            .for_each(|(_, db)| {
                db.waiters.remove(name);
            });
    }

    /// Registers a pending branch: `obj` is woken through `wake` once its branch `name` is
    /// ready, gone or in a state other than `state`. Starts the database's poll task if needed.
    pub fn wait_for(
        self: &Arc<Self>,
        key: &DbKey,
        name: &str,
        obj: ObjectRef<PlanetScaleBranch>,
        wake: Wake,
        client: Client,
        state: Option<String>,
    ) {
        let mut dbs = self.dbs.lock().expect("lock");
        let db = dbs.entry(key.clone()).or_default();
        let waiter = Waiter {
            obj,
            wake,
            state,
            registered: Instant::now(),
        };
        if db.waiters.insert(name.to_string(), waiter).is_none() {
            db.hurry = true;
        }
        db.client = Some(client);
        if !db.polling {
            db.polling = true;
            tokio::spawn(self.clone().poll(key.clone()));
        }
    }

    /// Whether `name` is registered (its resource need not look itself).
    pub fn is_waiting(&self, key: &DbKey, name: &str) -> bool {
        let dbs = self.dbs.lock().expect("lock");
        dbs.get(key).is_some_and(|db| db.waiters.contains_key(name))
    }

    /// Drops the registration of `name` (its resource is deleted or no longer waits).
    pub fn forget(&self, key: &DbKey, name: &str) {
        let mut dbs = self.dbs.lock().expect("lock");
        if let Some(db) = dbs.get_mut(key) {
            db.waiters.remove(name);
            db.seen.remove(name);
        }
    }

    /// What the last look saw of `name`, if it woke the resource recently: `Some(None)` when
    /// the branch was not found. Consumed.
    pub fn take_seen(&self, key: &DbKey, name: &str) -> Option<Option<Branch>> {
        let mut dbs = self.dbs.lock().expect("lock");
        let (branch, at) = dbs.get_mut(key)?.seen.remove(name)?;
        (at.elapsed() < SEEN_FOR).then_some(branch)
    }

    /// A full list of the database's branches no older than `max_age`; concurrent callers
    /// share one list.
    pub async fn snapshot(
        &self,
        key: &DbKey,
        client: &impl PlanetScale,
        max_age: Duration,
    ) -> Result<Arc<Snapshot<Listed>>, ApiError> {
        let (org, db) = (&key.organization, &key.database);
        let list = || async {
            let list = client.list_branches_all(org, db).await?;
            Ok(list
                .into_iter()
                .map(|b| (b.name.clone(), slim(b)))
                .collect())
        };
        match self.snapshots.get(key, max_age, list).await? {
            Some(snapshot) => Ok(snapshot),
            // Only snapshots with a fallback answer `None`; these have none.
            None => Err(ApiError::Config("the branch list is not available".into())),
        }
    }

    /// The database's `kind`, read no longer than `max_age` ago; concurrent callers share one
    /// read, and a failed one is not kept.
    pub async fn database_kind(
        &self,
        key: &DbKey,
        client: &impl PlanetScale,
        max_age: Duration,
    ) -> Result<Option<DatabaseKind>, ApiError> {
        let (org, db) = (&key.organization, &key.database);
        let read = || async { Ok(client.get_database(org, db).await?.kind) };
        match self.kinds.get(key, max_age, read).await? {
            Some(snapshot) => Ok(snapshot.items.clone()),
            None => Err(ApiError::Config("the database is not available".into())),
        }
    }

    /// The poll task of one database: runs while branches are registered.
    async fn poll(self: Arc<Self>, key: DbKey) {
        let mut tick = FIRST_TICK;
        let mut failures = 0;
        loop {
            let healthy = self.webhooks.healthy(&key.organization, &key.database);
            tokio::time::sleep(if healthy { tick.max(SAFETY_TICK) } else { tick }).await;
            let Some((client, names)) = self.due(&key) else {
                return;
            };
            match look(&client, &key, &names).await {
                Ok(found) => {
                    failures = 0;
                    let (woken, hurry) = self.wake(&key, found);
                    tick = if woken > 0 || hurry {
                        FIRST_TICK
                    } else {
                        (tick * 2).min(MAX_TICK)
                    };
                }
                Err(e) => {
                    tracing::debug!(error = %e, org = %key.organization, db = %key.database, "branch poll failed");
                    failures += 1;
                    if failures >= MAX_FAILURES {
                        // Let every resource look on its own and report what stops it.
                        self.release_all(&key);
                        failures = 0;
                    }
                    tick = (tick * 2).min(MAX_TICK);
                }
            }
        }
    }

    /// Wakes every registered resource without handing anything over: each looks itself.
    fn release_all(&self, key: &DbKey) {
        let mut dbs = self.dbs.lock().expect("lock");
        if let Some(db) = dbs.get_mut(key) {
            for (_, w) in db.waiters.drain() {
                let _ = w.wake.unbounded_send(w.obj);
            }
        }
    }

    /// The client and the names to look at, or `None` (and the task ends) when nobody waits.
    fn due(&self, key: &DbKey) -> Option<(Client, HashSet<String>)> {
        let mut dbs = self.dbs.lock().expect("lock");
        let db = dbs.get_mut(key)?;
        // A closed channel: its controller stopped (e.g. leadership lost); nobody to wake.
        db.waiters
            .retain(|_, w| w.registered.elapsed() < STALE && !w.wake.is_closed());
        db.seen.retain(|_, (_, at)| at.elapsed() < SEEN_FOR);
        let client = db.client.clone().filter(|_| !db.waiters.is_empty());
        let Some(client) = client else {
            db.polling = false;
            return None;
        };
        Some((client, db.waiters.keys().cloned().collect()))
    }

    /// Wakes the resources whose branch changed; returns how many, and whether a new
    /// registration asks for a quick next look.
    fn wake(&self, key: &DbKey, found: HashMap<String, Option<Branch>>) -> (usize, bool) {
        let mut dbs = self.dbs.lock().expect("lock");
        let Some(db) = dbs.get_mut(key) else {
            return (0, false);
        };
        let mut woken = 0;
        for (name, branch) in found {
            let Some(w) = db.waiters.get(&name) else {
                continue;
            };
            if !changed(branch.as_ref(), w.state.as_deref()) {
                continue;
            }
            let w = db.waiters.remove(&name).expect("present");
            db.seen.insert(name, (branch, Instant::now()));
            // A closed channel: the controller stopped; nothing to wake.
            let _ = w.wake.unbounded_send(w.obj);
            woken += 1;
        }
        (woken, std::mem::take(&mut db.hurry))
    }
}

/// Whether a pending branch that was in `state` is worth a reconcile now.
fn changed(branch: Option<&Branch>, state: Option<&str>) -> bool {
    match branch {
        None => true,
        Some(b) => {
            b.ready
                || b.state
                    .as_ref()
                    .map(planetscale_api::models::BranchState::as_str)
                    != state
        }
    }
}

/// One look at `names`: a `get_branch` for one, else the list newest first until every name
/// was seen. A name the look did not find maps to `None`.
async fn look(
    client: &Client,
    key: &DbKey,
    names: &HashSet<String>,
) -> Result<HashMap<String, Option<Branch>>, ApiError> {
    let (org, db) = (&key.organization, &key.database);
    if names.len() == 1 {
        let name = names.iter().next().expect("one");
        let branch = match client.get_branch(org, db, name).await {
            Ok(b) => Some(b),
            Err(ApiError::NotFound { .. }) => None,
            Err(e) => return Err(e),
        };
        return Ok(HashMap::from([(name.clone(), branch)]));
    }
    let filters = ListBranches {
        newest_first: true,
        ..ListBranches::default()
    };
    let mut list = client.list_branches(org, db, &filters);
    let mut found: HashMap<String, Option<Branch>> = HashMap::new();
    while found.len() < names.len() {
        let Some(b) = list.try_next().await? else {
            break;
        };
        if names.contains(&b.name) {
            found.insert(b.name.clone(), Some(b));
        }
    }
    for name in names {
        found.entry(name.clone()).or_insert(None);
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn branch(ready: bool, state: &str) -> Branch {
        serde_json::from_value(serde_json::json!({
            "id": "b1", "name": "pr-1", "ready": ready, "state": state
        }))
        .expect("branch")
    }

    #[tokio::test]
    async fn registrations_of_a_stopped_controller_are_dropped() {
        let poller = Arc::new(Poller::default());
        let key = DbKey {
            credentials: ("ns".into(), "creds".into()),
            organization: "acme".into(),
            database: "shop".into(),
        };
        let creds = planetscale_api::Credentials::service_token("id", "pscale_tkn_x");
        let client = Client::builder(creds)
            .base_url("http://127.0.0.1:9/v1")
            .build()
            .expect("client");
        let (wake, woken) = futures::channel::mpsc::unbounded();
        let obj = ObjectRef::new("pr-1").within("ns");
        poller.wait_for(&key, "pr-1", obj, wake, client, Some("pending".into()));
        assert!(
            poller
                .due(&key)
                .is_some_and(|(_, names)| names.contains("pr-1"))
        );
        // The controller stops (leadership lost): its wake-up channel closes.
        drop(woken);
        assert!(poller.due(&key).is_none(), "the poll task must end");
        assert!(!poller.is_waiting(&key, "pr-1"));
    }

    #[test]
    fn a_pending_branch_wakes_its_resource_only_when_something_changed() {
        assert!(!changed(Some(&branch(false, "pending")), Some("pending")));
        assert!(changed(Some(&branch(true, "ready")), Some("pending")));
        assert!(changed(Some(&branch(false, "sleeping")), Some("pending")));
        assert!(changed(None, Some("pending")));
    }
}
