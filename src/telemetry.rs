//! Logging setup: JSON (default, for log pipelines) or human-readable text.
use tracing_subscriber::{EnvFilter, fmt, prelude::*};

/// Log line format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// One JSON object per line, with the span fields (namespace, name) on every line.
    Json,
    /// Human-readable lines.
    Text,
}

/// Installs the global subscriber. `level` is an `EnvFilter` directive such as `info` or
/// `planetscale_operator=debug,info`; `RUST_LOG` overrides it when set.
pub fn init(format: LogFormat, level: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let registry = tracing_subscriber::registry().with(filter);
    match format {
        LogFormat::Json => registry
            .with(
                fmt::layer()
                    .json()
                    .with_current_span(true)
                    .with_span_list(false),
            )
            .init(),
        LogFormat::Text => registry.with(fmt::layer().with_target(false)).init(),
    }
}
