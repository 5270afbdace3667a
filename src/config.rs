//! Command line: every flag has a matching environment variable.
use std::net::SocketAddr;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::leader::{LeaderConfig, default_identity};
use crate::telemetry::LogFormat;

/// Kubernetes operator for PlanetScale branches, passwords and deploy requests.
#[derive(Parser, Debug)]
#[command(
    name = "planetscale-operator",
    version,
    about,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Subcommand, Debug)]
#[allow(clippy::large_enum_variant)] // parsed once at start-up
pub enum Command {
    /// Run the controllers (the default; the flags work with or without `run`).
    Run(RunArgs),
    /// Print every CRD as YAML.
    Crdgen,
    /// Print the version.
    Version,
    /// OAuth application helpers (`oauth login`).
    #[command(subcommand)]
    Oauth(crate::oauth_login::OAuthCommand),
}

/// Flags of `run`.
#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// Namespaces to watch, comma-separated; empty watches all namespaces.
    #[arg(
        long,
        env = "PSO_WATCH_NAMESPACES",
        value_delimiter = ',',
        default_value = ""
    )]
    pub namespaces: Vec<String>,

    /// Namespace the operator runs in (holds the default credentials and the leader lease).
    #[arg(
        long,
        env = "PSO_OPERATOR_NAMESPACE",
        default_value = "planetscale-system"
    )]
    pub operator_namespace: String,

    /// Secret (in the operator's namespace) with the default PlanetScale credentials, used by
    /// resources without `spec.credentialsRef`.
    #[arg(
        long,
        env = "PSO_DEFAULT_CREDENTIALS_SECRET",
        default_value = "planetscale-credentials"
    )]
    pub default_credentials_secret: String,

    /// Switch the default credentials off: every resource must name its own credentials.
    #[arg(long, env = "PSO_NO_DEFAULT_CREDENTIALS")]
    pub no_default_credentials: bool,

    /// Namespaces allowed to use the default credentials, comma-separated; empty allows all.
    #[arg(
        long,
        env = "PSO_DEFAULT_CREDENTIALS_NAMESPACES",
        value_delimiter = ',',
        default_value = ""
    )]
    pub default_credentials_namespaces: Vec<String>,

    /// PlanetScale API base URL.
    #[arg(
        long,
        env = "PSO_API_URL",
        default_value = "https://api.planetscale.com/v1"
    )]
    pub api_url: String,

    /// OAuth token endpoint used to refresh OAuth application tokens.
    #[arg(
        long,
        env = "PSO_OAUTH_TOKEN_URL",
        default_value = "https://auth.planetscale.com/oauth/token"
    )]
    pub oauth_token_url: String,

    /// PlanetScale API requests per minute per credential (client-side budget).
    #[arg(long, env = "PSO_API_RATE_LIMIT", default_value_t = 600)]
    pub api_rate_limit: u32,

    /// Reconciles running at once per controller.
    #[arg(long, env = "PSO_CONCURRENCY", default_value_t = 8)]
    pub concurrency: u16,

    /// How often Ready resources are compared with PlanetScale (drift correction).
    #[arg(long, env = "PSO_RESYNC_INTERVAL", default_value = "10m", value_parser = duration_arg)]
    pub resync_interval: Duration,

    /// How often a resource stuck on an error only a person can fix (a missing organization,
    /// database or branch, a token without an access) is retried. A fix in Kubernetes (the
    /// spec, the credentials Secret) is picked up at once; a fix made only in PlanetScale is
    /// noticed within this time.
    #[arg(long, env = "PSO_SLOW_RETRY", default_value = "5m", value_parser = duration_arg)]
    pub slow_retry: Duration,

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

    /// Namespace of the leader-election Lease (default: the operator's namespace).
    #[arg(long, env = "PSO_LEASE_NAMESPACE")]
    pub lease_namespace: Option<String>,

    /// How long a lease is valid without renewal: a standby takes over this long after the
    /// leader's last renewal.
    #[arg(long, env = "PSO_LEASE_DURATION", default_value = "15s", value_parser = duration_arg)]
    pub lease_duration: Duration,

    /// How long the leader keeps reconciling without a successful renewal (< lease duration).
    #[arg(long, env = "PSO_LEASE_RENEW_DEADLINE", default_value = "10s", value_parser = duration_arg)]
    pub lease_renew_deadline: Duration,

    /// How often replicas read, and the leader renews, the Lease (< renew deadline).
    #[arg(long, env = "PSO_LEASE_RETRY_PERIOD", default_value = "2s", value_parser = duration_arg)]
    pub lease_retry_period: Duration,

    /// This replica's identity in the Lease (default: `<pod name>_<random>`).
    #[arg(long, env = "PSO_LEADER_IDENTITY")]
    pub leader_identity: Option<String>,

    /// How long before shutdown gives up on in-flight reconciles.
    #[arg(long, env = "PSO_SHUTDOWN_TIMEOUT", default_value = "25s", value_parser = duration_arg)]
    pub shutdown_timeout: Duration,

    #[command(flatten)]
    pub webhooks: WebhookArgs,
}

