//! Runtime-invalid input, end to end (the real operator binary, the local control plane and
//! the PlanetScale emulator): input that passes admission but cannot work. Each case must give
//! its condition reason and an event, make a bounded number of API calls per minute (counted
//! by the emulator over a window), and recover by itself once fixed (in Kubernetes or in
//! PlanetScale). Fixes made only in PlanetScale are noticed by the slow retry (5 minutes by
//! default), which these tests set to 30 s (`PSO_SLOW_RETRY`, [`common::SLOW_RETRY`]) so that
//! each takes about two minutes; they run concurrently.
//!
//! Needs `make testenv-up` and `cargo build --workspace --bins`.
mod support;

#[path = "bad_input/common.rs"]
mod common;
#[path = "bad_input/credentials.rs"]
mod credentials;
#[path = "bad_input/findings.rs"]
mod findings;
#[path = "bad_input/secrets.rs"]
mod secrets;
#[path = "bad_input/targets.rs"]
mod targets;

/// Emulator flags of every test: branches and databases ready at once, deploy checks 1 s.
pub const EMULATOR: &[&str] = &[
    "--branch-ready-delay",
    "0s",
    "--database-ready-delay",
    "0s",
    "--deploy-check-duration",
    "1s",
];
