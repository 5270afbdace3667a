//! The fresh read a pass starts with, and the memory that lets it skip that read.
//!
//! The watch cache may lag behind our own writes, so a pass works from a `GET` of the object
//! rather than from the object the watch handed over. Except in one case: when that object
//! carries exactly the `resourceVersion` our own last status write of it returned. A
//! `resourceVersion` names one state of one object, so the handed-over object *is* what that
//! write stored: at least as fresh as anything this controller did. A `GET` could only return
//! the same object or a newer one, and a newer one (a user's edit, a deletion timestamp, a
//! finalizer) has a watch event of its own that queues another pass. Any other
//! `resourceVersion` (older, newer, or a write of someone else's) means a `GET`.
use std::collections::HashMap;
use std::sync::Mutex;

use kube::{Api, Resource, ResourceExt};

use super::Reconciler;
use crate::controller::backoff::object_key;
use crate::error::Error;

/// Per object (by [`object_key`]): the `resourceVersion` our last status write of it returned.
#[derive(Debug, Default)]
pub struct LastWrites(Mutex<HashMap<String, String>>);

impl LastWrites {
    /// `stored` is what one of our status writes returned.
    pub(super) fn remember<K: Resource<DynamicType = ()>>(&self, stored: &K) {
        if let Some(rv) = stored.resource_version() {
            self.lock().insert(object_key(stored), rv);
        }
    }

    /// The object `key` is gone.
    pub(super) fn forget(&self, key: &str) {
        self.lock().remove(key);
    }

    /// Whether `obj` is exactly what our last status write of it stored.
    fn is_last<K: Resource<DynamicType = ()>>(&self, obj: &K) -> bool {
        let Some(rv) = obj.meta().resource_version.as_deref() else {
            return false;
        };
        self.lock()
            .get(&object_key(obj))
            .is_some_and(|last| last == rv)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        // A panic while holding this lock leaves a map that is still consistent.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The object to work from: `obj` itself when it is what our last status write stored, else
/// a `GET` (`None`: it is gone, and forgotten).
pub(super) async fn read<R: Reconciler>(
    r: &R,
    api: &Api<R::Kind>,
    obj: &R::Kind,
) -> Result<Option<R::Kind>, Error> {
    let last_writes = &r.context().last_writes;
    if last_writes.is_last(obj) {
        return Ok(Some(obj.clone()));
    }
    let fresh = api.get_opt(&obj.name_any()).await?;
    if fresh.is_none() {
        last_writes.forget(&object_key(obj));
    }
    Ok(fresh)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::PlanetScaleBranch;

    fn branch(ns: &str, name: &str, rv: Option<&str>) -> PlanetScaleBranch {
        let mut b: PlanetScaleBranch = serde_json::from_value(serde_json::json!({
            "apiVersion": "planetscale.operator.dev/v1alpha1", "kind": "PlanetScaleBranch",
            "metadata": {"name": name, "namespace": ns},
            "spec": {"organization": "o", "database": "d", "credentialsRef": {"name": "c"}},
        }))
        .expect("a branch");
        b.metadata.resource_version = rv.map(Into::into);
        b
    }

    #[test]
    fn only_the_exact_version_of_our_last_write_counts() {
        let last = LastWrites::default();
        assert!(
            !last.is_last(&branch("a", "x", Some("7"))),
            "nothing written yet"
        );
        last.remember(&branch("a", "x", Some("7")));
        assert!(last.is_last(&branch("a", "x", Some("7"))));
        assert!(!last.is_last(&branch("a", "x", Some("6"))), "older");
        assert!(!last.is_last(&branch("a", "x", Some("8"))), "newer");
        assert!(!last.is_last(&branch("a", "x", None)), "no version");
        assert!(
            !last.is_last(&branch("b", "x", Some("7"))),
            "another namespace"
        );
        last.remember(&branch("a", "x", Some("9")));
        assert!(!last.is_last(&branch("a", "x", Some("7"))), "superseded");
        last.forget(&object_key(&branch("a", "x", None)));
        assert!(!last.is_last(&branch("a", "x", Some("9"))), "forgotten");
    }
}
