//! Connection strings that really connect: the real operator against the emulator with real
//! MariaDB and PostgreSQL servers behind it (`--realdb`), every Secret format used by its own
//! ecosystem's driver over TLS with certificate and host name verification, reading a row of
//! the branch's table.
//!
//! Needs the control plane (`make testenv-up`), `cargo build --workspace --bins`, and the
//! servers and drivers: `make realdb-test` brings them up (hack/realdb/up, hack/realdb/drivers).
mod support;

#[path = "password/common.rs"]
#[allow(dead_code)]
mod common;
#[path = "connect/postgres.rs"]
mod postgres;
#[path = "connect/prisma.rs"]
mod prisma;
#[path = "connect/realdb.rs"]
mod realdb;
#[path = "connect/rotation.rs"]
mod rotation;

use common::*;
use kube::Api;
use planetscale_operator::crd::password::PlanetScalePassword;
use serde_json::json;
use support::with_operator;

/// Formats proven here, each by the driver `hack/realdb/run` names the same.
const FORMATS: &[&str] = &["go-sql-driver", "jdbc", "rails", "laravel", "env"];

const READ: &str = "SELECT email FROM customers ORDER BY id LIMIT 1";

/// Creates password `name` with `role` and one `format`, waits until its Secret works, and
/// returns the Secret's keys.
async fn secret_for(
    client: &kube::Client,
    emu: &support::Emulator,
    ns: &str,
    name: &str,
    role: &str,
    format: &str,
) -> Vec<(String, String)> {
    let api: Api<PlanetScalePassword> = Api::namespaced(client.clone(), ns);
    let spec = json!({"role": role, "secret": {"name": name, "formats": [format]}});
    apply(&api, &password(name, spec)).await;
    wait_ready(&api, name).await;
    wait_secret(client, emu, ns, name, "main", &Seen::default(), |_| true).await;
    realdb::secret_env(&secret(client, ns, name).await.expect("Secret"))
}

fn key<'a>(env: &'a [(String, String)], key: &str) -> &'a str {
    env.iter()
        .find(|(k, _)| k == key)
        .map_or_else(|| panic!("Secret has no {key}"), |(_, v)| v.as_str())
}

/// Connects with `url` through mysql_async as written, the test CA added to its roots, and
/// reads [`READ`].
async fn mysql_async_read(url: &str) -> String {
    use mysql_async::prelude::Queryable;
    let opts = mysql_async::Opts::from_url(url).expect("mysql-url parses");
    let ssl = opts.ssl_opts().cloned().expect("the URL asks for TLS");
    assert!(
        !ssl.accept_invalid_certs() && !ssl.skip_domain_validation(),
        "verifies: {ssl:?}"
    );
    let ca = realdb::dir().join("tls/ca.crt");
    let ssl = ssl.with_root_certs(vec![ca.into()]);
    let opts = mysql_async::OptsBuilder::from_opts(opts).ssl_opts(ssl);
    let mut conn = mysql_async::Conn::new(opts)
        .await
        .expect("mysql_async connects");
    let email: Option<String> = conn.query_first(READ).await.expect("query");
    conn.disconnect().await.expect("disconnect");
    email.expect("a row")
}

#[tokio::test]
async fn realdb_every_mysql_format_connects_with_verified_tls_and_reads_the_branch() {
    let args = realdb::emulator_args();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    with_operator(&args, &[], |client, ns, emu, op| async move {
        // the operator runs as long as it is owned here
        let _operator = op;
        let admin = secret_for(&client, &emu, &ns, "adm", "admin", "env").await;
        let host = key(&admin, "HOST").to_string();
        assert!(host.starts_with("127."), "the branch's real server, not {host}");
        let insert = format!("INSERT INTO customers (email) VALUES ('ada@example.com'); {READ}");
        assert_eq!(realdb::read("env", &admin, &insert).await, "ada@example.com");

        for format in FORMATS {
            let name = format!("ro-{}", format.replace('_', "-"));
            let env = secret_for(&client, &emu, &ns, &name, "reader", format).await;
            let got = realdb::read(format, &env, READ).await;
            assert_eq!(got, "ada@example.com", "{format}");
        }

        // mysql-url is the Rust mysql/mysql_async dialect: that driver, with the test CA as its
        // root (rustls trusts built-in roots only, so it cannot read SSL_CERT_FILE).
        let env = secret_for(&client, &emu, &ns, "ro-mysql-url", "reader", "mysql-url").await;
        assert_eq!(mysql_async_read(key(&env, "DATABASE_URL")).await, "ada@example.com");

        // Verification is real: with the system CA bundle instead of the test CA, it fails.
        let mut env = secret_for(&client, &emu, &ns, "ro-gosql", "reader", "go-sql-driver").await;
        env.push(("SSL_CERT_FILE".into(), "/etc/ssl/certs/ca-certificates.crt".into()));
        let err = realdb::run("go-sql-driver", &env, READ).await.unwrap_err();
        assert!(err.contains("certificate"), "{err}");

        // Roles are real grants: a reader cannot write, a writer cannot read.
        let reader = secret_for(&client, &emu, &ns, "ro-env", "reader", "env").await;
        let err = realdb::run("env", &reader, "DELETE FROM customers").await.unwrap_err();
        assert!(err.contains("denied"), "{err}");
        let writer = secret_for(&client, &emu, &ns, "wo-env", "writer", "env").await;
        let err = realdb::run("env", &writer, READ).await.unwrap_err();
        assert!(err.contains("denied"), "{err}");
        realdb::read("env", &writer, "UPDATE customers SET email = 'ada@example.org'").await;
        assert_eq!(realdb::read("env", &admin, READ).await, "ada@example.org");

        // A schema change on the branch is real DDL.
        let customers = "CREATE TABLE `customers` (\n  `id` bigint unsigned NOT NULL AUTO_INCREMENT,\n  \
            `email` varchar(255) NOT NULL,\n  `created_at` datetime NOT NULL DEFAULT CURRENT_TIMESTAMP,\n  \
            `plan` varchar(20) NOT NULL DEFAULT 'free',\n  PRIMARY KEY (`id`),\n  UNIQUE KEY `idx_email` (`email`)\n) \
            ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci";
        let tables = json!({"tables": [customers], "force": true});
        let path = "/_emulator/organizations/acme/databases/shop/branches/main/schema";
        let r = reqwest::Client::new().put(format!("{}{path}", emu.url)).json(&tables).send().await;
        assert!(r.expect("emulator").status().is_success());
        let plan = realdb::read("env", &admin, "SELECT plan FROM customers LIMIT 1").await;
        assert_eq!(plan, "free");
        let err = realdb::run("env", &admin, "SELECT * FROM orders").await.unwrap_err();
        assert!(err.contains("doesn't exist"), "the dropped table is gone: {err}");

        // Deleting a password (deletionPolicy Delete, the default) drops its user.
        let api: Api<PlanetScalePassword> = Api::namespaced(client.clone(), &ns);
        api.delete("ro-env", &kube::api::DeleteParams::default()).await.expect("delete");
        support::wait_gone(&api, "ro-env", READY).await;
        realdb::wait_refused("env", &reader, READ, "Access denied").await;
        teardown(&api).await;
    })
    .await;
}
