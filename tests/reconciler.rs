//! Reconciler tests: each calls a kind's reconcile pass directly (no operator process, no
//! watches, no waiting on requeues) against the PlanetScale emulator in this process and the
//! local control plane. `make reconciler-test` starts a control plane of its own and runs
//! exactly this binary; the harness is in `reconciler/support.rs`.
//!
//! The integration binaries keep the end-to-end proofs (watches, wake-ups, restarts, the
//! operator process); here each test drives the passes itself and looks at what a user
//! would see: the status, the events, and the objects in PlanetScale.
mod support;

#[path = "reconciler/support.rs"]
mod harness;

#[path = "reconciler/backup.rs"]
mod backup;
#[path = "reconciler/branch.rs"]
mod branch;
#[path = "reconciler/branch_faults.rs"]
mod branch_faults;
#[path = "reconciler/branch_postgres.rs"]
mod branch_postgres;
#[path = "reconciler/credentials_write_back.rs"]
mod credentials_write_back;
#[path = "reconciler/database.rs"]
mod database;
#[path = "reconciler/database_faults.rs"]
mod database_faults;
#[path = "reconciler/database_policies.rs"]
mod database_policies;
#[path = "reconciler/database_ref.rs"]
mod database_ref;
#[path = "reconciler/deploy_request.rs"]
mod deploy_request;
#[path = "reconciler/deploy_request_faults.rs"]
mod deploy_request_faults;
#[path = "reconciler/deploy_request_postgres.rs"]
mod deploy_request_postgres;
#[path = "reconciler/deploy_request_schedule.rs"]
mod deploy_request_schedule;
#[path = "reconciler/events.rs"]
mod events;
#[path = "reconciler/observe_adopt.rs"]
mod observe_adopt;
#[path = "reconciler/password.rs"]
mod password;
#[path = "reconciler/password_faults.rs"]
mod password_faults;
#[path = "reconciler/password_postgres.rs"]
mod password_postgres;
#[path = "reconciler/password_postgres_faults.rs"]
mod password_postgres_faults;
#[path = "reconciler/password_safety.rs"]
mod password_safety;
#[path = "reconciler/skeleton.rs"]
mod skeleton;
