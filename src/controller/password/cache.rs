//! What the password controller remembers between reconciles, so that a Ready password costs
//! no API call between resyncs and its database one shared paged list per resync:
//!
//! - **the last view of each resource's password** ([`Caches::remember`]), from the create,
//!   renew and update responses and from every observation, without plaintext. A reconcile
//!   younger than half the resync interval after it (the reconciles our own status and Secret
//!   writes trigger, a Secret edited by a user) plans from it instead of asking PlanetScale;
//!   the Secret itself is read from Kubernetes every time, so an edited Secret is still healed.
//! - **a snapshot of every password of a database** ([`Caches::snapshot`]), per credentials
//!   Secret, organization and database: one paged `list_database_passwords` that every Ready
//!   password of the database due for its resync shares. Concurrent askers wait for the one
//!   list in flight (single flight), and a failed list fails everyone who waited for it rather
//!   than each trying again in turn. Where the endpoint answers 404 or 403 (an API without
//!   it, or credentials that may read passwords of some branches only) the key falls back to
//!   one GET per password, and tries the list again after [`RETRY_LIST_AFTER`].
//! - **the resync phase of each database** ([`Caches::resync_in`]): Ready passwords requeue at
//!   the next multiple of the resync interval after the database's last snapshot (or after the
//!   first password that asked), so the passwords of a database come due together and share
//!   one list per interval.
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use planetscale_api::models::Password;

use super::target::Target;

/// How long a database whose list answered 404 or 403 is served by GETs before the list is
/// tried again (the credentials Secret may have been given a token with more access).
pub const RETRY_LIST_AFTER: Duration = Duration::from_secs(3600);

/// The caches of the password controller (one per process, shared by every namespace).
#[derive(Default)]
pub struct Caches {
    live: Mutex<HashMap<String, Known>>,
    databases: Mutex<HashMap<DatabaseKey, Arc<Database>>>,
}

/// A password as last seen from PlanetScale (never with its plaintext).
#[derive(Clone)]
struct Known {
    id: String,
    target: (String, String, String),
    password: Password,
    at: Instant,
}

/// Credentials Secret (`namespace/name`), organization, database.
type DatabaseKey = (String, String, String);

/// One database's snapshot, in-flight list and resync phase.
#[derive(Default)]
struct Database {
    /// Held while a list is in flight: later askers wait here.
    latest: tokio::sync::Mutex<Option<Attempt>>,
    /// How many lists have finished (or failed); an asker that saw a list finish while it
    /// waited takes that list's result.
    finished: AtomicU64,
    meta: Mutex<Meta>,
}

#[derive(Default)]
struct Meta {
    /// When the endpoint answered 404 or 403: one GET per password for [`RETRY_LIST_AFTER`].
    unsupported: Option<Instant>,
    /// When the last snapshot was taken, or the first password asked for its resync.
    phase: Option<Instant>,
}

/// The result of the last list.
impl Meta {
    fn unsupported(&self) -> bool {
        self.unsupported
            .is_some_and(|since| since.elapsed() < RETRY_LIST_AFTER)
    }
}

#[derive(Clone)]
enum Attempt {
    Listed(Arc<Snapshot>),
    Failed(planetscale_api::Error),
}

/// Every live password of one database, as listed at `at`.
pub struct Snapshot {
    /// When the list started (the data is at least this fresh).
    pub at: Instant,
    passwords: HashMap<String, Password>,
}

impl Snapshot {
    /// Password `id`, if the list had it on `branch`.
    pub fn find(&self, id: &str, branch: &str) -> Option<&Password> {
        self.passwords.get(id).filter(|p| {
            p.database_branch
                .as_ref()
                .is_none_or(|b| b.name.is_empty() || b.name == branch)
        })
    }

    /// How many passwords it holds.
    pub fn len(&self) -> usize {
        self.passwords.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.passwords.is_empty()
    }
}

fn target_key(t: &Target) -> (String, String, String) {
    (t.organization.clone(), t.database.clone(), t.branch.clone())
}

/// What is kept of a password: no plaintext, nothing planning or the Secret does not use.
fn slim(p: &Password) -> Password {
    Password {
        plain_text: None,
        actor: None,
        access_host_regional_urls: Vec::new(),
        ..p.clone()
    }
}

