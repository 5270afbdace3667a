use std::cell::RefCell;

use super::*;

/// The caches as a test sets them: namespace → Secret → users.
#[derive(Default)]
struct World(RefCell<BTreeMap<String, BTreeMap<String, Vec<String>>>>);

impl World {
    fn use_secret(&self, ns: &str, secret: &str, user: &str) {
        let mut w = self.0.borrow_mut();
        let users = w.entry(ns.into()).or_default().entry(secret.into());
        users.or_default().push(user.into());
    }

    fn forget(&self, ns: &str, user: &str) {
        let mut w = self.0.borrow_mut();
        for users in w.entry(ns.into()).or_default().values_mut() {
            users.retain(|u| u != user);
        }
        w.get_mut(ns).unwrap().retain(|_, users| !users.is_empty());
    }

    fn apply(&self, plan: &mut Plan, change: Change) -> Vec<Step> {
        let lookup = |ns: &str| self.0.borrow().get(ns).cloned().unwrap_or_default();
        plan.change(change, &lookup)
    }
}

fn seen(name: &str, finalized: bool, deleting: bool) -> Change {
    Change::Secret(SecretSeen {
        namespace: "pr-1".into(),
        name: name.into(),
        uid: Some("u-1".into()),
        finalized,
        deleting,
    })
}

fn objects() -> Change {
    Change::Objects {
        namespace: "pr-1".into(),
    }
}

fn key(name: &str) -> Key {
    ("pr-1".into(), name.into())
}

#[test]
fn nothing_is_released_before_the_caches_have_synced() {
    let (world, mut plan) = (World::default(), Plan::default());
    assert_eq!(world.apply(&mut plan, seen("creds", true, false)), vec![]);
    world.use_secret("pr-1", "creds", "PlanetScaleBranch/pr-1");
    assert_eq!(world.apply(&mut plan, objects()), vec![], "not synced yet");
    assert_eq!(world.apply(&mut plan, Change::Synced), vec![], "in use");

    let (world, mut plan) = (World::default(), Plan::default());
    world.apply(&mut plan, seen("stale", true, false));
    let steps = world.apply(&mut plan, Change::Synced);
    assert_eq!(steps, vec![Step::Release(key("stale"))], "used by nothing");
}

#[test]
fn a_new_user_protects_its_secret_once_whichever_watch_reports_it() {
    let (world, mut plan) = (World::default(), Plan::default());
    world.apply(&mut plan, Change::Synced);
    world.apply(&mut plan, seen("creds", false, false));
    world.use_secret("pr-1", "creds", "PlanetScaleBranch/pr-1");
    let steps = world.apply(&mut plan, objects());
    assert_eq!(steps, vec![Step::Protect(key("creds"))]);
    // The same Secret event from each controller's watch, before the patch shows.
    for _ in 0..3 {
        assert_eq!(world.apply(&mut plan, seen("creds", false, false)), vec![]);
    }
    // A second user of a protected Secret needs nothing.
    world.apply(&mut plan, seen("creds", true, false));
    world.use_secret("pr-1", "creds", "PlanetScalePassword/app");
    assert_eq!(world.apply(&mut plan, objects()), vec![]);
}

#[test]
fn a_deleted_secret_stays_until_its_last_user_is_gone() {
    let (world, mut plan) = (World::default(), Plan::default());
    world.use_secret("pr-1", "creds", "PlanetScaleBranch/pr-1");
    world.use_secret("pr-1", "creds", "PlanetScalePassword/app");
    world.apply(&mut plan, seen("creds", true, false));
    world.apply(&mut plan, objects());
    world.apply(&mut plan, Change::Synced);

    let users = vec![
        "PlanetScaleBranch/pr-1".into(),
        "PlanetScalePassword/app".into(),
    ];
    let explain = Step::Explain(key("creds"), "u-1".into(), users);
    assert_eq!(
        world.apply(&mut plan, seen("creds", true, true)),
        vec![explain]
    );
    assert_eq!(
        world.apply(&mut plan, seen("creds", true, true)),
        vec![],
        "once"
    );

    world.forget("pr-1", "PlanetScalePassword/app");
    assert_eq!(world.apply(&mut plan, objects()), vec![], "one user left");
    world.forget("pr-1", "PlanetScaleBranch/pr-1");
    let steps = world.apply(&mut plan, objects());
    assert_eq!(steps, vec![Step::Release(key("creds"))]);
}

