//! What the controllers watch: one `Api` per watched namespace, the trimmed cache entries,
//! and the credentials Secrets that wake the objects waiting on them.
use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Api, Client, Resource};

use super::Context;
use super::credentials_in_use;

/// The objects in `store` that take their credentials from `secret` and are `waiting` (e.g.
/// not Ready): a fixed credentials Secret wakes them at once instead of at the next slow retry.
/// A version of the Secret the operator has already built its client from wakes nothing.
/// Every Secret seen here also goes to the credentials-in-use finalizer ([`credentials_in_use`]).
pub fn waiting_on_credentials<K>(
    store: &Store<K>,
    ctx: &Context,
    secret: &kube::api::PartialObjectMeta<k8s_openapi::api::core::v1::Secret>,
    credentials_ref: impl Fn(&K) -> Option<&crate::crd::SecretRef>,
    waiting: impl Fn(&K) -> bool,
) -> Vec<ObjectRef<K>>
where
    K: Resource<DynamicType = ()> + Clone + 'static,
{
    let seen = credentials_in_use::SecretSeen::of(secret);
    let finalized = seen.finalized;
    let wanted = (seen.namespace.clone(), seen.name.clone());
    ctx.caches.secret_seen(seen);
    let rv = secret.metadata.resource_version.as_deref();
    if ctx
        .credentials
        .is_current(&wanted.0, &wanted.1, rv, finalized)
    {
        // The failing reconciles already used this version: waking them would only repeat
        // the same calls (a late initial list or a relist of the watch, not a fix).
        return Vec::new();
    }
    let defaults = ctx.credentials.defaults();
    // Called for every Secret of the watched namespaces, also for each of the initial list at
    // start-up: the cheap test first, and only the matches cloned.
    store
        .state_filter(|o| {
            waiting(o) && {
                let ns = o.meta().namespace.as_deref().unwrap_or_default();
                crate::credentials::locate(defaults, ns, credentials_ref(o))
                    .is_ok_and(|s| s == wanted)
            }
        })
        .iter()
        .map(|o| ObjectRef::from_obj(&**o))
        .collect()
}

/// Whether `conditions` lack `Ready=True` (the usual `waiting` for [`waiting_on_credentials`]).
pub fn not_ready(conditions: Option<&[Condition]>) -> bool {
    !crate::crd::conditions::is_condition_true(conditions.unwrap_or_default(), "Ready")
}

pub use crate::stores::trim_metadata;

/// One `Api` per watched namespace, or one for all namespaces.
pub fn watched_apis<K>(client: &Client, namespaces: &Option<Vec<String>>) -> Vec<Api<K>>
where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>,
{
    match namespaces {
        None => vec![Api::all(client.clone())],
        Some(list) => list
            .iter()
            .map(|ns| Api::namespaced(client.clone(), ns))
            .collect(),
    }
}
