//! Command line: every flag has a matching environment variable.
use std::net::SocketAddr;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::telemetry::LogFormat;

/// Kubernetes operator for PlanetScale branches, passwords and deploy requests.
#[derive(Parser, Debug)]
#[command(name = "planetscale-operator", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the controllers (the default).
    Run,
    /// Print every CRD as YAML.
    Crdgen,
    /// Print the version.
    Version,
}

/// Flags of `run`.
#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// Namespaces to watch, comma-separated; empty watches all namespaces.
    #[arg(long, env = "PSO_WATCH_NAMESPACES", value_delimiter = ',', default_value = "")]
    pub namespaces: Vec<String>,

    /// Namespace the operator runs in (holds the default credentials and the leader lease).
    #[arg(long, env = "PSO_OPERATOR_NAMESPACE", default_value = "planetscale-system")]
    pub operator_namespace: String,

    /// Secret (in the operator's namespace) with the default PlanetScale credentials, used by
    /// resources without `spec.credentialsRef`.
    #[arg(long, env = "PSO_DEFAULT_CREDENTIALS_SECRET", default_value = "planetscale-credentials")]
    pub default_credentials_secret: String,

    /// Switch the default credentials off: every resource must name its own credentials.
    #[arg(long, env = "PSO_NO_DEFAULT_CREDENTIALS")]
    pub no_default_credentials: bool,

    /// Namespaces allowed to use the default credentials, comma-separated; empty allows all.
    #[arg(long, env = "PSO_DEFAULT_CREDENTIALS_NAMESPACES", value_delimiter = ',', default_value = "")]
    pub default_credentials_namespaces: Vec<String>,

    /// PlanetScale API base URL.
    #[arg(long, env = "PSO_API_URL", default_value = "https://api.planetscale.com/v1")]
    pub api_url: String,

    /// OAuth token endpoint used to refresh OAuth application tokens.
    #[arg(long, env = "PSO_OAUTH_TOKEN_URL", default_value = "https://auth.planetscale.com/oauth/token")]
    pub oauth_token_url: String,

    /// PlanetScale API requests per minute per credential (client-side budget).
    #[arg(long, env = "PSO_API_RATE_LIMIT", default_value_t = 600)]
    pub api_rate_limit: u32,

    /// Reconciles running at once per controller.
    #[arg(long, env = "PSO_CONCURRENCY", default_value_t = 8)]
    pub concurrency: u16,

    /// How often Ready resources are compared with PlanetScale (drift correction).
    #[arg(long, env = "PSO_RESYNC_INTERVAL", default_value = "10m", value_parser = parse_duration)]
    pub resync_interval: Duration,

    /// Address of the /metrics endpoint.
    #[arg(long, env = "PSO_METRICS_ADDR", default_value = "0.0.0.0:8080")]
    pub metrics_addr: SocketAddr,

    /// Address of the /healthz and /readyz endpoints.
    #[arg(long, env = "PSO_HEALTH_ADDR", default_value = "0.0.0.0:8081")]
    pub health_addr: SocketAddr,

    /// Log format.
    #[arg(long, env = "PSO_LOG_FORMAT", value_enum, default_value = "json")]
    pub log_format: LogFormat,

    /// Log level or filter directive (RUST_LOG overrides it).
    #[arg(long, env = "PSO_LOG_LEVEL", default_value = "info")]
    pub log_level: String,

    /// Elect a leader through a Lease so that only one replica reconciles.
    #[arg(long, env = "PSO_LEADER_ELECT", default_value_t = false, action = clap::ArgAction::Set)]
    pub leader_elect: bool,

    /// Name of the leader-election Lease.
    #[arg(long, env = "PSO_LEASE_NAME", default_value = "planetscale-operator")]
    pub lease_name: String,

    /// How long a lease is valid without renewal.
    #[arg(long, env = "PSO_LEASE_DURATION", default_value = "15s", value_parser = parse_duration)]
    pub lease_duration: Duration,

    /// How long before shutdown gives up on in-flight reconciles.
    #[arg(long, env = "PSO_SHUTDOWN_TIMEOUT", default_value = "25s", value_parser = parse_duration)]
    pub shutdown_timeout: Duration,
}

impl RunArgs {
    /// The namespaces to watch, or `None` for all.
    pub fn watched_namespaces(&self) -> Option<Vec<String>> {
        let ns: Vec<String> = self.namespaces.iter().filter(|n| !n.is_empty()).cloned().collect();
        (!ns.is_empty()).then_some(ns)
    }
}

/// Parses durations such as `30s`, `10m`, `1h30m`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("{s:?} is not a duration such as 30s, 10m or 1h: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_watch_all_namespaces_with_default_credentials() {
        let cli = Cli::try_parse_from(["planetscale-operator"]).unwrap();
        assert!(cli.command.is_none());
        assert_eq!(cli.run.watched_namespaces(), None);
        assert!(!cli.run.no_default_credentials);
        assert_eq!(cli.run.resync_interval, Duration::from_secs(600));
        assert_eq!(cli.run.api_rate_limit, 600);
    }

    #[test]
    fn namespaces_are_comma_separated() {
        let cli = Cli::try_parse_from(["planetscale-operator", "--namespaces", "a,b"]).unwrap();
        assert_eq!(cli.run.watched_namespaces(), Some(vec!["a".into(), "b".into()]));
    }

    #[test]
    fn a_bad_duration_is_refused_with_an_example() {
        let err = Cli::try_parse_from(["planetscale-operator", "--resync-interval", "soon"]).unwrap_err();
        assert!(err.to_string().contains("10m"), "{err}");
    }
}
