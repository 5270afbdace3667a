//! The operator's error type. Every variant maps to a stable CamelCase reason used for
//! condition reasons, event reasons and metric labels; `is_transient` decides between a quick
//! retry with backoff and a slow wait for the user to fix something.
use std::time::Duration;

/// What went wrong in a reconcile.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The credentials Secret does not exist (or no credentials apply to the resource).
    #[error("{0}")]
    CredentialsNotFound(String),
    /// The credentials Secret exists but lacks keys or holds malformed values.
    #[error("{0}")]
    CredentialsInvalid(String),
    /// PlanetScale rejected the credentials (401).
    #[error("PlanetScale rejected the credentials: {0}{hint}", hint = unauthorized_hint(.0))]
    Unauthorized(#[source] planetscale_api::Error),
    /// A PlanetScale API error not covered by a more specific variant.
    #[error("PlanetScale API: {0}{hint}", hint = api_hint(.0))]
    Api(#[source] planetscale_api::Error),
    /// A Kubernetes API error.
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    /// Something the user must fix, with the condition reason to show (e.g. `AlreadyExists`).
    #[error("{message}")]
    Invalid {
        reason: &'static str,
        message: String,
    },
    /// Waiting on something outside our control that will change by itself (e.g. a branch
    /// becoming ready), with the reason to show and when to look again.
    #[error("{message}")]
    Waiting {
        reason: &'static str,
        message: String,
        retry_after: Duration,
    },
}

/// Result alias of the operator.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Stable CamelCase reason for conditions, events and metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            Error::CredentialsNotFound(_) => "CredentialsNotFound",
            Error::CredentialsInvalid(_) => "CredentialsInvalid",
            Error::Unauthorized(_) => "Unauthorized",
            Error::Api(e) => api_reason(e),
            Error::Kube(_) => "KubernetesError",
            Error::Invalid { reason, .. } | Error::Waiting { reason, .. } => reason,
        }
    }

    /// Whether retrying soon may help (network, 5xx, 429, conflicts). Non-transient errors wait
    /// for a change of the resource or its credentials, with a slow periodic retry.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Api(e) => e.is_transient(),
            Error::Kube(kube::Error::Api(s)) => s.code == 409 || s.code == 429 || s.code >= 500,
            Error::Kube(_) => true,
            Error::Waiting { .. } => true,
            _ => false,
        }
    }
}

impl From<planetscale_api::Error> for Error {
    fn from(e: planetscale_api::Error) -> Self {
        match e {
            planetscale_api::Error::Unauthorized { .. } => Error::Unauthorized(e),
            other => Error::Api(other),
        }
    }
}

/// What a user should know about an API error beyond its text: PlanetScale answers 404 both
/// for a missing object and for a token without the access the operation needs.
/// A used or revoked OAuth refresh token (e.g. the tokens that replaced it never reached the
/// Secret: a process stopped between the refresh and the write-back); only a new login helps.
fn unauthorized_hint(e: &planetscale_api::Error) -> &'static str {
    match e {
        planetscale_api::Error::Unauthorized { code, .. } if code == "invalid_grant" => {
            " (the OAuth refresh token in the credentials Secret is used or revoked, e.g. the \
             operator stopped between a refresh and its write-back: run `planetscale-operator \
             oauth login` again to put new tokens there)"
        }
        _ => "",
    }
}

fn api_hint(e: &planetscale_api::Error) -> &'static str {
    match e {
        planetscale_api::Error::NotFound { .. } => {
            " (the organization, database or branch does not exist, or the credentials lack the \
             access this operation needs: PlanetScale answers 404 for both)"
        }
        planetscale_api::Error::Forbidden { .. } => {
            " (the credentials lack the access this operation needs)"
        }
        _ => "",
    }
}

impl From<kube::runtime::finalizer::Error<Error>> for Error {
    fn from(e: kube::runtime::finalizer::Error<Error>) -> Self {
        use kube::runtime::finalizer::Error as F;
        match e {
            F::ApplyFailed(e) | F::CleanupFailed(e) => e,
            F::AddFinalizer(e) | F::RemoveFinalizer(e) => Error::Kube(e),
            other => Error::Invalid {
                reason: "FinalizerFailed",
                message: other.to_string(),
            },
        }
    }
}

fn api_reason(e: &planetscale_api::Error) -> &'static str {
    use planetscale_api::Error as E;
    match e {
        E::NotFound { .. } => "NotFound",
        E::Forbidden { .. } => "Forbidden",
        E::RateLimited { .. } => "RateLimited",
        E::Unprocessable { .. } => "Rejected",
        E::BadRequest { .. } => "BadRequest",
        _ => "PlanetScaleUnavailable",
    }
}
