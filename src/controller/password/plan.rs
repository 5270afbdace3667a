//! What to do next for one `PlanetScalePassword`, decided from what was observed. Pure: no
//! Kubernetes or PlanetScale calls, so every case is unit-tested (`plan_tests.rs`).
//!
//! The order of [`decide`] is the order of urgency: finish an interrupted create first, never
//! touch a Secret we do not own, replace a password that no longer works or was adopted (its
//! plaintext is unknowable), heal the Secret,
//! rotate when asked or due, renew at half the TTL, then keep the CIDRs in line.
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::deadline::{due_deletions, next_deadline, next_rotation_at, renew_due, rotated_at};
use kube::ResourceExt;

use super::observe::{Look, Observed};
use crate::connection::Engine;
use crate::controller::reconciler::Plan;
use crate::controller::target::Target;
use crate::crd::Claim;
use crate::crd::password::{PasswordRole, PlanetScalePassword, PlanetScalePasswordStatus};
use crate::crd::password_name;
use crate::crd::password_postgres::{InheritedRole, WhereClauseRule};

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
    /// PostgreSQL: `postgres.inheritedRoles`, sorted (`None`: those `role` maps to).
    pub inherited_roles: Option<Vec<InheritedRole>>,
    /// PostgreSQL: `postgres.requireWhereOnDelete`.
    pub where_on_delete: Option<WhereClauseRule>,
    /// PostgreSQL: `postgres.requireWhereOnUpdate`.
    pub where_on_update: Option<WhereClauseRule>,
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

/// Everything [`decide`] looks at.
#[derive(Debug, Clone)]
pub struct Facts<'a> {
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
    /// The current password was adopted (`spec.passwordId`): its plaintext is unknowable.
    Adopted,
}

impl Cause {
    /// Whether the replaced password no longer works, so it is deleted at once instead of
    /// after the grace period.
    pub fn old_is_dead(self) -> bool {
        matches!(self, Cause::Gone | Cause::Expired)
    }
}

/// What to do next, as decided from one observation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
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

/// Decides what to do next.
pub fn decide(o: &Facts<'_>) -> Decision {
    if let Some(counter) = in_flight(o.status, o.uid) {
        if o.secret == SecretState::Foreign {
            return Decision::Conflict;
        }
        return Decision::Mint {
            counter,
            cause: Cause::Resume,
        };
    }
    if o.secret == SecretState::Foreign {
        return Decision::Conflict;
    }
    let mint = |cause| Decision::Mint {
        counter: o.status.rotation + 1,
        cause,
    };
    let live = match &o.live {
        Live::None => return mint(Cause::Initial),
        Live::Gone => return mint(Cause::Gone),
        Live::Found(live) => live,
    };
    // Every password this resource creates raises the counter first: one without is adopted.
    if o.status.rotation == 0 {
        return mint(Cause::Adopted);
    }
    if let Some(cause) = replacement(o, live)
        .or_else(|| heal(o))
        .or_else(|| rotation(o, live))
    {
        return mint(cause);
    }
    if renew_due(live, o.now) {
        return Decision::Renew;
    }
    if live.cidrs != o.desired.cidrs && !o.cidrs_patched {
        return Decision::UpdateCidrs;
    }
    Decision::Idle
}

fn replacement(o: &Facts<'_>, live: &LiveView) -> Option<Cause> {
    if live.expired || live.expires_at.is_some_and(|e| e <= o.now) {
        return Some(Cause::Expired);
    }
    if o.renew_refused {
        return Some(Cause::RenewRefused);
    }
    let ttl = live.ttl_seconds.filter(|t| *t > 0);
    let want_ttl = o.desired.ttl.map(|t| t.as_secs()).filter(|t| *t > 0);
    let changed = live.role.is_some_and(|r| Some(r) != o.desired.live_role())
        || live.replica != o.desired.replica
        || ttl != want_ttl;
    changed.then_some(Cause::SpecChanged)
}

