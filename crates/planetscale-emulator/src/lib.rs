//! An offline PlanetScale API server with the real behaviour: asynchronous readiness,
//! name and permission rules, passwords with TTLs, the deploy-request state machine, OAuth,
//! rate limits, plus an admin API (`/_emulator/...`) with a controllable clock, fault
//! injection and request statistics. See the crate README for flags and endpoints.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let emulator = planetscale_emulator::Emulator::start(Default::default()).await?;
//! let auth = emulator.authorization().expect("default token");
//! let url = format!("{}/v1/organizations", emulator.url());
//! # let _ = (auth, url);
//! emulator.shutdown().await;
//! # Ok(()) }
//! ```

#![recursion_limit = "256"]

mod app;
pub mod auth;
pub mod cli;
pub mod clock;
pub mod config;
mod deploy;
mod error;
mod extract;
pub mod faults;
pub mod ids;
mod model;
pub mod operations;
mod persist;
mod ratelimit;
pub mod realdb;
mod routes;
pub mod schema;
mod seed;
mod server;
mod stats;
mod views;
pub mod webhooks;

pub use app::DefaultToken;
pub use config::{Seed, Settings};
pub use error::ApiError;
pub use seed::SeedError;
pub use server::{Config, Emulator, StartError, serve};
