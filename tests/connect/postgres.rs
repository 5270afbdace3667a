//! Every PostgreSQL form of the Secret, rendered exactly as the operator renders it for a role,
//! used by its own ecosystem's driver over TLS with certificate and host name verification
//! (`sslmode=verify-full` against the test CA), reading the branch's table.
use planetscale_api::Secret;
use planetscale_operator::connection::{ConnectionInfo, Engine, Preset, render};

use crate::READ;
use crate::realdb;

/// (preset, the `hack/realdb/run` driver that reads it, what the driver stands for).
const CASES: &[(Option<Preset>, &str, &str)] = &[
    (None, "psql", "the default DATABASE_URL through libpq"),
    (
        Some(Preset::PostgresqlUrl),
        "pgx",
        "postgresql-url through pgx",
    ),
    (Some(Preset::Env), "psql-env", "PG* variables through libpq"),
    (
        Some(Preset::GoSqlDriver),
        "pgx-dsn",
        "the Go keyword DSN through pgx",
    ),
    (Some(Preset::Jdbc), "jdbc", "JDBC_* through pgJDBC"),
    (
        Some(Preset::Rails),
        "rails",
        "DATABASE_URL through ActiveRecord and the pg gem",
    ),
    (
        Some(Preset::Laravel),
        "laravel",
        "DB_* through PHP PDO pdo_pgsql",
    ),
    (
        None,
        "psycopg",
        "the Django-style DATABASE_URL through dj-database-url and psycopg",
    ),
];

/// Prisma's `DATABASE_URL` through node-postgres, the driver of `@prisma/adapter-pg`. It checks
/// a server addressed by IP against the name `localhost` (it sets no TLS server name for an IP),
/// so against these IP-addressed test servers `verify-full` must refuse the connection; with
/// PlanetScale's DNS host names it verifies the host. The refusal proves the URL is read and
/// the certificate checked, not skipped.
const NODE_PG: (Preset, &str) = (Preset::Prisma, "node-pg");

/// The Secret's keys and values as the operator renders them for `info` with `presets`.
fn secret_env(info: &ConnectionInfo, presets: &[Preset]) -> Vec<(String, String)> {
    let data = render(info, presets, None).expect("the Secret renders");
    data.iter()
        .map(|(k, v)| (k.clone(), v.expose().to_string()))
        .collect()
}

#[tokio::test]
async fn realdb_every_postgres_format_connects_with_its_driver() {
    let db = planetscale_emulator::realdb::RealDb::open(&realdb::dir()).expect("servers");
    let run = format!("{:08x}", rand::random::<u32>());
    let user = format!("rw{run}");
    // Characters each format must escape its own way (URL, keyword DSN, PDO DSN, JDBC).
    let password = "p@ss w:rd/1?'q\\z;=%";
    let inherited = [
        "pg_read_all_data".to_string(),
        "pg_write_all_data".to_string(),
    ];
    let access = db
        .pg_create_role("ledger", &format!("main{run}"), &user, password, &inherited)
        .await
        .expect("role");
    let setup = "CREATE TABLE customers (id serial PRIMARY KEY, email text NOT NULL);\n\
                 INSERT INTO customers (email) VALUES ('ada@example.com');";
    db.pg_execute(&access.database, setup)
        .await
        .expect("branch schema");
    let info = ConnectionInfo {
        host: access.host.clone(),
        port: access.port,
        username: access.username.clone(),
        password: Secret::new(password),
        database: access.database.clone(),
        engine: Engine::Postgres,
        ..ConnectionInfo::default()
    };
    let mut failed = Vec::new();
    for (preset, driver, what) in CASES {
        let presets: Vec<Preset> = preset.iter().copied().collect();
        match realdb::run(driver, &secret_env(&info, &presets), READ).await {
            Ok(out) if out == "ada@example.com" => {}
            Ok(out) => failed.push(format!("{what} ({driver}) read {out:?}")),
            Err(e) => failed.push(format!("{what} ({driver}) failed: {e}")),
        }
    }
    match realdb::run(NODE_PG.1, &secret_env(&info, &[NODE_PG.0]), READ).await {
        Err(e) if e.contains("does not match certificate's altnames") => {}
        other => failed.push(format!("node-postgres did not verify the host: {other:?}")),
    }
    db.pg_drop_role(&access.database, &user, None)
        .await
        .expect("drop role");
    assert!(
        failed.is_empty(),
        "formats that did not connect:\n{}",
        failed.join("\n")
    );
}
