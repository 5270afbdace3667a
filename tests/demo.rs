//! `make demo` end to end: runs `hack/demo/up` non-interactively (in a temporary state folder
//! with its own control plane, emulator and operator) and checks what a user would see at the
//! end. Then it runs `up` again on the same folder (the first demo is stopped and a new one
//! comes up), runs `hack/demo/down` and checks that everything it started is gone. A second
//! `down` is harmless.
mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use k8s_openapi::api::authentication::v1::SelfSubjectReview;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::PostParams;
use kube::{Api, Client, ResourceExt};
use planetscale_api::Credentials;
use planetscale_operator::crd::conditions::is_ready_for;
use planetscale_operator::crd::{DeployRequest, PlanetScaleBranch, PlanetScalePassword};
use serde_json::json;

/// Upper bound of one `hack/demo/up` run with prebuilt binaries (it normally takes well under
/// a minute; the control plane start dominates on a busy machine).
const UP_TIMEOUT: Duration = Duration::from_secs(420);

/// The identity the chart's RBAC is bound to.
const OPERATOR_SA: &str = "system:serviceaccount:planetscale-system:planetscale-operator";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs a demo script with the state in `dir` and the binaries this test was built with.
async fn run_script(script: &str, dir: &Path, timeout: Duration) -> Output {
    let bins = support::bin_path("planetscale-operator");
    let mut cmd = tokio::process::Command::new(repo().join("hack/demo").join(script));
    cmd.env("PSO_DEMO_DIR", dir)
        .env("PSO_DEMO_BIN_DIR", bins.parent().expect("bin dir"))
        .env("PSO_DEMO_WAIT_SECONDS", "150")
        .env_remove("KUBECONFIG")
        .env_remove("PSO_DEMO_AS_ADMIN")
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    match tokio::time::timeout(timeout, cmd.output()).await {
        Ok(out) => out.expect("run the demo script"),
        Err(_) => panic!("hack/demo/{script} did not finish within {timeout:?}"),
    }
}

/// `hack/demo/up`, which must succeed.
async fn up(dir: &Path) -> Output {
    let up = run_script("up", dir, UP_TIMEOUT).await;
    eprintln!("{}", text(&up));
    assert!(
        up.status.success(),
        "hack/demo/up failed ({}); operator log:\n{}",
        up.status,
        std::fs::read_to_string(dir.join("logs/operator.log")).unwrap_or_default()
    );
    up
}

