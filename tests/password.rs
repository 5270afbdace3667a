//! The PlanetScalePassword controller end to end: the real operator binary against the local
//! control plane and the PlanetScale emulator (organization `acme`, database `shop`, production
//! branch `main`). Every Secret's credentials are checked with the emulator's admin API, and
//! every test searches the operator's log and the events for the plaintexts it saw.
//!
//! Needs `make testenv-up` and `cargo build --workspace --bins`.
mod support;

#[path = "password/budget.rs"]
mod budget;
#[path = "password/common.rs"]
mod common;
#[path = "password/crash.rs"]
mod crash;
#[path = "password/deletion.rs"]
mod deletion;
#[path = "password/heal.rs"]
mod heal;
#[path = "password/ownership.rs"]
mod ownership;
#[path = "password/postgres.rs"]
mod postgres;
#[path = "password/rotation.rs"]
mod rotation;
#[path = "password/ttl.rs"]
mod ttl;

use common::*;
use k8s_openapi::api::core::v1::Secret;
use kube::{Api, ResourceExt};
use planetscale_operator::controller::password::FINALIZER;
use planetscale_operator::crd::branch::PlanetScaleBranch;
use planetscale_operator::crd::password::PlanetScalePassword;
use serde_json::json;
use support::with_operator;

/// Each role with a set of presets that covers all seven (presets writing `DATABASE_URL` are
/// spread over different resources, as one Secret can only hold one).
const CASES: &[(&str, &str, &[&str])] = &[
    ("reader", "ro", &["mysql-url", "go-sql-driver", "jdbc"]),
    ("writer", "wo", &["prisma", "laravel"]),
    ("readwriter", "rw", &["rails", "env"]),
    ("admin", "adm", &[]),
];

#[tokio::test]
async fn explicit_target_every_role_and_preset_gives_working_credentials() {
    with_operator(&[], &[], |client, ns, emu, op| async move {
        let api: Api<PlanetScalePassword> = Api::namespaced(client.clone(), &ns);
        let seen = Seen::default();
        for (role, name, formats) in CASES {
            let spec = json!({"role": role, "secret": {"name": format!("{name}-db"), "formats": formats,
                "labels": {"team": "shop"}, "annotations": {"example.com/owner": name},
                "template": {"data": {"config.yaml": "user: {{ username }}\nhost: {{ host }}\nrole: {{ role }}"}}}});
            apply(&api, &password(name, spec)).await;
        }
        for (role, name, formats) in CASES {
            let obj = wait_ready(&api, name).await;
            let s = obj.status.clone().expect("status");
            let secret_name = format!("{name}-db");
            let c = wait_secret(&client, &emu, &ns, &secret_name, "main", &seen, |_| true).await;
            assert_eq!(s.username.as_deref(), Some(c.0.as_str()));
            assert_eq!(s.role.map(planetscale_operator::crd::PasswordRole::as_str), Some(*role));
            assert_eq!(s.secret_name.as_deref(), Some(secret_name.as_str()));
            assert!(s.host.as_deref().is_some_and(|h| h.ends_with(".connect.psdb.cloud")), "{s:?}");
            assert_eq!(s.credentials_hash.as_ref().map(String::len), Some(16));
            assert!(obj.metadata.finalizers.iter().flatten().any(|f| f == FINALIZER));
            let live = live_passwords(&emu, &obj).await;
            assert_eq!(live.len(), 1, "{live:?}");
            assert_eq!(live[0]["role"], json!(role));
            assert_eq!(live[0]["id"].as_str(), s.password_id.as_deref());
            let sec = secret(&client, &ns, &secret_name).await.unwrap();
            check_presets(&sec, formats, &c);
            let config = value(&sec, "config.yaml").expect("template key");
            assert_eq!(config, format!("user: {}\nhost: {}\nrole: {role}", c.0, s.host.unwrap()));
            assert_eq!(sec.labels().get("team").map(String::as_str), Some("shop"));
            assert_eq!(sec.annotations().get("example.com/owner").map(String::as_str), Some(*name));
        }

        // Fewer formats: their keys go, the credentials stay.
        let before = secret(&client, &ns, "ro-db").await.unwrap();
        merge(&api, "ro", json!({"spec": {"secret": {"formats": ["env"], "template": null}}})).await;
        crate::support::eventually(READY, "the Secret follows the new formats", || async {
            let s = secret(&client, &ns, "ro-db").await.unwrap();
            let keys: Vec<String> = s.data.clone().unwrap_or_default().into_keys().collect();
            let gone = ["DSN", "JDBC_URL", "config.yaml"].iter().all(|k| !keys.contains(&k.to_string()));
            if gone && keys.contains(&"USERNAME".to_string()) { Ok(()) } else { Err(keys) }
        })
        .await;
        let after = secret(&client, &ns, "ro-db").await.unwrap();
        assert_eq!(creds(&after), creds(&before), "same password");
        wait_ready(&api, "ro").await;

        // CIDRs are changed on the password itself.
        merge(&api, "ro", json!({"spec": {"cidrs": ["10.0.0.0/8"]}})).await;
        let ps = planetscale_api::Client::builder(planetscale_api::Credentials::service_token(
            support::env::TOKEN_ID,
            support::env::TOKEN,
        ))
        .base_url(emu.api_url())
        .build()
        .expect("client");
        let id = api.get("ro").await.unwrap().status.unwrap().password_id.unwrap();
        support::eventually(READY, "the password's CIDRs", || async {
            let p = ps.get_password("acme", "shop", "main", &id).await.expect("get");
            if p.cidrs == Some(vec!["10.0.0.0/8".to_string()]) { Ok(()) } else { Err(p.cidrs) }
        })
        .await;
        wait_event(&client, &ns, "ro", "CidrsUpdated").await;
        let sec = secret(&client, &ns, "ro-db").await.unwrap();
        assert_eq!(creds(&sec), creds(&before), "still the same password");
        wait_event(&client, &ns, "ro", "Created").await;
        assert_no_leaks(&client, &ns, &[&op], &seen).await;
        teardown(&api).await;
    })
    .await;
}

