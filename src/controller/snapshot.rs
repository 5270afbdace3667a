//! One list of a database's objects (its passwords, its branches) shared by every resource of
//! that database, instead of one call per resource.
//!
//! [`Snapshots::get`] returns a list no older than asked for. Concurrent askers wait for the one
//! list in flight (single flight) and take its result. Lists are kept per credentials Secret,
//! organization and database ([`DbKey`]): two credentials may see different objects. A
//! database's resync phase ([`Snapshots::resync_in`]) lets its resources come due together, so
//! they share one list per resync interval.
//!
//! Two needs of some callers are [`Options`]: a failed list may fail everyone who waited for
//! it (rather than each trying again in turn), and an endpoint that answers 404 or 403 (an API
//! without it, credentials that may read some objects only) may be given up for a while, the
//! caller then looking its objects up one by one.
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use planetscale_api::Error as ApiError;

/// The objects of one database, as seen with one set of credentials.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DbKey {
    /// The credentials Secret (namespace, name).
    pub credentials: (String, String),
    pub organization: String,
    pub database: String,
}

/// How a set of snapshots behaves where lists fail.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// A failed list fails every asker that waited for it, instead of the next one trying again.
    pub share_failures: bool,
    /// Where the list answers 404 or 403, [`Snapshots::get`] answers `None` (look objects up
    /// one by one) for this long before the list is tried again. `None`: such an answer is an
    /// error like any other.
    pub fallback_for: Option<Duration>,
}

/// A list of a database's objects, as taken at `taken`.
#[derive(Debug)]
pub struct Snapshot<T> {
    /// When the list started (the data is at least this fresh).
    pub taken: Instant,
    pub items: T,
}

/// The snapshots of every database one controller asks about.
pub struct Snapshots<T> {
    options: Options,
    dbs: Mutex<HashMap<DbKey, Arc<Db<T>>>>,
}

/// One database's last list, its list in flight, and its resync phase.
struct Db<T> {
    /// Held while a list is in flight: later askers wait here.
    latest: tokio::sync::Mutex<Option<Attempt<T>>>,
    /// How many lists have finished (or failed); an asker that saw a list finish while it
    /// waited takes that list's result.
    finished: AtomicU64,
    meta: Mutex<Meta>,
}

#[derive(Default)]
struct Meta {
    /// When the list last answered 404 or 403 (with [`Options::fallback_for`]).
    unsupported: Option<Instant>,
    /// When the first list was taken, or the first resource asked for its resync.
    phase: Option<Instant>,
}

enum Attempt<T> {
    Listed(Arc<Snapshot<T>>),
    Failed(ApiError),
}

impl<T> Default for Db<T> {
    fn default() -> Self {
        Self {
            latest: tokio::sync::Mutex::new(None),
            finished: AtomicU64::new(0),
            meta: Mutex::default(),
        }
    }
}

impl<T> Snapshots<T> {
    pub fn new(options: Options) -> Self {
        Self {
            options,
            dbs: Mutex::default(),
        }
    }

    fn db(&self, key: &DbKey) -> Arc<Db<T>> {
        let mut dbs = self.dbs.lock().expect("lock");
        dbs.entry(key.clone()).or_default().clone()
    }

    fn unsupported(&self, db: &Db<T>) -> bool {
        let since = db.meta.lock().expect("lock").unsupported;
        let window = self.options.fallback_for.unwrap_or_default();
        since.is_some_and(|since| since.elapsed() < window)
    }

    /// A list of `key`'s database taken less than `max_age` ago, made with `list` (once for
    /// every concurrent asker) when there is none. `Ok(None)` only with
    /// [`Options::fallback_for`]: the list is not available to these credentials.
    pub async fn get<F, Fut>(
        &self,
        key: &DbKey,
        max_age: Duration,
        list: F,
    ) -> Result<Option<Arc<Snapshot<T>>>, ApiError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, ApiError>>,
    {
        let db = self.db(key);
        if self.unsupported(&db) {
            return Ok(None);
        }
        let seen = db.finished.load(Ordering::Acquire);
        let mut latest = db.latest.lock().await;
        let finished_meanwhile = db.finished.load(Ordering::Acquire) != seen;
        match latest.as_ref() {
            Some(Attempt::Failed(e)) if finished_meanwhile => return Err(e.clone()),
            Some(Attempt::Listed(s)) if finished_meanwhile || s.taken.elapsed() < max_age => {
                return Ok(Some(s.clone()));
            }
            _ => {}
        }
        if self.unsupported(&db) {
            return Ok(None);
        }
        let taken = Instant::now();
        let result = match list().await {
            Ok(items) => {
                let snapshot = Arc::new(Snapshot { taken, items });
                *latest = Some(Attempt::Listed(snapshot.clone()));
                // The phase is the first list's: a second list within an interval (a restart
                // whose reconciles outlast the freshness window) must not split the database's
                // resources into two due times, two lists per interval from then on (`make
                // bench` scale at 10,000 pairs: 142 password lists per resync for 100 databases).
                db.meta.lock().expect("lock").phase.get_or_insert(taken);
                self.sweep(&db, max_age);
                Ok(Some(snapshot))
            }
            Err(e) if self.options.fallback_for.is_some() && refused(&e) => {
                tracing::info!(
                    organization = %key.organization,
                    database = %key.database,
                    error = %e,
                    "cannot list the database: looking objects up one by one"
                );
                db.meta.lock().expect("lock").unsupported = Some(Instant::now());
                *latest = None;
                Ok(None)
            }
            Err(e) => {
                if self.options.share_failures {
                    *latest = Some(Attempt::Failed(e.clone()));
                }
                Err(e)
            }
        };
        db.finished.fetch_add(1, Ordering::AcqRel);
        result
    }

    /// Drops the lists of the other databases that are older than `max_age`: nobody asking for
    /// that age can use them, and the next resync lists again anyway. So stale copies of
    /// PlanetScale's objects are freed whenever any database lists (at 10,000 passwords and
    /// branches the lists were a fifth of the heap, `make bench` scale); the newest lists stay
    /// until the next one. A list in use is skipped.
    fn sweep(&self, listed: &Arc<Db<T>>, max_age: Duration) {
        let dbs: Vec<Arc<Db<T>>> = self.dbs.lock().expect("lock").values().cloned().collect();
        for db in dbs.iter().filter(|db| !Arc::ptr_eq(db, listed)) {
            if let Ok(mut latest) = db.latest.try_lock()
                && matches!(&*latest, Some(Attempt::Listed(s)) if s.taken.elapsed() >= max_age)
            {
                *latest = None;
            }
        }
    }

    /// How long until a resource of `key`'s database should look again: the next multiple of
    /// `interval` after the database's phase (its first list), so its resources come due
    /// together; `interval` where lists are not available.
    pub fn resync_in(&self, key: &DbKey, interval: Duration) -> Duration {
        let db = self.db(key);
        if self.unsupported(&db) {
            return interval;
        }
        let mut meta = db.meta.lock().expect("lock");
        let now = Instant::now();
        let phase = *meta.phase.get_or_insert(now);
        next_in_phase(phase, now, interval)
    }
}

/// Whether the list endpoint itself is refused (not there, or not for these credentials).
fn refused(e: &ApiError) -> bool {
    matches!(e, ApiError::NotFound { .. } | ApiError::Forbidden { .. })
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
#[path = "snapshot_tests.rs"]
mod tests;
