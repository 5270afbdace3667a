//! Prisma: the `prisma` preset's `DATABASE_URL`, as the operator wrote it, read by Prisma Client 7
//! itself (generated offline from npm packages by hack/realdb/drivers) through the driver
//! adapter Prisma documents for each engine: `@prisma/adapter-mariadb` for a MySQL branch,
//! `@prisma/adapter-pg` for a Postgres one. Each connects over TLS verified against the test
//! CA and reads the branch's table with a model query; with Node's own roots instead of the
//! test CA, the same URL is refused.
use kube::Api;
use planetscale_operator::crd::password::PlanetScalePassword;
use serde_json::json;

use crate::common::*;
use crate::postgres::{create_table, pg_secret_for};
use crate::realdb;
use crate::support::with_operator;
use crate::{READ, key, secret_for};

const ADA: &str = "ada@example.com";

/// `env` with Node's built-in roots instead of the test CA (hack/realdb/run gives Node
/// `SSL_CERT_FILE` as NODE_EXTRA_CA_CERTS).
fn without_test_ca(env: &[(String, String)]) -> Vec<(String, String)> {
    let mut env = env.to_vec();
    env.push((
        "SSL_CERT_FILE".into(),
        "/etc/ssl/certs/ca-certificates.crt".into(),
    ));
    env
}

/// Checks that the Secret `env` has a `scheme://…?query` URL (never printed: it holds the
/// password), that Prisma reads the branch's first customer with it, and that the same URL is
/// refused with Node's own roots instead of the test CA.
async fn assert_prisma_reads(env: &[(String, String)], scheme: &str, query: &str) {
    let url = key(env, "DATABASE_URL");
    assert!(
        url.starts_with(&format!("{scheme}://")),
        "not a {scheme} URL"
    );
    assert_eq!(url.split_once('?').map_or("", |(_, q)| q), query);
    assert_eq!(realdb::read("prisma", env, READ).await, ADA);
    let err = realdb::run("prisma", &without_test_ca(env), READ)
        .await
        .unwrap_err();
    assert!(err.contains("self-signed certificate"), "{err}");
}

#[tokio::test]
async fn realdb_prisma_client_reads_the_mysql_branch_with_the_preset_url() {
    let args = realdb::emulator_args();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    with_operator(&args, &[], |client, ns, emu, op| async move {
        // the operator runs as long as it is owned here
        let _operator = op;
        let admin = secret_for(&client, &emu, &ns, "adm", "admin", "env").await;
        let insert = format!("INSERT INTO customers (email) VALUES ('{ADA}'); {READ}");
        assert_eq!(realdb::read("env", &admin, &insert).await, ADA);

        let env = secret_for(&client, &emu, &ns, "ro-prisma", "reader", "prisma").await;
        assert_prisma_reads(&env, "mysql", "sslaccept=strict&ssl=true").await;

        teardown(&Api::<PlanetScalePassword>::namespaced(client.clone(), &ns)).await;
    })
    .await;
}

#[tokio::test]
async fn realdb_prisma_client_reads_the_postgres_branch_with_the_preset_url() {
    let args = realdb::emulator_args();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    with_operator(&args, &[], |client, ns, emu, op| async move {
        // the operator runs as long as it is owned here
        let _operator = op;
        create_table(&emu).await;
        let secret = json!({"name": "pg-prisma", "formats": ["prisma"]});
        let env = pg_secret_for(&client, &ns, "pg-prisma", "reader", secret).await;
        assert_prisma_reads(&env, "postgresql", "sslmode=verify-full").await;

        teardown(&Api::<PlanetScalePassword>::namespaced(client.clone(), &ns)).await;
    })
    .await;
}
