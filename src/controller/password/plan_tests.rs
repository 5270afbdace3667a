//! What the planner does for each observed state.
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::deadline::*;
use super::plan::*;
use crate::crd::password::{PasswordRole, PendingDeletion, PlanetScalePasswordStatus};
use crate::crd::password_name;
use crate::time::{after, to_time};

const UID: &str = "8d3c2b1a-0000-4000-8000-000000000001";

fn t(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_900_000_000 + secs, 0).unwrap()
}

fn desired() -> Desired {
    Desired {
        role: PasswordRole::Readwriter,
        ttl: None,
        replica: false,
        cidrs: None,
        interval: None,
        grace: Duration::from_secs(600),
        rotate_request: None,
        secret_name: "app-db".into(),
        inherited_roles: None,
        where_on_delete: None,
        where_on_update: None,
    }
}

/// A status after password number `n` was created and recorded.
fn settled(n: i64) -> PlanetScalePasswordStatus {
    PlanetScalePasswordStatus {
        password_id: Some(format!("id{n}")),
        password_name: Some(password_name(UID, n)),
        rotation: n,
        secret_name: Some("app-db".into()),
        last_rotated_at: Some(to_time(t(0))),
        ..Default::default()
    }
}

fn live() -> LiveView {
    LiveView {
        role: Some(PasswordRole::Readwriter),
        created_at: Some(t(0)),
        ..Default::default()
    }
}

fn observe<'a>(
    status: &'a PlanetScalePasswordStatus,
    desired: &'a Desired,
    secret: SecretState,
    live: Live,
    now: i64,
) -> Facts<'a> {
    Facts {
        now: t(now),
        uid: UID,
        status,
        desired,
        secret,
        live,
        renew_refused: false,
        cidrs_patched: false,
    }
}

const OK: SecretState = SecretState::Ours(Creds::Match);

fn mint(counter: i64, cause: Cause) -> Decision {
    Decision::Mint { counter, cause }
}

#[test]
fn no_password_yet_mints_the_first() {
    let (s, d) = (PlanetScalePasswordStatus::default(), desired());
    let o = observe(&s, &d, SecretState::Missing, Live::None, 0);
    assert_eq!(decide(&o), mint(1, Cause::Initial));
}

#[test]
fn a_steady_password_needs_nothing() {
    let (s, d) = (settled(1), desired());
    let o = observe(&s, &d, OK, Live::Found(live()), 10);
    assert_eq!(decide(&o), Decision::Idle);
    assert_eq!(next_deadline(&o), None);
}

#[test]
fn an_interrupted_create_is_resumed_with_the_same_counter() {
    // The counter was recorded (3), the create or the Secret write did not finish.
    let mut s = settled(2);
    s.rotation = 3;
    let d = desired();
    assert_eq!(in_flight(&s, UID), Some(3));
    for secret in [SecretState::Missing, OK, SecretState::Ours(Creds::Mismatch)] {
        let o = observe(&s, &d, secret, Live::Found(live()), 0);
        assert_eq!(decide(&o), mint(3, Cause::Resume), "{secret:?}");
    }
    // Also before the very first password was recorded.
    let first = PlanetScalePasswordStatus {
        rotation: 1,
        ..Default::default()
    };
    let o = observe(&first, &d, SecretState::Missing, Live::None, 0);
    assert_eq!(decide(&o), mint(1, Cause::Resume));
}

#[test]
fn a_foreign_secret_is_never_touched() {
    let d = desired();
    for s in [PlanetScalePasswordStatus::default(), settled(1), {
        let mut s = settled(1);
        s.rotation = 2;
        s
    }] {
        let o = observe(&s, &d, SecretState::Foreign, Live::Found(live()), 0);
        assert_eq!(decide(&o), Decision::Conflict);
    }
}

#[test]
fn password_but_no_secret_heals() {
    let (s, d) = (settled(1), desired());
    let o = observe(&s, &d, SecretState::Missing, Live::Found(live()), 0);
    assert_eq!(decide(&o), mint(2, Cause::SecretMissing));
    let emptied = observe(
        &s,
        &d,
        SecretState::Ours(Creds::Absent),
        Live::Found(live()),
        0,
    );
    assert_eq!(decide(&emptied), mint(2, Cause::SecretMissing));
}

