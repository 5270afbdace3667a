//! What to do next for one `PlanetScalePassword`, decided from what was observed. Pure: no
//! Kubernetes or PlanetScale calls, so every case is unit-tested (`plan_tests.rs`).
//!
//! The order of [`plan`] is the order of urgency: finish an interrupted create first, never
//! touch a Secret we do not own, replace a password that no longer works, heal the Secret,
//! rotate when asked or due, renew at half the TTL, then keep the CIDRs in line.
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::crd::password::{PasswordRole, PendingDeletion, PlanetScalePasswordStatus};
use crate::crd::password_name;

/// What the spec asks for, parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct Desired {
    pub role: PasswordRole,
    /// `spec.ttl`; `None`: no expiry.
    pub ttl: Option<Duration>,
    pub replica: bool,
    /// `spec.cidrs`, sorted; `None`: any address.
    pub cidrs: Option<Vec<String>>,
    /// `rotation.interval`.
    pub interval: Option<Duration>,
    /// `rotation.gracePeriod`.
    pub grace: Duration,
    /// The value of the rotate annotation, when set.
    pub rotate_request: Option<String>,
    /// The Secret's name (`secret.name` or the resource's name).
    pub secret_name: String,
}

/// The Secret as far as planning cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretState {
    /// No Secret of that name.
    Missing,
    /// A Secret that is not ours, and the policy is not `Merge`.
    Foreign,
    /// Ours (or `Merge`): whether it holds the current password's credentials.
    Ours(Creds),
}

/// The credential keys of our Secret compared with the current password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Creds {
    /// `username` or `password` is missing, empty or not text.
    Absent,
    /// They are there but are not the current password's (edited, or another password's).
    Mismatch,
    /// They are the current password's.
    Match,
}

/// The current password (`status.passwordId`) in PlanetScale.
#[derive(Debug, Clone, PartialEq)]
pub enum Live {
    /// No current password recorded.
    None,
    /// Recorded, but PlanetScale no longer has it (404).
    Gone,
    /// Recorded and found.
    Found(LiveView),
}

/// What PlanetScale says about the current password.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LiveView {
    pub role: Option<PasswordRole>,
    pub replica: bool,
    /// Sorted; `None`: any address.
    pub cidrs: Option<Vec<String>>,
    /// 0 or `None`: does not expire.
    pub ttl_seconds: Option<u64>,
    pub expires_at: Option<DateTime<Utc>>,
    pub expired: bool,
    pub created_at: Option<DateTime<Utc>>,
}

/// Everything [`plan`] looks at.
#[derive(Debug, Clone)]
pub struct Observed<'a> {
    /// PlanetScale's current time.
    pub now: DateTime<Utc>,
    pub uid: &'a str,
    pub status: &'a PlanetScalePasswordStatus,
    pub desired: &'a Desired,
    pub secret: SecretState,
    pub live: Live,
    /// A renewal was just refused (this reconcile).
    pub renew_refused: bool,
    /// The CIDRs were already set once this reconcile (so a server that reports them
    /// differently does not make us set them again and again).
    pub cidrs_patched: bool,
}

/// Why a new password is minted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// The first password of the resource.
    Initial,
    /// A create that was interrupted (crash, lost response) is finished.
    Resume,
    /// `rotation.interval` elapsed.
    Scheduled,
    /// The rotate annotation has a new value.
    Requested,
    /// The Secret was deleted or lost its credential keys.
    SecretMissing,
    /// The Secret's credential keys were changed.
    SecretEdited,
    /// `secret.name` changed.
    SecretRenamed,
    /// The password was deleted in PlanetScale.
    Gone,
    /// The password expired.
    Expired,
    /// PlanetScale refused to renew it.
    RenewRefused,
    /// The role, replica or TTL changed (PlanetScale cannot change them on a password).
    SpecChanged,
}

impl Cause {
    /// Whether the replaced password no longer works, so it is deleted at once instead of
    /// after the grace period.
    pub fn old_is_dead(self) -> bool {
        matches!(self, Cause::Gone | Cause::Expired)
    }
}

/// The next thing to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The Secret belongs to someone else: change nothing, report `SecretConflict`.
    Conflict,
    /// Create password number `counter` (crash-safely) and switch the Secret to it.
    Mint { counter: i64, cause: Cause },
    /// Extend the current password's expiry.
    Renew,
    /// Set the current password's CIDRs to the spec's.
    UpdateCidrs,
    /// Nothing to change in PlanetScale.
    Idle,
}

/// The counter of a create that started but was not recorded yet, if any: the status holds
/// the counter before the create, and the password's name only after it.
pub fn in_flight(status: &PlanetScalePasswordStatus, uid: &str) -> Option<i64> {
    let expected = password_name(uid, status.rotation);
    (status.rotation > 0 && status.password_name.as_deref() != Some(expected.as_str()))
        .then_some(status.rotation)
}

