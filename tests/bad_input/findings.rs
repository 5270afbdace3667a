//! Expectations that do not stop the test: each wait or check records what went wrong, and
//! the test fails at the end with every finding, so one run shows the whole picture.
use std::fmt::Debug;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Event;
use kube::api::ListParams;
use kube::{Api, Client, Resource};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::common::{PROMPT, SLOW, SLOW_RETRY, condition, is_ready};
use crate::support::Emulator;

/// The window over which API calls are counted.
pub const WINDOW: Duration = Duration::from_secs(60);
/// The longest fixed poll of a resource waiting on bad input (a password or a deploy request
/// waiting for its branch, a pending branch).
const FIXED_POLL: Duration = Duration::from_secs(30);
/// Most API calls one look of a waiting resource makes: it reads its target (branch,
/// database), what it may have created before, and tries the call that was refused.
const CALLS_PER_LOOK: u64 = 5;
/// Most API calls per minute a resource waiting on bad input may make: it looks again at
/// most every [`FIXED_POLL`] or every [`SLOW_RETRY`], whichever is sooner (10 with the
/// suite's 30 s retry). A hot loop (a retry every second or so) makes hundreds.
pub const MAX_CALLS_PER_MINUTE: u64 = CALLS_PER_LOOK * 60 / fastest_look().as_secs();

const fn fastest_look() -> Duration {
    if SLOW_RETRY.as_secs() < FIXED_POLL.as_secs() {
        SLOW_RETRY
    } else {
        FIXED_POLL
    }
}

/// What went wrong in one test.
pub struct Findings {
    test: &'static str,
    failures: Vec<String>,
}

impl Findings {
    pub fn new(test: &'static str) -> Self {
        Self {
            test,
            failures: Vec::new(),
        }
    }

    /// Records `Err`; passes `Ok` on.
    pub fn check<T>(&mut self, r: Result<T, String>) -> Option<T> {
        r.map_err(|e| self.failures.push(e)).ok()
    }

    /// Records `what` unless `ok`.
    pub fn expect(&mut self, ok: bool, what: impl Into<String>) {
        if !ok {
            self.failures.push(what.into());
        }
    }

    /// Fails the test with every finding.
    pub fn finish(self) {
        let n = self.failures.len();
        let list: Vec<String> = self.failures.iter().map(|f| format!("- {f}")).collect();
        assert!(n == 0, "{}: {n} findings\n{}", self.test, list.join("\n"));
    }
}

/// Polls until `cond` holds, for at most `timeout`; on timeout says what the object's
/// `Ready` condition and events were.
pub async fn until<K>(
    api: &Api<K>,
    name: &str,
    timeout: Duration,
    what: &str,
    cond: impl Fn(&K) -> bool,
) -> Result<K, String>
where
    K: Resource + Clone + Debug + Serialize + DeserializeOwned,
{
    let deadline = Instant::now() + timeout;
    loop {
        let obj = api
            .get_opt(name)
            .await
            .map_err(|e| format!("get {name}: {e}"))?;
        match obj {
            Some(o) if cond(&o) => return Ok(o),
            Some(o) if Instant::now() >= deadline => {
                return Err(format!(
                    "{name}: not {what} after {timeout:?}; Ready is {:?}",
                    condition(&o, "Ready")
                ));
            }
            None if Instant::now() >= deadline => return Err(format!("{name}: absent")),
            _ => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    }
}

/// `Ready=False` with `reason` within [`PROMPT`]; returns the message.
pub async fn reason<K>(api: &Api<K>, name: &str, reason: &str) -> Result<String, String>
where
    K: Resource + Clone + Debug + Serialize + DeserializeOwned,
{
    let what = format!("Ready=False reason {reason}");
    let o = until(api, name, PROMPT, &what, |o| {
        condition(o, "Ready").is_some_and(|c| c.0 == "False" && c.1 == reason)
    })
    .await?;
    Ok(condition(&o, "Ready").expect("Ready").2)
}

/// Ready within `expected`; when later (up to [`SLOW`]) or never, says so.
pub async fn recovers<K>(api: &Api<K>, name: &str, expected: Duration) -> Result<K, String>
where
    K: Resource + Clone + Debug + Serialize + DeserializeOwned,
{
    let started = Instant::now();
    let o = until(api, name, expected.max(SLOW), "Ready", is_ready).await?;
    let took = started.elapsed();
    if took > expected {
        return Err(format!(
            "{name}: Ready only after {took:.0?} (slow retry), expected within {expected:?} of the fix"
        ));
    }
    Ok(o)
}

/// An event with `reason` about `name` within [`PROMPT`]; returns its message.
pub async fn event(client: &Client, ns: &str, name: &str, reason: &str) -> Result<String, String> {
    let api: Api<Event> = Api::namespaced(client.clone(), ns);
    let lp = ListParams::default().fields(&format!("involvedObject.name={name}"));
    let deadline = Instant::now() + PROMPT;
    loop {
        let list = api
            .list(&lp)
            .await
            .map_err(|e| format!("list events: {e}"))?;
        if let Some(e) = list
            .items
            .iter()
            .find(|e| e.reason.as_deref() == Some(reason))
        {
            return Ok(e.message.clone().unwrap_or_default());
        }
        if Instant::now() >= deadline {
            let seen: Vec<_> = list.items.iter().filter_map(|e| e.reason.clone()).collect();
            return Err(format!(
                "{name}: no {reason} event within {PROMPT:?}; events {seen:?}"
            ));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// At most [`MAX_CALLS_PER_MINUTE`] per waiting resource, counted by the emulator over
/// [`WINDOW`] (an observation window, not a wait for something to happen).
pub async fn calls_bounded(emu: &Emulator, resources: u64, what: &str) -> Result<u64, String> {
    let before = emu.stats().await;
    let started = Instant::now();
    tokio::time::sleep(WINDOW).await;
    let after = emu.stats().await;
    let minutes = started.elapsed().as_secs_f64() / 60.0;
    let n = after["total"].as_u64().unwrap_or(0) - before["total"].as_u64().unwrap_or(0);
    let per_minute = (n as f64 / minutes).ceil() as u64;
    let bound = MAX_CALLS_PER_MINUTE * resources;
    println!("{what}: {per_minute} API calls per minute for {resources} resources (bound {bound})");
    if per_minute > bound {
        return Err(format!(
            "{what}: {per_minute} API calls per minute > {bound}; before {before}, after {after}"
        ));
    }
    Ok(per_minute)
}
