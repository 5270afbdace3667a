//! Status written through the status subresource with the Rust types is accepted and read back
//! unchanged, so controllers can write what the types let them build.
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Patch, PatchParams, PostParams};
use kube::{Api, Client};
use planetscale_operator::crd::conditions::{ConditionStatus, READY, new_condition, set_condition};
use planetscale_operator::crd::deploy_request_status::{MAX_DDL_LEN, truncate_chars};
use planetscale_operator::crd::*;
use serde_json::json;

fn at(secs: i64) -> Time {
    Time(Timestamp::from_second(secs).unwrap())
}

fn branch_spec() -> PlanetScaleBranchSpec {
    serde_json::from_value(json!({"organization": "acme", "database": "shop"})).unwrap()
}

async fn write_status<K>(api: &Api<K>, name: &str, status: serde_json::Value) -> K
where
    K: kube::Resource + Clone + std::fmt::Debug + serde::de::DeserializeOwned + serde::Serialize,
{
    let patch = Patch::Merge(json!({ "status": status }));
    match api
        .patch_status(name, &PatchParams::default(), &patch)
        .await
    {
        Ok(obj) => obj,
        Err(e) => panic!("status of {name} was refused: {e}"),
    }
}

pub async fn status_round_trips(client: &Client, ns: &str) {
    branch_status_round_trips(client, ns).await;
    password_status_round_trips(client, ns).await;
    deploy_request_status_round_trips(client, ns).await;
}

async fn branch_status_round_trips(client: &Client, ns: &str) {
    let branches: Api<PlanetScaleBranch> = Api::namespaced(client.clone(), ns);
    let created = branches
        .create(
            &PostParams::default(),
            &PlanetScaleBranch::new("st-branch", branch_spec()),
        )
        .await
        .expect("create branch");
    let mut status = PlanetScaleBranchStatus {
        id: Some("br123".into()),
        branch_name: Some("st-branch".into()),
        state: Some("ready".into()),
        ready: Some(true),
        region: Some("aws-us-east-2".into()),
        created_at: Some(at(1_700_000_000)),
        kind: Some("postgresql".into()),
        major_version: Some("17".into()),
        restore_point: Some(at(1_699_990_000)),
        postgres_address: Some("aws-us-east-2.pg.psdb.cloud".into()),
        adopted: Some(false),
        observed_generation: created.metadata.generation,
        ..Default::default()
    };
    let ready = new_condition(READY, true, "Ready", "branch is ready", at(1_700_000_100));
    set_condition(&mut status.conditions, ready, created.metadata.generation);
    let got = write_status(
        &branches,
        "st-branch",
        serde_json::to_value(&status).unwrap(),
    )
    .await;
    assert_eq!(got.status, Some(status));
}

async fn password_status_round_trips(client: &Client, ns: &str) {
    let passwords: Api<PlanetScalePassword> = Api::namespaced(client.clone(), ns);
    let spec = serde_json::from_value(json!({"branchRef": {"name": "st-branch"}})).unwrap();
    passwords
        .create(
            &PostParams::default(),
            &PlanetScalePassword::new("st-pw", spec),
        )
        .await
        .expect("create password");
    let mut status = PlanetScalePasswordStatus {
        password_id: Some("pw123".into()),
        password_name: Some(password_name("uid", 2)),
        rotation: 2,
        username: Some("m51veb3195rn79uoa4zm".into()),
        role: Some(PasswordRole::Reader),
        expires_at: Some(at(1_700_600_000)),
        pending_deletions: vec![PendingDeletion {
            password_id: "pw122".into(),
            password_name: Some(password_name("uid", 1)),
            delete_after: at(1_700_000_600),
        }],
        ..Default::default()
    };
    for (t, s) in [
        (READY, ConditionStatus::False),
        ("BranchReady", ConditionStatus::Unknown),
    ] {
        set_condition(
            &mut status.conditions,
            new_condition(t, s, "Progressing", "", at(5)),
            Some(1),
        );
    }
    let got = write_status(&passwords, "st-pw", serde_json::to_value(&status).unwrap()).await;
    assert_eq!(got.status, Some(status));
}

async fn deploy_request_status_round_trips(client: &Client, ns: &str) {
    let drs: Api<DeployRequest> = Api::namespaced(client.clone(), ns);
    let spec = serde_json::from_value(json!({"branchRef": {"name": "st-branch"}})).unwrap();
    drs.create(&PostParams::default(), &DeployRequest::new("st-dr", spec))
        .await
        .expect("create deploy request");
    let (ddl, truncated) = truncate_chars(&"x".repeat(5000), MAX_DDL_LEN);
    let status = DeployRequestStatus {
        number: Some(42),
        deployment_state: Some("in_progress".into()),
        schema_diff: vec![TableDiff {
            keyspace: Some("shop".into()),
            table: "orders".into(),
            operation: "ALTER".into(),
            ddl,
            truncated,
        }],
        operations: vec![TableOperation {
            keyspace: Some("shop".into()),
            table: "orders".into(),
            operation: "ALTER".into(),
            state: "in_progress".into(),
            progress_percentage: Some(37.5),
            eta_seconds: Some(120),
        }],
        queue_position: Some(1),
        revert_window_ends_at: Some(at(1_700_001_800)),
        ..Default::default()
    };
    let got = write_status(&drs, "st-dr", serde_json::to_value(&status).unwrap()).await;
    assert_eq!(got.status, Some(status));
}

pub async fn oversized_status_is_refused(client: &Client, ns: &str) {
    let drs: Api<DeployRequest> = Api::namespaced(client.clone(), ns);
    let spec = serde_json::from_value(json!({"branchRef": {"name": "st-branch"}})).unwrap();
    drs.create(&PostParams::default(), &DeployRequest::new("st-big", spec))
        .await
        .expect("create deploy request");
    let ddl = "x".repeat(MAX_DDL_LEN + 1);
    let patch = Patch::Merge(json!({"status": {"schemaDiff": [
        {"table": "t", "operation": "ALTER", "ddl": ddl}
    ]}}));
    let err = drs
        .patch_status("st-big", &PatchParams::default(), &patch)
        .await
        .expect_err("a DDL over the bound is refused");
    assert!(
        err.to_string().contains("status.schemaDiff[0].ddl"),
        "{err}"
    );
}
