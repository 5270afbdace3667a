//! The Secret a `PlanetScalePassword` writes (name, metadata, ownership, formats, templates)
//! and its rotation settings.
use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::k8s_name_rule;
use super::duration::{duration_bounds_rule, duration_format_rule};

/// Default `rotation.gracePeriod`.
pub const DEFAULT_GRACE_PERIOD: &str = "10m";

/// Who owns the Secret and what the operator may overwrite.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum CreationPolicy {
    /// The resource owns the Secret; it is deleted with the resource. An existing Secret that
    /// the resource does not own is never overwritten.
    #[default]
    Owner,
    /// The operator creates the Secret without an owner; it stays when the resource goes.
    Orphan,
    /// Write the credential keys into an existing Secret without taking it over.
    Merge,
}

/// Preset key layouts for the Secret. All of them require TLS, as PlanetScale does. Each
/// is described in its MySQL form; on a PostgreSQL branch `prisma`, `go-sql-driver`, `jdbc`,
/// `rails`, `laravel` and `env` write that engine's form (docs/connection-strings.md), and
/// `mysql-url` is refused.
#[derive(
    Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum SecretFormat {
    /// `DATABASE_URL` as a `mysql://` URL.
    MysqlUrl,
    /// `DATABASE_URL` for Prisma (`mysql://…?sslaccept=strict&ssl=true`).
    Prisma,
    /// `DSN` for Go's go-sql-driver/mysql (`user:pass@tcp(host:3306)/db?tls=true`).
    GoSqlDriver,
    /// `JDBC_URL`, `JDBC_USERNAME` and `JDBC_PASSWORD` for Java.
    Jdbc,
    /// `DATABASE_URL` in the `mysql2://` form Rails expects.
    Rails,
    /// Laravel's `DB_CONNECTION`, `DB_HOST`, `DB_PORT`, `DB_DATABASE`, `DB_USERNAME`,
    /// `DB_PASSWORD` and `MYSQL_ATTR_SSL_CA`.
    Laravel,
    /// `HOST`, `PORT`, `USERNAME`, `PASSWORD` and `DATABASE`.
    Env,
    /// `DATABASE_URL` as a `postgresql://…?sslmode=verify-full` URL (PostgreSQL branches only).
    PostgresqlUrl,
}

/// One templated value of the Secret.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(transparent)]
pub struct TemplateValue(
    /// A minijinja template over `host`, `port`, `username`, `password`, `database`,
    /// `branch`, `organization`, `region` and `role`, at most 8192 characters.
    #[schemars(length(max = 8192))]
    pub String,
);

/// A label value (at most 63 characters).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(transparent)]
pub struct LabelValue(
    /// The value: at most 63 letters, digits, '-', '_' or '.', starting and ending with a
    /// letter or digit.
    #[schemars(
        length(max = 63),
        regex(pattern = r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
    )]
    pub String,
);

/// An annotation value (at most 4096 characters).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(transparent)]
pub struct AnnotationValue(
    /// The value, at most 4096 characters.
    #[schemars(length(max = 4096))]
    pub String,
);

/// Extra entries of the Secret rendered from templates.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, kube::KubeSchema)]
pub struct SecretTemplate {
    /// Secret keys (letters, digits, '-', '_' and '.') mapped to templates, e.g.
    /// `config.yaml: "host: {{ host }}"`. At most 32 entries; a key here overrides a preset's.
    #[serde(default)]
    #[schemars(extend("maxProperties" = 32))]
    #[x_kube(validation = Rule::new(SECRET_KEYS_RULE).message(Message::Message(
        "template.data keys must be valid Secret keys: at most 253 letters, digits, '-', '_' or '.'".into()
    )))]
    pub data: BTreeMap<String, TemplateValue>,
}

const SECRET_KEYS_RULE: &str = "self.all(k, size(k) <= 253 && k.matches('^[-._a-zA-Z0-9]+$'))";