/// Each preset's keys hold the credentials, parsed the way its clients parse them.
fn check_presets(sec: &Secret, formats: &[&str], (user, pass): &(String, String)) {
    let v = |k: &str| value(sec, k).unwrap_or_else(|| panic!("key {k} missing"));
    for key in [
        "host",
        "port",
        "username",
        "password",
        "database",
        "DATABASE_URL",
    ] {
        assert!(value(sec, key).is_some(), "default key {key}");
    }
    assert_eq!(v("database"), "shop");
    for f in formats {
        match *f {
            "mysql-url" => {
                let opts = mysql_async::Opts::from_url(&v("DATABASE_URL")).expect("mysql URL");
                assert_eq!(opts.user(), Some(user.as_str()));
                assert_eq!(opts.pass(), Some(pass.as_str()));
                assert_eq!(opts.db_name(), Some("shop"));
            }
            "prisma" | "rails" => {
                let url = url::Url::parse(&v("DATABASE_URL")).expect("URL");
                assert_eq!(url.username(), user);
                assert_eq!(url.password(), Some(pass.as_str()));
                let scheme = if *f == "prisma" { "mysql" } else { "mysql2" };
                assert_eq!(url.scheme(), scheme);
            }
            "go-sql-driver" => {
                let dsn = v("DSN");
                assert!(dsn.starts_with(&format!("{user}:{pass}@tcp(")), "DSN shape");
                assert!(
                    dsn.contains(":3306)/shop?") && dsn.contains("tls=true"),
                    "DSN shape"
                );
            }
            "jdbc" => {
                assert_eq!(
                    (v("JDBC_USERNAME"), v("JDBC_PASSWORD")),
                    (user.clone(), pass.clone())
                );
                assert!(v("JDBC_URL").starts_with("jdbc:mysql://"));
            }
            "laravel" => {
                assert_eq!(
                    (v("DB_USERNAME"), v("DB_PASSWORD")),
                    (user.clone(), pass.clone())
                );
                assert_eq!(
                    (v("DB_CONNECTION"), v("DB_DATABASE")),
                    ("mysql".into(), "shop".into())
                );
            }
            "env" => {
                assert_eq!((v("USERNAME"), v("PASSWORD")), (user.clone(), pass.clone()));
                assert_eq!((v("DATABASE"), v("PORT")), ("shop".into(), "3306".into()));
            }
            other => panic!("unknown preset {other}"),
        }
    }
}

