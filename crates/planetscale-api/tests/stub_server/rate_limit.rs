use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use planetscale_api::{AcquireContext, CLIENT_THROTTLED, Client, Limiter, RateLimit, RateLimiter};

use crate::support::{BRANCH_PATH, branch_json, builder, start};

const PER_MINUTE: u32 = 1200; // 20 per second
const BURST: u32 = 5;
const REQUESTS_PER_TASK: usize = 9;
const TASKS: usize = 5; // 45 requests: 5 from the burst, 40 at 20/s => at least 2 s

/// Runs `TASKS` tasks, alternating between the clients, each sending `REQUESTS_PER_TASK`.
async fn hammer(a: &Client, b: &Client) {
    let tasks: Vec<_> = (0..TASKS)
        .map(|i| {
            let client = if i % 2 == 0 { a.clone() } else { b.clone() };
            tokio::spawn(async move {
                for _ in 0..REQUESTS_PER_TASK {
                    client.get_branch("acme", "shop", "dev").await.unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
}

/// The largest number of arrivals within any one second.
fn busiest_second(times: &[Instant]) -> usize {
    let in_window = |start: &Instant| {
        times
            .iter()
            .filter(|t| **t >= *start && **t < *start + Duration::from_secs(1))
            .count()
    };
    times.iter().map(in_window).max().unwrap_or(0)
}

#[tokio::test]
async fn concurrent_callers_on_two_clients_share_one_budget() {
    let stub = start(Router::new().route(
        BRANCH_PATH,
        get(|| async { axum::Json(branch_json("dev")) }),
    ))
    .await;
    let limiter = RateLimiter::new(RateLimit::per_minute(PER_MINUTE, BURST));
    let a = builder(&stub)
        .rate_limiter(limiter.clone())
        .build()
        .unwrap();
    let b = builder(&stub).rate_limiter(limiter).build().unwrap();
    let started = Instant::now();
    hammer(&a, &b).await;
    let elapsed = started.elapsed();
    let total = TASKS * REQUESTS_PER_TASK;
    let seen = stub.log.all();
    assert_eq!(seen.len(), total);

    // The whole run cannot be faster than the budget allows.
    let minimum =
        Duration::from_secs_f64(f64::from(total as u32 - BURST) * 60.0 / f64::from(PER_MINUTE));
    assert!(
        elapsed >= minimum - Duration::from_millis(50),
        "{total} requests took {elapsed:?} (< {minimum:?})"
    );

    // No one-second window holds more than the rate plus the burst.
    let busiest = busiest_second(&seen.iter().map(|s| s.at).collect::<Vec<_>>());
    let allowed = (PER_MINUTE / 60 + BURST) as usize;
    assert!(
        busiest <= allowed,
        "{busiest} requests in one second (allowed {allowed})"
    );

    let throttled = a.metrics().snapshot().throttled_waits + b.metrics().snapshot().throttled_waits;
    assert!(
        throttled >= (total - BURST as usize) as u64 / 2,
        "only {throttled} throttled waits"
    );
}

#[tokio::test]
async fn a_caller_that_would_wait_too_long_gets_rate_limited_without_a_request() {
    let stub = start(Router::new().route(
        BRANCH_PATH,
        get(|| async { axum::Json(branch_json("dev")) }),
    ))
    .await;
    let limit = RateLimit::per_minute(60, 1).with_max_wait(Duration::from_millis(100));
    let client = builder(&stub).rate_limit(limit).build().unwrap();
    client.get_branch("acme", "shop", "dev").await.unwrap();
    let err = client.get_branch("acme", "shop", "dev").await.unwrap_err();
    assert_eq!(err.code(), Some(CLIENT_THROTTLED));
    assert!(err.is_transient());
    assert_eq!(stub.log.all().len(), 1);
}

/// A wrapper in front of the shared limiter, as a fair scheduler would be.
#[derive(Debug)]
struct Wrapper {
    inner: Arc<RateLimiter>,
    seen: Mutex<Vec<(Option<&'static str>, &'static str)>>,
}

impl Limiter for Wrapper {
    fn acquire<'a>(
        &'a self,
        ctx: &'a AcquireContext,
    ) -> BoxFuture<'a, planetscale_api::Result<()>> {
        self.seen.lock().unwrap().push((ctx.caller, ctx.operation));
        Box::pin(self.inner.acquire())
    }
}

#[tokio::test]
async fn a_wrapping_limiter_sees_the_caller_and_operation() {
    let stub = start(Router::new().route(
        BRANCH_PATH,
        get(|| async { axum::Json(branch_json("dev")) }),
    ))
    .await;
    let wrapper = Arc::new(Wrapper {
        inner: RateLimiter::new(RateLimit::default()),
        seen: Mutex::default(),
    });
    let client = builder(&stub).limiter(wrapper.clone()).build().unwrap();
    client.get_branch("acme", "shop", "dev").await.unwrap();
    client
        .with_caller("branch-controller")
        .get_branch("acme", "shop", "dev")
        .await
        .unwrap();
    let seen = wrapper.seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        [
            (None, "get_branch"),
            (Some("branch-controller"), "get_branch")
        ]
    );
}
