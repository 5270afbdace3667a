//! The real database servers of `hack/realdb/up` and the drivers of `hack/realdb/run`, for
//! tests that connect with what the operator wrote.
use std::path::PathBuf;
use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;

/// The folder `hack/realdb/up` prepared: `$PSO_REALDB_DIR`, else `<repo>/.realdb`.
pub fn dir() -> PathBuf {
    let dir = std::env::var_os("PSO_REALDB_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".realdb"),
        PathBuf::from,
    );
    assert!(
        dir.join("env").is_file(),
        "no real database servers in {}: run `make realdb-test`, or hack/realdb/up and hack/realdb/drivers",
        dir.display()
    );
    dir
}

/// The emulator flag that puts the real servers behind it.
pub fn emulator_args() -> Vec<String> {
    vec!["--realdb".into(), dir().display().to_string()]
}

/// What `hack/realdb/up` tells clients (its `env` file): `SSL_CERT_FILE` and `PGSSLROOTCERT`
/// name the test CA, `JAVA_TOOL_OPTIONS` a trust store holding it, `REALDB_DIR` the servers.
pub fn ca_env() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(dir().join("env")).expect("realdb env file");
    text.lines()
        .filter_map(|l| l.strip_prefix("export ")?.split_once('='))
        .filter(|(k, _)| {
            [
                "SSL_CERT_FILE",
                "PGSSLROOTCERT",
                "JAVA_TOOL_OPTIONS",
                "REALDB_DIR",
            ]
            .contains(k)
        })
        .map(|(k, v)| (k.to_string(), v.trim_matches('"').to_string()))
        .collect()
}

/// Every key of `secret` as an environment variable, value as written.
pub fn secret_env(secret: &Secret) -> Vec<(String, String)> {
    let data = secret.data.clone().unwrap_or_default();
    data.into_iter()
        .map(|(k, v)| (k, String::from_utf8(v.0).expect("UTF-8 Secret value")))
        .collect()
}

/// Runs `hack/realdb/run FORMAT` with `env` (Secret keys, plus the CA variables unless `env`
/// sets them) and `query`; the first value it printed, or its error output.
pub async fn run(format: &str, env: &[(String, String)], query: &str) -> Result<String, String> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("hack/realdb/run");
    let mut cmd = tokio::process::Command::new(script);
    cmd.arg(format).env("QUERY", query).kill_on_drop(true);
    for (k, v) in ca_env().iter().chain(env) {
        cmd.env(k, v);
    }
    let out = tokio::time::timeout(Duration::from_secs(120), cmd.output())
        .await
        .unwrap_or_else(|_| panic!("driver {format} ran for more than 120 s"))
        .unwrap_or_else(|e| panic!("cannot run hack/realdb/run {format}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
    if out.status.success() {
        Ok(stdout)
    } else {
        Err(format!("{stderr}\n{stdout}"))
    }
}

/// Like [`run`], and panics with the driver's error when it fails.
pub async fn read(format: &str, env: &[(String, String)], query: &str) -> String {
    run(format, env, query)
        .await
        .unwrap_or_else(|e| panic!("{format} could not read with the Secret as written: {e}"))
}

/// Waits until `format` with `env` is refused with an error containing `refusal` (a dropped
/// user or role), and panics with what it saw when that does not happen in time.
pub async fn wait_refused(format: &str, env: &[(String, String)], query: &str, refusal: &str) {
    let what = format!("{format} refused with {refusal:?}");
    crate::support::eventually(crate::common::READY, &what, || async {
        match run(format, env, query).await {
            Err(e) if e.contains(refusal) => Ok(()),
            other => Err(other),
        }
    })
    .await;
}
