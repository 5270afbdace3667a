//! Command-line flags of the `planetscale-emulator` binary. Every flag can also be set with
//! an environment variable `PLANETSCALE_EMULATOR_<FLAG>` (upper case, `-` → `_`).

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};

use crate::app::DefaultToken;
use crate::config::{Seed, Settings};
use crate::ids::{new_id, new_secret};
use crate::server::Config;

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Offline PlanetScale API server for tests, demos and CI.
///
/// Prints the base URL as the first stdout line and the default service token as
/// `ID:TOKEN` (the Authorization header value) on the second.
#[derive(Parser)]
#[command(name = "planetscale-emulator", version)]
pub struct Args {
    /// Address to listen on; port 0 picks a free port.
    #[arg(
        long,
        env = "PLANETSCALE_EMULATOR_LISTEN",
        default_value = "127.0.0.1:8787"
    )]
    pub listen: String,
    /// YAML (or JSON) config file: settings, users, organizations, databases, tokens, OAuth apps.
    #[arg(long, env = "PLANETSCALE_EMULATOR_CONFIG")]
    pub config: Option<PathBuf>,
    /// Keep the world in this JSON file: loaded at start, rewritten atomically after every change.
    #[arg(long, env = "PLANETSCALE_EMULATOR_STATE_FILE")]
    pub state_file: Option<PathBuf>,
    /// How long a new database stays pending (e.g. `10s`).
    #[arg(long, env = "PLANETSCALE_EMULATOR_DATABASE_READY_DELAY", value_parser = humantime::parse_duration)]
    pub database_ready_delay: Option<Duration>,
    /// How long a new branch stays pending.
    #[arg(long, env = "PLANETSCALE_EMULATOR_BRANCH_READY_DELAY", value_parser = humantime::parse_duration)]
    pub branch_ready_delay: Option<Duration>,
    /// How long deploy checks run.
    #[arg(long, env = "PLANETSCALE_EMULATOR_DEPLOY_CHECK_DURATION", value_parser = humantime::parse_duration)]
    pub deploy_check_duration: Option<Duration>,
    /// Duration of each deploy step.
    #[arg(long, env = "PLANETSCALE_EMULATOR_DEPLOY_STEP_DURATION", value_parser = humantime::parse_duration)]
    pub deploy_step_duration: Option<Duration>,
    /// Revert window after a deploy.
    #[arg(long, env = "PLANETSCALE_EMULATOR_REVERT_WINDOW", value_parser = humantime::parse_duration)]
    pub revert_window: Option<Duration>,
    /// Lifetime of OAuth access tokens.
    #[arg(long, env = "PLANETSCALE_EMULATOR_ACCESS_TOKEN_LIFETIME", value_parser = humantime::parse_duration)]
    pub access_token_lifetime: Option<Duration>,
    /// Lifetime of OAuth authorization codes.
    #[arg(long, env = "PLANETSCALE_EMULATOR_AUTHORIZATION_CODE_LIFETIME", value_parser = humantime::parse_duration)]
    pub authorization_code_lifetime: Option<Duration>,
    /// How long a backup takes.
    #[arg(long, env = "PLANETSCALE_EMULATOR_BACKUP_DURATION", value_parser = humantime::parse_duration)]
    pub backup_duration: Option<Duration>,
    /// Maximum development branches per database.
    #[arg(long, env = "PLANETSCALE_EMULATOR_DEVELOPMENT_BRANCH_LIMIT")]
    pub development_branch_limit: Option<usize>,
    /// Requests per minute per credential; 0 turns rate limiting off.
    #[arg(long, env = "PLANETSCALE_EMULATOR_RATE_LIMIT")]
    pub rate_limit: Option<u32>,
    /// Send `Retry-After` on 429 responses.
    #[arg(long, env = "PLANETSCALE_EMULATOR_RETRY_AFTER", action = clap::ArgAction::Set)]
    pub retry_after: Option<bool>,
    /// Id of the default service token (12 lowercase alphanumerics; random when absent).
    #[arg(long, env = "PLANETSCALE_EMULATOR_DEFAULT_TOKEN_ID")]
    pub default_token_id: Option<String>,
    /// Secret of the default service token (random `pscale_tkn_…` when absent).
    #[arg(
        long,
        env = "PLANETSCALE_EMULATOR_DEFAULT_TOKEN",
        hide_env_values = true
    )]
    pub default_token: Option<String>,
    /// Do not create a default service token (the second stdout line is then `-`).
    #[arg(long, env = "PLANETSCALE_EMULATOR_NO_DEFAULT_TOKEN")]
    pub no_default_token: bool,
    /// Base URL used in `url` fields and pagination links (default: `http://<bound address>`).
    #[arg(long, env = "PLANETSCALE_EMULATOR_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Real database servers behind branches and passwords: the folder `hack/realdb/up`
    /// prepared (off by default; see docs/realdb.md).
    #[arg(long, env = "PLANETSCALE_EMULATOR_REALDB")]
    pub realdb: Option<PathBuf>,
    /// Log format (logs go to stderr; level from `RUST_LOG`, default `info`).
    #[arg(
        long,
        env = "PLANETSCALE_EMULATOR_LOG_FORMAT",
        value_enum,
        default_value = "text"
    )]
    pub log_format: LogFormat,
}

fn apply_flags(s: &mut Settings, a: &Args) {
    let set = |target: &mut Duration, v: Option<Duration>| {
        if let Some(v) = v {
            *target = v;
        }
    };
    set(&mut s.database_ready_delay, a.database_ready_delay);
    set(&mut s.branch_ready_delay, a.branch_ready_delay);
    set(&mut s.deploy_check_duration, a.deploy_check_duration);
    set(&mut s.deploy_step_duration, a.deploy_step_duration);
    set(&mut s.revert_window, a.revert_window);
    set(&mut s.access_token_lifetime, a.access_token_lifetime);
    set(
        &mut s.authorization_code_lifetime,
        a.authorization_code_lifetime,
    );
    set(&mut s.backup_duration, a.backup_duration);
    if let Some(v) = a.development_branch_limit {
        s.development_branch_limit = v;
    }
    if let Some(v) = a.rate_limit {
        s.rate_limit = v;
    }
    if let Some(v) = a.retry_after {
        s.retry_after = v;
    }
}

impl Args {
    /// Build the emulator config: file settings, then flags on top.
    pub fn into_config(self) -> anyhow::Result<Config> {
        let seed = match &self.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| anyhow::anyhow!("cannot read config {}: {e}", path.display()))?;
                Seed::from_yaml(&text)
                    .map_err(|e| anyhow::anyhow!("invalid config {}: {e}", path.display()))?
            }
            None => Seed::builtin(),
        };
        let mut settings = seed.settings.clone().unwrap_or_default();
        apply_flags(&mut settings, &self);
        let default_token = (!self.no_default_token).then(|| DefaultToken {
            id: self.default_token_id.clone().unwrap_or_else(new_id),
            secret: self
                .default_token
                .clone()
                .unwrap_or_else(|| new_secret("pscale_tkn_")),
        });
        if let Some(t) = &default_token {
            let bad =
                |v: &str| v.is_empty() || v.contains(':') || v.chars().any(char::is_whitespace);
            anyhow::ensure!(
                !bad(&t.id),
                "--default-token-id must be non-empty, without ':' or spaces"
            );
            anyhow::ensure!(
                !bad(&t.secret),
                "--default-token must be non-empty, without ':' or spaces"
            );
        }
        Ok(Config {
            settings,
            seed,
            state_file: self.state_file,
            default_token,
            public_url: self.public_url,
            realdb: self.realdb,
        })
    }
}
