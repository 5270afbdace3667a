//! JSON rendering of the world's objects in the real API's shapes (every field the spec
//! marks required, `type` tags, millisecond timestamps, `null` rather than absent).

mod core;
mod deploy;
mod roles;
mod tokens;

pub use self::core::{lint, schema_table};

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::config::Settings;
use crate::ids::{hash_secret, percent_encode};
use crate::model::{Actor, World};

/// Rendering context: the world at one instant.
pub struct V<'a> {
    /// The world.
    pub w: &'a World,
    /// Base URL of the emulator (for `url` fields and pagination links).
    pub base: &'a str,
    /// Emulator time.
    pub now: DateTime<Utc>,
    /// Settings.
    pub settings: &'a Settings,
}

/// Regions: (slug, provider, display name, location).
pub const REGIONS: &[(&str, &str, &str, &str)] = &[
    ("us-east", "AWS", "AWS us-east-1", "N. Virginia"),
    ("us-west", "AWS", "AWS us-west-2", "Oregon"),
    ("eu-west", "AWS", "AWS eu-west-1", "Dublin"),
    ("eu-central", "AWS", "AWS eu-central-1", "Frankfurt"),
    ("ap-south", "AWS", "AWS ap-south-1", "Mumbai"),
    ("ap-southeast", "AWS", "AWS ap-southeast-1", "Singapore"),
    ("ap-northeast", "AWS", "AWS ap-northeast-1", "Tokyo"),
    ("aws-us-east-2", "AWS", "AWS us-east-2", "Ohio"),
    ("aws-ap-southeast-2", "AWS", "AWS ap-southeast-2", "Sydney"),
    ("aws-ca-central-1", "AWS", "AWS ca-central-1", "Montreal"),
    ("aws-eu-west-2", "AWS", "AWS eu-west-2", "London"),
    ("aws-sa-east-1", "AWS", "AWS sa-east-1", "Sao Paulo"),
    (
        "gcp-us-central1",
        "GCP",
        "GCP us-central1",
        "Council Bluffs, Iowa",
    ),
    ("gcp-us-east4", "GCP", "GCP us-east4", "Ashburn, Virginia"),
    (
        "gcp-europe-west1",
        "GCP",
        "GCP europe-west1",
        "St. Ghislain, Belgium",
    ),
    ("gcp-asia-northeast3", "GCP", "GCP asia-northeast3", "Seoul"),
];

/// The organization's default region.
pub const DEFAULT_REGION: &str = "us-east";

/// Whether `slug` is a known region.
pub fn region_exists(slug: &str) -> bool {
    REGIONS.iter().any(|r| r.0 == slug)
}

/// A region object (full form, with `current_default` and engine support).
pub fn region(slug: &str) -> Value {
    let (slug, provider, display, location) = REGIONS
        .iter()
        .find(|r| r.0 == slug)
        .copied()
        .unwrap_or((slug, "AWS", slug, slug));
    json!({
        "id": &hash_secret(slug)[..12],
        "type": "Region",
        "provider": provider,
        "enabled": true,
        "public_ip_addresses": ["3.209.149.66", "3.215.97.46", "34.193.111.15"],
        "display_name": display,
        "location": location,
        "slug": slug,
        "current_default": slug == DEFAULT_REGION,
        "mysql_supported": true,
        "postgresql_supported": true,
    })
}

/// An actor object (or `null`).
pub fn actor(a: Option<&Actor>) -> Value {
    a.map_or(Value::Null, |a| {
        json!({
            "id": a.id,
            "type": "User",
            "display_name": a.display_name,
            "avatar_url": format!("https://avatars.planetscale.com/{}", a.id),
        })
    })
}

/// `page` and `per_page` from the query (defaults 1 and 25, `per_page` capped at 100).
pub fn page_params(q: &HashMap<String, String>) -> (usize, usize) {
    let page = q
        .get("page")
        .and_then(|p| p.parse().ok())
        .filter(|p| *p >= 1)
        .unwrap_or(1);
    let per_page = q
        .get("per_page")
        .and_then(|p| p.parse().ok())
        .filter(|p| *p >= 1)
        .unwrap_or(25);
    (page, per_page.min(100))
}

fn page_url(
    base: &str,
    path: &str,
    q: &HashMap<String, String>,
    page: usize,
    per_page: usize,
) -> String {
    let mut extra: Vec<(&String, &String)> = q
        .iter()
        .filter(|(k, _)| k.as_str() != "page" && k.as_str() != "per_page")
        .collect();
    extra.sort();
    let mut url = format!("{base}{path}?page={page}&per_page={per_page}");
    for (k, v) in extra {
        url.push_str(&format!("&{}={}", percent_encode(k), percent_encode(v)));
    }
    url
}

/// The list envelope; `totals` adds `total_count` and `total_pages`.
pub fn envelope(
    items: Vec<Value>,
    q: &HashMap<String, String>,
    base: &str,
    path: &str,
    totals: bool,
) -> Value {
    let (page, per_page) = page_params(q);
    let total = items.len();
    let start = (page - 1).saturating_mul(per_page).min(total);
    let end = (start + per_page).min(total);
    let next = (end < total).then_some(page + 1);
    let prev = (page > 1).then(|| page - 1);
    let link = |p: Option<usize>| p.map(|p| page_url(base, path, q, p, per_page));
    let mut v = json!({
        "type": "list",
        "current_page": page,
        "per_page": per_page,
        "next_page": next,
        "next_page_url": link(next),
        "prev_page": prev,
        "prev_page_url": link(prev),
        "data": items.into_iter().skip(start).take(end - start).collect::<Vec<_>>(),
    });
    if totals {
        v["total_count"] = json!(total);
        v["total_pages"] = json!(total.div_ceil(per_page));
    }
    v
}

/// Minimal HTML rendering used by `html` and `html_body` fields.
pub fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
