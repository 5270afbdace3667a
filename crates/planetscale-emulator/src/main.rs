//! `planetscale-emulator`: prints the base URL (first stdout line) and the default token
//! `ID:TOKEN` (second line), then serves until SIGINT/SIGTERM.

use std::io::Write;

use clap::Parser;
use planetscale_emulator::cli::{Args, LogFormat};
use tracing_subscriber::EnvFilter;

fn init_logs(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("install SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

#[tokio::main]
async fn main() {
    if let Err(error) = run(Args::parse()).await {
        eprintln!("planetscale-emulator: {error:#}");
        std::process::exit(1);
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    init_logs(args.log_format);
    let listener = tokio::net::TcpListener::bind(&args.listen).await?;
    let config = args.into_config()?;
    let emulator = planetscale_emulator::serve(config, listener).await?;
    {
        // The only place a secret is printed, on purpose: scripts read it from line 2.
        let mut out = std::io::stdout().lock();
        writeln!(out, "{}", emulator.url())?;
        writeln!(
            out,
            "{}",
            emulator.authorization().unwrap_or_else(|| "-".into())
        )?;
        out.flush()?;
    }
    wait_for_signal().await;
    tracing::info!("shutting down");
    emulator.shutdown().await;
    Ok(())
}
