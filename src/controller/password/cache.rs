//! What the password controller remembers between reconciles, so that a Ready password costs
//! no API call between resyncs and its database one shared paged list per resync:
//!
//! - **the last view of each resource's password** ([`Views`]), from the create, renew and
//!   update responses and from every observation, without plaintext. A reconcile younger than
//!   half the resync interval after it (the reconciles our own status and Secret writes
//!   trigger, a Secret edited by a user) plans from it instead of asking PlanetScale; the Secret
//!   itself is read from Kubernetes every time, so an edited Secret is still healed.
//! - **a snapshot of every password of a database** ([`snapshots`], the controllers' shared
//!   [`crate::controller::snapshot`]), per credentials Secret, organization and database: one
//!   paged `list_database_passwords` that every Ready password of the database due for its
//!   resync shares. A failed list fails everyone who waited for it rather than each trying
//!   again in turn. Where the endpoint answers 404 or 403 (an API without it, or credentials
//!   that may read passwords of some branches only) the database falls back to one GET per
//!   password, and tries the list again after [`RETRY_LIST_AFTER`]. Ready passwords requeue at
//!   the next multiple of the resync interval after the database's first snapshot, so the
//!   passwords of a database come due together and share one list per interval.
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use planetscale_api::models::{Password, PasswordBranch};

use crate::controller::planetscale::PlanetScale;
use crate::controller::snapshot::{Options, Snapshots};
use crate::controller::target::Target;

/// How long a database whose list answered 404 or 403 is served by GETs before the list is
/// tried again (the credentials Secret may have been given a token with more access).
pub const RETRY_LIST_AFTER: Duration = Duration::from_secs(3600);

/// Every live password of one database by id, without plaintext. Shared with [`Views`]: a
/// password seen in a list is kept once, not once per cache (at 10,000 passwords the copies
/// were 18 MiB of a 117 MiB heap peak, `make bench` scale).
pub type Listed = HashMap<String, Arc<Password>>;

/// The database snapshots of the password controller.
pub fn snapshots() -> Snapshots<Listed> {
    Snapshots::new(Options {
        share_failures: true,
        fallback_for: Some(RETRY_LIST_AFTER),
    })
}

/// Lists every password of `org/db` for a snapshot.
pub async fn list(
    api: &impl PlanetScale,
    org: &str,
    db: &str,
) -> Result<Listed, planetscale_api::Error> {
    let list = api.list_database_passwords_all(org, db).await?;
    Ok(list
        .iter()
        .map(|p| (p.id.clone(), Arc::new(slim(p))))
        .collect())
}

/// Password `id`, if the list had it on `branch`.
pub fn find<'a>(listed: &'a Listed, id: &str, branch: &str) -> Option<&'a Arc<Password>> {
    listed.get(id).filter(|p| {
        p.database_branch
            .as_ref()
            .is_none_or(|b| b.name.is_empty() || b.name == branch)
    })
}

/// The last view of each resource's password (one per process, shared by every namespace).
#[derive(Default)]
pub struct Views {
    live: Mutex<HashMap<String, Known>>,
}

/// A password as last seen from PlanetScale (never with its plaintext).
#[derive(Clone)]
struct Known {
    id: String,
    target: (String, String, String),
    password: Arc<Password>,
    at: Instant,
    marks: Marks,
}

/// What was done to a password that PlanetScale's answers do not show, so the next pass does
/// not do it again.
#[derive(Debug, Clone, Default, PartialEq)]
struct Marks {
    /// PlanetScale refused to renew it.
    renew_refused: bool,
    /// Its CIDRs were set to these (a server that reports them differently must not make us
    /// set them again and again).
    cidrs_set: Option<Option<Vec<String>>>,
}

fn target_key(t: &Target) -> (String, String, String) {
    (t.organization.clone(), t.database.clone(), t.branch.clone())
}

/// What is kept of a password: no plaintext, nothing planning or the Secret does not use (of
/// its region the slug, of its branch the name and whether it is production).
fn slim(p: &Password) -> Password {
    Password {
        plain_text: None,
        actor: None,
        access_host_regional_url: None,
        access_host_regional_urls: Vec::new(),
        region: p
            .region
            .as_ref()
            .map(crate::controller::planetscale::slim_region),
        database_branch: p.database_branch.as_ref().map(|b| PasswordBranch {
            name: b.name.clone(),
            production: b.production,
            ..Default::default()
        }),
        ..p.clone()
    }
}

impl Views {
    /// The last view of `key`'s password `id` on `target`, if taken less than `max_age` ago.
    pub fn remembered(
        &self,
        key: &str,
        id: &str,
        target: &Target,
        max_age: Duration,
    ) -> Option<Password> {
        let live = self.live.lock().expect("lock");
        let known = live.get(key)?;
        let fresh =
            known.id == id && known.target == target_key(target) && known.at.elapsed() < max_age;
        fresh.then(|| Password::clone(&known.password))
    }

    /// Remembers `p` as `key`'s current password on `target`, as seen at `at`.
    pub fn remember(&self, key: &str, target: &Target, p: &Password, at: Instant) {
        self.remember_shared(key, target, Arc::new(slim(p)), at);
    }

