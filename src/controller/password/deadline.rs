//! When things come due for a password: its next rotation, renewal, expiry and the deletion
//! of the passwords it replaced. Pure; PlanetScale's clock is passed in.
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::plan::{Cause, Facts, Live, LiveView};
use crate::crd::password::{PendingDeletion, PlanetScalePasswordStatus};
use crate::time::{after, from_time};

/// When the current password was created: PlanetScale's `created_at`, else the status.
pub fn rotated_at(status: &PlanetScalePasswordStatus, live: &LiveView) -> Option<DateTime<Utc>> {
    live.created_at
        .or_else(|| status.last_rotated_at.as_ref().map(from_time))
}

/// When the next scheduled rotation is due.
pub fn next_rotation_at(
    rotated_at: Option<DateTime<Utc>>,
    interval: Option<Duration>,
) -> Option<DateTime<Utc>> {
    Some(after(rotated_at?, interval?))
}

/// When a password with `ttl_seconds` that expires at `expires_at` is renewed: half-way.
pub fn renew_at(live: &LiveView) -> Option<DateTime<Utc>> {
    let ttl = live.ttl_seconds.filter(|t| *t > 0)?;
    let expires = live.expires_at?;
    Some(expires - chrono::Duration::seconds(i64::try_from(ttl / 2).unwrap_or(i64::MAX / 2)))
}

pub fn renew_due(live: &LiveView, now: DateTime<Utc>) -> bool {
    renew_at(live).is_some_and(|at| at <= now)
}

/// When a password replaced for `cause` at `now` is deleted.
pub fn delete_after(cause: Cause, now: DateTime<Utc>, grace: Duration) -> DateTime<Utc> {
    if cause.old_is_dead() {
        now
    } else {
        after(now, grace)
    }
}

/// The pending deletions whose grace period is over.
pub fn due_deletions(pending: &[PendingDeletion], now: DateTime<Utc>) -> Vec<PendingDeletion> {
    pending
        .iter()
        .filter(|p| from_time(&p.delete_after) <= now)
        .cloned()
        .collect()
}

/// The earliest future moment something is due (renewal, rotation, a deletion), to requeue
/// for it.
pub fn next_deadline(o: &Facts<'_>) -> Option<DateTime<Utc>> {
    let Live::Found(live) = &o.live else {
        return None;
    };
    let rotation = next_rotation_at(rotated_at(o.status, live), o.desired.interval);
    let deletions = o
        .status
        .pending_deletions
        .iter()
        .map(|p| from_time(&p.delete_after));
    [renew_at(live), rotation, live.expires_at]
        .into_iter()
        .flatten()
        .chain(deletions)
        .filter(|t| *t > o.now)
        .min()
}
