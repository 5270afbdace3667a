use planetscale_api::models::DeploymentState;

use super::*;
use crate::controller::deploy_request::test_support::{facts, spec};

fn step(flags: &str, f: &Facts) -> Option<Step> {
    decide(&spec(flags), f).step
}

#[test]
fn deploy_false_never_acts() {
    for state in DeploymentState::KNOWN {
        let f = facts(state.as_str());
        assert_eq!(step("", &f), None, "{state:?}");
        assert_eq!(decide(&spec(""), &f).refusal, None, "{state:?}");
    }
}

#[test]
fn deploy_queues_only_when_ready() {
    for state in DeploymentState::KNOWN {
        let expected = (*state == DeploymentState::Ready).then_some(Step::Queue);
        assert_eq!(
            step("deploy", &facts(state.as_str())),
            expected,
            "{state:?}"
        );
    }
}

#[test]
fn queue_waits_for_a_required_approval() {
    let mut f = facts("ready");
    f.approval_required = true;
    assert_eq!(step("deploy", &f), None);
    assert_eq!(step("deploy approver", &f), Some(Step::Approve));
    f.approved = true;
    assert_eq!(step("deploy approver", &f), Some(Step::Queue));
    assert_eq!(step("deploy", &f), Some(Step::Queue));
}

#[test]
fn approver_approves_even_when_not_required_but_only_with_deploy() {
    let f = facts("ready");
    assert_eq!(step("deploy approver", &f), Some(Step::Approve));
    assert_eq!(step("approver", &f), None);
    assert_eq!(step("deploy approver", &facts("pending")), None);
}

#[test]
fn closed_or_not_deployable_requests_are_not_queued() {
    let mut f = facts("ready");
    f.open = false;
    assert_eq!(step("deploy", &f), None);
    let mut f = facts("ready");
    f.deployable = false;
    assert_eq!(step("deploy", &f), None);
}

#[test]
fn auto_apply_follows_the_spec_until_cutover() {
    let mut f = facts("pending");
    assert_eq!(step("gated", &f), Some(Step::SetAutoApply(false)));
    f.auto_cutover = false;
    assert_eq!(step("gated", &f), None);
    assert_eq!(step("", &f), Some(Step::SetAutoApply(true)));
    let mut done = facts("complete");
    done.auto_cutover = false;
    assert_eq!(step("", &done), None, "too late to matter");
}

#[test]
fn cutover_applies_only_in_pending_cutover() {
    let mut f = facts("pending_cutover");
    f.auto_cutover = false;
    assert_eq!(step("deploy gated", &f), None);
    assert_eq!(step("deploy gated cutover", &f), Some(Step::Cutover));
    assert_eq!(step("deploy", &f), Some(Step::SetAutoApply(true)));
    let mut early = facts("in_progress");
    early.auto_cutover = false;
    assert_eq!(step("deploy gated cutover", &early), None);
}

#[test]
fn revert_and_skip_revert_act_in_the_window() {
    let f = facts("complete_pending_revert");
    assert_eq!(step("deploy revert", &f), Some(Step::Revert));
    assert_eq!(step("deploy skip", &f), Some(Step::SkipRevert));
    assert_eq!(step("deploy", &f), None);
    assert_eq!(decide(&spec("deploy revert"), &f).refusal, None);
}

#[test]
fn revert_outside_the_window_is_refused_with_a_reason() {
    let closed = decide(&spec("deploy revert"), &facts("complete"));
    assert_eq!(closed.step, None);
    assert!(closed.refusal.unwrap().contains("revert window"));
    let early = decide(&spec("deploy revert"), &facts("ready"));
    assert_eq!(early.step, None, "the deploy is held while revert is true");
    assert!(
        early
            .refusal
            .unwrap()
            .contains("nothing of deploy request #7 is deployed")
    );
    for ok in [
        "in_progress_revert",
        "complete_revert",
        "in_progress_cutover",
    ] {
        assert_eq!(
            decide(&spec("deploy revert"), &facts(ok)).refusal,
            None,
            "{ok}"
        );
    }
}

#[test]
fn skip_revert_is_refused_after_a_revert_only() {
    assert!(
        decide(&spec("skip"), &facts("complete_revert"))
            .refusal
            .is_some()
    );
    for ok in ["ready", "complete", "complete_pending_revert", "queued"] {
        assert_eq!(
            decide(&spec("deploy skip"), &facts(ok)).refusal,
            None,
            "{ok}"
        );
    }
}

