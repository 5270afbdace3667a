//! Retry timing shared by every controller: the per-object backoff key, the exponential
//! backoff after transient failures, and the slow retry for what only a user can fix.
use std::time::Duration;

use kube::{Resource, ResourceExt};

/// Slow retry for errors only a user can fix (bad spec, bad credentials): never a hot loop.
/// The default of `--slow-retry` ([`super::Context::with_slow_retry`]).
pub const SLOW_RETRY: Duration = Duration::from_secs(300);
/// Longest backoff after repeated transient failures.
pub const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// Delay after the `n`th consecutive transient failure, with `jitter` in [0, 1): between half
/// and all of `min(2^(n-1) s, MAX_BACKOFF)`.
pub fn backoff_delay(n: u32, jitter: f64) -> Duration {
    let base = Duration::from_secs(1u64 << n.saturating_sub(1).min(16)).min(MAX_BACKOFF);
    base.mul_f64(0.5 + jitter.clamp(0.0, 1.0) / 2.0)
}

/// The backoff key of an object.
pub fn object_key<K: Resource<DynamicType = ()>>(obj: &K) -> String {
    key::<K>(obj.namespace().as_deref(), &obj.name_any())
}

/// The backoff key of the object `r` points at (the same as [`object_key`] of that object).
pub fn object_ref_key<K: Resource<DynamicType = ()>>(
    r: &kube::runtime::reflector::ObjectRef<K>,
) -> String {
    key::<K>(r.namespace.as_deref(), &r.name)
}

fn key<K: Resource<DynamicType = ()>>(namespace: Option<&str>, name: &str) -> String {
    format!("{}/{}/{name}", K::kind(&()), namespace.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff_delay(1, 1.0), Duration::from_secs(1));
        assert_eq!(backoff_delay(3, 1.0), Duration::from_secs(4));
        assert_eq!(backoff_delay(3, 0.0), Duration::from_secs(2));
        assert_eq!(backoff_delay(40, 1.0), MAX_BACKOFF);
    }
}
