//! The client-side request budget: a token bucket shared by every client using the same
//! credentials, with a fair queue in front of it.
//!
//! [`RateLimiter`] serves waiters one at a time: the first in line (the *head*) waits for the
//! bucket, takes a token and hands the head position to the next. The line is ordered by
//! [`Priority`] — every [`Priority::High`] waiter before any [`Priority::Normal`] one — and
//! first come, first served within a priority, so no waiter loses the race for a token again
//! and again, and a burst of ordinary requests cannot push an urgent one back by minutes. The
//! priority comes from [`AcquireContext::caller`] through [`RateLimit::priority`]: the callers in
//! [`RateLimit::high_priority_callers`] (by default [`DEFAULT_HIGH_PRIORITY_CALLERS`], the
//! operator's deploy-request controller, whose cutovers are time-critical) are `High`, every
//! other caller and an unlabelled request `Normal`.
//!
//! A request that would wait longer than [`RateLimit::max_wait`] fails at once with
//! [`Error::RateLimited`] (code [`CLIENT_THROTTLED`]) instead of queueing: the estimate is the
//! pause after a 429 plus one token interval for each waiter ahead of it and one for itself. A waiter overtaken by later
//! high-priority arrivals gives up when `max_wait` has passed. Dropping a waiting `acquire`
//! (e.g. a cancelled reconcile) leaves the line at once and hands the head position on; a token
//! is only ever taken in the same step that returns it, so none is lost.

use std::collections::BTreeMap;
use std::fmt;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures::future::BoxFuture;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota};
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::{Error, Result};

/// How long every sharer pauses after a 429 that came without `Retry-After`.
const DEFAULT_429_PAUSE: Duration = Duration::from_secs(1);
/// The `code` of the error returned when a request would wait longer than `max_wait`.
pub const CLIENT_THROTTLED: &str = "client_throttled";
/// The callers served first by default: the operator's deploy-request controller (a cutover or
/// an approval must not wait behind a burst of new branches and passwords).
pub const DEFAULT_HIGH_PRIORITY_CALLERS: &[&str] = &["deploy-request-controller"];

/// What a caller is about to send; passed to [`Limiter::acquire`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AcquireContext {
    /// The operation name, e.g. `get_branch`.
    pub operation: &'static str,
    /// Who is asking, as set with [`crate::Client::with_caller`] (e.g. a controller name); the
    /// [`RateLimiter`] derives the [`Priority`] from it.
    pub caller: Option<&'static str>,
}

impl AcquireContext {
    /// A context for one operation.
    pub fn new(operation: &'static str) -> Self {
        Self {
            operation,
            caller: None,
        }
    }

    /// The same context on behalf of `caller`.
    pub fn with_caller(self, caller: Option<&'static str>) -> Self {
        Self { caller, ..self }
    }
}

/// Admission control in front of every API request.
///
/// [`RateLimiter`] is the default implementation (a priority queue in front of a token
/// bucket). Another implementation can wrap it, decide *who* goes next, and delegate to the
/// inner [`RateLimiter`] for *when*.
pub trait Limiter: Send + Sync + fmt::Debug {
    /// Resolves when one request may be sent, or fails (typically with
    /// [`Error::RateLimited`]) when the request should not wait any longer; the caller then
    /// gets that error and can requeue instead of blocking.
    fn acquire<'a>(&'a self, ctx: &'a AcquireContext) -> BoxFuture<'a, Result<()>>;

    /// Called when the server answered 429, so every sharer slows down.
    fn on_rate_limited(&self, _retry_after: Option<Duration>) {}
}

/// The order in which waiting requests are served (`High` first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    /// Served before every `Normal` waiter.
    High,
    /// Everything else.
    Normal,
}