#[test]
fn every_state_has_a_poll_that_fits() {
    use Poll::*;
    let table = [
        ("pending", Quick),
        ("ready", Slow),
        ("no_changes", Slow),
        ("queued", Quick),
        ("submitting", Quick),
        ("in_progress", Quick),
        ("pending_cutover", Slow),
        ("in_progress_vschema", Quick),
        ("in_progress_cancel", Quick),
        ("in_progress_cutover", Quick),
        ("complete", Never),
        ("complete_cancel", Never),
        ("complete_error", Never),
        ("complete_pending_revert", Slow),
        ("in_progress_revert", Quick),
        ("in_progress_revert_vschema", Quick),
        ("complete_revert", Never),
        ("complete_revert_error", Never),
        ("cancelled", Never),
        ("error", Slow),
    ];
    assert_eq!(table.len(), DeploymentState::KNOWN.len());
    for (state, expected) in table {
        assert_eq!(
            decide(&spec("deploy"), &facts(state)).poll,
            expected,
            "{state}"
        );
    }
}

#[test]
fn blocked_queue_and_closed_requests_poll_slowly_or_not_at_all() {
    let mut blocked = facts("queued");
    blocked.queue_blocked = Some(Some(3));
    assert_eq!(decide(&spec("deploy"), &blocked).poll, Poll::Slow);
    let mut closed = facts("ready");
    closed.open = false;
    assert_eq!(decide(&spec(""), &closed).poll, Poll::Never);
    assert_eq!(decide(&spec(""), &facts("bogus")).poll, Poll::Slow);
}

/// Every deployment state × the four deploying specs: the one step (if any) planned.
#[test]
fn every_state_times_every_spec() {
    use Step::*;
    const N: Option<Step> = None;
    let table: [(&str, [Option<Step>; 4]); 20] = [
        ("pending", [N, N, N, N]),
        ("ready", [Some(Queue), Some(Queue), N, Some(Queue)]),
        ("no_changes", [N, N, N, N]),
        ("queued", [N, N, N, N]),
        ("submitting", [N, N, N, N]),
        ("in_progress", [N, N, N, N]),
        ("pending_cutover", [N, Some(Cutover), N, N]),
        ("in_progress_vschema", [N, N, N, N]),
        ("in_progress_cancel", [N, N, N, N]),
        ("in_progress_cutover", [N, N, N, N]),
        ("complete", [N, N, N, N]),
        ("complete_cancel", [N, N, N, N]),
        ("complete_error", [N, N, N, N]),
        (
            "complete_pending_revert",
            [N, N, Some(Revert), Some(SkipRevert)],
        ),
        ("in_progress_revert", [N, N, N, N]),
        ("in_progress_revert_vschema", [N, N, N, N]),
        ("complete_revert", [N, N, N, N]),
        ("complete_revert_error", [N, N, N, N]),
        ("cancelled", [N, N, N, N]),
        ("error", [N, N, N, N]),
    ];
    let specs = [
        "deploy",
        "deploy gated cutover",
        "deploy revert",
        "deploy skip",
    ];
    for (state, expected) in table {
        for (flags, want) in specs.iter().zip(expected) {
            let mut f = facts(state);
            f.auto_cutover = !flags.contains("gated");
            assert_eq!(step(flags, &f), want, "{state} with {flags}");
        }
    }
}

fn observed(request: Request) -> Observed {
    let credentials = planetscale_api::Credentials::service_token("id", "token");
    Observed {
        client: planetscale_api::Client::builder(credentials)
            .build()
            .unwrap(),
        src: crate::controller::deploy_request::request::Source {
            at: crate::controller::deploy_request::status::Location {
                org: "acme".into(),
                db: "shop".into(),
            },
            branch: "feature".into(),
            known_ready: false,
        },
        request,
        approval_required: false,
        approved_before: false,
        webhooks: false,
    }
}

#[test]
fn a_missing_request_is_opened_and_an_adopted_one_recorded_before_any_action() {
    let into = "main".to_string();
    let missing = plan(
        &spec("deploy"),
        &observed(Request::Missing { into: into.clone() }),
    );
    assert_eq!(missing.steps, [Step::Open { into }]);
    assert_eq!(missing.requeue, Some(QUICK_POLL));
    let dr: planetscale_api::models::DeployRequest = serde_json::from_value(serde_json::json!({
        "id": "dr1", "number": 7, "state": "open", "deployment_state": "ready",
        "approved": false, "branch": "feature", "into_branch": "main",
        "deployment": {"deployable": true, "auto_cutover": true},
    }))
    .unwrap();
    let adopted = plan(&spec("deploy"), &observed(Request::Adopted(dr.clone())));
    assert!(adopted.steps.is_empty(), "recorded first, queued next pass");
    let tracked = plan(&spec("deploy"), &observed(Request::Tracked(dr.clone())));
    assert_eq!(tracked.steps, [Step::Queue]);
    // Observed: the same request, with a spec that would act, gets no step (only a poll).
    let watched = plan(&spec("gated observe"), &observed(Request::Tracked(dr)));
    assert!(watched.steps.is_empty(), "{watched:?}");
    assert_eq!(watched.requeue, Some(SLOW_POLL));
}