/// PlanetScale webhooks (see docs/webhooks.md): events instead of polling.
#[derive(Args, Debug, Clone)]
pub struct WebhookArgs {
    /// Address of the webhook receiver (`POST /webhooks/planetscale`); unset: no receiver.
    #[arg(long, env = "PSO_WEBHOOK_ADDR")]
    pub webhook_addr: Option<SocketAddr>,

    /// The receiver's URL as PlanetScale reaches it (`https://…/webhooks/planetscale`). With
    /// it (and `--webhook-addr`) the operator registers a webhook for each database it serves.
    #[arg(long, env = "PSO_WEBHOOK_PUBLIC_URL")]
    pub webhook_public_url: Option<String>,

    /// Secret in the operator's namespace that keeps the webhooks' signing secrets.
    #[arg(
        long,
        env = "PSO_WEBHOOK_SECRET",
        default_value = "planetscale-operator-webhooks"
    )]
    pub webhook_secret: String,

    /// A database whose last delivery (a test included) is older than this is polled again.
    #[arg(long, env = "PSO_WEBHOOK_HEALTHY_WINDOW", default_value = "11m", value_parser = duration_arg)]
    pub webhook_healthy_window: Duration,

    /// How often each database's webhook is sent a test delivery (PlanetScale: at most every 20s).
    #[arg(long, env = "PSO_WEBHOOK_TEST_INTERVAL", default_value = "5m", value_parser = duration_arg)]
    pub webhook_test_interval: Duration,

    /// Age after which a webhook is replaced by one with a new secret.
    #[arg(long, env = "PSO_WEBHOOK_ROTATE_AFTER", default_value = "720h", value_parser = duration_arg)]
    pub webhook_rotate_after: Duration,

    /// How often the webhook manager looks at the databases in use.
    #[arg(long, env = "PSO_WEBHOOK_SYNC_INTERVAL", default_value = "30s", value_parser = duration_arg)]
    pub webhook_sync_interval: Duration,
}

impl Cli {
    /// The subcommand, `run` with the top-level flags when none was given.
    pub fn command(self) -> Command {
        self.command.unwrap_or(Command::Run(self.run))
    }
}

impl RunArgs {
    /// The leader-election settings.
    pub fn leader_config(&self) -> LeaderConfig {
        LeaderConfig {
            namespace: self
                .lease_namespace
                .clone()
                .unwrap_or_else(|| self.operator_namespace.clone()),
            lease_name: self.lease_name.clone(),
            identity: self
                .leader_identity
                .clone()
                .unwrap_or_else(default_identity),
            lease_duration: self.lease_duration,
            renew_deadline: self.lease_renew_deadline,
            retry_period: self.lease_retry_period,
        }
    }

    /// The namespaces to watch, or `None` for all.
    pub fn watched_namespaces(&self) -> Option<Vec<String>> {
        let ns: Vec<String> = self
            .namespaces
            .iter()
            .filter(|n| !n.is_empty())
            .cloned()
            .collect();
        (!ns.is_empty()).then_some(ns)
    }
}

