//! Connection strings, one builder per client, each requiring TLS with certificate and host
//! name verification in the way that client spells it (see docs/connection-strings.md).
//!
//! Every value that is not a plain DNS name is percent-encoded where the format decodes it;
//! the Go DSN is the exception, because go-sql-driver takes the password verbatim.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::error::RenderError;
use super::info::ConnectionInfo;
use super::preset::Preset;

/// Characters left as they are in an encoded URL component: RFC 3986 "unreserved".
pub(crate) const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The system CA bundle of Debian, Ubuntu and Alpine images (PlanetScale's "CA root
/// configuration"), for clients built on libmysqlclient/PDO that do not load system roots.
pub const DEFAULT_CA_PATH: &str = "/etc/ssl/certs/ca-certificates.crt";

/// Query of the `mysql-url` preset: the Rust `mysql`/`mysql_async` URL dialect, in which TLS
/// verifies the CA and the host name unless told otherwise.
pub const MYSQL_URL_TLS: &str = "require_ssl=true";
/// Query of the `prisma` preset: `sslaccept=strict` for Prisma's Rust engines (the Prisma CLI,
/// Prisma 6 and older; PlanetScale's and Prisma's docs), `ssl=true` for the `mariadb` connector
/// under Prisma 7's `@prisma/adapter-mariadb`. Each ignores the other's parameter, both verify
/// the CA and the host name.
pub const PRISMA_TLS: &str = "sslaccept=strict&ssl=true";
/// Query of the `go-sql-driver` DSN: `tls=true` verifies against the system roots.
pub const GO_DSN_PARAMS: &str = "tls=true&interpolateParams=true";
/// Query of the JDBC URL (MySQL Connector/J).
pub const JDBC_TLS: &str = "sslMode=VERIFY_IDENTITY";

/// Percent-encodes everything but unreserved characters (UTF-8 bytes for non-ASCII).
pub(crate) fn encode(value: &str) -> String {
    utf8_percent_encode(value, COMPONENT).to_string()
}

pub(crate) fn url_with_credentials(scheme: &str, info: &ConnectionInfo, query: &str) -> String {
    format!(
        "{scheme}://{}:{}@{}:{}/{}?{query}",
        encode(&info.username),
        encode(info.password.expose()),
        info.host,
        info.port,
        encode(&info.database),
    )
}

/// `mysql://USER:PASS@HOST:PORT/DB?require_ssl=true`: the default `DATABASE_URL`.
pub fn mysql_url(info: &ConnectionInfo) -> String {
    url_with_credentials("mysql", info, MYSQL_URL_TLS)
}

/// `mysql://USER:PASS@HOST:PORT/DB?sslaccept=strict&ssl=true` for Prisma.
pub fn prisma_url(info: &ConnectionInfo) -> String {
    url_with_credentials("mysql", info, PRISMA_TLS)
}

/// `mysql2://USER:PASS@HOST:PORT/DB?ssl_mode=verify_identity&sslca=...` for Rails' mysql2
/// adapter (libmysqlclient does not load system roots, hence `sslca`).
pub fn rails_url(info: &ConnectionInfo) -> String {
    let query = format!("ssl_mode=verify_identity&sslca={DEFAULT_CA_PATH}");
    url_with_credentials("mysql2", info, &query)
}

/// `jdbc:mysql://HOST:PORT/DB?sslMode=VERIFY_IDENTITY`; the credentials go in separate keys.
pub fn jdbc_url(info: &ConnectionInfo) -> String {
    format!(
        "jdbc:mysql://{}:{}/{}?{JDBC_TLS}",
        info.host,
        info.port,
        encode(&info.database)
    )
}

/// `USER:PASS@tcp(HOST:PORT)/DB?tls=true&interpolateParams=true` for go-sql-driver/mysql.
///
/// The driver splits the user from the password at the first `:` and takes the password
/// verbatim up to the last `@` before the last `/`, so any password works unescaped, but a
/// username must not contain `:`. The database name is path-unescaped by the driver.
pub fn go_dsn(info: &ConnectionInfo) -> Result<String, RenderError> {
    if info.username.contains(':') {
        return Err(RenderError::Unrepresentable {
            preset: Preset::GoSqlDriver,
            field: "username",
            problem: "a Go DSN cannot hold a ':' in the username",
        });
    }
    Ok(format!(
        "{}:{}@tcp({}:{})/{}?{GO_DSN_PARAMS}",
        info.username,
        info.password.expose(),
        info.host,
        info.port,
        encode(&info.database),
    ))
}