fn heal(o: &Facts<'_>) -> Option<Cause> {
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

fn rotation(o: &Facts<'_>, live: &LiveView) -> Option<Cause> {
    if o.desired.rotate_request.is_some()
        && o.desired.rotate_request != o.status.last_rotate_request
    {
        return Some(Cause::Requested);
    }
    let due = next_rotation_at(rotated_at(o.status, live), o.desired.interval);
    due.is_some_and(|due| due <= o.now)
        .then_some(Cause::Scheduled)
}

/// One step of a pass, in the order they are taken.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// The Secret belongs to someone else: change nothing, report `SecretConflict`.
    Conflict,
    /// The explicitly named branch cannot take the first password yet: wait (why, how long).
    WaitForBranch(String, Duration),
    /// The Secret cannot be rendered: report why, before any password is created that could
    /// not be stored.
    RefuseTemplate,
    /// Create password `counter` on `target` (after adopting or deleting any of its name,
    /// with `lookup`), write the Secret at once and record the password. The counter is
    /// written before, for crash safety (the skeleton's intent, see [`super::mint`]).
    Mint {
        target: Target,
        engine: Engine,
        counter: i64,
        cause: Cause,
        lookup: bool,
    },
    /// Extend the current password's expiry.
    Renew,
    /// Set the current password's CIDRs to the spec's.
    UpdateCidrs,
    /// Rewrite the Secret's other keys, labels and owner when they differ from the spec, and
    /// refresh the status from the password.
    SyncSecret,
    /// Delete the replaced passwords whose grace period is over.
    DeleteDue,
    /// Roll the `restartOnRotation` workloads to the current credentials.
    Restart,
    /// The password `spec.passwordId` is the resource's (`None`), or becomes it now: record
    /// it in status. No PlanetScale write ([`super::adopt`]).
    Record(Option<Claim>),
    /// The password `spec.passwordId` does not exist.
    Missing,
}

/// Plans a pass from one observation. Pure. After a step that changes PlanetScale or the
/// Secret, the plan asks to look again at once: the next pass plans from what it did.
pub fn plan(obj: &PlanetScalePassword, o: &Observed) -> Plan<Step> {
    let Ok(look) = &o.look else {
        return Plan::nothing();
    };
    let (uid, status) = (obj.uid().unwrap_or_default(), obj.status.clone());
    let status = status.unwrap_or_default();
    if let Some(plan) = super::adopt::plan(obj, &status, look) {
        return plan;
    }
    let facts = look.facts(&uid, &status, &o.located.desired);
    let again = |steps| Plan::steps(steps).requeue(Duration::ZERO);
    match decide(&facts) {
        Decision::Conflict => Plan::steps(vec![Step::Conflict]),
        Decision::Mint { counter, cause } => match mint_blocked(obj, o, look, cause) {
            Some(step) => Plan::steps(vec![step]),
            None => again(vec![
                Step::Mint {
                    target: o.located.target.clone(),
                    engine: look.engine,
                    counter,
                    cause,
                    lookup: lookup(&facts, counter, cause),
                },
                Step::DeleteDue,
                Step::Restart,
            ]),
        },
        Decision::Renew => again(vec![Step::Renew]),
        Decision::UpdateCidrs => again(vec![Step::UpdateCidrs]),
        Decision::Idle => {
            let due = !due_deletions(&status.pending_deletions, facts.now).is_empty();
            let delete = due.then_some(Step::DeleteDue);
            let steps = [Some(Step::SyncSecret), delete, Some(Step::Restart)];
            let plan = Plan::steps(steps.into_iter().flatten().collect());
            match next_deadline(&facts) {
                Some(at) => plan.requeue(crate::time::until(facts.now, at)),
                None => plan,
            }
        }
    }
}

/// What stops a mint before it starts: a first password's explicit branch that is not
/// ready, or a Secret that cannot be rendered.
fn mint_blocked(
    obj: &PlanetScalePassword,
    o: &Observed,
    look: &Look,
    cause: Cause,
) -> Option<Step> {
    if cause == Cause::Initial
        && let Some((why, after)) = &look.branch_not_ready
    {
        return Some(Step::WaitForBranch(why.clone(), *after));
    }
    super::mint::preflight(obj, &o.located.target, look.engine)
        .is_err()
        .then_some(Step::RefuseTemplate)
}

/// Whether password `counter` must be looked up before it is created
/// ([`super::mint::lookup_needed`]).
fn lookup(o: &Facts<'_>, counter: i64, cause: Cause) -> bool {
    // Credentials in the Secret the status does not explain (a lost status, a merged Secret).
    let unexplained = cause == Cause::Initial
        && matches!(o.secret, SecretState::Ours(Creds::Match | Creds::Mismatch));
    super::mint::lookup_needed(o.status.rotation, counter, unexplained)
}

/// The status to write before a pass that creates password `counter`: the counter and the
/// branch it is created on (with its engine), so that a crash right after the create finds both ([`super::mint`]).
/// `None` when the status already holds the counter (an earlier attempt wrote it). Pure.
pub fn intent(
    status: Option<&PlanetScalePasswordStatus>,
    plan: &Plan<Step>,
) -> Option<PlanetScalePasswordStatus> {
    let (target, engine, counter) = plan.steps.iter().find_map(|s| match s {
        Step::Mint {
            target,
            engine,
            counter,
            ..
        } => Some((target, *engine, *counter)),
        _ => None,
    })?;
    let mut status = status.cloned().unwrap_or_default();
    if status.rotation >= counter {
        return None;
    }
    status.rotation = counter;
    status.organization = Some(target.organization.clone());
    status.database = Some(target.database.clone());
    status.branch = Some(target.branch.clone());
    status.engine = Some(engine.as_str().to_string());
    Some(status)
}