#[test]
fn a_reference_edited_away_releases_the_old_secret_and_protects_the_new() {
    let (world, mut plan) = (World::default(), Plan::default());
    world.use_secret("pr-1", "old", "PlanetScaleBranch/pr-1");
    world.apply(&mut plan, objects()); // the cache's first list
    world.apply(&mut plan, Change::Synced);
    world.apply(&mut plan, seen("old", true, false));
    world.forget("pr-1", "PlanetScaleBranch/pr-1");
    world.use_secret("pr-1", "new", "PlanetScaleBranch/pr-1");
    let mut steps = world.apply(&mut plan, objects());
    steps.sort();
    let want = vec![Step::Protect(key("new")), Step::Release(key("old"))];
    assert_eq!(steps, want);
}

#[test]
fn a_user_that_arrives_while_the_finalizer_is_being_removed_gets_it_back() {
    let (world, mut plan) = (World::default(), Plan::default());
    world.apply(&mut plan, Change::Synced);
    assert_eq!(
        world.apply(&mut plan, seen("creds", true, false)),
        vec![Step::Release(key("creds"))]
    );
    // A new resource names it before the removal shows in the watch.
    world.use_secret("pr-1", "creds", "PlanetScaleBranch/pr-2");
    assert_eq!(world.apply(&mut plan, objects()), vec![]);
    let steps = world.apply(&mut plan, seen("creds", false, false));
    assert_eq!(steps, vec![Step::Protect(key("creds"))]);
}

#[test]
fn a_failed_step_is_asked_for_again_and_a_missing_secret_protected_once_created() {
    let (world, mut plan) = (World::default(), Plan::default());
    world.apply(&mut plan, Change::Synced);
    let release = vec![Step::Release(key("creds"))];
    assert_eq!(world.apply(&mut plan, seen("creds", true, false)), release);
    assert_eq!(world.apply(&mut plan, seen("creds", true, false)), vec![]);
    plan.forget(&release[0]);
    assert_eq!(world.apply(&mut plan, seen("creds", true, false)), release);

    world.use_secret("pr-1", "later", "PlanetScaleBranch/pr-1");
    let protect = vec![Step::Protect(key("later"))];
    assert_eq!(world.apply(&mut plan, objects()), protect);
    plan.forget(&protect[0]); // no such Secret yet
    assert_eq!(world.apply(&mut plan, seen("later", false, false)), protect);
}

#[test]
fn a_secret_nobody_uses_and_without_the_finalizer_is_left_alone() {
    let (world, mut plan) = (World::default(), Plan::default());
    world.apply(&mut plan, Change::Synced);
    assert_eq!(world.apply(&mut plan, seen("other", false, false)), vec![]);
    assert_eq!(world.apply(&mut plan, seen("other", false, true)), vec![]);
    world.use_secret("pr-1", "gone", "PlanetScaleBranch/pr-1");
    world.apply(&mut plan, objects());
    let deleting = seen("gone", false, true);
    assert_eq!(world.apply(&mut plan, deleting), vec![], "too late to add");
}

#[test]
fn a_failed_release_is_not_retried_once_a_new_resource_uses_the_secret() {
    let (world, mut plan) = (World::default(), Plan::default());
    world.apply(&mut plan, Change::Synced);
    let steps = world.apply(&mut plan, seen("creds", true, false));
    assert_eq!(steps, vec![Step::Release(key("creds"))], "nobody uses it");
    plan.forget(&steps[0]);
    assert!(plan.still_wanted(&steps[0]), "still unused: try again");

    world.use_secret("pr-1", "creds", "PlanetScaleBranch/new");
    world.apply(&mut plan, objects());
    assert!(
        !plan.still_wanted(&steps[0]),
        "a new user arrived while the release waited to be tried again"
    );
    assert!(
        !plan.still_wanted(&Step::Protect(key("creds"))),
        "it already has the finalizer"
    );
}
