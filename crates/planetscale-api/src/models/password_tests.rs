use super::*;

const CREATED: &str = r#"{
  "id": "qbphfi83nxti", "name": "app", "role": "readwriter",
  "username": "m51veb3195rn79uoa4zm", "plain_text": "pscale_pw_not_a_real_value_0000",
  "access_host_url": "aws.connect.psdb.cloud", "access_host_regional_url": "us-east.connect.psdb.cloud",
  "access_host_regional_urls": ["us-east.connect.psdb.cloud"],
  "database_branch": {"name": "pr-1234", "id": "4xsz0ql82y4n", "production": false,
    "mysql_edge_address": "aws.connect.psdb.cloud", "private_edge_connectivity": false},
  "region": {"id": "r1", "slug": "us-east"}, "actor": null, "cidrs": null,
  "direct_vtgate": false, "direct_vtgate_addresses": [], "replica": false,
  "ttl_seconds": 604800, "expires_at": "2023-11-01T16:54:12.879Z", "expired": false,
  "renewable": true, "created_at": "2023-10-25T16:54:12.879Z", "deleted_at": null,
  "last_used_at": null
}"#;

#[test]
fn create_response_carries_a_redacted_plaintext() {
    let password: Password = serde_json::from_str(CREATED).unwrap();
    assert_eq!(password.role, Some(PasswordRole::Readwriter));
    assert_eq!(password.username.as_deref(), Some("m51veb3195rn79uoa4zm"));
    assert_eq!(password.ttl_seconds, Some(604800));
    assert!(password.renewable && !password.expired);
    let plain = password.plain_text.as_ref().unwrap();
    assert_eq!(plain.expose(), "pscale_pw_not_a_real_value_0000");
    let debug = format!("{password:?}");
    assert!(!debug.contains("pscale_pw_"), "{debug}");
    assert!(debug.contains("[REDACTED]"));
}

#[test]
fn get_response_has_null_plaintext_and_tolerates_nulls() {
    let json = r#"{"id":"p1","name":"app","role":"admin","plain_text":null,"ttl_seconds":null,
        "expired":null,"renewable":null,"replica":null,"access_host_regional_urls":null,
        "database_branch":null}"#;
    let password: Password = serde_json::from_str(json).unwrap();
    assert!(password.plain_text.is_none());
    assert!(!password.renewable && !password.expired && !password.replica);
    assert!(password.access_host_regional_urls.is_empty());
}

#[test]
fn unknown_role_is_kept() {
    let password: Password =
        serde_json::from_str(r#"{"id":"p","name":"n","role":"superuser"}"#).unwrap();
    assert_eq!(
        password.role,
        Some(PasswordRole::Unknown("superuser".into()))
    );
}

#[test]
fn create_body_serialises_the_role_as_text() {
    let body = CreatePassword {
        name: Some("app".into()),
        role: Some(PasswordRole::Reader),
        ttl: Some(3600),
        ..CreatePassword::default()
    };
    assert_eq!(
        serde_json::to_value(&body).unwrap(),
        serde_json::json!({"name":"app","role":"reader","ttl":3600})
    );
}
