//! The operator process as a platform team runs it: `/readyz` tells the truth about leadership
//! and the controllers' caches, and `/metrics` carries every documented series with values that
//! match what happened (checked against the emulator's own request counts).
//!
//! Needs the control plane (`make testenv-up`), helm and kubectl from `make testenv-build`,
//! and the built binaries.
mod support;

#[path = "runtime/flows.rs"]
mod flows;
#[path = "runtime/installed.rs"]
mod installed;
#[path = "runtime/metrics.rs"]
mod metrics;
#[path = "runtime/readiness.rs"]
mod readiness;
