//! The `planetscale-emulator` binary: stdout protocol, flags, config file, state file.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::AsyncBufReadExt;

use crate::common::{Resp, send};

const BIN: &str = env!("CARGO_BIN_EXE_planetscale-emulator");

struct Running {
    child: Child,
    url: String,
    auth: String,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The binary with no `PLANETSCALE_EMULATOR_*` variables from the test's environment.
fn command() -> Command {
    let mut cmd = Command::new(BIN);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("PLANETSCALE_EMULATOR_") {
            cmd.env_remove(key);
        }
    }
    cmd
}

/// Spawn `cmd` with stdout piped and read the URL and token lines.
fn running(mut cmd: Command) -> Running {
    let mut child = cmd
        .stdout(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = lines.next().expect("first line").unwrap();
    let auth = lines.next().expect("second line").unwrap();
    Running { child, url, auth }
}

fn start(args: &[&str]) -> Running {
    let mut cmd = command();
    cmd.args(["--listen", "127.0.0.1:0", "--log-format", "json"])
        .args(args)
        .stderr(Stdio::null());
    running(cmd)
}

/// An API call with the given credentials, checked against the spec.
async fn call(url: &str, auth: &str, method: reqwest::Method, path: &str) -> Resp {
    let req = reqwest::Client::new()
        .request(method, format!("{url}{path}"))
        .header("Authorization", auth);
    send(req).await
}

async fn get(r: &Running, path: &str) -> (u16, Value) {
    let resp = call(&r.url, &r.auth, reqwest::Method::GET, path).await;
    (resp.status, resp.body)
}

async fn settings(url: &str) -> Value {
    send(reqwest::Client::new().get(format!("{url}/_emulator/settings")))
        .await
        .expect(200)
}

#[tokio::test]
async fn prints_the_url_then_the_token_and_serves() {
    let r = start(&[
        "--default-token-id",
        "fixedtoken01",
        "--default-token",
        "pscale_tkn_fixed",
        "--branch-ready-delay",
        "1s",
    ]);
    assert!(r.url.starts_with("http://127.0.0.1:"), "{}", r.url);
    assert_eq!(r.auth, "fixedtoken01:pscale_tkn_fixed");
    let (status, body) = get(&r, "/v1/organizations/acme/databases/shop/branches/main").await;
    assert_eq!(
        (status, body["safe_migrations"].as_bool()),
        (200, Some(true))
    );
    assert_eq!(settings(&r.url).await["branch_ready_delay"], "1s");
}

#[tokio::test]
async fn config_file_and_state_file() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("emulator.yaml");
    std::fs::write(
        &config,
        "settings:\n  rate_limit: 0\n  deploy_step_duration: 1s\nusers:\n  - name: Dana\n    organizations: [corp]\norganizations:\n  - name: corp\n    databases:\n      - name: api\n        require_approval_for_deploy: true\nservice_tokens:\n  - id: cfgtoken0001\n    token: pscale_tkn_cfg\n    organization: corp\n    accesses: [{accesses: [all]}]\n",
    )
    .unwrap();
    let state = dir.path().join("state.json");
    let (config, state_arg) = (config.to_str().unwrap(), state.to_str().unwrap());
    let first = start(&[
        "--config",
        config,
        "--state-file",
        state_arg,
        "--no-default-token",
    ]);
    assert_eq!(first.auth, "-");
    let create = reqwest::Client::new()
        .post(format!(
            "{}/v1/organizations/corp/databases/api/branches",
            first.url
        ))
        .header("Authorization", "cfgtoken0001:pscale_tkn_cfg")
        .json(&json!({"name": "persisted"}));
    send(create).await.expect(201);
    let text = std::fs::read_to_string(&state).expect("state file written");
    assert!(
        text.contains("persisted") && !text.contains("pscale_tkn_cfg"),
        "hashes only"
    );
    drop(first);
    let second = start(&[
        "--config",
        config,
        "--state-file",
        state_arg,
        "--no-default-token",
    ]);
    let branch = call(
        &second.url,
        "cfgtoken0001:pscale_tkn_cfg",
        reqwest::Method::GET,
        "/v1/organizations/corp/databases/api/branches/persisted",
    )
    .await;
    assert_eq!(branch.status, 200, "the branch survived the restart");
    let settings = settings(&second.url).await;
    assert_eq!(
        (
            settings["deploy_step_duration"].as_str(),
            settings["rate_limit"].as_u64()
        ),
        (Some("1s"), Some(0))
    );
}

#[test]
fn bad_config_fails_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bad.yaml");
    std::fs::write(&config, "organisations: []\n").unwrap();
    let out = command()
        .args([
            "--listen",
            "127.0.0.1:0",
            "--config",
            config.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("organisations"),
        "the error names the bad key"
    );
}

/// A start without flags (the port comes from `PLANETSCALE_EMULATOR_LISTEN` so tests never
/// collide on 8787).
fn start_without_flags() -> Running {
    let mut cmd = command();
    cmd.env("PLANETSCALE_EMULATOR_LISTEN", "127.0.0.1:0")
        .stderr(Stdio::null());
    running(cmd)
}

