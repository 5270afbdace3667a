//! Admission-time validation of the three kinds against the real API server: every invalid
//! manifest in the tables is refused with a message that names the field, and the valid ones
//! (including the YAML users copy from the docs) are accepted with their defaults filled in.
//!
//! Needs the local control plane (`make testenv-up`) and `crdgen` built next to this test.
mod support;

#[path = "admission/adopt.rs"]
mod adopt;
#[path = "admission/backup.rs"]
mod backup;
#[path = "admission/branch.rs"]
mod branch;
#[path = "admission/case.rs"]
mod case;
#[path = "admission/coverage.rs"]
mod coverage;
#[path = "admission/database.rs"]
mod database;
#[path = "admission/deploy_request.rs"]
mod deploy_request;
#[path = "admission/password.rs"]
mod password;
#[path = "admission/password_secret.rs"]
mod password_secret;
#[path = "admission/status.rs"]
mod status;
#[path = "admission/valid.rs"]
mod valid;

use case::{Case, Kind, Outcome, run_case};

fn all_invalid_cases() -> Vec<Case> {
    let mut cases = branch::cases();
    cases.extend(password::cases());
    cases.extend(password_secret::cases());
    cases.extend(deploy_request::cases());
    cases.extend(database::cases());
    cases.extend(backup::cases());
    cases.extend(adopt::cases());
    for kind in [Kind::Backup, Kind::Password, Kind::DeployRequest] {
        cases.extend(backup::database_ref_cases(kind));
    }
    cases
}

#[tokio::test]
async fn invalid_manifests_are_refused_with_a_message_naming_the_field() {
    support::install_crds().await;
    let cases = all_invalid_cases();
    assert!(
        cases.len() >= 40,
        "the table has only {} cases",
        cases.len()
    );
    let failures = support::with_temp_ns(|client, ns| async move {
        let mut failures = Vec::new();
        for (i, case) in cases.iter().enumerate() {
            if let Outcome::Failed(why) = run_case(&client, &ns, i, case).await {
                failures.push(format!("[{}] {}: {why}", case.kind.name(), case.what));
            }
        }
        failures
    })
    .await;
    eprintln!("{} invalid manifests checked", all_invalid_cases().len());
    assert!(
        failures.is_empty(),
        "{} of {} invalid manifests were not refused as expected:\n{}",
        failures.len(),
        all_invalid_cases().len(),
        failures.join("\n")
    );
}

#[test]
fn every_kind_has_invalid_cases() {
    let cases = all_invalid_cases();
    for kind in [Kind::Branch, Kind::Password, Kind::DeployRequest] {
        let creates = cases
            .iter()
            .filter(|c| c.kind == kind && c.update.is_none())
            .count();
        let updates = cases
            .iter()
            .filter(|c| c.kind == kind && c.update.is_some())
            .count();
        assert!(creates >= 8, "{}: {creates} create cases", kind.name());
        assert!(
            updates >= 3,
            "{}: {updates} immutability cases",
            kind.name()
        );
    }
}

/// Every CEL rule and every constrained `spec` property in crds/*.yaml has a case above that
/// expects its refusal, so a rule cannot be added without a test. Needs no cluster.
#[test]
fn every_admission_rule_has_a_case() {
    let rules = coverage::rules_in_crds();
    assert!(
        rules.len() > 100,
        "only {} rules found in crds/",
        rules.len()
    );
    let uncovered = coverage::uncovered(&rules, &all_invalid_cases());
    assert!(
        uncovered.is_empty(),
        "{} of {} admission rules have no case in tests/admission/{{branch,password,password_secret,deploy_request}}.rs:\n{}",
        uncovered.len(),
        rules.len(),
        uncovered.join("\n")
    );
}

#[tokio::test]
async fn documented_and_complete_manifests_are_accepted_with_defaults() {
    support::install_crds().await;
    support::with_temp_ns(|client, ns| async move {
        valid::product_yaml_is_accepted(&client, &ns).await;
        valid::complete_manifests_are_accepted(&client, &ns).await;
        valid::defaults_are_filled_in(&client, &ns).await;
        valid::null_means_unset(&client, &ns).await;
        valid::mutable_fields_can_change(&client, &ns).await;
        valid::credentials_stay_in_the_namespace(&client, &ns).await;
    })
    .await;
}

#[tokio::test]
async fn status_written_with_the_rust_types_is_accepted_and_bounded() {
    support::install_crds().await;
    support::with_temp_ns(|client, ns| async move {
        status::status_round_trips(&client, &ns).await;
        status::oversized_status_is_refused(&client, &ns).await;
    })
    .await;
}
