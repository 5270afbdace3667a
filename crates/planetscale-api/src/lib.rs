//! Typed client for the PlanetScale HTTP API.

pub mod error;
pub mod models;
mod secret;

pub use error::{Error, Result};
pub use secret::{REDACTED, Secret};