#[test]
fn with_healthy_webhooks_a_wait_that_planetscale_announces_polls_slowly() {
    let tracked = |state: &str| {
        Request::Tracked(
            serde_json::from_value(serde_json::json!({
                "id": "dr1", "number": 7, "state": "open", "deployment_state": state,
                "approved": false, "branch": "feature", "into_branch": "main",
                "deployment": {"deployable": false, "auto_cutover": true},
            }))
            .unwrap(),
        )
    };
    let mut o = observed(tracked("in_progress"));
    assert_eq!(plan(&spec("deploy"), &o).requeue, Some(QUICK_POLL));
    o.webhooks = true;
    assert_eq!(plan(&spec("deploy"), &o).requeue, Some(SLOW_POLL));
    // Checks finishing (pending → ready) have no event: still polled quickly.
    let mut pending = observed(tracked("pending"));
    pending.webhooks = true;
    assert_eq!(plan(&spec("deploy"), &pending).requeue, Some(QUICK_POLL));
}

#[test]
fn after_a_step_the_state_it_left_decides_when_to_look_again() {
    let queued = facts("submitting");
    assert_eq!(
        after_step(&spec("deploy"), &queued, false),
        Some(QUICK_POLL)
    );
    assert_eq!(
        after_step(&spec("deploy"), &queued, true),
        Some(SLOW_POLL),
        "the deploy starting is announced (in_progress)"
    );
    // Auto-apply set, the queue is the next step: soon, webhooks or not.
    let ready = facts("ready");
    assert_eq!(after_step(&spec("deploy"), &ready, true), Some(QUICK_POLL));
    let mut observed = spec("deploy");
    observed.management_policy = crate::crd::ManagementPolicy::Observe;
    assert_eq!(
        after_step(&observed, &ready, true),
        Some(SLOW_POLL),
        "no step is taken under Observe"
    );
    // The revert window skipped: nothing more happens by itself.
    let mut done = facts("complete");
    done.open = false;
    assert_eq!(after_step(&spec("deploy skip"), &done, true), None);
}

#[test]
fn with_healthy_webhooks_the_revert_window_is_looked_at_every_five_minutes_and_at_its_end() {
    let deployed = chrono::Utc::now();
    let mut window = facts("complete_pending_revert");
    window.open = false;
    window.deployed_at = Some(deployed);
    let at = |minutes: i64, seconds: i64| {
        deployed + chrono::Duration::minutes(minutes) + chrono::Duration::seconds(seconds)
    };
    let look = |now, webhooks| next_look(Poll::Slow, &window, webhooks, now);
    // Polled: every 30 s, as a skip or revert in the dashboard has no other way to show.
    assert_eq!(look(at(1, 0), false), Some(SLOW_POLL));
    assert_eq!(look(at(29, 50), false), Some(SLOW_POLL));
    // With webhooks: every 5 minutes, then at the window's end (2 s after it).
    assert_eq!(look(at(0, 0), true), Some(WINDOW_POLL));
    assert_eq!(
        look(at(25, 0), true),
        Some(WINDOW_POLL + Duration::from_secs(2))
    );
    assert_eq!(look(at(28, 0), true), Some(Duration::from_secs(122)));
    // Past the end and still open (PlanetScale is late): soon again.
    assert_eq!(look(at(30, 1), true), Some(SLOW_POLL));
    // A whole window after the read that showed the deploy, looking when told: 6 reads
    // against 60 polled.
    let reads = |webhooks| {
        let (mut now, mut reads) = (at(0, 0), 0);
        while now < at(30, 0) {
            now += chrono::Duration::from_std(look(now, webhooks).unwrap()).unwrap();
            reads += 1;
        }
        reads
    };
    assert_eq!((reads(true), reads(false)), (6, 60));
    // Instant deploys have no window: nothing to wait for but a human.
    let mut instant = window.clone();
    instant.instant = true;
    assert_eq!(
        next_look(Poll::Slow, &instant, true, at(1, 0)),
        Some(SLOW_POLL)
    );
    // A pass plans the same from the deploy request PlanetScale returns.
    let deployed: planetscale_api::models::DeployRequest =
        serde_json::from_value(serde_json::json!({
            "id": "dr1", "number": 7, "state": "closed",
            "deployment_state": "complete_pending_revert", "approved": false,
            "branch": "feature", "into_branch": "main", "deployed_at": chrono::Utc::now(),
            "deployment": {"deployable": false, "auto_cutover": true},
        }))
        .unwrap();
    let mut o = observed(Request::Tracked(deployed));
    assert_eq!(plan(&spec("deploy"), &o).requeue, Some(SLOW_POLL));
    o.webhooks = true;
    assert_eq!(plan(&spec("deploy"), &o).requeue, Some(WINDOW_POLL));
    // Other waits on a human keep the slow poll, webhooks or not.
    assert_eq!(
        next_look(Poll::Slow, &facts("pending_cutover"), true, at(0, 0)),
        Some(SLOW_POLL)
    );
}