/// The Secret the credentials are written to.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, kube::KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct PasswordSecret {
    /// Name of the Secret (in this namespace). Default: the resource's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 253))]
    #[x_kube(validation = k8s_name_rule("secret.name"))]
    pub name: Option<String>,

    /// Labels to put on the Secret (at most 32).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("maxProperties" = 32))]
    #[x_kube(validation = Rule::new(METADATA_KEYS_RULE).message(Message::Message(
        "secret.labels keys must be Kubernetes label keys: an optional DNS subdomain prefix (at most 253 characters) and '/', then a name of 1 to 63 letters, digits, '-', '_' or '.' that starts and ends with a letter or digit".into()
    )))]
    pub labels: BTreeMap<String, LabelValue>,

    /// Annotations to put on the Secret (at most 32).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("maxProperties" = 32))]
    #[x_kube(validation = Rule::new(METADATA_KEYS_RULE).message(Message::Message(
        "secret.annotations keys must be Kubernetes label keys: an optional DNS subdomain prefix (at most 253 characters) and '/', then a name of 1 to 63 letters, digits, '-', '_' or '.' that starts and ends with a letter or digit".into()
    )))]
    pub annotations: BTreeMap<String, AnnotationValue>,

    /// `Owner` (default): the Secret belongs to this resource and is deleted with it;
    /// `Orphan`: it stays when the resource is deleted; `Merge`: write the credential keys into
    /// an existing Secret without taking it over. A Secret the resource does not own is never
    /// overwritten unless the policy is `Merge`.
    #[serde(default)]
    pub creation_policy: CreationPolicy,

    /// Preset key layouts to add: `mysql-url`, `postgresql-url`, `prisma`, `go-sql-driver`,
    /// `jdbc`, `rails`, `laravel`, `env` (in the form of the branch's engine). The default keys
    /// `host`, `port`, `username`, `password`, `database` and `DATABASE_URL` are always written.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 8))]
    #[schemars(extend("x-kubernetes-list-type" = "set"))]
    pub formats: Vec<SecretFormat>,

    /// Extra keys rendered from templates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<SecretTemplate>,
}

/// A qualified name as the API server checks label and annotation keys: an optional DNS
/// subdomain prefix of at most 253 characters and '/', then a name of at most 63 characters.
/// A key the API server would refuse is refused here, before any password is minted for a
/// Secret that could never be written.
const METADATA_KEYS_RULE: &str = concat!(
    "self.all(k, size(k) <= 317 && ",
    r"k.matches('^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$') && ",
    r"(!k.contains('/') || k.matches('^[^/]{1,253}/')))"
);

/// Scheduled rotation of the password.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, kube::KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new(INTERVAL_OVER_GRACE).message(Message::Message(
    "rotation.interval must be longer than rotation.gracePeriod, or more than two passwords would be live".into()
)))]
pub struct PasswordRotation {
    /// Rotate every interval, e.g. `720h` (1 minute to 8760 hours). Unset: only on request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 32))]
    #[x_kube(
        validation = duration_format_rule("rotation.interval"),
        validation = duration_bounds_rule("rotation.interval", "1m", "8760h")
    )]
    pub interval: Option<String>,

    /// How long a replaced password keeps working after the Secret switched to the new one,
    /// so running clients can reconnect (0s to 168h). Default `10m`.
    #[serde(default = "default_grace_period")]
    #[schemars(length(max = 32))]
    #[x_kube(
        validation = duration_format_rule("rotation.gracePeriod"),
        validation = duration_bounds_rule("rotation.gracePeriod", "0s", "168h")
    )]
    pub grace_period: String,
}

const INTERVAL_OVER_GRACE: &str = concat!(
    "!has(self.interval) || !self.interval.matches('",
    "^([0-9]+([.][0-9]+)?(ns|us|µs|ms|s|m|h))+$",
    "') || !self.gracePeriod.matches('",
    "^([0-9]+([.][0-9]+)?(ns|us|µs|ms|s|m|h))+$",
    "') || duration(self.interval) > duration(self.gracePeriod)"
);

fn default_grace_period() -> String {
    DEFAULT_GRACE_PERIOD.to_string()
}

impl Default for PasswordRotation {
    fn default() -> Self {
        Self {
            interval: None,
            grace_period: default_grace_period(),
        }
    }
}

impl PasswordSecret {
    /// The Secret's name: `secret.name`, else the resource's name.
    pub fn effective_name<'a>(&'a self, resource_name: &'a str) -> &'a str {
        self.name.as_deref().unwrap_or(resource_name)
    }
}

#[cfg(test)]
mod tests {
    use super::super::duration::DURATION_PATTERN;
    use super::*;

    #[test]
    fn interval_rule_uses_the_duration_pattern() {
        assert!(INTERVAL_OVER_GRACE.contains(DURATION_PATTERN));
    }

    #[test]
    fn format_names_are_kebab_case() {
        let all = [
            (SecretFormat::MysqlUrl, "mysql-url"),
            (SecretFormat::Prisma, "prisma"),
            (SecretFormat::GoSqlDriver, "go-sql-driver"),
            (SecretFormat::Jdbc, "jdbc"),
            (SecretFormat::Rails, "rails"),
            (SecretFormat::Laravel, "laravel"),
            (SecretFormat::Env, "env"),
            (SecretFormat::PostgresqlUrl, "postgresql-url"),
        ];
        for (format, name) in all {
            assert_eq!(serde_json::to_value(format).unwrap(), name);
        }
    }

    #[test]
    fn defaults_match_the_documented_ones() {
        let secret: PasswordSecret = serde_json::from_str("{}").unwrap();
        assert_eq!(secret.creation_policy, CreationPolicy::Owner);
        assert_eq!(secret.effective_name("app"), "app");
        let rotation: PasswordRotation = serde_json::from_str("{}").unwrap();
        assert_eq!(rotation.grace_period, "10m");
        assert_eq!(rotation.interval, None);
    }
}
