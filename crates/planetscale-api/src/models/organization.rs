//! Organizations and the current user.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::ResourceRef;
use super::de::or_default;

/// A PlanetScale organization (`GET /organizations`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Organization {
    /// Organization id.
    #[serde(default, deserialize_with = "or_default")]
    pub id: String,
    /// Organization name (the slug used in paths).
    #[serde(default, deserialize_with = "or_default")]
    pub name: String,
    /// Billing plan.
    #[serde(default)]
    pub plan: Option<String>,
    /// Number of databases.
    #[serde(default)]
    pub database_count: Option<u64>,
    /// Whether SSO is enabled.
    #[serde(default)]
    pub sso: Option<bool>,
    /// Whether the organization runs on single tenancy.
    #[serde(default)]
    pub single_tenancy: Option<bool>,
    /// Whether roles are managed by the identity provider.
    #[serde(default)]
    pub idp_managed_roles: Option<bool>,
    /// Whether invoices are past due (sometimes absent).
    #[serde(default)]
    pub has_past_due_invoices: Option<bool>,
    /// Feature flags (free-form).
    #[serde(default)]
    pub features: Option<serde_json::Value>,
    /// Creation time.
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
    /// Last update.
    #[serde(default)]
    pub updated_at: Option<DateTime<Utc>>,
}

/// The user the credentials belong to (`GET /user`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct User {
    /// User id.
    #[serde(default, deserialize_with = "or_default")]
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Full name.
    #[serde(default)]
    pub name: Option<String>,
    /// Email address.
    #[serde(default)]
    pub email: Option<String>,
    /// Avatar URL.
    #[serde(default)]
    pub avatar_url: Option<String>,
    /// Whether two-factor authentication is set up.
    #[serde(default)]
    pub two_factor_auth_configured: Option<bool>,
    /// Whether the email is verified.
    #[serde(default)]
    pub email_verified: Option<bool>,
    /// The user's default organization.
    #[serde(default)]
    pub default_organization: Option<ResourceRef>,
    /// Creation time.
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
    /// Last update.
    #[serde(default)]
    pub updated_at: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn organization_with_string_budget_and_missing_fields() {
        let json = r#"{"id":"o1","name":"acme","billing_email":"b@acme.dev","plan":"scaler_pro",
            "valid_billing_info":true,"sso":false,"database_count":3,"features":{"insights":true},
            "invoice_budget_amount":"50.0","created_at":"2023-10-25T16:54:12.879Z",
            "updated_at":"2023-10-25T16:54:12.879Z"}"#;
        let org: Organization = serde_json::from_str(json).unwrap();
        assert_eq!(org.name, "acme");
        assert_eq!(org.database_count, Some(3));
        assert_eq!(org.has_past_due_invoices, None);
    }

    #[test]
    fn user_with_null_default_organization() {
        let json = r#"{"id":"u1","display_name":"Ada","name":"Ada L","email":"ada@acme.dev",
            "avatar_url":null,"created_at":"2023-10-25T16:54:12.879Z","updated_at":null,
            "two_factor_auth_configured":true,"default_organization":null,"type":"User"}"#;
        let user: User = serde_json::from_str(json).unwrap();
        assert_eq!(user.email.as_deref(), Some("ada@acme.dev"));
        assert!(user.default_organization.is_none());
        assert!(user.updated_at.is_none());
    }
}