#[tokio::test]
async fn branch_ref_waits_for_the_branch_then_creates_the_password_on_it() {
    let emulator = &["--branch-ready-delay", "3s"];
    with_operator(emulator, &[], |client, ns, emu, op| async move {
        let api: Api<PlanetScalePassword> = Api::namespaced(client.clone(), &ns);
        let branches: Api<PlanetScaleBranch> = Api::namespaced(client.clone(), &ns);
        let spec = json!({"organization": null, "database": null, "branch": null,
            "branchRef": {"name": "pr-7"}, "role": "readwriter"});
        apply(&api, &password("app", spec)).await;
        let waiting = wait_condition(&api, "app", "BranchReady", "False", "BranchNotReady").await;
        let message = condition(&waiting, "Ready").unwrap().2;
        assert!(
            message.contains("pr-7") && message.contains("does not exist"),
            "{message}"
        );

        let branch: PlanetScaleBranch = serde_json::from_value(json!({
            "apiVersion": "planetscale.operator.dev/v1alpha1", "kind": "PlanetScaleBranch",
            "metadata": {"name": "pr-7"}, "spec": {"organization": "acme", "database": "shop"},
        }))
        .unwrap();
        branches
            .create(&Default::default(), &branch)
            .await
            .expect("create branch");
        let pending = wait_until(&api, "app", "waiting on a pending branch", |o| {
            condition(o, "BranchReady").is_some_and(|c| c.0 == "False" && c.2.contains("not Ready"))
        })
        .await;
        assert_eq!(condition(&pending, "Ready").unwrap().1, "BranchNotReady");

        let obj = wait_ready(&api, "app").await;
        assert_eq!(condition(&obj, "BranchReady").unwrap().0, "True");
        let s = obj.status.clone().unwrap();
        assert_eq!(
            (s.organization.as_deref(), s.database.as_deref()),
            (Some("acme"), Some("shop"))
        );
        assert_eq!(s.branch.as_deref(), Some("pr-7"));
        let seen = Seen::default();
        let c = wait_secret(&client, &emu, &ns, "app", "pr-7", &seen, |_| true).await;
        assert!(
            !valid(&emu, "main", &c).await,
            "the password belongs to pr-7, not main"
        );
        let live = live_passwords(&emu, &obj).await;
        assert_eq!(live.len(), 1);
        assert_eq!(live[0]["branch"], json!("pr-7"));
        assert_no_leaks(&client, &ns, &[&op], &seen).await;
        teardown(&api).await;
        branches
            .delete("pr-7", &Default::default())
            .await
            .expect("delete branch");
        support::wait_gone(&branches, "pr-7", READY).await;
    })
    .await;
}

#[tokio::test]
async fn a_template_that_does_not_render_creates_no_password_until_fixed() {
    with_operator(&[], &[], |client, ns, emu, op| async move {
        let api: Api<PlanetScalePassword> = Api::namespaced(client.clone(), &ns);
        let spec =
            json!({"secret": {"template": {"data": {"url": "{{ host | no_such_filter }}"}}}});
        apply(&api, &password("app", spec)).await;
        let obj = wait_condition(&api, "app", "SecretSynced", "False", "TemplateFailed").await;
        let message = condition(&obj, "Ready").unwrap().2;
        assert!(message.contains("url"), "names the key: {message}");
        assert!(
            live_passwords(&emu, &obj).await.is_empty(),
            "nothing created that could not be stored"
        );
        assert!(secret(&client, &ns, "app").await.is_none());
        let fixed =
            json!({"spec": {"secret": {"template": {"data": {"url": "{{ host | upper }}"}}}}});
        merge(&api, "app", fixed).await;
        let obj = wait_ready(&api, "app").await;
        let seen = Seen::default();
        wait_secret(&client, &emu, &ns, "app", "main", &seen, |_| true).await;
        let url = value(&secret(&client, &ns, "app").await.unwrap(), "url").unwrap();
        assert_eq!(Some(url.to_lowercase()), obj.status.unwrap().host);
        assert_no_leaks(&client, &ns, &[&op], &seen).await;
        teardown(&api).await;
    })
    .await;
}

#[tokio::test]
async fn the_documented_examples_with_explicit_targets_become_ready() {
    with_operator(&[], &[], |client, ns, emu, op| async move {
        let api: Api<PlanetScalePassword> = Api::namespaced(client.clone(), &ns);
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
        let mut names = Vec::new();
        for file in ["password-presets.yaml", "password-rotation.yaml"] {
            let text = std::fs::read_to_string(root.join(file)).expect("example");
            for doc in text.split("\n---\n") {
                let obj: PlanetScalePassword = serde_norway::from_str(doc).expect(file);
                names.push((
                    obj.name_any(),
                    obj.spec.secret.effective_name(&obj.name_any()).to_string(),
                ));
                apply(&api, &obj).await;
            }
        }
        assert_eq!(names.len(), 5);
        let seen = Seen::default();
        for (name, secret_name) in &names {
            wait_ready(&api, name).await;
            wait_secret(&client, &emu, &ns, secret_name, "main", &seen, |_| true).await;
        }
        let rails = secret(&client, &ns, "rails").await.unwrap();
        let yml = value(&rails, "database.yml").expect("templated key");
        let parsed: serde_json::Value = serde_norway::from_str(&yml).expect("valid YAML");
        assert_eq!(
            parsed["production"]["username"].as_str(),
            creds(&rails).map(|c| c.0).as_deref()
        );
        assert_eq!(
            parsed["production"]["password"].as_str(),
            creds(&rails).map(|c| c.1).as_deref()
        );
        assert_no_leaks(&client, &ns, &[&op], &seen).await;
        teardown(&api).await;
    })
    .await;
}