impl Caches {
    /// The last view of `key`'s password `id` on `target`, if taken less than `max_age` ago.
    pub fn remembered(
        &self,
        key: &str,
        id: &str,
        target: &Target,
        max_age: Duration,
    ) -> Option<Password> {
        let live = self.live.lock().expect("lock");
        let known = live.get(key)?;
        let fresh =
            known.id == id && known.target == target_key(target) && known.at.elapsed() < max_age;
        fresh.then(|| known.password.clone())
    }

    /// Remembers `p` as `key`'s current password on `target`, as seen at `at`.
    pub fn remember(&self, key: &str, target: &Target, p: &Password, at: Instant) {
        let known = Known {
            id: p.id.clone(),
            target: target_key(target),
            password: slim(p),
            at,
        };
        self.live
            .lock()
            .expect("lock")
            .insert(key.to_string(), known);
    }

    /// Forgets `key`'s password (deleted, replaced, or the resource is gone).
    pub fn forget(&self, key: &str) {
        self.live.lock().expect("lock").remove(key);
    }

    fn database(&self, creds: &str, org: &str, db: &str) -> Arc<Database> {
        let key = (creds.to_string(), org.to_string(), db.to_string());
        let mut databases = self.databases.lock().expect("lock");
        databases.entry(key).or_default().clone()
    }

    /// A snapshot of every password of `org/db` taken less than `max_age` ago, listing them
    /// (once for every concurrent asker) when there is none. `Ok(None)`: the endpoint is not
    /// available for these credentials; look passwords up one by one.
    pub async fn snapshot(
        &self,
        creds: &str,
        api: &planetscale_api::Client,
        org: &str,
        db: &str,
        max_age: Duration,
    ) -> Result<Option<Arc<Snapshot>>, planetscale_api::Error> {
        let database = self.database(creds, org, db);
        if database.meta.lock().expect("lock").unsupported() {
            return Ok(None);
        }
        let seen = database.finished.load(Ordering::Acquire);
        let mut latest = database.latest.lock().await;
        let finished_meanwhile = database.finished.load(Ordering::Acquire) != seen;
        match latest.as_ref() {
            Some(Attempt::Failed(e)) if finished_meanwhile => return Err(e.clone()),
            Some(Attempt::Listed(s)) if finished_meanwhile || s.at.elapsed() < max_age => {
                return Ok(Some(s.clone()));
            }
            _ => {}
        }
        if database.meta.lock().expect("lock").unsupported() {
            return Ok(None);
        }
        let at = Instant::now();
        let listed = api
            .list_database_passwords_all(org, db, &Default::default())
            .await;
        let result = match listed {
            Ok(list) => {
                let passwords = list.iter().map(|p| (p.id.clone(), slim(p))).collect();
                let snapshot = Arc::new(Snapshot { at, passwords });
                *latest = Some(Attempt::Listed(snapshot.clone()));
                database.meta.lock().expect("lock").phase = Some(at);
                Ok(Some(snapshot))
            }
            Err(
                e @ (planetscale_api::Error::NotFound { .. }
                | planetscale_api::Error::Forbidden { .. }),
            ) => {
                tracing::info!(
                    organization = org,
                    database = db,
                    error = %e,
                    "cannot list the database's passwords: looking passwords up one by one"
                );
                database.meta.lock().expect("lock").unsupported = Some(Instant::now());
                *latest = None;
                Ok(None)
            }
            Err(e) => {
                *latest = Some(Attempt::Failed(e.clone()));
                Err(e)
            }
        };
        database.finished.fetch_add(1, Ordering::AcqRel);
        result
    }

    /// How long until a Ready password of `org/db` should be compared with PlanetScale again:
    /// the next multiple of `interval` after the database's phase (its last snapshot), so the
    /// database's passwords come due together; `interval` where snapshots are not available.
    pub fn resync_in(&self, creds: &str, org: &str, db: &str, interval: Duration) -> Duration {
        let database = self.database(creds, org, db);
        let mut meta = database.meta.lock().expect("lock");
        if meta.unsupported() {
            return interval;
        }
        let now = Instant::now();
        let phase = *meta.phase.get_or_insert(now);
        next_in_phase(phase, now, interval)
    }
}