/// A duration flag or variable, in the same Go-style form as the durations in resource specs
/// (`30s`, `10m`, `1h30m`): one format, one parser ([`crate::crd::parse_duration`]).
pub fn duration_arg(s: &str) -> Result<Duration, String> {
    crate::crd::parse_duration(s)
        .map_err(|e| format!("{s:?} is not a duration such as 30s, 10m or 1h30m: {e}"))
}

/// The environment read outside the flags, in one place: what the Pod tells about itself and
/// what the login must not take as a flag.
pub mod env {
    /// The Pod's name (`POD_NAME`, set by the chart from the downward API), for the events'
    /// reporting instance.
    pub fn pod_name() -> Option<String> {
        std::env::var("POD_NAME").ok().filter(|n| !n.is_empty())
    }

    /// This host's name: `POD_NAME`, else `HOSTNAME`, else `/etc/hostname`.
    pub fn host_name() -> Option<String> {
        pod_name()
            .or_else(|| std::env::var("HOSTNAME").ok())
            .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
            .map(|h| h.trim().to_owned())
            .filter(|h| !h.is_empty())
    }

    /// A variable holding a secret (e.g. the OAuth client secret, which has no flag so that it
    /// stays out of the shell history).
    pub fn secret_var(name: &str) -> Option<String> {
        std::env::var(name).ok()
    }

    /// Whether a graphical session is there to open a browser in (`DISPLAY` or
    /// `WAYLAND_DISPLAY`).
    pub fn graphical_session() -> bool {
        ["DISPLAY", "WAYLAND_DISPLAY"]
            .iter()
            .any(|v| std::env::var_os(v).is_some_and(|s| !s.is_empty()))
    }
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
        assert_eq!(cli.run.slow_retry, Duration::from_secs(300));
        assert_eq!(cli.run.api_rate_limit, 600);
    }

    #[test]
    fn namespaces_are_comma_separated() {
        let cli = Cli::try_parse_from(["planetscale-operator", "--namespaces", "a,b"]).unwrap();
        assert_eq!(
            cli.run.watched_namespaces(),
            Some(vec!["a".into(), "b".into()])
        );
    }

    #[test]
    fn flags_work_after_run_and_without_it() {
        let with =
            Cli::try_parse_from(["planetscale-operator", "run", "--leader-elect", "true"]).unwrap();
        let without =
            Cli::try_parse_from(["planetscale-operator", "--leader-elect", "true"]).unwrap();
        for cli in [with, without] {
            let Command::Run(args) = cli.command() else {
                panic!("not run")
            };
            assert!(args.leader_elect);
        }
    }

    #[test]
    fn leader_election_defaults_to_the_operator_namespace_and_valid_durations() {
        let cli =
            Cli::try_parse_from(["planetscale-operator", "--operator-namespace", "ops"]).unwrap();
        assert!(!cli.run.leader_elect);
        let lc = cli.run.leader_config();
        assert_eq!(
            (lc.namespace.as_str(), lc.lease_name.as_str()),
            ("ops", "planetscale-operator")
        );
        assert!(lc.validate().is_ok(), "{lc:?}");
        let cli = Cli::try_parse_from([
            "planetscale-operator",
            "--leader-elect",
            "true",
            "--lease-namespace",
            "leases",
            "--leader-identity",
            "pod-1",
        ])
        .unwrap();
        let lc = cli.run.leader_config();
        assert!(cli.run.leader_elect);
        assert_eq!(
            (lc.namespace.as_str(), lc.identity.as_str()),
            ("leases", "pod-1")
        );
    }

    #[test]
    fn a_bad_duration_is_refused_with_an_example() {
        let err =
            Cli::try_parse_from(["planetscale-operator", "--resync-interval", "soon"]).unwrap_err();
        assert!(err.to_string().contains("10m"), "{err}");
        let cli = Cli::try_parse_from(["planetscale-operator", "--resync-interval", "1h30m"]);
        assert_eq!(cli.unwrap().run.resync_interval, Duration::from_secs(5400));
        let err = Cli::try_parse_from(["planetscale-operator", "--lease-duration", "1 day"]);
        assert!(err.is_err(), "the Go form only, as in resource specs");
    }
}
