//! Credentials a client authenticates with, and the OAuth token set handed to the refresh
//! callback.

use std::future::Future;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};

use crate::Secret;

/// How the client authenticates.
#[derive(Debug, Clone, PartialEq)]
pub enum Credentials {
    /// A service token: sent as `Authorization: <id>:<token>` (no scheme word).
    ServiceToken {
        /// Token id (12 characters).
        id: String,
        /// The secret (`pscale_tkn_…`).
        token: Secret,
    },
    /// OAuth application tokens: sent as `Authorization: Bearer <access_token>` and refreshed
    /// at the token endpoint before `expires_at` and once after a 401.
    OAuth {
        /// OAuth application client id.
        client_id: String,
        /// OAuth application client secret.
        client_secret: Secret,
        /// Current access token.
        access_token: Secret,
        /// Current refresh token (may rotate on each refresh).
        refresh_token: Secret,
        /// When the access token expires.
        expires_at: DateTime<Utc>,
    },
}

impl Credentials {
    /// Service-token credentials.
    pub fn service_token(id: impl Into<String>, token: impl Into<Secret>) -> Self {
        Credentials::ServiceToken {
            id: id.into(),
            token: token.into(),
        }
    }

    /// A short name of the kind, for logs (`service_token` or `oauth`).
    pub fn kind(&self) -> &'static str {
        match self {
            Credentials::ServiceToken { .. } => "service_token",
            Credentials::OAuth { .. } => "oauth",
        }
    }
}

/// A fresh OAuth token set, handed to the refresh callback so the caller can persist it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OAuthTokens {
    /// New access token.
    pub access_token: Secret,
    /// New refresh token (the old one may no longer work).
    pub refresh_token: Secret,
    /// When the new access token expires.
    pub expires_at: DateTime<Utc>,
    /// Granted scopes (space-separated), if the server said.
    #[serde(default)]
    pub scope: Option<String>,
}

/// Called after every successful OAuth refresh with the new token set. The client waits for
/// it (holding the refresh lock, so persisted sets arrive in order) before using the new token.
pub type RefreshCallback = Arc<dyn Fn(OAuthTokens) -> BoxFuture<'static, ()> + Send + Sync>;

/// Wraps an async closure as a [`RefreshCallback`].
pub fn refresh_callback<F, Fut>(callback: F) -> RefreshCallback
where
    F: Fn(OAuthTokens) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    Arc::new(move |tokens| Box::pin(callback(tokens)))
}

/// Wraps a plain closure as a [`RefreshCallback`].
pub fn refresh_callback_sync<F>(callback: F) -> RefreshCallback
where
    F: Fn(OAuthTokens) + Send + Sync + 'static,
{
    Arc::new(move |tokens| {
        callback(tokens);
        Box::pin(async {})
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_of_credentials_hides_every_secret() {
        let oauth = Credentials::OAuth {
            client_id: "cid".into(),
            client_secret: "csecret-value".into(),
            access_token: "pscale_oauth_access".into(),
            refresh_token: "pscale_oauth_refresh_x".into(),
            expires_at: Utc::now(),
        };
        let st = Credentials::service_token("6hnhqpmd0fv7", "pscale_tkn_value");
        let text = format!("{oauth:?} {st:?}");
        for secret in ["csecret-value", "pscale_oauth_", "pscale_tkn_value"] {
            assert!(!text.contains(secret), "{text}");
        }
        assert!(text.contains("cid") && text.contains("6hnhqpmd0fv7"));
        assert_eq!((oauth.kind(), st.kind()), ("oauth", "service_token"));
    }
}
