//! The deploy-request state machine.
//!
//! Transitions that take time carry a due time (`Deployment::next_at`); [`advance`] applies
//! every due transition in time order, so jumping the clock by an hour runs a whole queue.
//! After every transition (and every API action) [`schedule`] starts the next queued deploy of
//! each target branch whose serial queue is free.

mod actions;
mod machine;

pub use actions::*;
pub use machine::{advance, on_branch_schema_changed};

use chrono::{DateTime, Utc};

use crate::config::Settings;

use crate::clock::after as later;

fn step_due(s: &Settings, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
    Some(later(t, s.deploy_step_duration))
}