#[test]
fn edited_credentials_heal() {
    let (s, d) = (settled(4), desired());
    let o = observe(
        &s,
        &d,
        SecretState::Ours(Creds::Mismatch),
        Live::Found(live()),
        0,
    );
    assert_eq!(decide(&o), mint(5, Cause::SecretEdited));
}

#[test]
fn a_renamed_secret_gets_a_new_password() {
    let (s, mut d) = (settled(1), desired());
    d.secret_name = "other".into();
    let o = observe(&s, &d, SecretState::Missing, Live::Found(live()), 0);
    assert_eq!(decide(&o), mint(2, Cause::SecretRenamed));
}

#[test]
fn a_password_deleted_in_planetscale_is_replaced() {
    let (s, d) = (settled(1), desired());
    let o = observe(&s, &d, OK, Live::Gone, 0);
    assert_eq!(decide(&o), mint(2, Cause::Gone));
    assert!(Cause::Gone.old_is_dead());
}

#[test]
fn ttl_renews_at_half_life() {
    let (s, mut d) = (settled(1), desired());
    d.ttl = Some(Duration::from_secs(3600));
    let l = LiveView {
        ttl_seconds: Some(3600),
        expires_at: Some(t(3600)),
        ..live()
    };
    let before = observe(&s, &d, OK, Live::Found(l.clone()), 1799);
    assert_eq!(decide(&before), Decision::Idle);
    assert_eq!(next_deadline(&before), Some(t(1800)));
    let at = observe(&s, &d, OK, Live::Found(l.clone()), 1800);
    assert_eq!(decide(&at), Decision::Renew);
    assert_eq!(next_deadline(&at), Some(t(3600)), "expiry is next");
}

#[test]
fn expired_or_unrenewable_passwords_are_replaced() {
    let (s, mut d) = (settled(1), desired());
    d.ttl = Some(Duration::from_secs(3600));
    let l = LiveView {
        ttl_seconds: Some(3600),
        expires_at: Some(t(3600)),
        ..live()
    };
    let past = observe(&s, &d, OK, Live::Found(l.clone()), 3600);
    assert_eq!(decide(&past), mint(2, Cause::Expired));
    let flagged = LiveView {
        expired: true,
        ..l.clone()
    };
    let o = observe(&s, &d, OK, Live::Found(flagged), 10);
    assert_eq!(decide(&o), mint(2, Cause::Expired));
    let mut refused = observe(&s, &d, OK, Live::Found(l), 1900);
    refused.renew_refused = true;
    assert_eq!(decide(&refused), mint(2, Cause::RenewRefused));
    assert!(!Cause::RenewRefused.old_is_dead());
}

#[test]
fn expiry_wins_over_a_missing_secret() {
    let (s, d) = (settled(1), desired());
    let l = LiveView {
        expired: true,
        ..live()
    };
    let o = observe(&s, &d, SecretState::Missing, Live::Found(l), 0);
    assert_eq!(decide(&o), mint(2, Cause::Expired));
}

#[test]
fn rotation_is_due_after_the_interval() {
    let (s, mut d) = (settled(1), desired());
    d.interval = Some(Duration::from_secs(86_400));
    let early = observe(&s, &d, OK, Live::Found(live()), 86_399);
    assert_eq!(decide(&early), Decision::Idle);
    assert_eq!(next_deadline(&early), Some(t(86_400)));
    let due = observe(&s, &d, OK, Live::Found(live()), 86_400);
    assert_eq!(decide(&due), mint(2, Cause::Scheduled));
}

#[test]
fn the_rotate_annotation_rotates_once_per_value() {
    let (mut s, mut d) = (settled(1), desired());
    d.rotate_request = Some("2030-01-01".into());
    let o = observe(&s, &d, OK, Live::Found(live()), 0);
    assert_eq!(decide(&o), mint(2, Cause::Requested));
    s.last_rotate_request = Some("2030-01-01".into());
    let o = observe(&s, &d, OK, Live::Found(live()), 0);
    assert_eq!(decide(&o), Decision::Idle);
}

