//! The Argo CD health check of docs/gitops.md, executed: the Lua script from the `argocd-cm`
//! example runs in Lua 5.1 (the language of Argo CD's gopher-lua) against resources whose
//! conditions are built by the operator's own condition code, and against every reason of
//! docs/troubleshooting.md.
use planetscale_operator::crd::conditions::READY;
use planetscale_operator::crd::{ConditionStatus, new_condition, set_condition};
use serde_json::{Value, json};

use super::reasons::{DocReason, documented_reasons, troubleshooting};
use super::{all_examples, documents};

const KINDS: [&str; 3] = ["PlanetScaleBranch", "PlanetScalePassword", "DeployRequest"];
const KEY_PREFIX: &str = "resource.customizations.health.planetscale.operator.dev_";

/// The health script of the `argocd-cm` example in docs/gitops.md (the same for every kind).
fn health_script() -> String {
    let mut scripts = Vec::new();
    for ex in all_examples()
        .iter()
        .filter(|ex| ex.file() == "docs/gitops.md")
    {
        for doc in documents(&ex.yaml).unwrap_or_default() {
            if doc["kind"] == "ConfigMap" && doc["metadata"]["name"] == "argocd-cm" {
                for kind in KINDS {
                    let script = doc["data"][format!("{KEY_PREFIX}{kind}")]
                        .as_str()
                        .unwrap_or_else(|| {
                            panic!("{}: argocd-cm has no health check for {kind}", ex.origin)
                        });
                    scripts.push(script.to_string());
                }
            }
        }
    }
    assert_eq!(
        scripts.len(),
        KINDS.len(),
        "docs/gitops.md has one argocd-cm example with a health check per kind"
    );
    assert!(
        scripts.iter().all(|s| *s == scripts[0]),
        "the three kinds share one health check script"
    );
    scripts.remove(0)
}

fn to_lua(lua: &mlua::Lua, v: &Value) -> mlua::Result<mlua::Value> {
    Ok(match v {
        Value::Null => mlua::Value::Nil,
        Value::Bool(b) => mlua::Value::Boolean(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => mlua::Value::Integer(i as mlua::Integer),
            None => mlua::Value::Number(n.as_f64().unwrap_or_default()),
        },
        Value::String(s) => mlua::Value::String(lua.create_string(s)?),
        Value::Array(items) => {
            let t = lua.create_table()?;
            for (i, item) in items.iter().enumerate() {
                t.set(i + 1, to_lua(lua, item)?)?;
            }
            mlua::Value::Table(t)
        }
        Value::Object(map) => {
            let t = lua.create_table()?;
            for (k, item) in map {
                t.set(k.as_str(), to_lua(lua, item)?)?;
            }
            mlua::Value::Table(t)
        }
    })
}

/// Runs the script as Argo CD does (the resource in the global `obj`): (status, message).
fn run(script: &str, obj: &Value) -> Result<(String, String), String> {
    let lua = mlua::Lua::new();
    let result = (|| -> mlua::Result<(String, String)> {
        lua.globals().set("obj", to_lua(&lua, obj)?)?;
        let hs: mlua::Table = lua.load(script).set_name("health.lua").eval()?;
        let message: Option<String> = hs.get("message")?;
        Ok((hs.get("status")?, message.unwrap_or_default()))
    })();
    result.map_err(|e| format!("the health check fails on {obj}: {e}"))
}

/// A resource of `kind` at `generation` whose conditions are set as the operator sets them:
/// each `(type, status, reason, message)` observed at `observed`.
fn resource(
    kind: &str,
    generation: i64,
    observed: i64,
    conditions: &[(&str, ConditionStatus, &str, &str)],
) -> Value {
    let mut cs = Vec::new();
    for (type_, status, reason, message) in conditions {
        let now = k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
            k8s_openapi::jiff::Timestamp::from_second(1_700_000_000).unwrap(),
        );
        set_condition(
            &mut cs,
            new_condition(type_, *status, reason, *message, now),
            Some(observed),
        );
    }
    json!({
        "apiVersion": "planetscale.operator.dev/v1alpha1",
        "kind": kind,
        "metadata": {"name": "x", "namespace": "ns", "generation": generation},
        "status": {"observedGeneration": observed, "conditions": cs},
    })
}

fn ready_false(reason: &str) -> Value {
    resource(
        "PlanetScaleBranch",
        1,
        1,
        &[(READY, ConditionStatus::False, reason, "what is wrong")],
    )
}

