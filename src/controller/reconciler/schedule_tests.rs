use super::*;

const T: Trigger = Trigger {
    generation: Some(1),
    paused: false,
    deleting: false,
    annotations: 0,
};
const MINUTE: Option<Duration> = Some(Duration::from_secs(60));

fn waits(due: Due) -> bool {
    matches!(due, Due::After(_))
}

#[test]
fn polls_back_off_from_2s_to_30s() {
    let got: Vec<u64> = (0..7).map(|n| poll_delay(n).as_secs()).collect();
    assert_eq!(got, vec![2, 4, 8, 16, 30, 30, 30]);
    let s = Schedule::default();
    s.set("k", T, Some(Duration::ZERO));
    assert_eq!(s.next_poll("k"), Duration::from_secs(2));
    assert_eq!(s.next_poll("k"), Duration::from_secs(4));
    s.reset_polls("k");
    assert_eq!(s.next_poll("k"), Duration::from_secs(2));
}

#[test]
fn a_pass_is_due_only_when_something_changed_or_its_time_came() {
    let s = Schedule::default();
    assert_eq!(s.due("k", T), Due::Now, "unknown objects go through");
    s.set("k", T, MINUTE);
    assert!(
        waits(s.due("k", T)),
        "our own status write: nothing changed"
    );
    let newer = Trigger {
        generation: Some(2),
        ..T
    };
    assert_eq!(s.due("k", newer), Due::Now, "a spec change goes through");
    let paused = Trigger { paused: true, ..T };
    assert_eq!(s.due("k", paused), Due::Now, "pausing goes through");
    let deleting = Trigger {
        deleting: true,
        ..T
    };
    assert_eq!(s.due("k", deleting), Due::Now, "a deletion goes through");
    let poked = Trigger {
        annotations: 1,
        ..T
    };
    assert_eq!(s.due("k", poked), Due::Now, "an annotation goes through");
    s.wake("k");
    assert_eq!(s.due("k", T), Due::Now, "a credentials change goes through");
    assert!(waits(s.due("k", T)), "once");
    s.set("k", T, Some(Duration::ZERO));
    assert_eq!(s.due("k", T), Due::Now, "the time came");
}

#[test]
fn without_a_timer_only_a_change_or_a_wake_lets_a_pass_through() {
    let s = Schedule::default();
    s.set("k", T, None);
    assert_eq!(s.due("k", T), Due::OnChange);
    s.wake("k");
    assert_eq!(s.due("k", T), Due::Now);
}

#[test]
fn a_wake_during_a_pass_survives_the_schedule_it_sets() {
    let s = Schedule::default();
    s.set("k", T, Some(Duration::from_secs(300)));
    s.wake("k"); // the Secret changes while a pass runs …
    s.set("k", T, Some(Duration::from_secs(300))); // … which then schedules the slow retry
    assert_eq!(s.due("k", T), Due::Now);
}

#[test]
fn a_wake_before_the_first_schedule_is_kept() {
    let s = Schedule::default();
    s.wake("k"); // the Secret is fixed between the first failure's status write …
    s.set("k", T, Some(Duration::from_secs(300))); // … and its slow retry being scheduled
    assert_eq!(s.due("k", T), Due::Now, "the fix is picked up at once");
    assert!(waits(s.due("k", T)), "once");
}

#[test]
fn a_delivery_of_what_the_last_pass_saw_is_no_news() {
    let s = Schedule::default();
    s.saw("k", "open/submitting".into());
    s.set("k", T, MINUTE);
    s.hint("k", Some("open/submitting"));
    assert!(waits(s.due("k", T)), "the state the pass just read");
    s.hint("k", Some("open/in_progress"));
    assert_eq!(s.due("k", T), Due::Now, "a new state goes through");
    assert!(waits(s.due("k", T)), "once");
    s.hint("k", None);
    assert_eq!(s.due("k", T), Due::Now, "a delivery that shows no state");
}

#[test]
fn a_delivery_during_the_pass_that_reads_its_state_is_no_news() {
    let s = Schedule::default();
    s.saw("k", "open/ready".into());
    s.set("k", T, MINUTE);
    // The pass queues the deploy; the `queued` delivery arrives before the pass ends …
    s.hint("k", Some("open/submitting"));
    // … and the pass records what the queue call answered.
    s.saw("k", "open/submitting".into());
    s.set("k", T, MINUTE);
    assert!(waits(s.due("k", T)));
}

#[test]
fn one_new_state_among_several_deliveries_goes_through() {
    let s = Schedule::default();
    s.saw("k", "open/in_progress".into());
    s.set("k", T, MINUTE);
    s.hint("k", Some("open/in_progress"));
    s.hint("k", Some("closed/complete_pending_revert"));
    s.hint("k", Some("open/in_progress"));
    assert_eq!(s.due("k", T), Due::Now);
    s.wake("k");
    s.hint("k", Some("open/in_progress"));
    assert_eq!(s.due("k", T), Due::Now, "a wake stays a wake");
}

#[test]
fn forgotten_objects_start_over() {
    let s = Schedule::default();
    s.set("k", T, MINUTE);
    s.saw("k", "open/ready".into());
    s.forget("k");
    assert_eq!(s.due("k", T), Due::Now);
    s.hint("k", Some("open/ready"));
    s.set("k", T, MINUTE);
    assert_eq!(s.due("k", T), Due::Now, "nothing seen since: news");
}

#[test]
fn annotations_are_part_of_the_trigger_and_labels_and_our_own_writes_are_not() {
    let mut meta = ObjectMeta {
        generation: Some(3),
        resource_version: Some("10".into()),
        ..Default::default()
    };
    let before = Trigger::of(&meta);
    meta.resource_version = Some("11".into());
    meta.finalizers = Some(vec!["planetscale.operator.dev/deploy-request".into()]);
    meta.managed_fields = Some(Vec::new());
    assert_eq!(
        Trigger::of(&meta),
        before,
        "our finalizer and status writes"
    );
    let mut poked = meta.clone();
    poked.annotations = Some([("example.com/poke".to_string(), "1".to_string())].into());
    assert_ne!(Trigger::of(&poked), before, "an annotation");
    let mut labelled = meta.clone();
    labelled.labels = Some([("team".to_string(), "a".to_string())].into());
    assert_eq!(Trigger::of(&labelled), before, "a label");
}
