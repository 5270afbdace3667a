//! What the `credentials-in-use` finalizer ([`crate::controller::credentials_in_use`]) learns
//! from the caches: the credentials Secrets our resources still need, and a feed of what
//! changed (objects, the credentials Secrets the controllers' watches saw, the sync).
use std::collections::BTreeMap;
use std::fmt;

use futures::channel::mpsc;
use kube::ResourceExt;
use kube::runtime::reflector::Store;

use super::Stores;
use crate::crd::ManagedResource;

/// What changed, as [`Stores::subscribe`] reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// A cached resource in `namespace` was added, changed or deleted.
    Objects { namespace: String },
    /// A controller's Secret watch saw this Secret.
    Secret(SecretSeen),
    /// Every cache has its first list: what they hold is complete.
    Synced,
}

/// What the Secret watch tells about one Secret (metadata only).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretSeen {
    pub namespace: String,
    pub name: String,
    pub uid: Option<String>,
    /// Whether it carries the `credentials-in-use` finalizer.
    pub finalized: bool,
    /// Whether it is being deleted.
    pub deleting: bool,
}

/// One object that uses a credentials Secret: (Secret name, `Kind/name`).
type User = (String, String);

/// Lists one store's objects in a namespace that use a credentials Secret.
type ListUsers = dyn Fn(&str) -> Vec<User> + Send;

/// [`ListUsers`] of one store.
pub(super) struct Users(Box<ListUsers>);

impl Users {
    pub(super) fn of<K: ManagedResource>(store: Store<K>) -> Self {
        Self(Box::new(move |ns| users_in(&store, ns)))
    }
}

impl fmt::Debug for Users {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Users")
    }
}

impl Stores {
    /// From now until the run ends: which namespaces' cached objects changed, which
    /// credentials Secrets the controllers saw ([`Stores::secret_seen`]), and when every cache
    /// has synced. Call it before the controllers start, so that nothing is missed.
    pub fn subscribe(&self) -> mpsc::UnboundedReceiver<Change> {
        let (tx, rx) = mpsc::unbounded();
        self.inner.lock().expect("lock").changes = Some(tx);
        rx
    }

    /// A controller's Secret watch saw `secret` (metadata only).
    pub fn secret_seen(&self, seen: SecretSeen) {
        self.inner.lock().expect("lock").send(Change::Secret(seen));
    }

    /// The credentials Secrets in `namespace` that cached objects still need (see
    /// [`ManagedResource::credentials_in_use`]), each with its users as `Kind/name`.
    pub fn credentials_in_use(&self, namespace: &str) -> BTreeMap<String, Vec<String>> {
        let s = self.inner.lock().expect("lock");
        let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (secret, user) in s.users.iter().flat_map(|u| (u.0)(namespace)) {
            out.entry(secret).or_default().push(user);
        }
        out
    }
}

/// The objects of `store` in `namespace` that use a credentials Secret: (Secret, `Kind/name`).
fn users_in<K: ManagedResource>(store: &Store<K>, namespace: &str) -> Vec<User> {
    store
        .state()
        .iter()
        .filter(|o| o.meta().namespace.as_deref() == Some(namespace))
        .filter_map(|o| {
            let secret = o.credentials_in_use()?;
            Some((secret.to_string(), format!("{}/{}", K::KIND, o.name_any())))
        })
        .collect()
}
