//! What every kind of this operator tells the code that serves all of them (the caches'
//! readiness, the `resources` gauge, the `credentials-in-use` finalizer): its `kind` label, its
//! conditions, its finalizer, and the rule of which credentials Secret it still needs. Each
//! kind implements [`ManagedResource`] next to its definition.
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, ObjectMeta};
use kube::Resource;

use super::SecretRef;

/// A custom resource of this operator.
pub trait ManagedResource: Resource<DynamicType = ()> + Clone + Send + Sync + 'static {
    /// The kind, e.g. `PlanetScaleBranch` (the `kind` label of the resources gauge).
    const KIND: &'static str;
    /// The finalizer its controller puts on it while PlanetScale holds something to clean up.
    const FINALIZER: &'static str;
    /// The status conditions (empty without a status).
    fn conditions(&self) -> &[Condition];
    /// The Secret named in `spec.credentialsRef`, while the object's deletion would need it:
    /// it has something in PlanetScale its cleanup deletes or closes, and it lives or is
    /// being deleted with its finalizer still on (the cleanup has not finished).
    fn credentials_in_use(&self) -> Option<&str>;
}

/// `credentials_ref` while an object with `meta` whose cleanup would call PlanetScale
/// (`calls_on_cleanup`) lives, or is being deleted and still has `finalizer`.
pub(crate) fn in_use<'a>(
    meta: &ObjectMeta,
    finalizer: &str,
    credentials_ref: Option<&'a SecretRef>,
    calls_on_cleanup: bool,
) -> Option<&'a str> {
    let finalizing = meta.finalizers.iter().flatten().any(|f| f == finalizer);
    let needed = calls_on_cleanup && (meta.deletion_timestamp.is_none() || finalizing);
    credentials_ref.filter(|_| needed).map(|r| r.name.as_str())
}

/// How a PlanetScale object that exists becomes a resource's in a pass: the one vocabulary
/// of every kind that can adopt or observe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// Taken over on request (`spec.adopt`, or an id the spec names with `Manage`).
    Adopt,
    /// `managementPolicy: Observe`: reported, never changed.
    Observe,
    /// Created by this resource, whose id was not recorded yet (a crash between the create
    /// call and the status write).
    Record,
}

/// What the last status records about the PlanetScale object a resource stands for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Recorded<'a> {
    /// Its id, once recorded.
    pub id: Option<&'a str>,
    /// A create was asked for and its id not recorded yet.
    pub create_requested: bool,
    /// It was recorded while only observed (`status.observedOnly`).
    pub observed_only: bool,
}

/// An existing object that is not the resource's, and the resource did not ask to adopt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Foreign;

/// Whether the existing object `found_id` is the resource's, becomes it now (`Some(claim)`),
/// or is someone else's ([`Foreign`]: refused, the resource reports `AlreadyExists`). Pure.
///
/// Observing never takes anything over, so an object recorded while observed is taken over
/// when the policy switches to `Manage` only with `adopt`: one cannot gain write access to
/// production by accident, by flipping the policy of a resource that was meant to watch.
pub fn claim(
    recorded: Recorded<'_>,
    found_id: &str,
    policy: super::ManagementPolicy,
    adopt: bool,
) -> Result<Option<Claim>, Foreign> {
    let same = recorded.id == Some(found_id);
    match policy {
        super::ManagementPolicy::Observe if same && recorded.observed_only => Ok(None),
        super::ManagementPolicy::Observe => Ok(Some(Claim::Observe)),
        super::ManagementPolicy::Manage if same && !recorded.observed_only => Ok(None),
        super::ManagementPolicy::Manage if recorded.create_requested => Ok(Some(Claim::Record)),
        super::ManagementPolicy::Manage if adopt => Ok(Some(Claim::Adopt)),
        super::ManagementPolicy::Manage => Err(Foreign),
    }
}

/// `status.observedOnly` after a pass that made `claim` (`None`: unchanged).
pub fn observed_only_after(claim: Option<Claim>) -> Option<Option<bool>> {
    match claim {
        Some(Claim::Observe) => Some(Some(true)),
        Some(Claim::Adopt | Claim::Record) => Some(None),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::ManagementPolicy::{Manage, Observe};
    use super::*;

    const OURS: Recorded<'static> = Recorded {
        id: Some("b1"),
        create_requested: false,
        observed_only: false,
    };
    const OBSERVED: Recorded<'static> = Recorded {
        id: Some("b1"),
        create_requested: false,
        observed_only: true,
    };
    const NOTHING: Recorded<'static> = Recorded {
        id: None,
        create_requested: false,
        observed_only: false,
    };

    #[test]
    fn claims_as_a_table() {
        let asked = Recorded {
            create_requested: true,
            ..NOTHING
        };
        let cases = [
            ("ours", OURS, Manage, false, Ok(None)),
            ("foreign", NOTHING, Manage, false, Err(Foreign)),
            ("adopted", NOTHING, Manage, true, Ok(Some(Claim::Adopt))),
            (
                "crash after create",
                asked,
                Manage,
                false,
                Ok(Some(Claim::Record)),
            ),
            (
                "first observed",
                NOTHING,
                Observe,
                false,
                Ok(Some(Claim::Observe)),
            ),
            ("observed again", OBSERVED, Observe, false, Ok(None)),
            (
                "managed, now observed",
                OURS,
                Observe,
                false,
                Ok(Some(Claim::Observe)),
            ),
            (
                "observed, then Manage",
                OBSERVED,
                Manage,
                false,
                Err(Foreign),
            ),
            (
                "observed, then adopted",
                OBSERVED,
                Manage,
                true,
                Ok(Some(Claim::Adopt)),
            ),
        ];
        for (name, rec, policy, adopt, want) in cases {
            assert_eq!(claim(rec, "b1", policy, adopt), want, "{name}");
        }
    }

    #[test]
    fn another_object_of_the_same_name_is_not_the_observed_one() {
        assert_eq!(
            claim(OBSERVED, "b2", Observe, false),
            Ok(Some(Claim::Observe))
        );
        assert_eq!(claim(OURS, "b2", Manage, false), Err(Foreign));
    }
}
