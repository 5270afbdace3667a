//! Connection strings of PostgreSQL branches (a role's credentials), each requiring TLS with
//! certificate and host name verification in the way its client spells it: libpq's
//! `sslmode=verify-full` everywhere (libpq, pgx, lib/pq, psycopg, node-postgres, Rails' `pg`,
//! PHP's `pdo_pgsql` all read it), and for pgJDBC the same mode with the JVM's trust store.
//! See docs/connection-strings.md.
use super::info::ConnectionInfo;
use super::preset::Preset;
use super::urls::{encode, url_with_credentials};

/// The TLS query of every Postgres URL: verify the CA and the host name.
pub const PG_TLS: &str = "sslmode=verify-full";

/// The TLS query of the pgJDBC URL: `verify-full` with the JVM's trust store
/// (`DefaultJavaSSLFactory`), since pgJDBC's default factory reads `~/.postgresql/root.crt`,
/// which a container does not have; the host name is still verified.
pub const PG_JDBC_TLS: &str =
    "sslmode=verify-full&sslfactory=org.postgresql.ssl.DefaultJavaSSLFactory";

/// `postgresql://USER:PASS@HOST:PORT/DB?sslmode=verify-full`: the default `DATABASE_URL` of a
/// Postgres branch, and the URL of the `postgresql-url`, `prisma` and `rails` presets (Prisma's
/// `@prisma/adapter-pg`, Rails' `pg`, Django's `dj-database-url` and psycopg read it as is).
pub fn postgres_url(info: &ConnectionInfo) -> String {
    url_with_credentials("postgresql", info, PG_TLS)
}

/// `jdbc:postgresql://HOST:PORT/DB?sslmode=verify-full&sslfactory=…`; the credentials go in
/// separate keys.
pub fn pg_jdbc_url(info: &ConnectionInfo) -> String {
    format!(
        "jdbc:postgresql://{}:{}/{}?{PG_JDBC_TLS}",
        info.host,
        info.port,
        encode(&info.database)
    )
}

/// The libpq keyword/value DSN that pgx and lib/pq read:
/// `host=H port=P user='U' password='P' dbname='D' sslmode=verify-full`, values quoted with
/// `\` escaping `\` and `'` (libpq's rules), so any password works.
pub fn pg_keyword_dsn(info: &ConnectionInfo) -> String {
    format!(
        "host={} port={} user={} password={} dbname={} {PG_TLS}",
        info.host,
        info.port,
        quote(&info.username),
        quote(info.password.expose()),
        quote(&info.database),
    )
}

/// A libpq keyword value in single quotes.
fn quote(value: &str) -> String {
    let escaped = value.replace('\\', "\\\\").replace('\'', "\\'");
    format!("'{escaped}'")
}

/// The keys of `preset` on a Postgres branch (empty for a MySQL-only preset).
pub fn keys(preset: Preset) -> &'static [&'static str] {
    match preset {
        Preset::MysqlUrl => &[],
        Preset::PostgresqlUrl | Preset::Prisma | Preset::Rails => &["DATABASE_URL"],
        Preset::GoSqlDriver => &["DSN"],
        Preset::Jdbc => &["JDBC_URL", "JDBC_USERNAME", "JDBC_PASSWORD"],
        Preset::Laravel => &[
            "DB_CONNECTION",
            "DB_HOST",
            "DB_PORT",
            "DB_DATABASE",
            "DB_USERNAME",
            "DB_PASSWORD",
            "DB_SSLMODE",
            "DB_URL",
        ],
        Preset::Env => &[
            "PGHOST",
            "PGPORT",
            "PGUSER",
            "PGPASSWORD",
            "PGDATABASE",
            "PGSSLMODE",
        ],
    }
}

/// The values of `preset`'s [`keys`] for `info`, in order.
pub fn values(preset: Preset, info: &ConnectionInfo) -> Vec<String> {
    let password = info.password.expose().to_owned();
    let (host, port, db, user) = (
        info.host.clone(),
        info.port.to_string(),
        info.database.clone(),
        info.username.clone(),
    );
    match preset {
        Preset::MysqlUrl => vec![],
        Preset::PostgresqlUrl | Preset::Prisma | Preset::Rails => vec![postgres_url(info)],
        Preset::GoSqlDriver => vec![pg_keyword_dsn(info)],
        Preset::Jdbc => vec![pg_jdbc_url(info), user, password],
        Preset::Laravel => vec![
            "pgsql".to_owned(),
            host,
            port,
            db,
            user,
            password,
            "verify-full".to_owned(),
            postgres_url(info),
        ],
        Preset::Env => vec![host, port, user, password, db, "verify-full".to_owned()],
    }
}
