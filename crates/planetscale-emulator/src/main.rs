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

/// Install the SIGINT/SIGTERM handlers now (before the stdout lines tell a script the
/// emulator is up); the returned future completes on the first signal.
#[cfg(unix)]
fn shutdown_signal() -> std::io::Result<impl Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => tracing::info!(signal = "SIGTERM", "shutting down"),
            _ = int.recv() => tracing::info!(signal = "SIGINT", "shutting down"),
        }
    })
}

#[cfg(not(unix))]
fn shutdown_signal() -> std::io::Result<impl Future<Output = ()>> {
    let ctrl_c = tokio::signal::ctrl_c();
    Ok(async move {
        let _ = ctrl_c.await;
        tracing::info!("shutting down");
    })
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
    let signal = shutdown_signal()?;
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
    signal.await;
    emulator.shutdown().await;
    Ok(())
}
