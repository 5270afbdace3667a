//! Service tokens.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::de::or_default;
use crate::Secret;

/// A service token. `token` is set only in the create response.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ServiceToken {
    /// Token id (the part before `:` in the `Authorization` header).
    #[serde(default, deserialize_with = "or_default")]
    pub id: String,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Display name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// The secret: only in the create response.
    #[serde(default)]
    pub token: Option<Secret>,
    /// OAuth tokens only: the refresh token, only at creation.
    #[serde(default)]
    pub plain_text_refresh_token: Option<Secret>,
    /// Creation time.
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
    /// Last update.
    #[serde(default)]
    pub updated_at: Option<DateTime<Utc>>,
    /// Expiry, if the token has a TTL.
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
    /// Last use.
    #[serde(default)]
    pub last_used_at: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listed_token_has_null_secret() {
        let json = r#"{"id":"6hnhqpmd0fv7","type":"ServiceToken","name":null,"display_name":"ci",
            "avatar_url":"https://x","token":null,"created_at":"2023-10-25T16:54:12.879Z",
            "expires_at":null,"last_used_at":null,"service_token_accesses":[]}"#;
        let token: ServiceToken = serde_json::from_str(json).unwrap();
        assert!(token.token.is_none());
        assert_eq!(token.display_name.as_deref(), Some("ci"));
    }

    #[test]
    fn created_token_secret_is_redacted_in_debug() {
        let json = r#"{"id":"6hnhqpmd0fv7","token":"pscale_tkn_not_real"}"#;
        let token: ServiceToken = serde_json::from_str(json).unwrap();
        assert_eq!(
            token.token.as_ref().unwrap().expose(),
            "pscale_tkn_not_real"
        );
        assert!(!format!("{token:?}").contains("pscale_tkn_"));
    }
}
