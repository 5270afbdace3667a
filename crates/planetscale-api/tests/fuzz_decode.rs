//! Property tests ("fuzzing") of everything the client decodes from a server: arbitrary
//! bytes, arbitrary JSON values and JSON objects shaped like each model (the real field names
//! with values of any type) never panic, and the error classifier takes any status and body.
//! Through a stub server, an answer of any status and body to a real call ends in `Ok` or a
//! classified `Err` that never quotes a secret from the body.
//!
//! `PROPTEST_CASES` sets the number of cases (default 256; 64 for the server round trips).
use std::time::Duration;

use planetscale_api::Error;
use planetscale_api::models::*;
use proptest::prelude::*;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

/// Every field name of the models (and of the envelopes and error documents).
const FIELDS: &[&str] = &[
    "access_host_regional_url",
    "access_host_regional_urls",
    "access_host_url",
    "actor",
    "allow_data_branching",
    "approved",
    "auto_cutover",
    "auto_delete_branch",
    "avatar_url",
    "backup_id",
    "body",
    "branch",
    "branch_deleted",
    "can_drop_data",
    "cidrs",
    "closed_at",
    "cluster_name",
    "cluster_size",
    "code",
    "created_at",
    "current_page",
    "cutover_at",
    "data",
    "database_branch",
    "default_branch",
    "deleted_at",
    "deletion_protected",
    "deploy_check_errors",
    "deploy_errors",
    "deploy_operations",
    "deploy_request_number",
    "deployable",
    "deployed_at",
    "deployment",
    "deployment_state",
    "display_name",
    "email",
    "error",
    "error_description",
    "errors",
    "expired",
    "expires_at",
    "finished_at",
    "html_url",
    "id",
    "instant_ddl",
    "into_branch",
    "kind",
    "lint_error",
    "lint_errors",
    "message",
    "mysql_address",
    "name",
    "next_page",
    "next_page_url",
    "notes",
    "number",
    "parent_branch",
    "per_page",
    "plain_text",
    "plain_text_refresh_token",
    "plan",
    "prev_page",
    "production",
    "progress_percentage",
    "queue_paused",
    "queued_at",
    "raw",
    "ready",
    "region",
    "renewable",
    "replica",
    "require_approval_for_deploy",
    "role",
    "safe_migrations",
    "schema_ready",
    "shard_count",
    "slug",
    "state",
    "status",
    "table_name",
    "times",
    "token",
    "total_count",
    "ttl",
    "ttl_seconds",
    "type",
    "updated_at",
    "url",
    "username",
];

/// A secret the server might send: it must never appear in an error.
const SECRET: &str = "pscale_pw_fuzzsecret0123456789";

fn cases(default: u32) -> ProptestConfig {
    let n = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok());
    ProptestConfig::with_cases(n.unwrap_or(default))
}

/// Any JSON value, nested a few levels, with the secret among the strings.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        any::<u64>().prop_map(|n| json!(n)),
        ".{0,12}".prop_map(Value::String),
        Just(json!(SECRET)),
        Just(json!("2024-01-02T03:04:05.678Z")),
        Just(json!("complete_pending_revert")),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(".{0,8}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A JSON object with real field names (any subset) and values of any type.
fn shaped_json() -> impl Strategy<Value = Value> {
    let field = prop::sample::select(FIELDS);
    prop::collection::vec((field, any_json()), 0..24).prop_map(|pairs| {
        let mut map = Map::new();
        for (k, v) in pairs {
            map.insert(k.to_string(), v);
        }
        Value::Object(map)
    })
}

/// Decodes `bytes` as `T` like the client does; a success must survive Debug and re-encoding.
fn decode<T: DeserializeOwned + serde::Serialize + std::fmt::Debug>(bytes: &[u8]) {
    if let Ok(v) = serde_json::from_slice::<T>(bytes) {
        let _ = format!("{v:?}");
        serde_json::to_vec(&v).expect("a decoded model encodes again");
    }
}

/// Every model the client decodes from a response body.
fn decode_all(bytes: &[u8]) {
    decode::<Branch>(bytes);
    decode::<Password>(bytes);
    decode::<Database>(bytes);
    decode::<DeployRequest>(bytes);
    decode::<Deployment>(bytes);
    decode::<DeployOperation>(bytes);
    decode::<Review>(bytes);
    decode::<Organization>(bytes);
    decode::<User>(bytes);
    decode::<Backup>(bytes);
    decode::<ServiceToken>(bytes);
    decode::<Region>(bytes);
    decode::<Vec<TableSchema>>(bytes);
    decode::<Vec<LintError>>(bytes);
    decode::<Page<Branch>>(bytes);
    decode::<Page<Password>>(bytes);
    decode::<Page<DeployRequest>>(bytes);
    decode::<Page<Database>>(bytes);
    decode::<Page<TableSchema>>(bytes);
}

/// The classifier's invariants for one response.
fn classify(status: u16, retry_after: Option<u64>, body: &[u8]) {
    let e = Error::from_response(status, retry_after.map(Duration::from_secs), body);
    assert!(!e.reason().is_empty());
    let text = format!("{e} {e:?}");
    match status {
        429 | 500..=599 => assert!(e.is_transient(), "{status} is transient: {e:?}"),
        400 | 401 | 403 | 404 | 409 | 422 => {
            assert!(!e.is_transient(), "{status}: {e:?}");
            assert_eq!(e.status(), Some(status));
        }
        _ => {}
    }
    if serde_json::from_slice::<Value>(body).is_err() {
        assert!(
            !text.contains(SECRET),
            "a non-JSON body is never quoted: {text}"
        );
    }
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic_the_decoders(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        decode_all(&bytes);
    }

    #[test]
    fn arbitrary_json_never_panics_the_decoders(v in any_json()) {
        decode_all(&serde_json::to_vec(&v).unwrap());
    }

    #[test]
    fn model_shaped_json_never_panics_the_decoders(v in shaped_json()) {
        decode_all(&serde_json::to_vec(&v).unwrap());
        let page = json!({"data": [v.clone(), v], "current_page": 1, "next_page": null});
        decode_all(&serde_json::to_vec(&page).unwrap());
    }

    #[test]
    fn the_error_classifier_takes_any_status_and_bytes(
        status in any::<u16>(),
        retry_after in proptest::option::of(any::<u64>()),
        bytes in prop::collection::vec(any::<u8>(), 0..256),
    ) {
        classify(status, retry_after, &bytes);
        let mut secret_body = bytes.clone();
        secret_body.extend_from_slice(SECRET.as_bytes());
        classify(status, retry_after, &secret_body);
    }

    #[test]
    fn the_error_classifier_takes_any_error_document(
        status in 100u16..600,
        doc in shaped_json(),
    ) {
        classify(status, None, &serde_json::to_vec(&doc).unwrap());
    }
}

#[path = "fuzz_decode/server.rs"]
mod server;