fn text(out: &Output) -> String {
    format!(
        "--- stdout ---\n{}--- stderr ---\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Runs `hack/demo/down` when dropped, so a failing test leaves nothing running.
struct DownOnDrop(PathBuf);

impl Drop for DownOnDrop {
    fn drop(&mut self) {
        if self.0.exists() {
            let _ = std::process::Command::new(repo().join("hack/demo/down"))
                .env("PSO_DEMO_DIR", &self.0)
                .status();
        }
    }
}

/// `name pid` lines of the demo's and its control plane's PID files.
fn recorded_pids(dir: &Path) -> Vec<(String, u32)> {
    ["pids", "testenv/pids"]
        .iter()
        .filter_map(|f| std::fs::read_to_string(dir.join(f)).ok())
        .flat_map(|t| {
            t.lines()
                .filter_map(|l| {
                    let (name, pid) = l.split_once(' ')?;
                    Some((name.to_string(), pid.trim().parse().ok()?))
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Whether `pid` is a live process (a zombie counts as gone).
fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

/// `export NAME=value` lines of the demo's env file.
fn demo_env(dir: &Path) -> BTreeMap<String, String> {
    std::fs::read_to_string(dir.join("env"))
        .expect("the demo writes .demo/env")
        .lines()
        .filter_map(|l| l.strip_prefix("export ")?.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The kubectl the demo puts first on PATH in .demo/env.
fn demo_kubectl(dir: &Path) -> PathBuf {
    let path = demo_env(dir).remove("PATH").expect("PATH in .demo/env");
    let first = path.split(':').next().expect("a PATH entry");
    PathBuf::from(first).join("kubectl")
}

/// The emulator's service token from the demo's seed (a fake one, only valid there).
fn demo_service_token() -> (String, String) {
    let seed: serde_json::Value = serde_norway::from_str(
        &std::fs::read_to_string(repo().join("hack/demo/emulator.yaml")).expect("demo seed"),
    )
    .expect("demo seed YAML");
    let t = &seed["service_tokens"][0];
    (
        t["id"].as_str().expect("token id").to_string(),
        t["token"].as_str().expect("token").to_string(),
    )
}

async fn assert_all_ready(client: &Client) {
    let b: PlanetScaleBranch = Api::namespaced(client.clone(), "demo")
        .get("demo-feature")
        .await
        .expect("branch");
    let p: PlanetScalePassword = Api::namespaced(client.clone(), "demo")
        .get("demo-app")
        .await
        .expect("password");
    let d: DeployRequest = Api::namespaced(client.clone(), "demo")
        .get("add-orders-status")
        .await
        .expect("deploy request");
    let ready = [
        (
            "PlanetScaleBranch",
            is_ready_for(
                &b.status
                    .as_ref()
                    .map(|s| s.conditions.clone())
                    .unwrap_or_default(),
                b.metadata.generation,
            ),
        ),
        (
            "PlanetScalePassword",
            is_ready_for(
                &p.status
                    .as_ref()
                    .map(|s| s.conditions.clone())
                    .unwrap_or_default(),
                p.metadata.generation,
            ),
        ),
        (
            "DeployRequest",
            is_ready_for(
                &d.status
                    .as_ref()
                    .map(|s| s.conditions.clone())
                    .unwrap_or_default(),
                d.metadata.generation,
            ),
        ),
    ];
    assert!(
        ready.iter().all(|(_, r)| *r),
        "not all Ready: {ready:?}\nbranch: {:?}\npassword: {:?}\ndeploy request: {:?}",
        b.status,
        p.status,
        d.status
    );
    let state = d.status.as_ref().and_then(|s| s.deployment_state.clone());
    assert!(
        matches!(
            state.as_deref(),
            Some("complete_pending_revert" | "complete")
        ),
        "the deploy request is applied, deployment state {state:?}"
    );
    let names: Vec<String> = Api::<PlanetScaleBranch>::namespaced(client.clone(), "demo")
        .list(&Default::default())
        .await
        .expect("list")
        .items
        .iter()
        .map(ResourceExt::name_any)
        .collect();
    assert_eq!(names, ["demo-feature", "ledger-dev"]);
    assert_postgres_branch_ready(client).await;
}

/// The PostgreSQL branch beside the MySQL ones: Ready, with its engine, Postgres address and
/// major version in status and no MySQL address.
async fn assert_postgres_branch_ready(client: &Client) {
    let b: PlanetScaleBranch = Api::namespaced(client.clone(), "demo")
        .get("ledger-dev")
        .await
        .expect("PostgreSQL branch");
    let s = b.status.clone().unwrap_or_default();
    assert!(
        is_ready_for(&s.conditions, b.metadata.generation),
        "ledger-dev Ready: {s:?}"
    );
    assert_eq!(s.kind.as_deref(), Some("postgresql"), "{s:?}");
    assert!(
        s.postgres_address
            .as_deref()
            .is_some_and(|a| a.ends_with(".psdb.cloud") || a.starts_with("127.")),
        "a Postgres address: {s:?}"
    );
    assert!(
        s.major_version.is_some() && s.mysql_address.is_none(),
        "{s:?}"
    );
}

/// The Secret carries DATABASE_URL and a password the emulator accepts. Returns the values
/// that must never be shown: the password and DATABASE_URL.
async fn assert_secret_works(client: &Client, emulator: &str) -> [String; 2] {
    let secret: Secret = Api::namespaced(client.clone(), "demo")
        .get("demo-feature-db")
        .await
        .expect("password Secret");
    let data = secret.data.unwrap_or_default();
    let value = |k: &str| {
        let v = data.get(k).unwrap_or_else(|| {
            panic!(
                "Secret {} has no {k}; keys: {:?}",
                secret.metadata.name.as_deref().unwrap_or("?"),
                data.keys().collect::<Vec<_>>()
            )
        });
        String::from_utf8(v.0.clone()).expect("utf-8")
    };
    let (password, url) = (value("password"), value("DATABASE_URL"));
    assert!(
        url.starts_with("mysql://"),
        "DATABASE_URL is a mysql:// URL"
    );
    assert!(password.len() >= 8, "a real password");
    let body = json!({"organization": "acme", "database": "shop", "branch": "demo-feature",
        "username": value("username"), "password": password});
    let verdict: serde_json::Value = reqwest::Client::new()
        .post(format!("{emulator}/_emulator/verify-password"))
        .json(&body)
        .send()
        .await
        .expect("emulator reachable")
        .json()
        .await
        .expect("JSON");
    assert_eq!(
        verdict["valid"],
        json!(true),
        "the emulator accepts the Secret's password: {verdict}"
    );
    [password, url]
}

/// The deploy request carried the demo's column into production `main`.
async fn assert_main_has_the_new_column(emulator: &str) {
    let (id, token) = demo_service_token();
    let ps = planetscale_api::Client::builder(Credentials::service_token(id, token))
        .base_url(format!("{emulator}/v1"))
        .build()
        .expect("PlanetScale client");
    let schema = ps
        .get_branch_schema("acme", "shop", "main", None)
        .await
        .expect("main's schema");
    let orders = schema
        .iter()
        .find(|t| t.name == "orders")
        .unwrap_or_else(|| panic!("main has an orders table: {schema:?}"));
    assert!(
        orders.raw.contains("`status` varchar(32)"),
        "orders.status reached main:\n{}",
        orders.raw
    );
}

/// The operator process uses the ServiceAccount kubeconfig, which authenticates as the
/// chart's ServiceAccount and has only the chart's (namespaced) RBAC.
async fn assert_operator_runs_as_its_service_account(dir: &Path, operator_pid: u32) {
    let environ = std::fs::read(format!("/proc/{operator_pid}/environ")).expect("operator env");
    let kubeconfig = environ
        .split(|b| *b == 0)
        .find_map(|kv| kv.strip_prefix(b"KUBECONFIG="))
        .map(|v| PathBuf::from(String::from_utf8_lossy(v).into_owned()))
        .expect("the operator runs with KUBECONFIG set");
    assert_eq!(
        kubeconfig,
        dir.join("operator.kubeconfig"),
        "the operator uses the ServiceAccount kubeconfig, not the admin one"
    );
    let as_operator = support::helm::client_from(&kubeconfig).await;
    let review = Api::<SelfSubjectReview>::all(as_operator.clone())
        .create(&PostParams::default(), &SelfSubjectReview::default())
        .await
        .expect("SelfSubjectReview");
    let user = review
        .status
        .and_then(|s| s.user_info)
        .and_then(|u| u.username);
    assert_eq!(user.as_deref(), Some(OPERATOR_SA));
    match Api::<Secret>::namespaced(as_operator, "default")
        .list(&Default::default())
        .await
    {
        Err(kube::Error::Api(s)) if s.code == 403 => {}
        other => panic!(
            "the chart's RBAC (watchNamespaces: demo) must not let the operator list Secrets in `default`: {:?}",
            other.map(|l| l.items.len())
        ),
    }
}

/// The `demo: WHAT ✓ (Ns)` line that ends a wait.
fn assert_waited(stdout: &str, what: &str) {
    let prefix = format!("demo: {what} ✓ (");
    let shown = stdout.lines().any(|l| {
        l.strip_prefix(&prefix)
            .and_then(|rest| rest.strip_suffix("s)"))
            .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
    });
    assert!(shown, "no {prefix:?}<seconds>s) line in:\n{stdout}");
}

/// The `kubectl get` table row of `name`, as column header → cell (the header line is the
/// closest `NAME …` line above the row).
fn table_row(stdout: &str, name: &str) -> BTreeMap<String, String> {
    let mut header: Vec<&str> = Vec::new();
    let mut rows = Vec::new();
    for cells in stdout
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
    {
        if cells.first() == Some(&"NAME") {
            header = cells;
        } else if cells.first() == Some(&name) {
            rows.push(
                header
                    .iter()
                    .zip(&cells)
                    .map(|(h, c)| (h.to_string(), c.to_string()))
                    .collect::<BTreeMap<_, _>>(),
            );
        }
    }
    assert_eq!(
        rows.len(),
        1,
        "one `kubectl get` row for {name} (the apply output is prefixed with `demo: `):\n{stdout}"
    );
    rows.remove(0)
}

/// Asserts the cells of a table row.
fn assert_cells(row: &BTreeMap<String, String>, expected: &[(&str, &str)]) {
    for (column, value) in expected {
        assert_eq!(
            row.get(*column).map(String::as_str),
            Some(*value),
            "column {column} of {row:?}"
        );
    }
}

/// Checks a demo that `up` just started, as a user would: what it printed, that the three
/// resources are Ready and did their job, what the operator runs as, and that no secret value
/// was shown. Returns the PIDs it recorded.
async fn check_running_demo(dir: &Path, up: &Output) -> Vec<(String, u32)> {
    let stdout = String::from_utf8_lossy(&up.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&up.stderr).into_owned();
    let env = demo_env(dir);
    let emulator = env.get("EMULATOR_URL").expect("EMULATOR_URL in .demo/env");

    // Progress: each wait ends with what it waited for and how long it took; one that does
    // not succeed at once says so while it waits (the branch alone takes the emulator's 3 s).
    for what in [
        format!("the PlanetScale emulator at {emulator}"),
        "the operator (as ServiceAccount planetscale-system/planetscale-operator with the chart's RBAC)".into(),
        "PlanetScaleBranch/demo-feature Ready".into(),
        "PlanetScaleBranch/ledger-dev Ready".into(),
        "PlanetScalePassword/demo-app Ready".into(),
        "PlanetScalePassword/demo-app-main Ready".into(),
        "PlanetScalePassword/demo-ledger Ready".into(),
        "DeployRequest/add-orders-status Ready".into(),
        "the app sees orders.status on main".into(),
    ] {
        assert_waited(&stdout, &what);
    }
    let waiting = "demo: waiting for PlanetScaleBranch/demo-feature Ready… ";
    assert!(
        stdout.lines().any(|l| l
            .strip_prefix(waiting)
            .and_then(|rest| rest.split_once('s'))
            .is_some_and(|(n, _)| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))),
        "no {waiting:?}<seconds>s line in:\n{stdout}"
    );

    // The summary: `kubectl get` of the three kinds, the Secret's keys, how to explore.
    let branch = table_row(
        &stdout,
        "planetscalebranch.planetscale.operator.dev/demo-feature",
    );
    assert_cells(
        &branch,
        &[
            ("DATABASE", "shop"),
            ("ENGINE", "mysql"),
            ("BRANCH", "demo-feature"),
            ("PARENT", "main"),
            ("READY", "True"),
        ],
    );
    let ledger = table_row(
        &stdout,
        "planetscalebranch.planetscale.operator.dev/ledger-dev",
    );
    assert_cells(
        &ledger,
        &[
            ("DATABASE", "ledger"),
            ("ENGINE", "postgresql"),
            ("BRANCH", "ledger-dev"),
            ("READY", "True"),
        ],
    );
    let password = table_row(
        &stdout,
        "planetscalepassword.planetscale.operator.dev/demo-app",
    );
    assert_cells(
        &password,
        &[
            ("BRANCH", "demo-feature"),
            ("ROLE", "readwriter"),
            ("SECRET", "demo-feature-db"),
            ("READY", "True"),
        ],
    );
    let dr = table_row(
        &stdout,
        "deployrequest.planetscale.operator.dev/add-orders-status",
    );
    assert_cells(
        &dr,
        &[
            ("BRANCH", "demo-feature"),
            ("INTO", "main"),
            ("READY", "True"),
        ],
    );
    assert!(
        dr.get("NUMBER").is_some_and(|n| n.parse::<u64>().is_ok())
            && dr
                .get("DEPLOYMENT")
                .is_some_and(|d| d == "complete_pending_revert" || d == "complete"),
        "the deploy request's number and finished deployment: {dr:?}"
    );
    let keys = stdout
        .lines()
        .find_map(|l| l.strip_prefix("Secret demo/demo-feature-db keys (values not shown): "))
        .unwrap_or_else(|| panic!("the Secret's keys are listed:\n{stdout}"));
    for key in ["DATABASE_URL", "password", "username", "host"] {
        assert!(
            keys.split_whitespace().any(|k| k == key),
            "key {key} listed: {keys}"
        );
    }
    // The application read both branches over verified TLS from the real servers, and main
    // has the deployed column.
    let app = |branch: &str| {
        let prefix = format!("app: {branch}@127.");
        let lines: Vec<&str> = stdout
            .lines()
            .map(str::trim)
            .filter(|l| l.starts_with(&prefix))
            .collect();
        assert!(
            !lines.is_empty(),
            "the app's answers for {branch} are shown:\n{stdout}"
        );
        lines.last().expect("non-empty").to_string()
    };
    let feature = app("demo-feature");
    assert!(
        feature.ends_with("orders columns created_at,customer_id,id,status,total_cents"),
        "{feature}"
    );
    let main = app("main");
    assert!(
        main.ends_with("orders columns created_at,customer_id,id,status,total_cents"),
        "{main}"
    );
    let export = format!("export KUBECONFIG={}", dir.join("kubeconfig").display());
    assert!(
        stdout.lines().any(|l| l.trim() == export),
        "{export:?} shown:\n{stdout}"
    );
    assert!(
        stdout.contains(&format!("The PlanetScale emulator is at {emulator} ")),
        "the emulator's address is shown:\n{stdout}"
    );
    assert!(stdout.contains("make demo-down"), "how to stop it is shown");
    // The `kubectl describe` commands it suggests work, with the KUBECONFIG it suggests.
    let describes: Vec<&str> = stdout
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("kubectl -n demo describe "))
        .collect();
    assert_eq!(describes.len(), 3, "a describe command per kind:\n{stdout}");
    let kubectl = demo_kubectl(dir);
    for line in describes {
        let args: Vec<&str> = line.split_whitespace().skip(1).collect();
        let out = std::process::Command::new(&kubectl)
            .args(&args)
            .env("KUBECONFIG", dir.join("kubeconfig"))
            .output()
            .expect("run kubectl");
        let described = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && described.contains(args.last().expect("name")),
            "`{line}` works: {}\n{described}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }

    // The end state behind the summary.
    let client = support::helm::client_from(&dir.join("kubeconfig")).await;
    assert_all_ready(&client).await;
    let secret_values = assert_secret_works(&client, emulator).await;
    assert_main_has_the_new_column(emulator).await;

    // No secret value on the terminal or in the demo's logs.
    let mut shown = vec![("stdout".to_string(), stdout), ("stderr".into(), stderr)];
    for entry in std::fs::read_dir(dir.join("logs")).expect("logs folder") {
        let path = entry.expect("log entry").path();
        let log = std::fs::read_to_string(&path).unwrap_or_default();
        shown.push((path.display().to_string(), log));
    }
    let (_, service_token) = demo_service_token();
    for (label, value) in [
        ("the password", &secret_values[0]),
        ("DATABASE_URL", &secret_values[1]),
        ("the service token", &service_token),
    ] {
        for (place, content) in &shown {
            assert!(
                !content.contains(value.as_str()),
                "{label} appears in {place}"
            );
        }
    }

    let pids = recorded_pids(dir);
    for name in [
        "emulator",
        "operator",
        "etcd",
        "kube-apiserver",
        "kube-controller-manager",
    ] {
        let pid = pids.iter().find(|(n, _)| n == name).map_or_else(
            || panic!("{name} recorded in the PID files: {pids:?}"),
            |(_, p)| *p,
        );
        assert!(alive(pid), "{name} ({pid}) is running");
        if name == "operator" {
            assert_operator_runs_as_its_service_account(dir, pid).await;
        }
    }
    pids
}

#[tokio::test]
async fn make_demo_twice_ends_ready_and_demo_down_stops_exactly_what_it_started() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("demo");
    let _down = DownOnDrop(dir.clone());

    let first = up(&dir).await;
    let first_pids = check_running_demo(&dir, &first).await;

    // `make demo` again on the same state: the first demo is stopped, a new one comes up.
    let second = up(&dir).await;
    assert!(
        String::from_utf8_lossy(&second.stdout)
            .lines()
            .any(|l| l == "demo: a demo is already running: stopping it first"),
        "the second run says it stops the first:\n{}",
        text(&second)
    );
    let left: Vec<_> = first_pids.iter().filter(|(_, pid)| alive(*pid)).collect();
    assert!(
        left.is_empty(),
        "the first demo's processes still run after the second `up`: {left:?}"
    );
    let second_pids = check_running_demo(&dir, &second).await;
    let reused: Vec<_> = second_pids
        .iter()
        .filter(|p| first_pids.contains(p))
        .collect();
    assert!(
        reused.is_empty(),
        "the second demo runs new processes: {reused:?}"
    );

    let down = run_script("down", &dir, Duration::from_secs(120)).await;
    assert!(
        down.status.success(),
        "hack/demo/down failed:\n{}",
        text(&down)
    );
    let left: Vec<_> = second_pids.iter().filter(|(_, pid)| alive(*pid)).collect();
    assert!(left.is_empty(), "still running after demo-down: {left:?}");
    assert!(!dir.exists(), "demo-down removes the state folder");
    // Only what the demo started: the tests' own control plane is still there.
    Api::<Namespace>::all(support::client().await)
        .get("default")
        .await
        .expect("the harness control plane still answers after demo-down");

    let again = run_script("down", &dir, Duration::from_secs(60)).await;
    assert!(
        again.status.success() && String::from_utf8_lossy(&again.stdout).contains("not running"),
        "a second demo-down is harmless:\n{}",
        text(&again)
    );
}
