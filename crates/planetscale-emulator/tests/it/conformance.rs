//! Conformance: every response the tests receive from an operation in the official spec must
//! validate against that operation's response schema for the received status.
//!
//! The spec is read from `$PLANETSCALE_OPENAPI_SPEC`, else `../shared/reference/planetscale-openapi.yaml`
//! beside the repository. When it is missing the check is skipped with a loud message, and
//! fails when `CI=true`. Set `PLANETSCALE_CONFORMANCE_LOG=FILE` to record every validated
//! `operation status` pair.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use planetscale_emulator::operations::{OPERATIONS, lookup};
use serde_json::{Map, Value};

fn spec_path() -> PathBuf {
    match std::env::var_os("PLANETSCALE_OPENAPI_SPEC") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/reference/planetscale-openapi.yaml"),
    }
}

/// The parsed spec, or `None` (with a message) when it is absent outside CI.
pub fn spec() -> Option<&'static Value> {
    static SPEC: OnceLock<Option<Value>> = OnceLock::new();
    SPEC.get_or_init(|| {
        let path = spec_path();
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                Some(serde_norway::from_str(&text).expect("the OpenAPI spec parses as YAML"))
            }
            Err(e) => {
                let msg = format!(
                    "OpenAPI spec not readable at {} ({e}); set PLANETSCALE_OPENAPI_SPEC",
                    path.display()
                );
                if std::env::var("CI").is_ok_and(|v| v == "true") {
                    panic!("{msg}");
                }
                eprintln!("\n!!!!!!!! CONFORMANCE CHECKS SKIPPED: {msg} !!!!!!!!\n");
                None
            }
        }
    })
    .as_ref()
}

/// OpenAPI 3.0 schema → JSON Schema (draft 4): `nullable` becomes a `null` type/enum member.
pub fn translate(schema: &Value) -> Value {
    let Value::Object(obj) = schema else {
        return schema.clone();
    };
    let mut out = Map::new();
    for (k, v) in obj {
        let v = match k.as_str() {
            "properties" | "patternProperties" | "definitions" => match v {
                Value::Object(m) => {
                    Value::Object(m.iter().map(|(n, s)| (n.clone(), translate(s))).collect())
                }
                other => other.clone(),
            },
            "items" | "additionalProperties" | "not" => translate(v),
            "allOf" | "anyOf" | "oneOf" => match v {
                Value::Array(a) => Value::Array(a.iter().map(translate).collect()),
                other => other.clone(),
            },
            "nullable" | "example" | "discriminator" | "xml" | "externalDocs" | "readOnly"
            | "writeOnly" | "deprecated" => continue,
            k if k.starts_with("x-") => continue,
            _ => v.clone(),
        };
        out.insert(k.clone(), v);
    }
    if obj.get("nullable") == Some(&Value::Bool(true)) {
        if let Some(Value::String(t)) = out.get("type").cloned() {
            out.insert(
                "type".into(),
                Value::Array(vec![Value::String(t), Value::String("null".into())]),
            );
        }
        if let Some(Value::Array(e)) = out.get_mut("enum") {
            e.push(Value::Null);
        }
        if !out.contains_key("type") {
            return serde_json::json!({"anyOf": [Value::Object(out), {"type": "null"}]});
        }
    }
    Value::Object(out)
}

type Cache = Mutex<HashMap<(String, u16), Option<Arc<jsonschema::Validator>>>>;

fn validator(
    spec: &Value,
    spec_path: &str,
    method: &str,
    status: u16,
) -> Option<Arc<jsonschema::Validator>> {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let key = (format!("{method} {spec_path}"), status);
    let mut cache = CACHE
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    cache
        .entry(key)
        .or_insert_with(|| {
            let op = &spec["paths"][spec_path][method.to_ascii_lowercase()];
            assert!(op.is_object(), "operation {method} {spec_path} is not in the spec");
            let responses = &op["responses"];
            if status < 300 {
                assert!(
                    responses.get(status.to_string()).is_some(),
                    "{method} {spec_path}: success status {status} is not documented (documented: {:?})",
                    responses.as_object().map(|m| m.keys().collect::<Vec<_>>())
                );
            }
            let schema = responses.get(status.to_string())?.pointer("/content/application~1json/schema")?;
            let mut root = translate(schema);
            if let Some(components) = spec.get("components") {
                root["components"] = translate_components(components);
            }
            Some(Arc::new(jsonschema::draft4::new(&root).expect("response schema compiles")))
        })
        .clone()
}