/// Budget settings: a steady rate per minute, a burst, how long a request may wait, and which
/// callers go first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests per minute (PlanetScale documents 600).
    pub per_minute: NonZeroU32,
    /// Requests that may be sent back to back after an idle period.
    pub burst: NonZeroU32,
    /// Longest time one request waits for the budget (including a pause after a 429) before
    /// it fails with [`Error::RateLimited`] (code [`CLIENT_THROTTLED`]).
    pub max_wait: Duration,
    /// Callers ([`AcquireContext::caller`]) served with [`Priority::High`].
    pub high_priority_callers: &'static [&'static str],
    /// Start with an empty bucket instead of a full burst: the first request waits one
    /// interval (60 / `per_minute` seconds). A process that restarts cannot know what its
    /// predecessor spent, so a crash loop must not add a burst per restart.
    pub start_empty: bool,
}

impl Default for RateLimit {
    /// 600 requests per minute with a burst of 10; wait at most 30 s; the deploy-request
    /// controller first.
    fn default() -> Self {
        Self::per_minute(600, 10)
    }
}

impl RateLimit {
    /// A budget of `per_minute` with a burst of `burst` (0 is treated as 1), waiting at most
    /// 30 s, with [`DEFAULT_HIGH_PRIORITY_CALLERS`] first.
    pub fn per_minute(per_minute: u32, burst: u32) -> Self {
        let one = NonZeroU32::MIN;
        Self {
            per_minute: NonZeroU32::new(per_minute).unwrap_or(one),
            burst: NonZeroU32::new(burst).unwrap_or(one),
            max_wait: Duration::from_secs(30),
            high_priority_callers: DEFAULT_HIGH_PRIORITY_CALLERS,
            start_empty: false,
        }
    }

    /// The same budget, starting with an empty bucket (see [`RateLimit::start_empty`]).
    pub fn starting_empty(self) -> Self {
        Self {
            start_empty: true,
            ..self
        }
    }

    /// The same budget with another `max_wait`.
    pub fn with_max_wait(self, max_wait: Duration) -> Self {
        Self { max_wait, ..self }
    }

    /// The same budget with other high-priority callers (`&[]`: everyone is served in arrival
    /// order).
    pub fn with_high_priority_callers(self, callers: &'static [&'static str]) -> Self {
        Self {
            high_priority_callers: callers,
            ..self
        }
    }

    /// The priority of a request made by `caller`.
    pub fn priority(&self, caller: Option<&str>) -> Priority {
        match caller {
            Some(c) if self.high_priority_callers.contains(&c) => Priority::High,
            _ => Priority::Normal,
        }
    }

    /// The steady time between two tokens.
    fn interval(&self) -> Duration {
        Duration::from_secs(60) / self.per_minute.get()
    }
}

/// A GCRA token bucket (governor), a shared pause after 429 responses, and the queue of
/// waiters in front of them (see the module docs).
///
/// Share one `Arc<RateLimiter>` between all clients that use the same credentials.
pub struct RateLimiter {
    config: RateLimit,
    bucket: DefaultDirectRateLimiter,
    paused_until: Mutex<Option<Instant>>,
    queue: Mutex<Queue>,
}

/// The waiters, in serving order: priority, then arrival.
#[derive(Default)]
struct Queue {
    next: u64,
    waiters: BTreeMap<(Priority, u64), Arc<Notify>>,
}

impl Queue {
    fn head(&self) -> Option<&(Priority, u64)> {
        self.waiters.keys().next()
    }

    /// Tells the head that it is its turn (a permit is kept if it is not listening yet).
    fn wake_head(&self) {
        if let Some(notify) = self.waiters.values().next() {
            notify.notify_one();
        }
    }
}

impl fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimiter")
            .field("config", &self.config)
            .field("queued", &self.queued())
            .finish_non_exhaustive()
    }
}

/// One place in the line; leaving it (on success, failure or cancellation) hands the head
/// position on.
struct Place<'a> {
    limiter: &'a RateLimiter,
    key: (Priority, u64),
}

impl Drop for Place<'_> {
    fn drop(&mut self) {
        let mut queue = self.limiter.queue();
        let was_head = queue.head() == Some(&self.key);
        queue.waiters.remove(&self.key);
        if was_head {
            queue.wake_head();
        }
    }
}

