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
