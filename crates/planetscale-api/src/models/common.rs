//! Objects embedded in many others, and the list envelope.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::de::or_default;

/// A PlanetScale region (embedded in databases, branches and passwords).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Region {
    /// Region id.
    #[serde(default, deserialize_with = "or_default")]
    pub id: String,
    /// Slug used in requests, e.g. `us-east` or `aws-us-east-2`.
    #[serde(default, deserialize_with = "or_default")]
    pub slug: String,
    /// Human name, e.g. `AWS us-east-1`.
    #[serde(default)]
    pub display_name: Option<String>,
    /// `AWS` or `GCP`.
    #[serde(default)]
    pub provider: Option<String>,
    /// City or area, e.g. `N. Virginia`.
    #[serde(default)]
    pub location: Option<String>,
    /// Whether the region can be used.
    #[serde(default)]
    pub enabled: Option<bool>,
    /// Whether this is the organization's default region.
    #[serde(default)]
    pub current_default: Option<bool>,
    /// Egress IP addresses.
    #[serde(default, deserialize_with = "or_default")]
    pub public_ip_addresses: Vec<String>,
}

/// Who performed an action (a user or a service token).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Actor {
    /// Actor id.
    #[serde(default, deserialize_with = "or_default")]
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Avatar URL.
    #[serde(default)]
    pub avatar_url: Option<String>,
}

/// A reference to another object (`restored_from_branch`, `default_organization`, ...).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ResourceRef {
    /// Object id.
    #[serde(default, deserialize_with = "or_default")]
    pub id: String,
    /// Object name.
    #[serde(default, deserialize_with = "or_default")]
    pub name: String,
    /// Creation time.
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
    /// Last update.
    #[serde(default)]
    pub updated_at: Option<DateTime<Utc>>,
    /// Deletion time, if deleted.
    #[serde(default)]
    pub deleted_at: Option<DateTime<Utc>>,
}

/// Filters of the credential lists, `GET …/passwords` and `GET …/roles` (which the API
/// filters alike).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CredentialFilters {
    /// Name search.
    pub q: Option<String>,
    /// `active`, `renewable` or `expired`.
    pub status: Option<String>,
}

impl CredentialFilters {
    pub(crate) fn query(&self) -> Vec<(&'static str, String)> {
        let mut query = Vec::new();
        if let Some(q) = &self.q {
            query.push(("q", q.clone()));
        }
        if let Some(status) = &self.status {
            query.push(("status", status.clone()));
        }
        query
    }
}

/// One page of a list response (`{"type":"list","data":[...],"next_page":2,...}`).
///
/// Every key except `data` may be missing; a missing `next_page` means "last page".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound(deserialize = "T: Deserialize<'de>"))]
pub struct Page<T> {
    /// The items of this page.
    #[serde(default = "Vec::new", deserialize_with = "or_default")]
    pub data: Vec<T>,
    /// The page number returned.
    #[serde(default)]
    pub current_page: Option<u32>,
    /// Page size used by the server.
    #[serde(default)]
    pub per_page: Option<u32>,
    /// The next page number, `None` on the last page.
    #[serde(default)]
    pub next_page: Option<u32>,
    /// The previous page number.
    #[serde(default)]
    pub prev_page: Option<u32>,
    /// Total item count (only some lists).
    #[serde(default)]
    pub total_count: Option<u64>,
    /// Total page count (only some lists).
    #[serde(default)]
    pub total_pages: Option<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_envelope_decodes() {
        let json = r#"{"type":"list","current_page":1,"per_page":25,"next_page":2,
            "next_page_url":"https://api.planetscale.com/v1/x?page=2","prev_page":null,
            "prev_page_url":null,"total_count":30,"total_pages":2,"data":[{"id":"a","slug":"us-east"}]}"#;
        let page: Page<Region> = serde_json::from_str(json).unwrap();
        assert_eq!(page.next_page, Some(2));
        assert_eq!(page.total_count, Some(30));
        assert_eq!(page.data[0].slug, "us-east");
    }

    #[test]
    fn partial_envelope_decodes() {
        let json = r#"{"type":"list","next_page":null,"prev_page":null,"data":[]}"#;
        let page: Page<Region> = serde_json::from_str(json).unwrap();
        assert!(page.data.is_empty());
        assert_eq!(page.next_page, None);
        let null_data: Page<Region> = serde_json::from_str(r#"{"data":null}"#).unwrap();
        assert!(null_data.data.is_empty());
    }

    #[test]
    fn region_with_nulls_and_extra_fields() {
        let json = r#"{"id":"r1","type":"Region","provider":"AWS","enabled":true,
            "public_ip_addresses":null,"display_name":"AWS us-east-1","location":"N. Virginia",
            "slug":"us-east","current_default":false,"mysql_supported":true}"#;
        let region: Region = serde_json::from_str(json).unwrap();
        assert_eq!(region.display_name.as_deref(), Some("AWS us-east-1"));
        assert!(region.public_ip_addresses.is_empty());
    }
}