/// The time from `now` to the first `phase + k × interval` (k ≥ 1) after `now`.
pub fn next_in_phase(phase: Instant, now: Instant, interval: Duration) -> Duration {
    if interval.is_zero() {
        return Duration::ZERO;
    }
    let elapsed = now.saturating_duration_since(phase);
    let periods = elapsed.as_nanos() / interval.as_nanos() + 1;
    let periods = u32::try_from(periods).unwrap_or(u32::MAX);
    let next = phase + interval.saturating_mul(periods);
    next.saturating_duration_since(now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use planetscale_api::models::PasswordBranch;

    fn target(branch: &str) -> Target {
        Target {
            organization: "acme".into(),
            database: "shop".into(),
            branch: branch.into(),
            known_ready: true,
        }
    }

    fn password(id: &str, branch: &str) -> Password {
        Password {
            id: id.into(),
            plain_text: Some(planetscale_api::Secret::new("pscale_pw_x".to_string())),
            database_branch: Some(PasswordBranch {
                name: branch.into(),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn the_last_view_is_used_only_while_fresh_for_the_same_password_and_target() {
        let caches = Caches::default();
        let t = target("main");
        let minute = Duration::from_secs(60);
        caches.remember("ns/app", &t, &password("p1", "main"), Instant::now());
        let seen = caches
            .remembered("ns/app", "p1", &t, minute)
            .expect("fresh");
        assert_eq!(seen.plain_text, None, "no plaintext is kept");
        assert!(caches.remembered("ns/app", "p2", &t, minute).is_none());
        assert!(
            caches
                .remembered("ns/app", "p1", &target("dev"), minute)
                .is_none()
        );
        assert!(caches.remembered("ns/other", "p1", &t, minute).is_none());
        let old = Instant::now() - Duration::from_secs(61);
        caches.remember("ns/app", &t, &password("p1", "main"), old);
        assert!(caches.remembered("ns/app", "p1", &t, minute).is_none());
        caches.remember("ns/app", &t, &password("p1", "main"), Instant::now());
        caches.forget("ns/app");
        assert!(caches.remembered("ns/app", "p1", &t, minute).is_none());
    }

    #[test]
    fn a_snapshot_finds_a_password_only_on_its_branch() {
        let passwords = [password("p1", "main"), password("p2", "dev")]
            .into_iter()
            .map(|p| (p.id.clone(), p))
            .collect();
        let s = Snapshot {
            at: Instant::now(),
            passwords,
        };
        assert!(s.find("p1", "main").is_some());
        assert!(s.find("p2", "main").is_none());
        assert!(s.find("p3", "main").is_none());
        assert_eq!(s.len(), 2);
    }

    #[test]
    fn resyncs_fall_on_the_databases_phase() {
        let interval = Duration::from_secs(600);
        let phase = Instant::now();
        let at = |secs| phase + Duration::from_secs(secs);
        assert_eq!(next_in_phase(phase, at(0), interval), interval);
        assert_eq!(
            next_in_phase(phase, at(1), interval),
            Duration::from_secs(599)
        );
        assert_eq!(
            next_in_phase(phase, at(600), interval),
            interval,
            "exactly on the phase: the next one"
        );
        assert_eq!(
            next_in_phase(phase, at(1500), interval),
            Duration::from_secs(300)
        );
        assert_eq!(
            next_in_phase(at(5), phase, interval),
            Duration::from_secs(605)
        );
    }

    #[test]
    fn the_first_password_to_ask_sets_the_phase() {
        let caches = Caches::default();
        let interval = Duration::from_secs(600);
        let first = caches.resync_in("ns/creds", "acme", "shop", interval);
        assert!(first <= interval && first > interval - Duration::from_secs(1));
        let other_db = caches.resync_in("ns/creds", "acme", "other", interval);
        assert!(other_db > interval - Duration::from_secs(1));
        caches
            .database("ns/creds", "acme", "shop")
            .meta
            .lock()
            .unwrap()
            .unsupported = Some(Instant::now());
        assert_eq!(
            caches.resync_in("ns/creds", "acme", "shop", interval),
            interval
        );
        // An hour later the list is tried again.
        let database = caches.database("ns/creds", "acme", "shop");
        let long_ago = Instant::now().checked_sub(RETRY_LIST_AFTER + Duration::from_secs(1));
        database.meta.lock().unwrap().unsupported = long_ago;
        assert!(!database.meta.lock().unwrap().unsupported());
    }
}
