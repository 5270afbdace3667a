//! What a deletion in PlanetScale found, and the event that says so; shared by the kinds whose
//! cleanup deletes the remote object.
use planetscale_api::ErrorKind;

use crate::error::Error;

/// What deletion found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gone {
    /// Deleted now.
    Deleted,
    /// Already deleted (outside Kubernetes, or by an earlier attempt).
    Missing,
    /// Never this resource's (e.g. refused with `AlreadyExists`): left alone.
    NotOurs,
}

impl Gone {
    /// The outcome of a DELETE: gone already (`NotFound`) counts as deleted now.
    pub fn of_delete(result: Result<(), planetscale_api::Error>) -> Result<Self, Error> {
        match result {
            Ok(()) => Ok(Self::Deleted),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(Self::Deleted),
            Err(e) => Err(e.into()),
        }
    }

    /// The event's reason and note, for `what` (e.g. `branch main`).
    pub fn announce(self, what: &str) -> (&'static str, String) {
        match self {
            Self::Deleted => ("Deleted", format!("deleted {what} from PlanetScale")),
            Self::Missing => ("Deleted", format!("{what} was already deleted")),
            Self::NotOurs => (
                "Released",
                format!("{what} was not created or adopted by this resource: left in PlanetScale"),
            ),
        }
    }
}