fn translate_components(components: &Value) -> Value {
    let mut out = components.clone();
    if let Some(Value::Object(schemas)) = components.get("schemas") {
        out["schemas"] = Value::Object(
            schemas
                .iter()
                .map(|(k, v)| (k.clone(), translate(v)))
                .collect(),
        );
    }
    out
}

/// Validate one response; panics with every schema error when it does not conform.
pub fn check(method: &str, path: &str, status: u16, body: &Value) {
    let Some(matched) = lookup(method, path) else {
        return;
    };
    if !matched.op.in_spec {
        return;
    }
    let Some(spec) = spec() else { return };
    let spec_path = matched
        .op
        .path
        .strip_prefix("/v1")
        .unwrap_or(matched.op.path);
    let Some(v) = validator(spec, spec_path, method, status) else {
        return;
    };
    let errors: Vec<String> = v
        .iter_errors(body)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{method} {path} ({}) {status} does not match the spec:\n  {}\nbody: {body:#}",
        matched.op.name,
        errors.join("\n  ")
    );
    if let Some(log) = std::env::var_os("PLANETSCALE_CONFORMANCE_LOG") {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .expect("conformance log");
        let _ = f.write_all(format!("{} {status}\n", matched.op.name).as_bytes());
    }
}

#[test]
fn every_operation_marked_in_spec_is_in_the_spec_with_the_same_method_and_path() {
    let Some(spec) = spec() else { return };
    for op in OPERATIONS.iter().filter(|o| o.in_spec) {
        let path = op.path.strip_prefix("/v1").unwrap();
        let spec_op = &spec["paths"][path][op.method.to_ascii_lowercase()];
        assert_eq!(
            spec_op["operationId"].as_str(),
            Some(op.name),
            "{} {} in the spec",
            op.method,
            path
        );
    }
}

#[test]
fn translation_makes_nullable_fields_accept_null() {
    let s = translate(
        &serde_json::json!({"type": "object", "properties": {"a": {"type": "string", "nullable": true}, "b": {"type": "string", "enum": ["x"], "nullable": true}}}),
    );
    let v = jsonschema::draft4::new(&s).unwrap();
    assert!(v.is_valid(&serde_json::json!({"a": null, "b": null})));
    assert!(!v.is_valid(&serde_json::json!({"a": 1})));
}

#[test]
fn spec_coverage_is_reported() {
    let Some(spec) = spec() else { return };
    let implemented: BTreeSet<&str> = OPERATIONS
        .iter()
        .filter(|o| o.in_spec)
        .map(|o| o.name)
        .collect();
    let mut missing = Vec::new();
    for item in spec["paths"].as_object().unwrap().values() {
        for op in item.as_object().unwrap().values() {
            if let Some(id) = op.get("operationId").and_then(Value::as_str)
                && !implemented.contains(id)
            {
                missing.push(id.to_string());
            }
        }
    }
    eprintln!(
        "spec operations implemented: {}, not implemented: {}",
        implemented.len(),
        missing.len()
    );
    assert!(
        implemented.len() >= 60,
        "the emulator should cover the operator's endpoints"
    );
}

#[test]
fn the_checker_rejects_missing_required_fields_and_undocumented_statuses() {
    if spec().is_none() {
        return;
    }
    let path = "/v1/organizations/acme/databases/shop/branches/main";
    let missing =
        std::panic::catch_unwind(|| check("GET", path, 200, &serde_json::json!({"name": "main"})));
    assert!(
        missing.is_err(),
        "a branch without its required fields must not validate"
    );
    let wrong_type = std::panic::catch_unwind(|| {
        check(
            "GET",
            "/v1/organizations/acme/databases/shop/branches/main/schema",
            200,
            &serde_json::json!({"data": [{"name": 1, "html": "", "raw": ""}]}),
        )
    });
    assert!(
        wrong_type.is_err(),
        "a number where the spec says string must not validate"
    );
    let status = std::panic::catch_unwind(|| {
        check(
            "POST",
            "/v1/organizations/acme/databases/shop/branches",
            200,
            &Value::Null,
        )
    });
    assert!(status.is_err(), "create_branch answers 201, never 200");
}
