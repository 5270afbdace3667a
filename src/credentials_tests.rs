use super::*;

fn data(pairs: &[(&str, &str)]) -> BTreeMap<String, ByteString> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), ByteString(v.as_bytes().to_vec())))
        .collect()
}

#[test]
fn service_token_secret_parses() {
    let d = data(&[
        (KEY_SERVICE_TOKEN_ID, "abc123def456"),
        (KEY_SERVICE_TOKEN, "pscale_tkn_x"),
    ]);
    match parse_secret("ns/s", Some(&d)).unwrap() {
        Credentials::ServiceToken { id, token } => {
            assert_eq!(id, "abc123def456");
            assert_eq!(token.expose(), "pscale_tkn_x");
        }
        other @ Credentials::OAuth { .. } => panic!("expected service token, got {other:?}"),
    }
}

#[test]
fn oauth_secret_parses() {
    let d = data(&[
        (KEY_OAUTH_CLIENT_ID, "cid"),
        (KEY_OAUTH_CLIENT_SECRET, "csecret"),
        (KEY_ACCESS_TOKEN, "pscale_oauth_a"),
        (KEY_REFRESH_TOKEN, "pscale_oauth_refresh_r"),
        (KEY_EXPIRES_AT, "2030-01-01T00:00:00Z"),
    ]);
    let c = parse_secret("ns/s", Some(&d)).unwrap();
    assert_eq!(c.kind(), "oauth");
}

#[test]
fn oauth_secret_missing_keys_names_them_without_values() {
    let d = data(&[
        (KEY_OAUTH_CLIENT_ID, "cid"),
        (KEY_ACCESS_TOKEN, "pscale_oauth_secretvalue"),
    ]);
    let e = parse_secret("ns/s", Some(&d)).unwrap_err();
    assert_eq!(e.reason(), "CredentialsInvalid");
    let msg = e.to_string();
    assert!(
        msg.contains(KEY_REFRESH_TOKEN) && msg.contains(KEY_EXPIRES_AT),
        "{msg}"
    );
    assert!(!msg.contains("secretvalue"), "{msg}");
}

#[test]
fn empty_or_half_service_token_secret_is_invalid() {
    for d in [
        data(&[]),
        data(&[(KEY_SERVICE_TOKEN_ID, "id")]),
        data(&[(KEY_SERVICE_TOKEN, "  ")]),
    ] {
        let e = parse_secret("ns/s", Some(&d)).unwrap_err();
        assert_eq!(e.reason(), "CredentialsInvalid", "{e}");
    }
    assert_eq!(
        parse_secret("ns/s", None).unwrap_err().reason(),
        "CredentialsInvalid"
    );
}

#[test]
fn bad_expiry_is_invalid_with_an_example() {
    let d = data(&[
        (KEY_OAUTH_CLIENT_ID, "cid"),
        (KEY_OAUTH_CLIENT_SECRET, "cs"),
        (KEY_ACCESS_TOKEN, "a"),
        (KEY_REFRESH_TOKEN, "r"),
        (KEY_EXPIRES_AT, "tomorrow"),
    ]);
    let msg = parse_secret("ns/s", Some(&d)).unwrap_err().to_string();
    assert!(msg.contains("RFC 3339"), "{msg}");
}

#[test]
fn burst_is_small_and_positive() {
    assert_eq!(burst(600), 10);
    assert_eq!(burst(30), 1);
    assert_eq!(burst(120), 2);
}

#[test]
fn credentials_ref_is_always_in_the_resources_namespace() {
    let defaults = DefaultCredentials {
        secret: Some(("op".into(), "default".into())),
        allowed_namespaces: vec![],
    };
    let r = SecretRef {
        name: "team-token".into(),
    };
    assert_eq!(
        locate(&defaults, "team-a", Some(&r)).unwrap(),
        ("team-a".into(), "team-token".into())
    );
    assert_eq!(
        locate(&defaults, "team-a", None).unwrap(),
        ("op".into(), "default".into())
    );
}

#[test]
fn default_credentials_can_be_switched_off_or_restricted() {
    let off = DefaultCredentials::default();
    assert_eq!(
        locate(&off, "a", None).unwrap_err().reason(),
        "CredentialsNotFound"
    );
    let restricted = DefaultCredentials {
        secret: Some(("op".into(), "default".into())),
        allowed_namespaces: vec!["platform".into()],
    };
    assert!(locate(&restricted, "platform", None).is_ok());
    let e = locate(&restricted, "team-b", None).unwrap_err();
    assert_eq!(e.reason(), "CredentialsNotFound");
    assert!(e.to_string().contains("team-b"), "{e}");
}

#[test]
fn only_the_version_our_own_finalizer_patch_made_keeps_the_client() {
    let base = || Version {
        rv: "10".into(),
        own_patch: None,
    };
    let mut v = base();
    assert!(v.holds("10", false), "the same version");
    assert!(!v.holds("11", true), "another version: new data, perhaps");

    // Our patch adds the finalizer to version 10.
    let mut v = base();
    v.own_patch = Some(("10".into(), true));
    assert!(!v.holds("11", false), "a version without it is not ours");
    assert!(v.holds("11", true), "the next version with it is");
    assert!(!v.holds("12", true), "and only that one");

    // The answer to the patch comes before its watch event.
    let mut v = base();
    v.own_patch = Some(("10".into(), false));
    v.patched("10", Some("11"));
    assert!(v.holds("11", false));
    // A failed patch: the next version is someone else's.
    let mut v = base();
    v.own_patch = Some(("10".into(), true));
    v.patched("10", None);
    assert!(!v.holds("11", true));
}