/// Decides the next step.
pub fn plan(o: &Observed<'_>) -> Step {
    if let Some(counter) = in_flight(o.status, o.uid) {
        if o.secret == SecretState::Foreign {
            return Step::Conflict;
        }
        return Step::Mint {
            counter,
            cause: Cause::Resume,
        };
    }
    if o.secret == SecretState::Foreign {
        return Step::Conflict;
    }
    let mint = |cause| Step::Mint {
        counter: o.status.rotation + 1,
        cause,
    };
    let live = match &o.live {
        Live::None => return mint(Cause::Initial),
        Live::Gone => return mint(Cause::Gone),
        Live::Found(live) => live,
    };
    if let Some(cause) = replacement(o, live)
        .or_else(|| heal(o))
        .or_else(|| rotation(o, live))
    {
        return mint(cause);
    }
    if renew_due(live, o.now) {
        return Step::Renew;
    }
    if live.cidrs != o.desired.cidrs && !o.cidrs_patched {
        return Step::UpdateCidrs;
    }
    Step::Idle
}

fn replacement(o: &Observed<'_>, live: &LiveView) -> Option<Cause> {
    if live.expired || live.expires_at.is_some_and(|e| e <= o.now) {
        return Some(Cause::Expired);
    }
    if o.renew_refused {
        return Some(Cause::RenewRefused);
    }
    let ttl = live.ttl_seconds.filter(|t| *t > 0);
    let want_ttl = o.desired.ttl.map(|t| t.as_secs()).filter(|t| *t > 0);
    let changed = live.role.is_some_and(|r| r != o.desired.role)
        || live.replica != o.desired.replica
        || ttl != want_ttl;
    changed.then_some(Cause::SpecChanged)
}

fn heal(o: &Observed<'_>) -> Option<Cause> {
    let renamed = o
        .status
        .secret_name
        .as_ref()
        .is_some_and(|n| *n != o.desired.secret_name);
    match o.secret {
        _ if renamed => Some(Cause::SecretRenamed),
        SecretState::Missing | SecretState::Ours(Creds::Absent) => Some(Cause::SecretMissing),
        SecretState::Ours(Creds::Mismatch) => Some(Cause::SecretEdited),
        SecretState::Ours(Creds::Match) | SecretState::Foreign => None,
    }
}

fn rotation(o: &Observed<'_>, live: &LiveView) -> Option<Cause> {
    if o.desired.rotate_request.is_some()
        && o.desired.rotate_request != o.status.last_rotate_request
    {
        return Some(Cause::Requested);
    }
    let due = next_rotation_at(rotated_at(o.status, live), o.desired.interval);
    due.is_some_and(|due| due <= o.now)
        .then_some(Cause::Scheduled)
}

/// When the current password was created: PlanetScale's `created_at`, else the status.
pub fn rotated_at(status: &PlanetScalePasswordStatus, live: &LiveView) -> Option<DateTime<Utc>> {
    live.created_at
        .or_else(|| status.last_rotated_at.as_ref().map(crate::time::from_time))
}

/// When the next scheduled rotation is due.
pub fn next_rotation_at(
    rotated_at: Option<DateTime<Utc>>,
    interval: Option<Duration>,
) -> Option<DateTime<Utc>> {
    Some(crate::time::after(rotated_at?, interval?))
}

/// When a password with `ttl_seconds` that expires at `expires_at` is renewed: half-way.
pub fn renew_at(live: &LiveView) -> Option<DateTime<Utc>> {
    let ttl = live.ttl_seconds.filter(|t| *t > 0)?;
    let expires = live.expires_at?;
    Some(expires - chrono::Duration::seconds(i64::try_from(ttl / 2).unwrap_or(i64::MAX / 2)))
}

fn renew_due(live: &LiveView, now: DateTime<Utc>) -> bool {
    renew_at(live).is_some_and(|at| at <= now)
}

/// When a password replaced for `cause` at `now` is deleted.
pub fn delete_after(cause: Cause, now: DateTime<Utc>, grace: Duration) -> DateTime<Utc> {
    if cause.old_is_dead() {
        now
    } else {
        crate::time::after(now, grace)
    }
}

/// The pending deletions whose grace period is over.
pub fn due_deletions(pending: &[PendingDeletion], now: DateTime<Utc>) -> Vec<PendingDeletion> {
    pending
        .iter()
        .filter(|p| crate::time::from_time(&p.delete_after) <= now)
        .cloned()
        .collect()
}

/// The earliest future moment something is due (renewal, rotation, a deletion), to requeue
/// for it.
pub fn next_deadline(o: &Observed<'_>) -> Option<DateTime<Utc>> {
    let Live::Found(live) = &o.live else {
        return None;
    };
    let rotation = next_rotation_at(rotated_at(o.status, live), o.desired.interval);
    let deletions = o
        .status
        .pending_deletions
        .iter()
        .map(|p| crate::time::from_time(&p.delete_after));
    [renew_at(live), rotation, live.expires_at]
        .into_iter()
        .flatten()
        .chain(deletions)
        .filter(|t| *t > o.now)
        .min()
}
