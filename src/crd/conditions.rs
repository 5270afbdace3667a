//! Status conditions: the upstream `Condition` type, one summary `Ready` per kind, and a pure
//! [`set_condition`] that keeps `lastTransitionTime` unless the status flipped.
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

/// The summary condition every kind carries; GitOps tools wait on it (kstatus).
pub const READY: &str = "Ready";

/// Reasons shared by every kind (CamelCase, stable: documented in docs/troubleshooting.md).
pub mod reason {
    /// The credentials Secret does not exist.
    pub const CREDENTIALS_NOT_FOUND: &str = "CredentialsNotFound";
    /// The credentials Secret exists but does not hold usable credentials.
    pub const CREDENTIALS_INVALID: &str = "CredentialsInvalid";
    /// PlanetScale rejected the credentials or they lack the needed access.
    pub const UNAUTHORIZED: &str = "Unauthorized";
    /// The organization or database does not exist in PlanetScale.
    pub const DATABASE_NOT_FOUND: &str = "DatabaseNotFound";
    /// The branch (or the referenced `PlanetScaleBranch`) is not ready yet.
    pub const BRANCH_NOT_READY: &str = "BranchNotReady";
    /// PlanetScale answered 429; the operator is backing off.
    pub const RATE_LIMITED: &str = "RateLimited";
    /// The object is paused with the paused annotation.
    pub const PAUSED: &str = "Paused";
    /// `managementPolicy: Observe` and the PlanetScale object to observe does not exist (the
    /// operator never creates an observed object).
    pub const OBSERVED_NOT_FOUND: &str = "ObservedNotFound";
    /// Deletion cannot complete; the message says how to release it.
    pub const DELETION_BLOCKED: &str = "DeletionBlocked";
    /// No `PlanetScaleAccessPolicy` allows what the resource asks (see docs/security.md).
    pub const POLICY_DENIED: &str = "PolicyDenied";
    /// The operator has not loaded the access policies yet (just started).
    pub const POLICIES_NOT_LOADED: &str = "PoliciesNotLoaded";
    /// Everything is as the spec asks.
    pub const READY: &str = "Ready";
    /// The operator is working towards the spec (waiting on PlanetScale).
    pub const PROGRESSING: &str = "Progressing";
}

/// The status of a condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConditionStatus {
    /// `"True"`
    True,
    /// `"False"`
    False,
    /// `"Unknown"`
    Unknown,
}

impl ConditionStatus {
    /// The wire form: `"True"`, `"False"` or `"Unknown"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::True => "True",
            Self::False => "False",
            Self::Unknown => "Unknown",
        }
    }
}

impl From<bool> for ConditionStatus {
    fn from(value: bool) -> Self {
        if value { Self::True } else { Self::False }
    }
}

/// Builds a condition observed at `now`. `observedGeneration` is filled by [`set_condition`].
pub fn new_condition(
    type_: &str,
    status: impl Into<ConditionStatus>,
    reason: &str,
    message: impl Into<String>,
    now: Time,
) -> Condition {
    Condition {
        type_: type_.to_string(),
        status: status.into().as_str().to_string(),
        reason: reason.to_string(),
        message: message.into(),
        last_transition_time: now,
        observed_generation: None,
    }
}

/// Sets `new` in `conditions` (replacing the condition of the same type, or appending it),
/// with `observedGeneration = generation`. If a condition of that type already has the same
/// status, its `lastTransitionTime` is kept. Returns whether anything changed, so a caller can
/// skip a status write that would change nothing.
pub fn set_condition(
    conditions: &mut Vec<Condition>,
    mut new: Condition,
    generation: Option<i64>,
) -> bool {
    new.observed_generation = generation;
    match conditions.iter_mut().find(|c| c.type_ == new.type_) {
        Some(old) => {
            if old.status == new.status {
                new.last_transition_time = old.last_transition_time.clone();
            }
            let changed = *old != new;
            *old = new;
            changed
        }
        None => {
            conditions.push(new);
            true
        }
    }
}

