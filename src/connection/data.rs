//! The Secret's data as the controller handles it: conversion, read-back and the hash that
//! rolls workloads on rotation.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use sha2::{Digest, Sha256};

use super::info::ConnectionInfo;
use planetscale_api::Secret;

/// The Secret's entries as rendered: every value is treated as secret.
pub type SecretData = BTreeMap<String, Secret>;

/// Key of the access host in every Secret.
pub const HOST_KEY: &str = "host";
/// Key of the port in every Secret.
pub const PORT_KEY: &str = "port";
/// Key of the username in every Secret; read back by [`parse_back`].
pub const USERNAME_KEY: &str = "username";
/// Key of the password in every Secret; read back by [`parse_back`].
pub const PASSWORD_KEY: &str = "password";
/// Key of the database name in every Secret.
pub const DATABASE_KEY: &str = "database";
/// Key of the default `mysql://` URL (replaced by the `prisma` or `rails` preset's URL).
pub const DATABASE_URL_KEY: &str = "DATABASE_URL";
/// The keys the operator owns in every Secret; templates cannot override them.
pub const RESERVED_KEYS: [&str; 5] = [HOST_KEY, PORT_KEY, USERNAME_KEY, PASSWORD_KEY, DATABASE_KEY];

/// Number of hex characters of [`credentials_hash`].
pub const CREDENTIALS_HASH_LEN: usize = 16;

/// Converts rendered data into a `Secret`'s `data` field.
pub fn to_secret_data(data: &SecretData) -> BTreeMap<String, ByteString> {
    data.iter()
        .map(|(key, value)| (key.clone(), ByteString(value.expose().as_bytes().to_vec())))
        .collect()
}

/// Reads our `username` and `password` back from a Secret's `data`. `None` when either key is
/// missing, empty or not UTF-8: the Secret no longer holds usable credentials.
pub fn parse_back(data: &BTreeMap<String, ByteString>) -> Option<(String, Secret)> {
    let text = |key: &str| {
        let bytes = &data.get(key)?.0;
        std::str::from_utf8(bytes).ok().filter(|s| !s.is_empty())
    };
    let username = text(USERNAME_KEY)?.to_owned();
    let password = Secret::new(text(PASSWORD_KEY)?);
    Some((username, password))
}

/// A short, stable fingerprint of host, username and password (the first 16 hex characters of
/// a SHA-256), for a pod-template annotation that rolls workloads when the credentials change.
/// The password is high-entropy, so the truncated hash does not help anyone guess it.
pub fn credentials_hash(info: &ConnectionInfo) -> String {
    let mut hasher = Sha256::new();
    for part in [&info.host, &info.username, info.password.expose()] {
        // Length prefixes keep ("ab", "c") and ("a", "bc") apart.
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    hasher
        .finalize()
        .iter()
        .take(CREDENTIALS_HASH_LEN / 2)
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(password: &str) -> ConnectionInfo {
        ConnectionInfo {
            host: "aws.connect.psdb.cloud".into(),
            username: "user".into(),
            password: password.into(),
            database: "shop".into(),
            branch: "main".into(),
            role: "reader".into(),
            ..ConnectionInfo::default()
        }
    }

    fn bytes(pairs: &[(&str, &[u8])]) -> BTreeMap<String, ByteString> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), ByteString(v.to_vec())))
            .collect()
    }

    #[test]
    fn hash_is_stable_short_hex() {
        let hash = credentials_hash(&info("pscale_pw_EXAMPLE"));
        assert_eq!(hash, credentials_hash(&info("pscale_pw_EXAMPLE")));
        assert_eq!(hash.len(), CREDENTIALS_HASH_LEN);
        assert!(
            hash.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()),
            "{hash}"
        );
        assert!(!hash.contains("pscale"));
    }

    #[test]
    fn hash_changes_with_the_credentials() {
        let base = info("pscale_pw_EXAMPLE");
        let rotated = info("pscale_pw_EXAMPLE2");
        let other_user = ConnectionInfo {
            username: "user2".into(),
            ..base.clone()
        };
        let other_host = ConnectionInfo {
            host: "gcp.connect.psdb.cloud".into(),
            ..base.clone()
        };
        let shifted = ConnectionInfo {
            username: "use".into(),
            host: format!("{}r", base.host),
            ..base.clone()
        };
        let hashes = [&base, &rotated, &other_user, &other_host, &shifted].map(credentials_hash);
        for (i, a) in hashes.iter().enumerate() {
            for b in &hashes[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }

    #[test]
    fn hash_ignores_everything_but_the_credentials() {
        let base = info("pscale_pw_EXAMPLE");
        let elsewhere = ConnectionInfo {
            port: 3307,
            database: "other".into(),
            branch: "dev".into(),
            organization: "acme".into(),
            region: "eu-west".into(),
            role: "admin".into(),
            ..base.clone()
        };
        assert_eq!(credentials_hash(&base), credentials_hash(&elsewhere));
    }

    #[test]
    fn secret_data_carries_the_plain_values() {
        let data: SecretData = [("password".to_owned(), Secret::new("p@ss wörd"))].into();
        let converted = to_secret_data(&data);
        assert_eq!(converted["password"].0, "p@ss wörd".as_bytes());
    }

    #[test]
    fn parse_back_reads_username_and_password() {
        let data = bytes(&[
            ("username", b"user"),
            ("password", "p@ss wörd".as_bytes()),
            ("host", b"h"),
        ]);
        let (username, password) = parse_back(&data).expect("credentials");
        assert_eq!(username, "user");
        assert_eq!(password.expose(), "p@ss wörd");
    }

    #[test]
    fn parse_back_refuses_missing_empty_or_binary_credentials() {
        let cases = [
            bytes(&[]),
            bytes(&[("username", b"user")]),
            bytes(&[("password", b"pw")]),
            bytes(&[("username", b""), ("password", b"pw")]),
            bytes(&[("username", b"user"), ("password", b"")]),
            bytes(&[("username", b"user"), ("password", &[0xff, 0xfe])]),
            bytes(&[("USERNAME", b"user"), ("PASSWORD", b"pw")]),
        ];
        for data in cases {
            assert_eq!(
                parse_back(&data),
                None,
                "{:?}",
                data.keys().collect::<Vec<_>>()
            );
        }
    }

    #[test]
    fn parse_back_round_trips_rendered_data() {
        let info = info("pscale_pw_EXAMPLE");
        let data = super::super::render(&info, &[], None).expect("renders");
        let (username, password) = parse_back(&to_secret_data(&data.data)).expect("credentials");
        assert_eq!(
            (username.as_str(), password.expose()),
            ("user", "pscale_pw_EXAMPLE")
        );
    }
}