impl RateLimiter {
    /// A new shared limiter.
    pub fn new(config: RateLimit) -> Arc<Self> {
        let quota = Quota::per_minute(config.per_minute).allow_burst(config.burst);
        let bucket = DefaultDirectRateLimiter::direct(quota);
        if config.start_empty {
            // The burst never exceeds the bucket's capacity, so this takes all of it.
            let _ = bucket.check_n(config.burst);
        }
        Arc::new(Self {
            config,
            bucket,
            paused_until: Mutex::new(None),
            queue: Mutex::default(),
        })
    }

    /// The configured budget.
    pub fn config(&self) -> RateLimit {
        self.config
    }

    /// How many requests are waiting in line.
    pub fn queued(&self) -> usize {
        self.queue().waiters.len()
    }

    /// Takes one token if available now, ignoring the line; otherwise returns how long to
    /// wait.
    pub fn try_acquire(&self) -> Result<(), Duration> {
        if let Some(wait) = self.pause_remaining() {
            return Err(wait);
        }
        self.bucket
            .check()
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }

    /// Waits in line with [`Priority::Normal`] (see [`RateLimiter::acquire_as`]).
    pub async fn acquire(&self) -> Result<()> {
        self.acquire_as(Priority::Normal).await
    }

    /// Waits in line with `priority` for one token (and for any pause after a 429), at most
    /// `max_wait` in total; fails at once when the wait is expected to be longer.
    pub async fn acquire_as(&self, priority: Priority) -> Result<()> {
        let deadline = Instant::now() + self.config.max_wait;
        let (place, notify) = {
            let mut queue = self.queue();
            let expected = if queue.waiters.is_empty() {
                match self.try_acquire() {
                    Ok(()) => return Ok(()),
                    Err(wait) => wait,
                }
            } else {
                // The head waits for a token: at most one interval, then one per waiter.
                let ahead = queue.waiters.range(..(priority, queue.next)).count();
                let turns = u32::try_from(ahead + 1).unwrap_or(u32::MAX);
                let pause = self.pause_remaining().unwrap_or_default();
                pause.saturating_add(self.config.interval().saturating_mul(turns))
            };
            if expected > self.config.max_wait {
                return Err(throttled(expected));
            }
            let key = (priority, queue.next);
            queue.next += 1;
            let notify = Arc::new(Notify::new());
            queue.waiters.insert(key, notify.clone());
            (Place { limiter: self, key }, notify)
        };
        loop {
            let is_head = self.queue().head() == Some(&place.key);
            if !is_head {
                // Woken when it becomes the head (or by a stale permit: look again).
                if tokio::time::timeout_at(deadline, notify.notified())
                    .await
                    .is_err()
                {
                    let queued = u32::try_from(self.queued()).unwrap_or(u32::MAX);
                    return Err(throttled(self.config.interval().saturating_mul(queued)));
                }
                continue;
            }
            let wait = match self.try_acquire() {
                // `place` is dropped on return: the next waiter becomes the head.
                Ok(()) => return Ok(()),
                Err(wait) => wait,
            };
            if Instant::now() + wait > deadline {
                return Err(throttled(wait));
            }
            // A waiter of higher priority may take the head meanwhile; it hands it back.
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = notify.notified() => {}
            }
        }
    }

    /// Makes every sharer wait `duration` before the next request.
    pub fn pause_for(&self, duration: Duration) {
        let until = Instant::now() + duration;
        let mut paused = self
            .paused_until
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if paused.is_none_or(|current| current < until) {
            *paused = Some(until);
        }
    }

    fn pause_remaining(&self) -> Option<Duration> {
        let paused = self
            .paused_until
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let remaining = (*paused)?.saturating_duration_since(Instant::now());
        (!remaining.is_zero()).then_some(remaining)
    }

    fn queue(&self) -> MutexGuard<'_, Queue> {
        self.queue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Ends a pause at once and wakes the head (tests hold the line with a pause).
    #[cfg(test)]
    fn unpause(&self) {
        *self
            .paused_until
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = None;
        self.queue().wake_head();
    }
}

