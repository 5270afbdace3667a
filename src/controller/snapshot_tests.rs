//! The snapshot's sharing, freshness, failure and fallback rules.
use std::sync::atomic::AtomicUsize;

use super::*;

fn key(db: &str) -> DbKey {
    DbKey {
        credentials: ("ns".into(), "creds".into()),
        organization: "acme".into(),
        database: db.into(),
    }
}

fn not_found() -> ApiError {
    ApiError::NotFound {
        code: "not_found".into(),
        message: "no such endpoint".into(),
    }
}

fn unavailable() -> ApiError {
    ApiError::Server {
        status: 503,
        retry_after: None,
        code: "unavailable".into(),
        message: "down".into(),
    }
}

const MINUTE: Duration = Duration::from_secs(60);

#[tokio::test]
async fn concurrent_askers_share_one_list() {
    let snapshots = Snapshots::<usize>::new(Options::default());
    let calls = AtomicUsize::new(0);
    let list = || async {
        calls.fetch_add(1, Ordering::SeqCst);
        tokio::task::yield_now().await;
        Ok(7)
    };
    let k = key("shop");
    let (a, b, c) = tokio::join!(
        snapshots.get(&k, MINUTE, list),
        snapshots.get(&k, MINUTE, list),
        snapshots.get(&k, MINUTE, list),
    );
    for s in [a, b, c] {
        assert_eq!(s.unwrap().map(|s| s.items), Some(7));
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1, "one list for three askers");
    // Fresh enough: served without a call; another database lists on its own.
    snapshots.get(&k, MINUTE, list).await.unwrap();
    snapshots.get(&key("other"), MINUTE, list).await.unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    // Older than asked for: listed again.
    snapshots.get(&k, Duration::ZERO, list).await.unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_failed_list_is_shared_only_when_asked() {
    for share in [true, false] {
        let options = Options {
            share_failures: share,
            fallback_for: None,
        };
        let snapshots = Snapshots::<usize>::new(options);
        let calls = AtomicUsize::new(0);
        let failing = || async {
            calls.fetch_add(1, Ordering::SeqCst);
            tokio::task::yield_now().await;
            Err::<usize, _>(unavailable())
        };
        let k = key("shop");
        let (a, b) = tokio::join!(
            snapshots.get(&k, MINUTE, failing),
            snapshots.get(&k, MINUTE, failing),
        );
        assert!(a.is_err() && b.is_err());
        let expected = if share { 1 } else { 2 };
        assert_eq!(calls.load(Ordering::SeqCst), expected, "share {share}");
    }
}

#[tokio::test]
async fn a_refused_list_falls_back_for_the_window_only_when_asked() {
    let options = Options {
        share_failures: true,
        fallback_for: Some(Duration::from_secs(3600)),
    };
    let snapshots = Snapshots::<usize>::new(options);
    let k = key("shop");
    let refused = || async { Err::<usize, _>(not_found()) };
    assert!(snapshots.get(&k, MINUTE, refused).await.unwrap().is_none());
    let calls = AtomicUsize::new(0);
    let list = || async {
        calls.fetch_add(1, Ordering::SeqCst);
        Ok(1)
    };
    assert!(snapshots.get(&k, MINUTE, list).await.unwrap().is_none());
    assert_eq!(
        calls.load(Ordering::SeqCst),
        0,
        "not tried within the window"
    );
    assert_eq!(snapshots.resync_in(&k, MINUTE), MINUTE);
    // The window is over: the list is tried again.
    let long_ago = Instant::now().checked_sub(Duration::from_secs(3601));
    snapshots.db(&k).meta.lock().unwrap().unsupported = long_ago;
    assert!(snapshots.get(&k, MINUTE, list).await.unwrap().is_some());
    // Without the option a 404 is an error like any other.
    let plain = Snapshots::<usize>::new(Options::default());
    assert!(plain.get(&k, MINUTE, refused).await.is_err());
}

#[test]
fn resyncs_fall_on_the_databases_phase() {
    let interval = Duration::from_secs(600);
    let phase = Instant::now();
    let at = |secs| phase + Duration::from_secs(secs);
    assert_eq!(next_in_phase(phase, at(0), interval), interval);
    assert_eq!(
        next_in_phase(phase, at(1), interval),
        Duration::from_secs(599)
    );
    assert_eq!(
        next_in_phase(phase, at(600), interval),
        interval,
        "exactly on the phase: the next one"
    );
    assert_eq!(
        next_in_phase(phase, at(1500), interval),
        Duration::from_secs(300)
    );
    assert_eq!(
        next_in_phase(at(5), phase, interval),
        Duration::from_secs(605)
    );
}

#[test]
fn the_first_resource_to_ask_sets_the_phase() {
    let snapshots = Snapshots::<usize>::new(Options::default());
    let interval = Duration::from_secs(600);
    let first = snapshots.resync_in(&key("shop"), interval);
    assert!(first <= interval && first > interval - Duration::from_secs(1));
    let other = snapshots.resync_in(&key("other"), interval);
    assert!(other > interval - Duration::from_secs(1));
}

/// A list older than any asker wants is not kept once another database lists: its objects
/// are freed, and the next ask lists again.
#[tokio::test]
async fn stale_lists_of_other_databases_are_dropped() {
    let snapshots = Snapshots::<Vec<u8>>::new(Options::default());
    let calls = AtomicUsize::new(0);
    let list = || async {
        calls.fetch_add(1, Ordering::SeqCst);
        Ok(vec![0u8; 1024])
    };
    let shop = snapshots
        .get(&key("shop"), MINUTE, list)
        .await
        .unwrap()
        .unwrap();
    let kept = Arc::downgrade(&shop);
    drop(shop);
    // Fresh for a minute: another database's list keeps it.
    snapshots.get(&key("other"), MINUTE, list).await.unwrap();
    assert!(kept.upgrade().is_some(), "a fresh list is kept");
    // Asked with no age to spare, any list is stale: the next list drops it.
    snapshots
        .get(&key("third"), Duration::ZERO, list)
        .await
        .unwrap();
    assert!(kept.upgrade().is_none(), "the stale list of shop was freed");
    snapshots.get(&key("shop"), MINUTE, list).await.unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 4, "shop listed again");
}

/// Resyncs stay on the first list's phase: a later list of the same database (one that the
/// freshness window forced) does not move them, so its resources keep one due time.
#[tokio::test]
async fn a_later_list_keeps_the_databases_phase() {
    let snapshots = Snapshots::<usize>::new(Options::default());
    let k = key("shop");
    let list = || async { Ok(1) };
    snapshots.get(&k, MINUTE, list).await.unwrap();
    let first = snapshots.resync_in(&k, MINUTE);
    snapshots.get(&k, Duration::ZERO, list).await.unwrap();
    let after = snapshots.resync_in(&k, MINUTE);
    assert!(
        after < first,
        "due on the first list's phase ({after:?} after a second list, {first:?} before)"
    );
}
