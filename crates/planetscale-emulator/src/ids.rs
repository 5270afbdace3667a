//! Identifiers, secrets, hashes and timestamp formatting shared by every module.

use chrono::{DateTime, SecondsFormat, Utc};
use rand::Rng;
use sha2::{Digest, Sha256};

const BASE36: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
const BASE62: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

fn random_from(alphabet: &[u8], len: usize) -> String {
    let mut rng = rand::rng();
    (0..len)
        .map(|_| alphabet[rng.random_range(0..alphabet.len())] as char)
        .collect()
}

/// A 12-character lowercase alphanumeric public id, like the real API's.
pub fn new_id() -> String {
    random_from(BASE36, 12)
}

/// A 20-character lowercase alphanumeric MySQL username.
pub fn new_username() -> String {
    random_from(BASE36, 20)
}

/// A secret with the given prefix followed by 43 base62 characters
/// (`pscale_pw_`, `pscale_tkn_`, `pscale_oauth_`, ...).
pub fn new_secret(prefix: &str) -> String {
    format!("{prefix}{}", random_from(BASE62, 43))
}

/// Hex SHA-256 of a secret; state only ever stores these, never plaintext.
pub fn hash_secret(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// ISO-8601 UTC with milliseconds and `Z`, e.g. `2023-10-25T16:54:12.879Z`.
pub fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Like [`ts`] for optional timestamps (`null` when absent).
pub fn ts_opt(t: Option<DateTime<Utc>>) -> serde_json::Value {
    t.map_or(serde_json::Value::Null, |t| {
        serde_json::Value::String(ts(t))
    })
}

/// Whether `name` is a valid database or branch name: `^[a-z0-9][a-z0-9_-]*$`, at most 63 characters.
pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    name.len() <= 63
        && (first.is_ascii_lowercase() || first.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

/// Percent-encode a query-string value (RFC 3986 unreserved characters kept).
pub fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_secrets_have_the_real_shapes() {
        let id = new_id();
        assert_eq!(id.len(), 12);
        assert!(
            id.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        );
        let pw = new_secret("pscale_pw_");
        assert_eq!(pw.len(), "pscale_pw_".len() + 43);
        assert!(
            pw["pscale_pw_".len()..]
                .chars()
                .all(|c| c.is_ascii_alphanumeric())
        );
        assert_eq!(new_username().len(), 20);
    }

    #[test]
    fn names_follow_the_documented_rule() {
        assert!(valid_name("feature-1_a"));
        assert!(!valid_name("-x"));
        assert!(!valid_name("Upper"));
        assert!(!valid_name(""));
        assert!(!valid_name(&"a".repeat(64)));
        assert!(valid_name(&"a".repeat(63)));
    }

    #[test]
    fn timestamps_have_milliseconds_and_z() {
        let t = DateTime::parse_from_rfc3339("2023-10-25T16:54:12.879123Z").unwrap();
        assert_eq!(ts(t.with_timezone(&Utc)), "2023-10-25T16:54:12.879Z");
    }
}
