//! Connection strings and Secret templating for `PlanetScalePassword` (pure: no Kubernetes or
//! PlanetScale calls). See docs/connection-strings.md for every key and the TLS choices.
//!
//! [`render`] turns a [`ConnectionInfo`] into the Secret's data:
//! 1. the default entries, always: `host`, `port`, `username`, `password`, `database` and
//!    `DATABASE_URL` (`mysql://…?require_ssl=true`, or on PostgreSQL
//!    `postgresql://…?sslmode=verify-full`);
//! 2. each selected [`Preset`]'s keys, in the form of the connection's [`Engine`] (the
//!    framework presets are engine-aware, see [`Preset::serves`]). A preset's `DATABASE_URL` (`prisma`, `rails`,
//!    `mysql-url`) replaces the default one; two selected presets that write the same key are a
//!    [`RenderError::PresetConflict`];
//! 3. the user's template entries, which override preset keys but never the five credential
//!    keys the controller reads back ([`RESERVED_KEYS`]).

mod data;
mod error;
mod info;
mod postgres;
#[cfg(test)]
mod postgres_tests;
mod preset;
mod template;
mod urls;

#[cfg(test)]
mod preset_tests;
#[cfg(test)]
mod render_tests;
#[cfg(test)]
mod template_tests;

use planetscale_api::Secret;
use std::collections::BTreeMap;

pub use data::{
    CREDENTIALS_HASH_LEN, DATABASE_KEY, DATABASE_URL_KEY, HOST_KEY, PASSWORD_KEY, PORT_KEY,
    RESERVED_KEYS, SecretData, USERNAME_KEY, credentials_hash, parse_back, to_secret_data,
};
pub use error::RenderError;
pub use info::{ConnectionInfo, DEFAULT_PORT, Engine, POSTGRES_PORT};
pub use postgres::{PG_JDBC_TLS, PG_TLS, pg_jdbc_url, pg_keyword_dsn, postgres_url};
pub use preset::{Preset, UnknownPreset};
pub use template::{FILTERS, MAX_FILTER_INPUT, MAX_RENDERED_LEN, MAX_TEMPLATE_LEN, VARIABLES};
pub use urls::{
    DEFAULT_CA_PATH, GO_DSN_PARAMS, JDBC_TLS, MYSQL_URL_TLS, PRISMA_TLS, go_dsn, jdbc_url,
    mysql_url, prisma_url, rails_url,
};

/// Largest total of keys and values [`render`] produces: half of the 1 MiB Secret limit, the
/// rest left for entries a `Merge` Secret already has.
pub const MAX_DATA_BYTES: usize = 512 * 1024;

/// Renders the Secret's data: the default entries, the presets' keys, then the template's.
///
/// `template` maps Secret keys to minijinja templates over [`VARIABLES`]; see the module docs
/// for precedence and [`RenderError`] for what can go wrong.
pub fn render(
    info: &ConnectionInfo,
    presets: &[Preset],
    template: Option<&BTreeMap<String, String>>,
) -> Result<SecretData, RenderError> {
    info.validate()?;
    let mut data = default_entries(info);
    add_presets(&mut data, info, presets)?;
    if let Some(template) = template {
        add_template(&mut data, info, template)?;
    }
    let size: usize = data.iter().map(|(k, v)| k.len() + v.len()).sum();
    if size > MAX_DATA_BYTES {
        return Err(RenderError::TooLarge {
            size,
            limit: MAX_DATA_BYTES,
        });
    }
    Ok(data)
}

fn default_entries(info: &ConnectionInfo) -> SecretData {
    [
        (HOST_KEY, info.host.clone()),
        (PORT_KEY, info.port.to_string()),
        (USERNAME_KEY, info.username.clone()),
        (PASSWORD_KEY, info.password.expose().to_owned()),
        (DATABASE_KEY, info.database.clone()),
        (DATABASE_URL_KEY, database_url(info)),
    ]
    .into_iter()
    .map(|(key, value)| (key.to_owned(), Secret::from(value)))
    .collect()
}

/// The default `DATABASE_URL` of the engine: `mysql://…?require_ssl=true` or
/// `postgresql://…?sslmode=verify-full`.
fn database_url(info: &ConnectionInfo) -> String {
    match info.engine {
        Engine::Mysql => mysql_url(info),
        Engine::Postgres => postgres_url(info),
    }
}

fn add_presets(
    data: &mut SecretData,
    info: &ConnectionInfo,
    presets: &[Preset],
) -> Result<(), RenderError> {
    let mut owners: BTreeMap<&'static str, Preset> = BTreeMap::new();
    for &preset in presets {
        for (key, value) in preset.entries(info)? {
            match owners.insert(key, preset) {
                Some(first) if first != preset => {
                    return Err(RenderError::PresetConflict {
                        key: key.to_owned(),
                        first,
                        second: preset,
                    });
                }
                _ => {}
            }
            data.insert(key.to_owned(), Secret::from(value));
        }
    }
    Ok(())
}

fn add_template(
    data: &mut SecretData,
    info: &ConnectionInfo,
    template: &BTreeMap<String, String>,
) -> Result<(), RenderError> {
    for (key, source) in template {
        if !is_valid_key(key) {
            return Err(RenderError::InvalidKey { key: key.clone() });
        }
        if RESERVED_KEYS.contains(&key.as_str()) {
            return Err(RenderError::ReservedKey { key: key.clone() });
        }
        let rendered =
            template::render_template(source, info).map_err(|reason| RenderError::Template {
                key: key.clone(),
                reason,
            })?;
        data.insert(key.clone(), Secret::from(rendered));
    }
    Ok(())
}

/// A Kubernetes Secret key: 1–253 of letters, digits, `-`, `_` and `.`, not `.` or `..` and
/// not starting with `..`.
fn is_valid_key(key: &str) -> bool {
    (1..=253).contains(&key.len())
        && key != "."
        && !key.starts_with("..")
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::ConnectionInfo;
    use planetscale_api::Secret;

    /// Every character that needs care somewhere, plus non-ASCII text.
    pub const NASTY_PASSWORD: &str = "p@s:s/w?o#r[d]%25&+= \"'\\<>{}|^`;,$!*()~-._é✓🔑";

    /// A realistic info with the given password.
    pub fn info(password: &str) -> ConnectionInfo {
        ConnectionInfo {
            host: "aws.connect.psdb.cloud".into(),
            port: 3306,
            username: "k8s_user01".into(),
            password: Secret::new(password),
            database: "shop".into(),
            branch: "main".into(),
            organization: "acme".into(),
            region: "us-east".into(),
            role: "readwriter".into(),
            engine: super::Engine::Mysql,
        }
    }
}
