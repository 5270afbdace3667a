//! `planetscale-operator`: wiring only; the logic lives in the library.
use clap::Parser;
use planetscale_operator::config::{Cli, Command};
use planetscale_operator::oauth_login::{self, OAuthCommand};
use planetscale_operator::{crd, runtime, telemetry};

/// jemalloc instead of glibc's malloc: less resident memory for the same heap (many small,
/// long-lived objects in the caches; see docs/performance.md, scale). Its settings are built
/// in (`JEMALLOC_SYS_WITH_MALLOC_CONF` in .cargo/config.toml): a background thread returns
/// freed pages to the system after a second instead of keeping them for reuse.
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match cli.command() {
        Command::Version => println!("planetscale-operator {}", env!("CARGO_PKG_VERSION")),
        Command::Crdgen => {
            for c in crd::all() {
                print!(
                    "---\n{}",
                    serde_norway::to_string(&c).expect("CRDs serialize")
                );
            }
        }
        Command::Oauth(OAuthCommand::Login(args)) => {
            if let Err(e) = oauth_login::login(args).await {
                eprintln!("planetscale-operator oauth login: {e:#}");
                return std::process::ExitCode::FAILURE;
            }
        }
        Command::Run(args) => {
            telemetry::init(args.log_format, &args.log_level);
            if let Err(e) = runtime::run(args).await {
                tracing::error!(error = %format!("{e:#}"), "operator stopped");
                eprintln!("planetscale-operator: {e:#}");
                return std::process::ExitCode::FAILURE;
            }
        }
    }
    std::process::ExitCode::SUCCESS
}
