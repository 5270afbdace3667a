//! The values the steps of a pass hand each other: the [`Plan`], what `act` did
//! ([`Acted`]), what `status` decided ([`Report`] with its [`Note`]s), how the pass ended
//! ([`Ended`]).
use std::time::Duration;

use kube::runtime::events::EventType;

use crate::error::Error;

/// What `plan` decided: the steps to take, in order, and when to look again if they succeed
/// (`None`: the kind's default, see [`Reconciler::next`](super::Reconciler::next)).
#[derive(Debug, Clone, PartialEq)]
pub struct Plan<S> {
    pub steps: Vec<S>,
    pub requeue: Option<Duration>,
}

impl<S> Plan<S> {
    /// Nothing to do.
    pub fn nothing() -> Self {
        Self {
            steps: Vec::new(),
            requeue: None,
        }
    }

    /// The steps `steps`, then the kind's default requeue.
    pub fn steps(steps: Vec<S>) -> Self {
        Self {
            steps,
            requeue: None,
        }
    }

    /// Look again after `after`.
    pub fn requeue(mut self, after: Duration) -> Self {
        self.requeue = Some(after);
        self
    }
}

/// One event to publish after the status write. Notes never hold a password, token or
/// connection string.
#[derive(Debug, Clone, PartialEq)]
pub struct Note {
    pub type_: EventType,
    pub reason: String,
    pub action: &'static str,
    pub note: String,
}

impl Note {
    /// A `Normal` event.
    pub fn normal(reason: impl Into<String>, action: &'static str, note: String) -> Self {
        Self {
            type_: EventType::Normal,
            reason: reason.into(),
            action,
            note,
        }
    }

    /// A `Warning` event.
    pub fn warning(reason: impl Into<String>, action: &'static str, note: String) -> Self {
        Self {
            type_: EventType::Warning,
            reason: reason.into(),
            action,
            note,
        }
    }
}

/// What `act` did: the outcome of the steps that ran, and the error that stopped the rest
/// (a create that succeeded before a later step failed is still recorded in status).
#[derive(Debug)]
pub struct Acted<O> {
    pub outcome: O,
    pub error: Option<Error>,
}

impl<O> Acted<O> {
    /// Every step ran.
    pub fn done(outcome: O) -> Self {
        Self {
            outcome,
            error: None,
        }
    }

    /// The steps that ran led to `outcome`; `error` stopped the rest.
    pub fn failed(outcome: O, error: Error) -> Self {
        Self {
            outcome,
            error: Some(error),
        }
    }
}

/// What `status` decided: the new status (written when it differs) and the events.
#[derive(Debug, Clone, PartialEq)]
pub struct Report<S> {
    pub status: S,
    pub events: Vec<Note>,
}

impl<S> Report<S> {
    /// `status` without events.
    pub fn quiet(status: S) -> Self {
        Self {
            status,
            events: Vec::new(),
        }
    }
}

/// How a pass ended, for [`Reconciler::next`](super::Reconciler::next).
#[derive(Debug)]
pub enum Ended<'a, O> {
    /// The object is paused.
    Paused,
    /// The steps ran; `planned` is [`Plan::requeue`].
    Applied {
        outcome: &'a O,
        planned: Option<Duration>,
    },
}
