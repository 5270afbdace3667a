//! What a connection string is made of.

use super::error::RenderError;
use planetscale_api::Secret;

/// The MySQL port PlanetScale listens on.
pub const DEFAULT_PORT: u16 = 3306;

/// The Postgres port PlanetScale listens on (direct connections; PgBouncer is 6432).
pub const POSTGRES_PORT: u16 = 5432;

/// The database engine a connection speaks: it decides the URL scheme, the TLS parameters and
/// the keys of the presets that depend on it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Engine {
    /// Vitess (MySQL protocol): a password.
    #[default]
    Mysql,
    /// PostgreSQL: a role.
    Postgres,
}

impl Engine {
    /// PlanetScale's name for it (a database's `kind`): `mysql` or `postgresql`.
    pub fn as_str(self) -> &'static str {
        match self {
            Engine::Mysql => "mysql",
            Engine::Postgres => "postgresql",
        }
    }

    /// The engine of a database `kind` as PlanetScale spells it; anything but `postgresql`
    /// (including no kind at all, as older responses have) is Vitess.
    pub fn from_kind(kind: Option<&str>) -> Self {
        match kind {
            Some("postgresql") => Engine::Postgres,
            _ => Engine::Mysql,
        }
    }

    /// The port PlanetScale serves the engine on.
    pub fn port(self) -> u16 {
        match self {
            Engine::Mysql => DEFAULT_PORT,
            Engine::Postgres => POSTGRES_PORT,
        }
    }

    /// How people name it: `Vitess (MySQL)` or `PostgreSQL`.
    pub fn title(self) -> &'static str {
        match self {
            Engine::Mysql => "Vitess (MySQL)",
            Engine::Postgres => "PostgreSQL",
        }
    }
}

impl std::fmt::Display for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.title())
    }
}

/// Everything needed to connect to one PlanetScale branch with one password, plus the context
/// templates may use. Build it with struct update syntax over [`Default`] (port 3306):
///
/// ```
/// use planetscale_api::Secret;
/// use planetscale_operator::connection::ConnectionInfo;
/// let info = ConnectionInfo {
///     host: "aws.connect.psdb.cloud".into(),
///     username: "k8s_user".into(),
///     password: Secret::new("pscale_pw_EXAMPLE"),
///     database: "shop".into(),
///     ..ConnectionInfo::default()
/// };
/// assert_eq!(info.port, 3306);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectionInfo {
    /// The access host, e.g. `aws.connect.psdb.cloud`.
    pub host: String,
    /// The MySQL port (3306).
    pub port: u16,
    /// The password's username.
    pub username: String,
    /// The password's plaintext.
    pub password: Secret,
    /// The database name.
    pub database: String,
    /// The branch the password belongs to (templates only).
    pub branch: String,
    /// The organization (templates only).
    pub organization: String,
    /// The region slug, e.g. `us-east` (templates only; may be empty).
    pub region: String,
    /// The password's role, e.g. `reader` (templates only).
    pub role: String,
    /// The engine: MySQL (default) or PostgreSQL.
    pub engine: Engine,
}

impl Default for ConnectionInfo {
    fn default() -> Self {
        Self {
            host: String::new(),
            port: DEFAULT_PORT,
            username: String::new(),
            password: Secret::default(),
            database: String::new(),
            branch: String::new(),
            organization: String::new(),
            region: String::new(),
            role: String::new(),
            engine: Engine::Mysql,
        }
    }
}

impl ConnectionInfo {
    /// Checks what every connection string relies on: a host that is a plain DNS name or IPv4
    /// address (so it needs no escaping anywhere), a port, a username and a password.
    pub fn validate(&self) -> Result<(), RenderError> {
        let invalid = |field, problem| RenderError::InvalidConnectionInfo { field, problem };
        if self.host.is_empty() {
            return Err(invalid("host", "is empty"));
        }
        let host_ok = self.host.len() <= 253
            && self
                .host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
        if !host_ok {
            return Err(invalid(
                "host",
                "must be a DNS name or IPv4 address (letters, digits, '.', '-', '_')",
            ));
        }
        if self.port == 0 {
            return Err(invalid("port", "is 0"));
        }
        if self.username.is_empty() {
            return Err(invalid("username", "is empty"));
        }
        if self.password.is_empty() {
            return Err(invalid("password", "is empty"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info() -> ConnectionInfo {
        ConnectionInfo {
            host: "aws.connect.psdb.cloud".into(),
            username: "user".into(),
            password: "pscale_pw_EXAMPLE".into(),
            ..ConnectionInfo::default()
        }
    }

    #[test]
    fn a_planetscale_host_is_valid() {
        assert_eq!(info().validate(), Ok(()));
        let local = ConnectionInfo {
            host: "127.0.0.1".into(),
            ..info()
        };
        assert_eq!(local.validate(), Ok(()));
    }

    #[test]
    fn hosts_that_would_need_escaping_are_refused() {
        for host in [
            "",
            "evil.com/x",
            "user@host",
            "host:3306",
            "ho st",
            "[::1]",
            "hôst",
        ] {
            let err = ConnectionInfo {
                host: host.into(),
                ..info()
            }
            .validate()
            .unwrap_err();
            assert_eq!(err.reason(), "InvalidConnectionInfo", "{host:?}");
        }
    }

    #[test]
    fn empty_credentials_and_port_zero_are_refused() {
        let no_user = ConnectionInfo {
            username: String::new(),
            ..info()
        };
        let no_password = ConnectionInfo {
            password: Secret::default(),
            ..info()
        };
        let no_port = ConnectionInfo { port: 0, ..info() };
        for (bad, field) in [
            (no_user, "username"),
            (no_password, "password"),
            (no_port, "port"),
        ] {
            match bad.validate() {
                Err(RenderError::InvalidConnectionInfo { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{field}: {other:?}"),
            }
        }
    }

    #[test]
    fn debug_output_hides_the_password() {
        let shown = format!("{:?}", info());
        assert!(!shown.contains("pscale_pw_EXAMPLE"), "{shown}");
        assert!(shown.contains("[REDACTED]"));
    }
}
