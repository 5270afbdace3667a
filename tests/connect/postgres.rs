//! Every PostgreSQL form of the Secret, written by the operator for a role it created through
//! the emulator's roles API on the real PostgreSQL server (`--realdb`), used by its own
//! ecosystem's driver over TLS with certificate and host name verification
//! (`sslmode=verify-full` against the test CA), reading the branch's table. And rotation: the
//! old role logs in during the grace period, no longer after it.
use kube::Api;
use planetscale_operator::crd::password::PlanetScalePassword;
use serde_json::{Value, json};

use crate::common::*;
use crate::realdb;
use crate::support::{self, Emulator, with_operator};
use crate::{READ, key};

/// (format, the `hack/realdb/run` driver that reads it, what the driver stands for); format
/// `None` is the default Secret (`DATABASE_URL`).
const CASES: &[(Option<&str>, &str, &str)] = &[
    (None, "psql", "the default DATABASE_URL through libpq"),
    (
        None,
        "psycopg",
        "the default (Django-style) DATABASE_URL through dj-database-url and psycopg",
    ),
    (Some("postgresql-url"), "pgx", "postgresql-url through pgx"),
    (Some("env"), "psql-env", "PG* variables through libpq"),
    (
        Some("go-sql-driver"),
        "pgx-dsn",
        "the Go keyword DSN through pgx",
    ),
    (Some("jdbc"), "jdbc", "JDBC_* through pgJDBC"),
    (
        Some("rails"),
        "rails",
        "DATABASE_URL through ActiveRecord and the pg gem",
    ),
    (Some("laravel"), "laravel", "DB_* through PHP PDO pdo_pgsql"),
];

/// Id of branch `main` of the Postgres database `ledger` in the emulator's world.
async fn ledger_main(emu: &Emulator) -> String {
    let world = emu.world().await;
    let branches = world["branches"].as_array().cloned().unwrap_or_default();
    let main = branches
        .iter()
        .find(|b| b["database"] == json!("ledger") && b["name"] == json!("main"));
    let id = main.and_then(|b| b["id"].as_str());
    id.unwrap_or_else(|| panic!("no branch ledger/main in {branches:?}"))
        .to_string()
}

/// The branch's table, created as an application's migration would (the emulator keeps no
/// schema for Postgres branches).
pub(crate) async fn create_table(emu: &Emulator) {
    let db = planetscale_emulator::realdb::RealDb::open(&realdb::dir()).expect("servers");
    let setup = "CREATE TABLE IF NOT EXISTS customers (id serial PRIMARY KEY, email text);\n\
                 INSERT INTO customers (email) VALUES ('ada@example.com');";
    db.pg_branch_execute(&ledger_main(emu).await, setup)
        .await
        .expect("the branch's table");
}

/// Creates password `name` on `ledger` with `role` and `spec_extra`, waits until it is Ready
/// and its Secret exists, and returns the Secret's keys.
pub(crate) async fn pg_secret_for(
    client: &kube::Client,
    ns: &str,
    name: &str,
    role: &str,
    secret: Value,
) -> Vec<(String, String)> {
    let api: Api<PlanetScalePassword> = Api::namespaced(client.clone(), ns);
    let spec = json!({"database": "ledger", "role": role, "secret": secret});
    apply(&api, &password(name, spec)).await;
    wait_ready(&api, name).await;
    let s = support::eventually(READY, &format!("Secret {name}"), || async {
        crate::common::secret(client, ns, name)
            .await
            .ok_or("no Secret")
    })
    .await;
    realdb::secret_env(&s)
}

