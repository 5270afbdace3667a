//! The PostgreSQL forms: every preset on a Postgres branch, what is refused, and passwords
//! that need escaping.
use super::test_support::{NASTY_PASSWORD, info};
use super::*;

fn pg(password: &str) -> ConnectionInfo {
    ConnectionInfo {
        host: "us-east.pg.psdb.cloud".into(),
        port: POSTGRES_PORT,
        username: "pscale_api_r1.main".into(),
        database: "postgres".into(),
        engine: Engine::Postgres,
        ..info(password)
    }
}

fn text(data: &SecretData, key: &str) -> String {
    data.get(key)
        .unwrap_or_else(|| panic!("no {key}"))
        .expose()
        .to_owned()
}

#[test]
fn the_default_url_is_postgresql_with_verify_full() {
    let data = render(&pg("pw"), &[], None).unwrap();
    assert_eq!(
        text(&data, "DATABASE_URL"),
        "postgresql://pscale_api_r1.main:pw@us-east.pg.psdb.cloud:5432/postgres?sslmode=verify-full"
    );
    assert_eq!(text(&data, "port"), "5432");
    assert_eq!(text(&data, "database"), "postgres");
}

#[test]
fn each_preset_writes_its_postgres_keys() {
    let info = pg("pw");
    for preset in Preset::ALL
        .into_iter()
        .filter(|p| p.serves(Engine::Postgres))
    {
        let data = render(&info, &[preset], None).unwrap();
        for key in preset.keys_for(Engine::Postgres) {
            assert!(data.contains_key(*key), "{preset} lacks {key}");
        }
        assert!(!preset.keys_for(Engine::Postgres).is_empty(), "{preset}");
        let mysql = data.values().any(|v| v.expose().contains("mysql"));
        assert!(!mysql, "{preset} wrote a MySQL value");
    }
    let env = render(&info, &[Preset::Env], None).unwrap();
    for (k, v) in [
        ("PGHOST", "us-east.pg.psdb.cloud"),
        ("PGPORT", "5432"),
        ("PGUSER", "pscale_api_r1.main"),
        ("PGPASSWORD", "pw"),
        ("PGDATABASE", "postgres"),
        ("PGSSLMODE", "verify-full"),
    ] {
        assert_eq!(text(&env, k), v, "{k}");
    }
    let laravel = render(&info, &[Preset::Laravel], None).unwrap();
    assert_eq!(text(&laravel, "DB_CONNECTION"), "pgsql");
    assert_eq!(text(&laravel, "DB_SSLMODE"), "verify-full");
    let jdbc = render(&info, &[Preset::Jdbc], None).unwrap();
    assert_eq!(
        text(&jdbc, "JDBC_URL"),
        "jdbc:postgresql://us-east.pg.psdb.cloud:5432/postgres?sslmode=verify-full&sslfactory=org.postgresql.ssl.DefaultJavaSSLFactory"
    );
    let go = render(&info, &[Preset::GoSqlDriver], None).unwrap();
    assert_eq!(
        text(&go, "DSN"),
        "host=us-east.pg.psdb.cloud port=5432 user='pscale_api_r1.main' password='pw' dbname='postgres' sslmode=verify-full"
    );
}

#[test]
fn url_presets_serve_only_their_engine() {
    let err = render(&pg("pw"), &[Preset::MysqlUrl], None).unwrap_err();
    assert_eq!(err.reason(), "FieldNotForEngine");
    assert!(err.to_string().contains("mysql-url"), "{err}");
    let err = render(&info("pw"), &[Preset::PostgresqlUrl], None).unwrap_err();
    assert_eq!(err.reason(), "FieldNotForEngine");
    assert!(err.to_string().contains("postgresql-url"), "{err}");
}

#[test]
fn every_password_survives_the_url_and_the_keyword_dsn() {
    let info = pg(NASTY_PASSWORD);
    let url = postgres_url(&info);
    let parsed = url::Url::parse(&url).expect("a valid URL");
    let decoded = percent_encoding::percent_decode_str(parsed.password().unwrap())
        .decode_utf8()
        .unwrap();
    assert_eq!(decoded, NASTY_PASSWORD);
    let dsn = pg_keyword_dsn(&info);
    let quoted = dsn
        .split_once("password='")
        .and_then(|(_, rest)| rest.split_once("' dbname="))
        .map(|(q, _)| q.replace("\\'", "'").replace("\\\\", "\\"))
        .unwrap();
    assert_eq!(quoted, NASTY_PASSWORD);
    assert!(!format!("{info:?}").contains(NASTY_PASSWORD));
}