/// The condition of type `type_`, if present.
pub fn find_condition<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

/// Whether the condition of type `type_` is present with status `"True"`.
pub fn is_condition_true(conditions: &[Condition], type_: &str) -> bool {
    find_condition(conditions, type_).is_some_and(|c| c.status == "True")
}

/// kstatus readiness: `Ready=True` observed for the object's current `generation`.
pub fn is_ready_for(conditions: &[Condition], generation: Option<i64>) -> bool {
    find_condition(conditions, READY)
        .is_some_and(|c| c.status == "True" && c.observed_generation == generation)
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::jiff::Timestamp;

    fn at(secs: i64) -> Time {
        Time(Timestamp::from_second(secs).unwrap())
    }

    fn ready(status: bool, reason: &str, t: i64) -> Condition {
        new_condition(READY, status, reason, format!("{reason} message"), at(t))
    }

    #[test]
    fn appends_a_new_type_with_generation() {
        let mut cs = Vec::new();
        assert!(set_condition(
            &mut cs,
            ready(false, "Progressing", 10),
            Some(3)
        ));
        assert_eq!(cs.len(), 1);
        assert_eq!(cs[0].status, "False");
        assert_eq!(cs[0].observed_generation, Some(3));
        assert_eq!(cs[0].last_transition_time, at(10));
    }

    #[test]
    fn keeps_transition_time_when_status_unchanged() {
        let mut cs = Vec::new();
        set_condition(&mut cs, ready(false, "Progressing", 10), Some(1));
        let changed = set_condition(&mut cs, ready(false, "BranchNotReady", 20), Some(2));
        assert!(changed, "reason and generation changed");
        assert_eq!(cs[0].last_transition_time, at(10));
        assert_eq!(cs[0].reason, "BranchNotReady");
        assert_eq!(cs[0].observed_generation, Some(2));
    }

    #[test]
    fn updates_transition_time_when_status_flips() {
        let mut cs = Vec::new();
        set_condition(&mut cs, ready(false, "Progressing", 10), Some(1));
        set_condition(&mut cs, ready(true, "Ready", 20), Some(1));
        assert_eq!(cs.len(), 1);
        assert_eq!(cs[0].status, "True");
        assert_eq!(cs[0].last_transition_time, at(20));
    }

    #[test]
    fn identical_condition_reports_no_change() {
        let mut cs = Vec::new();
        set_condition(&mut cs, ready(true, "Ready", 10), Some(1));
        let before = cs.clone();
        assert!(!set_condition(&mut cs, ready(true, "Ready", 99), Some(1)));
        assert_eq!(cs, before);
    }

    #[test]
    fn other_types_are_left_alone() {
        let mut cs = Vec::new();
        set_condition(&mut cs, ready(true, "Ready", 10), Some(1));
        let other = new_condition(
            "SecretSynced",
            false,
            "SecretConflict",
            "owned by x",
            at(30),
        );
        set_condition(&mut cs, other, Some(1));
        assert_eq!(cs.len(), 2);
        assert!(is_condition_true(&cs, READY));
        assert!(!is_condition_true(&cs, "SecretSynced"));
        assert_eq!(
            find_condition(&cs, "SecretSynced").unwrap().reason,
            "SecretConflict"
        );
        assert!(find_condition(&cs, "Missing").is_none());
    }

    #[test]
    fn ready_for_requires_current_generation() {
        let mut cs = Vec::new();
        set_condition(&mut cs, ready(true, "Ready", 10), Some(1));
        assert!(is_ready_for(&cs, Some(1)));
        assert!(!is_ready_for(&cs, Some(2)));
        set_condition(&mut cs, ready(false, "Progressing", 20), Some(2));
        assert!(!is_ready_for(&cs, Some(2)));
    }

    #[test]
    fn unknown_status_is_written_as_such() {
        let c = new_condition(READY, ConditionStatus::Unknown, "Progressing", "", at(0));
        assert_eq!(c.status, "Unknown");
    }
}
