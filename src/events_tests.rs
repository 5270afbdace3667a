use k8s_openapi::jiff::{SignedDuration, Timestamp};

use super::{Publish, Recent};

fn at(secs: i64) -> Timestamp {
    Timestamp::new(1_700_000_000 + secs, 0).expect("a valid time")
}

#[test]
fn a_first_event_is_created_and_named_after_its_object() {
    let mut recent = Recent::default();
    match recent.decide(7, "app", at(0)) {
        Publish::Create { name } => assert!(name.starts_with("app."), "{name}"),
        other @ Publish::Repeat { .. } => panic!("expected a new event, got {other:?}"),
    }
}

#[test]
fn a_repeat_within_the_window_counts_on_the_same_event() {
    let mut recent = Recent::default();
    recent.remember(7, "app.1".into(), 1, at(0));
    assert_eq!(
        recent.decide(7, "app", at(300)),
        Publish::Repeat {
            name: "app.1".into(),
            count: 2
        }
    );
    recent.remember(7, "app.1".into(), 2, at(300));
    // The window runs from the last occurrence.
    assert_eq!(
        recent.decide(7, "app", at(600)),
        Publish::Repeat {
            name: "app.1".into(),
            count: 3
        }
    );
    // Another key is another event.
    assert!(matches!(
        recent.decide(8, "app", at(600)),
        Publish::Create { .. }
    ));
}

#[test]
fn an_event_older_than_the_window_is_forgotten_and_starts_anew() {
    let mut recent = Recent::default();
    recent.remember(7, "app.1".into(), 4, at(0));
    let later = at(0) + SignedDuration::from_mins(6) + SignedDuration::from_secs(1);
    assert!(matches!(
        recent.decide(7, "app", later),
        Publish::Create { .. }
    ));
    assert!(
        recent.by_key.is_empty(),
        "nothing older than the window is kept"
    );
}

#[test]
fn pruning_scans_at_most_every_ten_seconds() {
    let mut recent = Recent::default();
    recent.prune(at(0));
    recent.remember(1, "a.1".into(), 1, at(-400));
    // 5 s after the last scan: the stale entry is still there (no scan per event).
    recent.prune(at(5));
    assert_eq!(recent.by_key.len(), 1);
    recent.prune(at(10));
    assert!(recent.by_key.is_empty());
}