#[test]
fn role_replica_or_ttl_changes_mint_a_new_password() {
    let s = settled(1);
    let mut role = desired();
    role.role = PasswordRole::Admin;
    let mut replica = desired();
    replica.replica = true;
    let mut ttl = desired();
    ttl.ttl = Some(Duration::from_secs(600));
    for d in [role, replica, ttl] {
        let o = observe(&s, &d, OK, Live::Found(live()), 0);
        assert_eq!(decide(&o), mint(2, Cause::SpecChanged), "{d:?}");
    }
}

#[test]
fn cidr_changes_are_patched_in_place() {
    let (s, mut d) = (settled(1), desired());
    d.cidrs = Some(vec!["10.0.0.0/8".into()]);
    let mut o = observe(&s, &d, OK, Live::Found(live()), 0);
    assert_eq!(decide(&o), Decision::UpdateCidrs);
    o.cidrs_patched = true;
    assert_eq!(decide(&o), Decision::Idle, "once per reconcile");
}

#[test]
fn grace_periods_and_due_deletions() {
    let grace = Duration::from_secs(600);
    assert_eq!(delete_after(Cause::Scheduled, t(0), grace), t(600));
    assert_eq!(delete_after(Cause::SecretEdited, t(0), grace), t(600));
    assert_eq!(delete_after(Cause::Expired, t(0), grace), t(0));
    let pending = vec![
        PendingDeletion {
            password_id: "old1".into(),
            password_name: None,
            delete_after: to_time(t(600)),
        },
        PendingDeletion {
            password_id: "old2".into(),
            password_name: None,
            delete_after: to_time(t(1200)),
        },
    ];
    assert!(due_deletions(&pending, t(599)).is_empty());
    let due = due_deletions(&pending, t(600));
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].password_id, "old1");
    let mut s = settled(2);
    s.pending_deletions = pending;
    let d = desired();
    let o = observe(&s, &d, OK, Live::Found(live()), 700);
    assert_eq!(next_deadline(&o), Some(t(1200)), "grace expired for old1");
    assert_eq!(after(t(0), grace), t(600));
}

#[test]
fn a_postgres_role_is_replaced_when_its_inherited_roles_map_to_another_role() {
    use crate::crd::password_postgres::InheritedRole as I;
    let s = settled(1);
    let live_rw = Live::Found(live());
    // The explicit set that readwriter maps to: nothing changes.
    let mut same = desired();
    same.role = PasswordRole::Reader;
    same.inherited_roles = Some(vec![I::PgReadAllData, I::PgWriteAllData]);
    let o = observe(&s, &same, OK, live_rw.clone(), 10);
    assert_eq!(decide(&o), Decision::Idle);
    // A set of its own: a new role.
    let mut own = desired();
    own.inherited_roles = Some(vec![I::PgMonitor]);
    let o = observe(&s, &own, OK, live_rw.clone(), 10);
    assert_eq!(decide(&o), mint(2, Cause::SpecChanged));
    // Once the live role has a set of its own, it is left alone.
    let custom = Live::Found(LiveView {
        role: None,
        ..live()
    });
    let o = observe(&s, &own, OK, custom, 10);
    assert_eq!(decide(&o), Decision::Idle);
}

#[test]
fn an_adopted_password_is_replaced_at_once() {
    // Recorded by adoption: the counter was never raised, the plaintext is unknowable.
    let s = PlanetScalePasswordStatus {
        password_id: Some("adopted".into()),
        password_name: Some("made-by-hand".into()),
        ..Default::default()
    };
    let d = desired();
    let o = observe(&s, &d, SecretState::Missing, Live::Found(live()), 0);
    assert_eq!(decide(&o), mint(1, Cause::Adopted));
    assert!(
        !Cause::Adopted.old_is_dead(),
        "clients get the grace period"
    );
}