#[tokio::test]
async fn realdb_every_postgres_format_connects_with_its_driver() {
    let args = realdb::emulator_args();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    with_operator(&args, &[], |client, ns, emu, op| async move {
        // the operator runs as long as it is owned here
        let _operator = op;
        create_table(&emu).await;
        let mut failed = Vec::new();
        for (i, (format, driver, what)) in CASES.iter().enumerate() {
            let name = format!("pg-{i}-{driver}");
            let secret = match format {
                Some(f) => json!({"name": name, "formats": [f]}),
                None => json!({"name": name}),
            };
            let env = pg_secret_for(&client, &ns, &name, "readwriter", secret).await;
            match realdb::run(driver, &env, READ).await {
                Ok(out) if out == "ada@example.com" => {}
                Ok(out) => failed.push(format!("{what} ({driver}) read {out:?}")),
                Err(e) => failed.push(format!("{what} ({driver}) failed: {e}")),
            }
        }
        assert!(
            failed.is_empty(),
            "formats that did not connect:\n{}",
            failed.join("\n")
        );

        // The host is the real server's; the role's grants are real (a reader cannot write);
        // verification is real (with the system bundle instead of the test CA, it fails).
        let secret = json!({"name": "pg-reader", "formats": ["env"]});
        let reader = pg_secret_for(&client, &ns, "pg-reader", "reader", secret).await;
        let host = key(&reader, "PGHOST");
        assert!(host.starts_with("127."), "the real server, not {host}");
        assert_eq!(
            realdb::read("psql-env", &reader, READ).await,
            "ada@example.com"
        );
        let err = realdb::run("psql-env", &reader, "DELETE FROM customers")
            .await
            .unwrap_err();
        assert!(
            err.contains("permission denied"),
            "a reader only reads: {err}"
        );
        let mut wrong_ca = reader.clone();
        wrong_ca.push((
            "PGSSLROOTCERT".into(),
            "/etc/ssl/certs/ca-certificates.crt".into(),
        ));
        let err = realdb::run("psql-env", &wrong_ca, READ).await.unwrap_err();
        assert!(err.contains("certificate verify failed"), "{err}");

        // Deleting the password drops its role.
        let api: Api<PlanetScalePassword> = Api::namespaced(client.clone(), &ns);
        api.delete("pg-reader", &kube::api::DeleteParams::default())
            .await
            .expect("delete");
        support::wait_gone(&api, "pg-reader", READY).await;
        realdb::wait_refused("psql-env", &reader, READ, "password authentication failed").await;
        teardown(&api).await;
    })
    .await;
}

#[tokio::test]
async fn realdb_postgres_rotation_keeps_the_old_role_for_the_grace_period_then_drops_it() {
    let args = realdb::emulator_args();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    with_operator(&args, FAST_RESYNC, |client, ns, emu, op| async move {
        // the operator runs as long as it is owned here
        let _operator = op;
        create_table(&emu).await;
        let api: Api<PlanetScalePassword> = Api::namespaced(client.clone(), &ns);
        let spec = json!({"database": "ledger", "role": "reader",
            "rotation": {"interval": "24h", "gracePeriod": "5m"},
            "secret": {"name": "app", "formats": ["env"]}});
        apply(&api, &password("app", spec)).await;
        wait_ready(&api, "app").await;
        let old = support::eventually(READY, "Secret app", || async {
            secret(&client, &ns, "app").await.ok_or("no Secret")
        })
        .await;
        let old = realdb::secret_env(&old);
        assert_eq!(
            realdb::read("psql-env", &old, READ).await,
            "ada@example.com"
        );

        let rotate =
            json!({"metadata": {"annotations": {"planetscale.operator.dev/rotate": "r1"}}});
        merge(&api, "app", rotate).await;
        let new = support::eventually(READY, "Secret app with a new role", || async {
            let s = secret(&client, &ns, "app").await.ok_or("no Secret")?;
            let env = realdb::secret_env(&s);
            if key(&env, "PGUSER") == key(&old, "PGUSER") {
                return Err("still the old role");
            }
            Ok(env)
        })
        .await;
        let (fresh, stale) = (
            realdb::read("psql-env", &new, READ).await,
            realdb::read("psql-env", &old, READ).await,
        );
        assert_eq!(fresh, "ada@example.com", "the new role at once");
        assert_eq!(
            stale, "ada@example.com",
            "the old role during the grace period"
        );

        emu.advance("6m").await;
        wait_until(
            &api,
            "app",
            "old role deleted after the grace period",
            |o| {
                o.status
                    .as_ref()
                    .is_some_and(|s| s.pending_deletions.is_empty())
            },
        )
        .await;
        realdb::wait_refused("psql-env", &old, READ, "password authentication failed").await;
        assert_eq!(
            realdb::read("psql-env", &new, READ).await,
            "ada@example.com",
            "the new role stays"
        );
        teardown(&api).await;
    })
    .await;
}
