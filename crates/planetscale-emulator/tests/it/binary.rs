//! The `planetscale-emulator` binary: stdout protocol, flags, config file, state file.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

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

fn start(args: &[&str]) -> Running {
    let mut child = Command::new(env!("CARGO_BIN_EXE_planetscale-emulator"))
        .args(["--listen", "127.0.0.1:0", "--log-format", "json"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = lines.next().expect("first line").unwrap();
    let auth = lines.next().expect("second line").unwrap();
    Running { child, url, auth }
}

async fn get(r: &Running, path: &str) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .get(format!("{}{path}", r.url))
        .header("Authorization", &r.auth)
        .send()
        .await
        .unwrap();
    (
        resp.status().as_u16(),
        resp.json().await.unwrap_or(Value::Null),
    )
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
    let settings: Value = reqwest::get(format!("{}/_emulator/settings", r.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(settings["branch_ready_delay"], "1s");
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
    let client = reqwest::Client::new();
    let created = client
        .post(format!(
            "{}/v1/organizations/corp/databases/api/branches",
            first.url
        ))
        .header("Authorization", "cfgtoken0001:pscale_tkn_cfg")
        .json(&json!({"name": "persisted"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
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
    let branch = client
        .get(format!(
            "{}/v1/organizations/corp/databases/api/branches/persisted",
            second.url
        ))
        .header("Authorization", "cfgtoken0001:pscale_tkn_cfg")
        .send()
        .await
        .unwrap();
    assert_eq!(branch.status(), 200, "the branch survived the restart");
    let settings: Value = reqwest::get(format!("{}/_emulator/settings", second.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
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
    let out = Command::new(env!("CARGO_BIN_EXE_planetscale-emulator"))
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
