//! The events: every [`TICK`] the world is advanced (as a request would) and compared with
//! the previous tick. Changes are events of the state machines' own transitions: a branch
//! turning ready, a deploy request opened, queued, started, waiting for its cutover, applied,
//! failed, reverted or closed. When the clock jumps over several transitions of one deploy
//! request, only its latest state is seen (PlanetScale's order of deliveries is not
//! documented either).

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use tokio::sync::watch;

use super::Event;
use crate::app::App;
use crate::model::{DeployState, World};
use crate::views::V;

/// How often the world is looked at.
const TICK: Duration = Duration::from_millis(100);

/// What the last look saw: branch id → ready; deploy request id → (open, deployment state).
#[derive(Default)]
pub struct Seen {
    started: bool,
    branches: HashMap<String, bool>,
    drs: HashMap<String, (bool, DeployState)>,
}

/// Starts the watcher; it (and the delivery workers) end with `shutdown`.
pub fn spawn(app: App, mut shutdown: watch::Receiver<bool>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    let ctx = app.lock();
                    app.hooks.look(&app, &ctx.world, &ctx.view(app.base_url()), false);
                }
                _ = shutdown.changed() => break,
            }
        }
        app.hooks.close();
    });
}

/// Compares `w` with `seen` and returns the events of the hooked databases (none on the
/// first look, which only records).
pub fn scan(w: &World, v: &V<'_>, seen: &mut Seen) -> Vec<Event> {
    let hooked: HashSet<&str> = w
        .webhooks
        .iter()
        .filter(|h| h.enabled)
        .map(|h| h.db_id.as_str())
        .collect();
    let mut events = Vec::new();
    let mut branches = HashMap::with_capacity(w.branches.len());
    for b in &w.branches {
        let ready = b.ready_at <= v.now;
        let before = seen.branches.get(&b.id).copied();
        if seen.started && ready && before != Some(true) && hooked.contains(b.db_id.as_str()) {
            events.extend(Event::new(w, &b.db_id, "branch.ready", &v.branch(b)));
        }
        branches.insert(b.id.clone(), ready);
    }
    let mut drs = HashMap::with_capacity(w.deploy_requests.len());
    for r in &w.deploy_requests {
        let now = (r.is_open(), r.deployment.state);
        let before = seen.drs.get(&r.id).copied();
        if seen.started && hooked.contains(r.db_id.as_str()) {
            for name in dr_events(before, now) {
                events.extend(Event::new(w, &r.db_id, name, &v.deploy_request(r)));
            }
        }
        drs.insert(r.id.clone(), now);
    }
    *seen = Seen {
        started: true,
        branches,
        drs,
    };
    events
}

/// The events of a deploy request that was `before` (open, deployment state) and is `now`.
fn dr_events(before: Option<(bool, DeployState)>, now: (bool, DeployState)) -> Vec<&'static str> {
    use DeployState::*;
    let mut out = Vec::new();
    if before.is_none() && now.0 {
        out.push("deploy_request.opened");
    }
    let was = before.map(|b| b.1);
    if was != Some(now.1) {
        // A deploy that starts at once (its queue free) passes `queued` within one request.
        let idle = was.is_none_or(|w| {
            !w.running()
                && !matches!(
                    w,
                    Queued
                        | Complete
                        | CompletePendingRevert
                        | CompleteError
                        | CompleteRevert
                        | CompleteRevertError
                )
        });
        if idle && now.1 != Queued && (now.1.running() || now.1 == CompletePendingRevert) {
            out.push("deploy_request.queued");
        }
        let name = match now.1 {
            Queued => Some("deploy_request.queued"),
            InProgress => Some("deploy_request.in_progress"),
            PendingCutover => Some("deploy_request.pending_cutover"),
            CompletePendingRevert => Some("deploy_request.schema_applied"),
            Complete if was != Some(CompletePendingRevert) => Some("deploy_request.schema_applied"),
            Error | CompleteError => Some("deploy_request.errored"),
            CompleteRevert => Some("deploy_request.reverted"),
            _ => None,
        };
        out.extend(name.filter(|_| before.is_some() || now.1 != Pending));
    }
    if before.is_some_and(|b| b.0) && !now.0 {
        out.push("deploy_request.closed");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use DeployState::*;

    type Case = (
        Option<(bool, DeployState)>,
        (bool, DeployState),
        &'static [&'static str],
    );

    #[test]
    fn each_documented_transition_is_one_event() {
        let cases: &[Case] = &[
            (None, (true, Pending), &["deploy_request.opened"]),
            (Some((true, Pending)), (true, Ready), &[]),
            (
                Some((true, Ready)),
                (true, Queued),
                &["deploy_request.queued"],
            ),
            (
                Some((true, Ready)),
                (true, Submitting),
                &["deploy_request.queued"],
            ),
            (
                Some((true, Queued)),
                (true, InProgress),
                &["deploy_request.in_progress"],
            ),
            (Some((true, Queued)), (true, Submitting), &[]),
            (
                Some((true, Submitting)),
                (true, InProgress),
                &["deploy_request.in_progress"],
            ),
            (
                Some((true, InProgress)),
                (true, PendingCutover),
                &["deploy_request.pending_cutover"],
            ),
            (
                Some((true, InProgressCutover)),
                (true, CompletePendingRevert),
                &["deploy_request.schema_applied"],
            ),
            (Some((true, CompletePendingRevert)), (true, Complete), &[]),
            (
                Some((true, InProgressCutover)),
                (true, Complete),
                &["deploy_request.schema_applied"],
            ),
            (
                Some((true, InProgress)),
                (true, CompleteError),
                &["deploy_request.errored"],
            ),
            (
                Some((true, InProgressRevert)),
                (true, CompleteRevert),
                &["deploy_request.reverted"],
            ),
            (
                Some((true, Ready)),
                (false, Ready),
                &["deploy_request.closed"],
            ),
            (Some((true, InProgress)), (true, InProgress), &[]),
        ];
        for (before, now, want) in cases {
            assert_eq!(&dr_events(*before, *now), want, "{before:?} → {now:?}");
        }
    }
}
