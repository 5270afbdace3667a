//! The resolution table: which branch a target names, and how long each wait is.
use std::time::Duration;

use super::*;
use crate::crd::branch::{PlanetScaleBranchSpec, PlanetScaleBranchStatus};
use crate::crd::conditions::new_condition;
use crate::time::now;

fn branch(ready: Option<bool>, status_name: Option<&str>) -> PlanetScaleBranch {
    let spec: PlanetScaleBranchSpec =
        serde_json::from_value(serde_json::json!({"organization": "acme", "database": "shop"}))
            .unwrap();
    let mut b = PlanetScaleBranch::new("pr-1", spec);
    b.status = ready.map(|ready| PlanetScaleBranchStatus {
        branch_name: status_name.map(str::to_string),
        conditions: vec![new_condition(
            READY,
            ready,
            "Progressing",
            "creating",
            now(),
        )],
        ..Default::default()
    });
    b
}

fn target() -> Target {
    Target {
        organization: "acme".into(),
        database: "shop".into(),
        branch: "main".into(),
        known_ready: false,
        kind: None,
    }
}

fn retry_after(e: &Error) -> Option<Duration> {
    match e {
        Error::Waiting { retry_after, .. } => Some(*retry_after),
        _ => None,
    }
}

#[test]
fn a_ready_branch_resource_gives_its_branch() {
    // (status.branchName, expected branch): the name PlanetScale has wins over the default.
    for (status_name, want) in [(Some("renamed"), "renamed"), (None, "pr-1")] {
        let t = from_branch(&branch(Some(true), status_name)).unwrap();
        assert_eq!(
            (
                t.organization.as_str(),
                t.database.as_str(),
                t.branch.as_str()
            ),
            ("acme", "shop", want)
        );
        assert!(t.known_ready);
    }
}

#[test]
fn a_branch_resource_that_is_not_usable_waits_for_its_watch() {
    let mut deleting = branch(Some(true), None);
    deleting.metadata.deletion_timestamp = Some(now());
    for (b, says) in [
        (branch(None, None), "is not Ready yet"),
        (
            branch(Some(false), None),
            "is not Ready (Progressing: creating)",
        ),
        (deleting, "is being deleted"),
    ] {
        let err = from_branch(&b).unwrap_err();
        assert_eq!(err.reason(), "BranchNotReady");
        assert!(err.to_string().contains(says), "{err}");
        assert_eq!(retry_after(&err), Some(BRANCH_RESOURCE_WAIT));
    }
}

#[test]
fn a_named_branch_is_checked_with_planetscale() {
    assert!(ready_or_wait(true, &target()).is_ok());

    let not_ready = ready_or_wait(false, &target()).unwrap_err();
    assert_eq!(not_ready.reason(), "BranchNotReady");
    assert_eq!(retry_after(&not_ready), Some(BRANCH_NOT_READY_WAIT));
    assert!(
        not_ready
            .to_string()
            .contains("main of acme/shop is not ready")
    );

    let missing = planetscale_api::Error::NotFound {
        code: "not_found".into(),
        message: "Not Found".into(),
    };
    let missing = not_found_or(missing, &target());
    assert_eq!(missing.reason(), "BranchNotReady");
    assert_eq!(retry_after(&missing), Some(BRANCH_NOT_FOUND_WAIT));
    assert!(missing.to_string().contains("was not found"), "{missing}");

    let refused = planetscale_api::Error::Unauthorized {
        code: "unauthorized".into(),
        message: "bad token".into(),
    };
    let refused = not_found_or(refused, &target());
    assert_ne!(refused.reason(), "BranchNotReady", "{refused}");
    assert_eq!(retry_after(&refused), None);
}

#[test]
fn the_explicit_form_needs_all_three_names() {
    let mut spec = BranchTarget {
        organization: Some("acme".into()),
        database: Some("shop".into()),
        ..Default::default()
    };
    assert!(spec.explicit().is_none());
    spec.branch = Some("main".into());
    let e = spec.explicit().unwrap();
    assert_eq!(
        (e.organization, e.database, e.branch),
        ("acme", "shop", "main")
    );
}

#[test]
fn a_recorded_target_stands_in_only_for_an_existing_branch_that_is_not_ready() {
    let recorded = Target {
        known_ready: true,
        kind: None,
        ..target()
    };
    let mut deleting = branch(Some(false), None);
    deleting.metadata.deletion_timestamp = Some(now());
    // (branch resource, recorded target given, expected branch or None for a wait)
    let table = [
        (branch(Some(true), None), true, Some("pr-1")),
        (branch(Some(false), None), true, Some("main")),
        (branch(None, None), true, Some("main")),
        (branch(Some(false), None), false, None),
        (deleting, true, None),
    ];
    for (b, with_recorded, want) in table {
        let got = choose(&b, with_recorded.then(|| recorded.clone()));
        match (got, want) {
            (Ok((t, waiting)), Some(want)) => {
                assert_eq!(t.branch, want);
                // Standing in still reports why the branch resource is not usable.
                assert_eq!(waiting.is_some(), want == "main");
            }
            (Err(e), None) => assert_eq!(e.reason(), "BranchNotReady"),
            (got, want) => panic!(
                "{} recorded={with_recorded}: got {got:?}, want {want:?}",
                b.name_any()
            ),
        }
    }
}