    /// Remembers `p`, as a snapshot lists it (already without plaintext), without a copy.
    pub fn remember_listed(&self, key: &str, target: &Target, p: &Arc<Password>, at: Instant) {
        self.remember_shared(key, target, p.clone(), at);
    }

    fn remember_shared(&self, key: &str, target: &Target, p: Arc<Password>, at: Instant) {
        let mut live = self.live.lock().expect("lock");
        let marks = live
            .get(key)
            .filter(|k| k.id == p.id)
            .map(|k| k.marks.clone())
            .unwrap_or_default();
        let known = Known {
            id: p.id.clone(),
            target: target_key(target),
            password: p,
            at,
            marks,
        };
        live.insert(key.to_string(), known);
    }

    /// Notes that PlanetScale refused to renew `key`'s password `id`.
    pub fn renew_refused(&self, key: &str, id: &str) {
        self.mark(key, id, |m| m.renew_refused = true);
    }

    /// Notes that `key`'s password `id` was given the CIDRs `cidrs`.
    pub fn cidrs_set(&self, key: &str, id: &str, cidrs: Option<Vec<String>>) {
        self.mark(key, id, |m| m.cidrs_set = Some(cidrs));
    }

    fn mark(&self, key: &str, id: &str, f: impl FnOnce(&mut Marks)) {
        let mut live = self.live.lock().expect("lock");
        if let Some(known) = live.get_mut(key).filter(|k| k.id == id) {
            f(&mut known.marks);
        }
    }

    /// Whether a renewal of `key`'s password `id` was refused, and whether its CIDRs were
    /// already set to `cidrs`.
    pub fn marks(&self, key: &str, id: &str, cidrs: &Option<Vec<String>>) -> (bool, bool) {
        let live = self.live.lock().expect("lock");
        let Some(m) = live.get(key).filter(|k| k.id == id).map(|k| &k.marks) else {
            return (false, false);
        };
        (m.renew_refused, m.cidrs_set.as_ref() == Some(cidrs))
    }

    /// Forgets `key`'s password (deleted, replaced, or the resource is gone).
    pub fn forget(&self, key: &str) {
        self.live.lock().expect("lock").remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use planetscale_api::models::PasswordBranch;

    fn target(branch: &str) -> Target {
        Target {
            organization: "acme".into(),
            database: "shop".into(),
            branch: branch.into(),
            known_ready: true,
            kind: None,
        }
    }

    fn password(id: &str, branch: &str) -> Password {
        Password {
            id: id.into(),
            plain_text: Some(planetscale_api::Secret::new("pscale_pw_x".to_string())),
            database_branch: Some(PasswordBranch {
                name: branch.into(),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn the_last_view_is_used_only_while_fresh_for_the_same_password_and_target() {
        let caches = Views::default();
        let t = target("main");
        let minute = Duration::from_secs(60);
        caches.remember("ns/app", &t, &password("p1", "main"), Instant::now());
        let seen = caches
            .remembered("ns/app", "p1", &t, minute)
            .expect("fresh");
        assert_eq!(seen.plain_text, None, "no plaintext is kept");
        assert!(caches.remembered("ns/app", "p2", &t, minute).is_none());
        assert!(
            caches
                .remembered("ns/app", "p1", &target("dev"), minute)
                .is_none()
        );
        assert!(caches.remembered("ns/other", "p1", &t, minute).is_none());
        let old = Instant::now() - Duration::from_secs(61);
        caches.remember("ns/app", &t, &password("p1", "main"), old);
        assert!(caches.remembered("ns/app", "p1", &t, minute).is_none());
        caches.remember("ns/app", &t, &password("p1", "main"), Instant::now());
        caches.forget("ns/app");
        assert!(caches.remembered("ns/app", "p1", &t, minute).is_none());
    }

    #[test]
    fn a_snapshot_finds_a_password_only_on_its_branch() {
        let listed: Listed = [password("p1", "main"), password("p2", "dev")]
            .into_iter()
            .map(|p| (p.id.clone(), Arc::new(p)))
            .collect();
        assert!(find(&listed, "p1", "main").is_some());
        assert!(find(&listed, "p2", "main").is_none());
        assert!(find(&listed, "p3", "main").is_none());
    }

    #[test]
    fn marks_follow_the_password_not_the_resource() {
        let views = Views::default();
        let t = target("main");
        let cidrs = Some(vec!["10.0.0.0/8".to_string()]);
        views.remember("ns/app", &t, &password("p1", "main"), Instant::now());
        views.renew_refused("ns/app", "p1");
        views.cidrs_set("ns/app", "p1", cidrs.clone());
        assert_eq!(views.marks("ns/app", "p1", &cidrs), (true, true));
        assert_eq!(
            views.marks("ns/app", "p1", &None),
            (true, false),
            "other CIDRs"
        );
        // A fresh view of the same password keeps them; a new password starts clean.
        views.remember("ns/app", &t, &password("p1", "main"), Instant::now());
        assert_eq!(views.marks("ns/app", "p1", &cidrs), (true, true));
        views.remember("ns/app", &t, &password("p2", "main"), Instant::now());
        assert_eq!(views.marks("ns/app", "p2", &cidrs), (false, false));
    }
}