#[tokio::test]
async fn without_flags_line_two_is_a_random_token_that_reads_the_production_main_branch() {
    let first = start_without_flags();
    // Shapes only: assertion messages never show the token.
    let (id, secret) = first.auth.split_once(':').expect("line 2 is ID:TOKEN");
    assert!(
        id.len() == 12
            && id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()),
        "the token id is 12 lowercase alphanumerics"
    );
    let random = secret
        .strip_prefix("pscale_tkn_")
        .expect("the secret starts with pscale_tkn_");
    assert!(
        random.len() == 43 && random.chars().all(|c| c.is_ascii_alphanumeric()),
        "the secret ends in 43 base62 characters"
    );
    let (status, main) = get(
        &first,
        "/v1/organizations/acme/databases/shop/branches/main",
    )
    .await;
    assert_eq!(
        (
            status,
            main["production"].as_bool(),
            main["ready"].as_bool(),
            main["state"].as_str()
        ),
        (200, Some(true), Some(true), Some("ready")),
        "{main:#}"
    );
    let (status, db) = get(&first, "/v1/organizations/acme/databases/shop").await;
    assert_eq!((status, db["state"].as_str()), (200, Some("ready")));
    let second = start_without_flags();
    assert!(
        second.auth != first.auth,
        "every start prints a new random token"
    );
    call(
        &second.url,
        &first.auth,
        reqwest::Method::GET,
        "/v1/organizations/acme/databases/shop",
    )
    .await
    .expect_error(401, "unauthorized");
}

#[tokio::test]
async fn json_logs_a_line_per_request_and_sigterm_answers_in_flight_requests_then_exits_0() {
    let mut cmd = command();
    cmd.args([
        "--listen",
        "127.0.0.1:0",
        "--log-format",
        "json",
        "--rate-limit",
        "0",
    ])
    .env("RUST_LOG", "info")
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = tokio::process::Command::from(cmd)
        .kill_on_drop(true)
        .spawn()
        .expect("the binary starts");
    let mut stdout = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let url = stdout.next_line().await.unwrap().expect("first line");
    let auth = stdout.next_line().await.unwrap().expect("second line");
    let mut stderr = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let db = "/v1/organizations/acme/databases/shop";

    call(
        &url,
        &auth,
        reqwest::Method::GET,
        &format!("{db}/branches/main"),
    )
    .await
    .expect(200);
    let fault = json!({"operation": "get_database", "latency": "3s", "count": 1});
    send(
        reqwest::Client::new()
            .post(format!("{url}/_emulator/faults"))
            .json(&fault),
    )
    .await
    .expect(201);
    let slow = tokio::spawn({
        let (url, auth) = (url.clone(), auth.clone());
        async move { call(&url, &auth, reqwest::Method::GET, db).await }
    });

    // SIGTERM only once the emulator logs that it is holding the slow request.
    let mut lines = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let Ok(line) = tokio::time::timeout_at(deadline, stderr.next_line()).await else {
            panic!(
                "no 'fault: delaying the response' log line within 10 s; stderr:\n{}",
                lines.join("\n")
            );
        };
        let line = line
            .unwrap()
            .expect("stderr stays open while the emulator runs");
        let held = serde_json::from_str::<Value>(&line).is_ok_and(|l| {
            l["fields"]["message"] == "fault: delaying the response"
                && l["fields"]["operation"] == "get_database"
        });
        lines.push(line);
        if held {
            break;
        }
    }
    let pid = child.id().expect("still running").to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(killed.success(), "kill -TERM {pid}");

    let exit = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("the emulator exits within 10 s of SIGTERM")
        .unwrap();
    let answered = slow.await.unwrap();
    assert_eq!(
        answered.status, 200,
        "the request in flight at SIGTERM is answered"
    );
    while let Some(line) = stderr.next_line().await.unwrap() {
        lines.push(line);
    }
    assert!(exit.success(), "exit status after SIGTERM: {exit}");

    let logs: Vec<Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let all = lines.join("\n");
    let request = |op: &str| {
        logs.iter().position(|l| {
            let f = &l["fields"];
            f["message"] == "request"
                && f["operation"] == op
                && f["method"] == "GET"
                && f["status"] == 200
                && f["elapsed_ms"].is_u64()
        })
    };
    assert!(
        request("get_branch").is_some(),
        "a request line for get_branch:\n{all}"
    );
    let held = request("get_database").expect("a request line for the slow get_database");
    let message = |m: &str| logs.iter().position(|l| l["fields"]["message"] == m);
    let term = message("shutting down").expect("the signal is logged");
    let stopped = message("planetscale emulator stopped").expect("the stop is logged");
    assert_eq!(logs[term]["fields"]["signal"], "SIGTERM");
    assert!(
        term < held && held < stopped,
        "the slow request finished after SIGTERM and before the stop:\n{all}"
    );
    let secret = auth.split_once(':').unwrap().1;
    assert!(
        !all.contains(secret),
        "no log line contains the token secret"
    );
}
