//! Preset key layouts for the Secret, one per client family.

use std::fmt;
use std::str::FromStr;

use super::error::RenderError;
use super::info::{ConnectionInfo, Engine};
use super::{postgres, urls};

/// A named set of Secret keys for one kind of client. Written in kebab-case in manifests.
///
/// The presets named after a framework or a family of clients (`prisma`, `go-sql-driver`,
/// `jdbc`, `rails`, `laravel`, `env`) are engine-aware: the same name writes what that client
/// needs for the branch's engine, so a manifest keeps working when its database moves between
/// engines. The two named after a URL scheme (`mysql-url`, `postgresql-url`) serve only their
/// engine ([`Preset::serves`]). Below, each variant's document gives the MySQL form; the
/// PostgreSQL forms are in [`super::postgres`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Preset {
    /// `DATABASE_URL` = `mysql://…?require_ssl=true`.
    MysqlUrl,
    /// `DATABASE_URL` = `mysql://…?sslaccept=strict&ssl=true`.
    Prisma,
    /// `DSN` = `user:pass@tcp(host:port)/db?tls=true&interpolateParams=true`.
    GoSqlDriver,
    /// `JDBC_URL` (`jdbc:mysql://…?sslMode=VERIFY_IDENTITY`), `JDBC_USERNAME`, `JDBC_PASSWORD`.
    Jdbc,
    /// `DATABASE_URL` = `mysql2://…?ssl_mode=verify_identity&sslca=…`.
    Rails,
    /// `DB_CONNECTION`, `DB_HOST`, `DB_PORT`, `DB_DATABASE`, `DB_USERNAME`, `DB_PASSWORD`,
    /// `MYSQL_ATTR_SSL_CA`.
    Laravel,
    /// `HOST`, `PORT`, `USERNAME`, `PASSWORD`, `DATABASE`.
    Env,
    /// `DATABASE_URL` = `postgresql://…?sslmode=verify-full` (PostgreSQL only).
    PostgresqlUrl,
}

impl Preset {
    /// Every preset, in documentation order.
    pub const ALL: [Preset; 8] = [
        Preset::MysqlUrl,
        Preset::PostgresqlUrl,
        Preset::Prisma,
        Preset::GoSqlDriver,
        Preset::Jdbc,
        Preset::Rails,
        Preset::Laravel,
        Preset::Env,
    ];

    /// The kebab-case name used in manifests, e.g. `go-sql-driver`.
    pub fn as_str(self) -> &'static str {
        match self {
            Preset::MysqlUrl => "mysql-url",
            Preset::Prisma => "prisma",
            Preset::GoSqlDriver => "go-sql-driver",
            Preset::Jdbc => "jdbc",
            Preset::Rails => "rails",
            Preset::Laravel => "laravel",
            Preset::Env => "env",
            Preset::PostgresqlUrl => "postgresql-url",
        }
    }

    /// Whether the preset has a form for `engine`: all but `mysql-url` on PostgreSQL and
    /// `postgresql-url` on MySQL.
    pub fn serves(self, engine: Engine) -> bool {
        !matches!(
            (self, engine),
            (Preset::MysqlUrl, Engine::Postgres) | (Preset::PostgresqlUrl, Engine::Mysql)
        )
    }

    /// The keys this preset writes for `engine`, in the order of [`Preset::entries`] (empty
    /// when it does not serve the engine).
    pub fn keys_for(self, engine: Engine) -> &'static [&'static str] {
        match engine {
            Engine::Mysql => self.keys(),
            Engine::Postgres => postgres::keys(self),
        }
    }

    /// The keys this preset writes on MySQL, in the order of [`Preset::entries`].
    pub fn keys(self) -> &'static [&'static str] {
        match self {
            Preset::PostgresqlUrl => &[],
            Preset::MysqlUrl | Preset::Prisma | Preset::Rails => &["DATABASE_URL"],
            Preset::GoSqlDriver => &["DSN"],
            Preset::Jdbc => &["JDBC_URL", "JDBC_USERNAME", "JDBC_PASSWORD"],
            Preset::Laravel => &[
                "DB_CONNECTION",
                "DB_HOST",
                "DB_PORT",
                "DB_DATABASE",
                "DB_USERNAME",
                "DB_PASSWORD",
                "MYSQL_ATTR_SSL_CA",
            ],
            Preset::Env => &["HOST", "PORT", "USERNAME", "PASSWORD", "DATABASE"],
        }
    }

    /// The preset's Secret entries for `info`, keyed as in [`Preset::keys_for`] its engine;
    /// [`RenderError::PresetNotForEngine`] when it does not serve that engine.
    pub fn entries(
        self,
        info: &ConnectionInfo,
    ) -> Result<Vec<(&'static str, String)>, RenderError> {
        if !self.serves(info.engine) {
            return Err(RenderError::PresetNotForEngine {
                preset: self,
                engine: info.engine,
            });
        }
        let values = match info.engine {
            Engine::Mysql => self.mysql_values(info)?,
            Engine::Postgres => postgres::values(self, info),
        };
        let keys = self.keys_for(info.engine).iter().copied();
        Ok(keys.zip(values).collect())
    }

    fn mysql_values(self, info: &ConnectionInfo) -> Result<Vec<String>, RenderError> {
        let password = info.password.expose().to_owned();
        Ok(match self {
            Preset::PostgresqlUrl => vec![],
            Preset::MysqlUrl => vec![urls::mysql_url(info)],
            Preset::Prisma => vec![urls::prisma_url(info)],
            Preset::Rails => vec![urls::rails_url(info)],
            Preset::GoSqlDriver => vec![urls::go_dsn(info)?],
            Preset::Jdbc => vec![urls::jdbc_url(info), info.username.clone(), password],
            Preset::Laravel => vec![
                "mysql".to_owned(),
                info.host.clone(),
                info.port.to_string(),
                info.database.clone(),
                info.username.clone(),
                password,
                urls::DEFAULT_CA_PATH.to_owned(),
            ],
            Preset::Env => vec![
                info.host.clone(),
                info.port.to_string(),
                info.username.clone(),
                password,
                info.database.clone(),
            ],
        })
    }
}

impl fmt::Display for Preset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A preset name that is not one of [`Preset::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown preset {0:?}; expected one of mysql-url, postgresql-url, prisma, go-sql-driver, jdbc, rails, laravel, env"
)]
pub struct UnknownPreset(pub String);

impl FromStr for Preset {
    type Err = UnknownPreset;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Preset::ALL
            .into_iter()
            .find(|preset| preset.as_str() == name)
            .ok_or_else(|| UnknownPreset(name.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_from_str() {
        for preset in Preset::ALL {
            assert_eq!(preset.as_str().parse::<Preset>(), Ok(preset));
            assert_eq!(preset.to_string(), preset.as_str());
        }
    }

    #[test]
    fn unknown_names_are_refused_with_the_list() {
        let err = "MySQL-URL".parse::<Preset>().unwrap_err();
        assert_eq!(err, UnknownPreset("MySQL-URL".into()));
        assert!(err.to_string().contains("go-sql-driver"), "{err}");
        assert!("".parse::<Preset>().is_err());
    }
}
