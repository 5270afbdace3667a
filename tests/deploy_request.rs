//! DeployRequest end to end: the real operator binary against the real control plane and the
//! PlanetScale emulator (its clock drives the revert window). Each test gets a fresh namespace,
//! emulator and operator; DeployRequests are deleted at the end while the operator still runs.
//!
//! Needs the local control plane (`make testenv-up`) and the binaries built next to this test
//! (`cargo build --workspace --bins`).
mod support;

#[path = "deploy_request/approval.rs"]
mod approval;
#[path = "deploy_request/deletion.rs"]
mod deletion;
#[path = "deploy_request/helpers.rs"]
mod helpers;
#[path = "deploy_request/lifecycle.rs"]
mod lifecycle;
#[path = "deploy_request/queue.rs"]
mod queue;
#[path = "deploy_request/target.rs"]
mod target;