#[test]
fn argo_cd_health_check_follows_ready_for_the_current_generation() {
    use ConditionStatus::{False, True, Unknown};
    let script = health_script();
    let cases: Vec<(&str, Value, &str, &str)> = vec![
        (
            "no status yet",
            json!({"kind": "PlanetScaleBranch", "metadata": {"name": "x", "generation": 1}}),
            "Progressing",
            "Waiting for the operator",
        ),
        (
            "Ready=True for the current generation",
            resource(
                "PlanetScaleBranch",
                3,
                3,
                &[(READY, True, "Ready", "branch dev is ready")],
            ),
            "Healthy",
            "branch dev is ready",
        ),
        (
            "Ready=True, but for an older generation",
            resource("PlanetScalePassword", 4, 3, &[(READY, True, "Ready", "ok")]),
            "Progressing",
            "generation 4",
        ),
        (
            "Ready=False while working",
            resource(
                "PlanetScaleBranch",
                1,
                1,
                &[(READY, False, "Progressing", "creating")],
            ),
            "Progressing",
            "Progressing: creating",
        ),
        (
            "Ready=Unknown",
            resource(
                "PlanetScaleBranch",
                1,
                1,
                &[(READY, Unknown, "Progressing", "")],
            ),
            "Progressing",
            "Progressing",
        ),
        (
            "Ready=False, a person must fix the credentials",
            resource(
                "PlanetScalePassword",
                2,
                2,
                &[
                    ("BranchReady", True, "Ready", "ready"),
                    (
                        READY,
                        False,
                        "CredentialsNotFound",
                        "Secret ps-creds not found",
                    ),
                ],
            ),
            "Degraded",
            "CredentialsNotFound: Secret ps-creds not found",
        ),
        (
            "a failed deploy",
            resource(
                "DeployRequest",
                5,
                5,
                &[
                    ("Failed", True, "DeployFailed", "deploy of #42 failed"),
                    (READY, False, "DeployFailed", "deploy of #42 failed"),
                ],
            ),
            "Degraded",
            "DeployFailed",
        ),
        (
            "a deploy waiting for its cutover",
            resource(
                "DeployRequest",
                2,
                2,
                &[(READY, False, "AwaitingCutover", "set cutover: true")],
            ),
            "Suspended",
            "AwaitingCutover",
        ),
        (
            "deploy checks passed (deploy: false), other conditions False",
            resource(
                "DeployRequest",
                1,
                1,
                &[
                    ("Deployed", False, "NotDeployed", "not deployed"),
                    ("Approved", False, "AwaitingApproval", "approve it"),
                    (READY, True, "ChecksPassed", "deploy checks of #42 passed"),
                ],
            ),
            "Healthy",
            "deploy checks of #42 passed",
        ),
        (
            "paused",
            resource(
                "PlanetScaleBranch",
                1,
                1,
                &[(READY, False, "Paused", "paused")],
            ),
            "Suspended",
            "Paused",
        ),
    ];
    let mut failures = Vec::new();
    for (what, obj, status, message) in &cases {
        match run(&script, obj) {
            Ok((s, m)) if s == *status && m.contains(message) => {}
            Ok((s, m)) => failures.push(format!(
                "{what}: {s} {m:?}, expected {status} with a message containing {message:?}"
            )),
            Err(e) => failures.push(format!("{what}: {e}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Whether the page says a person must act on the reason.
fn waits_for_a_person(r: &DocReason) -> bool {
    r.row.contains("*Waits.*")
        || r.intro.contains("needs you")
        || r.section.contains("Secret rendering")
}

/// The reason names a Lua table of the script lists (`Name = true`).
fn listed_reasons(script: &str) -> Vec<String> {
    script
        .split(',')
        .flat_map(|part| part.split(['{', '}', '\n']))
        .filter_map(|part| part.trim().strip_suffix("= true"))
        .map(|name| name.trim().to_string())
        .filter(|name| !name.is_empty())
        .collect()
}

#[test]
fn argo_cd_health_check_degrades_or_suspends_every_reason_that_needs_a_person() {
    let script = health_script();
    let documented = documented_reasons(&troubleshooting());
    let (mut person, mut retries, mut failures) = (0, 0, Vec::new());
    for r in &documented {
        let (status, _) = match run(&script, &ready_false(&r.name)) {
            Ok(hs) => hs,
            Err(e) => {
                failures.push(e);
                continue;
            }
        };
        if waits_for_a_person(r) {
            person += 1;
            if status != "Degraded" && status != "Suspended" {
                failures.push(format!(
                    "{} ({}): a person must act, but Ready=False with it is {status}: add it to \
                     `degraded` (or `suspended`) in docs/gitops.md",
                    r.name, r.section
                ));
            }
        } else if r.row.contains("*Retries") {
            retries += 1;
            if status != "Progressing" {
                failures.push(format!(
                    "{} ({}): the operator retries by itself, but Ready=False with it is {status}",
                    r.name, r.section
                ));
            }
        }
    }
    let names: Vec<&str> = documented.iter().map(|r| r.name.as_str()).collect();
    let listed = listed_reasons(&script);
    for name in &listed {
        if !names.contains(&name.as_str()) {
            failures.push(format!(
                "the health check lists {name}, which docs/troubleshooting.md does not document"
            ));
        }
    }
    eprintln!(
        "health check run for {} documented reasons: {person} need a person (Degraded or \
         Suspended), {retries} retry (Progressing); the script lists {} reasons",
        documented.len(),
        listed.len()
    );
    assert!(
        person >= 20 && retries >= 4 && listed.len() >= 20,
        "the page or the script lost its reasons: {person} need a person, {retries} retry, {} listed",
        listed.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_argo_cd_health_check_is_kept_in_one_place() {
    let copies: Vec<String> = all_examples()
        .iter()
        .filter(|ex| ex.yaml.contains(KEY_PREFIX))
        .map(|ex| ex.origin.clone())
        .collect();
    assert!(
        copies.len() == 1 && copies[0].starts_with("docs/gitops.md:"),
        "the health check script lives only in docs/gitops.md; other pages link to it: {copies:?}"
    );
    let chart =
        std::fs::read_to_string(super::repo().join("charts/planetscale-operator/README.md"))
            .expect("chart README");
    assert!(
        chart.contains("docs/gitops.md#health-checks"),
        "the chart README links the health check"
    );
}