impl Limiter for RateLimiter {
    fn acquire<'a>(&'a self, ctx: &'a AcquireContext) -> BoxFuture<'a, Result<()>> {
        Box::pin(self.acquire_as(self.config.priority(ctx.caller)))
    }

    fn on_rate_limited(&self, retry_after: Option<Duration>) {
        self.pause_for(retry_after.unwrap_or(DEFAULT_429_PAUSE));
    }
}

/// The error of a request that would wait too long.
fn throttled(retry_after: Duration) -> Error {
    Error::RateLimited {
        retry_after: Some(retry_after),
        code: CLIENT_THROTTLED.into(),
        message: "the shared request budget is exhausted; try again later".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_is_available_at_once_then_the_bucket_is_empty() {
        let limiter = RateLimiter::new(RateLimit::per_minute(60, 3));
        for _ in 0..3 {
            assert!(limiter.try_acquire().is_ok());
        }
        let wait = limiter.try_acquire().unwrap_err();
        assert!(
            wait > Duration::from_millis(500) && wait <= Duration::from_secs(1),
            "{wait:?}"
        );
    }

    #[test]
    fn a_limiter_starting_empty_spends_no_burst_at_start() {
        let limiter = RateLimiter::new(RateLimit::per_minute(60, 3).starting_empty());
        let wait = limiter.try_acquire().unwrap_err();
        assert!(
            wait > Duration::from_millis(500) && wait <= Duration::from_secs(1),
            "{wait:?}"
        );
    }

    #[tokio::test]
    async fn a_429_pauses_every_sharer() {
        let limiter = RateLimiter::new(RateLimit::per_minute(6000, 100));
        Limiter::on_rate_limited(&*limiter, Some(Duration::from_secs(30)));
        let wait = limiter.try_acquire().unwrap_err();
        assert!(wait > Duration::from_secs(29), "{wait:?}");
        // A shorter pause never shortens a longer one.
        limiter.pause_for(Duration::from_secs(1));
        assert!(limiter.try_acquire().unwrap_err() > Duration::from_secs(29));
    }

    #[tokio::test]
    async fn a_wait_longer_than_max_wait_fails_fast() {
        let limit = RateLimit::per_minute(6000, 100).with_max_wait(Duration::from_secs(5));
        let limiter = RateLimiter::new(limit);
        limiter.pause_for(Duration::from_secs(60));
        let started = std::time::Instant::now();
        let err = limiter.acquire().await.unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(1));
        assert_eq!(err.code(), Some(CLIENT_THROTTLED));
        assert!(err.retry_after().unwrap() > Duration::from_secs(59));
    }

    /// A limiter that grants a token every millisecond once unpaused, held by a long pause.
    fn held() -> Arc<RateLimiter> {
        let limit = RateLimit::per_minute(60_000, 1).with_max_wait(Duration::from_secs(60));
        let limiter = RateLimiter::new(limit);
        limiter.pause_for(Duration::from_secs(30));
        limiter
    }

    /// Polls until `n` requests wait in line.
    async fn until_queued(limiter: &RateLimiter, n: usize) {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while limiter.queued() != n {
            assert!(
                std::time::Instant::now() < deadline,
                "{} queued, expected {n}",
                limiter.queued()
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    type Served = Arc<Mutex<Vec<usize>>>;

    /// A task that waits with `priority` and records `id` once served.
    fn waiter(
        limiter: &Arc<RateLimiter>,
        served: &Served,
        priority: Priority,
        id: usize,
    ) -> tokio::task::JoinHandle<()> {
        let (limiter, served) = (limiter.clone(), served.clone());
        tokio::spawn(async move {
            limiter.acquire_as(priority).await.expect("served");
            served.lock().unwrap().push(id);
        })
    }

    #[tokio::test]
    async fn a_high_priority_request_is_served_before_a_hundred_queued_ones_in_arrival_order() {
        let (limiter, served) = (held(), Served::default());
        let mut tasks: Vec<_> = (0..100)
            .map(|i| waiter(&limiter, &served, Priority::Normal, i))
            .collect();
        until_queued(&limiter, 100).await;
        tasks.push(waiter(&limiter, &served, Priority::High, 1000));
        until_queued(&limiter, 101).await;
        limiter.unpause();
        for task in tasks {
            tokio::time::timeout(Duration::from_secs(10), task)
                .await
                .expect("every waiter is served")
                .unwrap();
        }
        let served = served.lock().unwrap().clone();
        let expected: Vec<usize> = std::iter::once(1000).chain(0..100).collect();
        assert_eq!(served, expected);
        assert_eq!(limiter.queued(), 0);
    }

    #[tokio::test]
    async fn cancelled_waiters_leave_the_line_without_stalling_it() {
        let (limiter, served) = (held(), Served::default());
        let tasks: Vec<_> = (0..4)
            .map(|i| waiter(&limiter, &served, Priority::Normal, i))
            .collect();
        until_queued(&limiter, 4).await;
        // The head (sleeping on the pause) and one behind it are cancelled.
        tasks[0].abort();
        tasks[2].abort();
        until_queued(&limiter, 2).await;
        limiter.unpause();
        let [_, one, _, three] = <[_; 4]>::try_from(tasks).unwrap();
        for task in [one, three] {
            tokio::time::timeout(Duration::from_secs(5), task)
                .await
                .expect("the rest are served at once")
                .unwrap();
        }
        assert_eq!(*served.lock().unwrap(), [1, 3]);
        // No token was lost: the bucket (burst 1) refills and serves the next one at once.
        tokio::time::timeout(Duration::from_secs(1), limiter.acquire())
            .await
            .expect("not stalled")
            .unwrap();
    }

    #[tokio::test]
    async fn a_queued_request_that_would_wait_too_long_fails_at_once() {
        // One token per second: the 3rd waiter in line would wait about 3 s.
        let limit = RateLimit::per_minute(60, 1).with_max_wait(Duration::from_millis(2500));
        let limiter = RateLimiter::new(limit);
        limiter.acquire().await.unwrap();
        let served = Served::default();
        let _first = waiter(&limiter, &served, Priority::Normal, 0);
        let _second = waiter(&limiter, &served, Priority::Normal, 1);
        until_queued(&limiter, 2).await;
        let started = std::time::Instant::now();
        let err = limiter.acquire().await.unwrap_err();
        assert!(started.elapsed() < Duration::from_millis(100));
        assert_eq!(err.code(), Some(CLIENT_THROTTLED));
        // A high-priority request has nobody ahead of it and waits.
        let high = limiter.acquire_as(Priority::High);
        tokio::time::timeout(Duration::from_secs(2), high)
            .await
            .expect("served within the interval")
            .unwrap();
    }

    #[test]
    fn the_deploy_request_controller_goes_first_by_default() {
        let limit = RateLimit::default();
        assert_eq!(
            limit.priority(Some("deploy-request-controller")),
            Priority::High
        );
        for other in [Some("branch-controller"), Some("password-controller"), None] {
            assert_eq!(limit.priority(other), Priority::Normal, "{other:?}");
        }
        let flat = limit.with_high_priority_callers(&[]);
        assert_eq!(
            flat.priority(Some("deploy-request-controller")),
            Priority::Normal
        );
        assert!(Priority::High < Priority::Normal);
    }

    #[test]
    fn zero_settings_are_clamped() {
        let limit = RateLimit::per_minute(0, 0);
        assert_eq!((limit.per_minute.get(), limit.burst.get()), (1, 1));
        assert_eq!(RateLimit::default(), RateLimit::per_minute(600, 10));
    }
}
