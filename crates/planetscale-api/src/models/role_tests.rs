use super::*;

const CREATED: &str = r#"{
  "id": "r0le1d000001", "name": "app", "access_host_url": "us-east.pg.psdb.cloud",
  "private_access_host_url": "us-east.private-pg.psdb.cloud",
  "private_connection_service_name": "com.amazonaws.vpce.us-east-1.vpce-svc-0",
  "username": "pscale_api_abc123.4xsz0ql82y4n", "base_username": "pscale_api_abc123",
  "password": "pscale_pw_not_a_real_value_0000", "database_name": "postgres",
  "created_at": "2025-07-15T10:19:23.000Z", "updated_at": "2025-07-15T10:19:23.000Z",
  "deleted_at": null, "expires_at": "2025-07-16T10:19:23.000Z", "dropped_at": null,
  "disabled_at": null, "drop_failed": "", "ready": false, "expired": false, "default": false,
  "ttl": 86400, "inherited_roles": ["pg_read_all_data", "pg_write_all_data"],
  "with_replication": false,
  "branch": {"id": "4xsz0ql82y4n", "name": "main", "created_at": "2025-07-01T00:00:00.000Z",
    "updated_at": "2025-07-01T00:00:00.000Z", "deleted_at": null},
  "actor": {"id": "u1", "display_name": "Ada", "avatar_url": "https://example.com/a.png"},
  "query_safety_settings": {"require_where_on_delete": "on", "require_where_on_update": "warn"}
}"#;

#[test]
fn create_response_carries_a_redacted_password() {
    let role: Role = serde_json::from_str(CREATED).unwrap();
    assert_eq!(
        role.username.as_deref(),
        Some("pscale_api_abc123.4xsz0ql82y4n")
    );
    assert_eq!(role.database_name.as_deref(), Some("postgres"));
    assert_eq!(role.ttl, Some(86400));
    assert!(!role.ready && !role.expired && role.renewable());
    assert_eq!(
        role.inherited_roles,
        vec![InheritedRole::PgReadAllData, InheritedRole::PgWriteAllData]
    );
    let safety = role.query_safety_settings.as_ref().unwrap();
    assert_eq!(safety.require_where_on_delete, Some(WhereClauseRule::On));
    assert_eq!(safety.require_where_on_update, Some(WhereClauseRule::Warn));
    assert_eq!(role.branch.as_ref().unwrap().name, "main");
    let plain = role.password.as_ref().unwrap();
    assert_eq!(plain.expose(), "pscale_pw_not_a_real_value_0000");
    let debug = format!("{role:?}");
    assert!(!debug.contains("pscale_pw_"), "{debug}");
    assert!(debug.contains("[REDACTED]"));
}

#[test]
fn an_empty_or_null_password_is_none_and_nulls_are_tolerated() {
    for password in [r#""""#, "null"] {
        let json = format!(
            r#"{{"id":"r","name":"n","password":{password},"ready":null,"expired":null,
            "default":null,"ttl":null,"inherited_roles":null,"with_replication":null,
            "query_safety_settings":null,"branch":null}}"#
        );
        let role: Role = serde_json::from_str(&json).unwrap();
        assert!(role.password.is_none(), "{password}");
        assert!(!role.ready && !role.expired && !role.default && !role.renewable());
        assert!(role.inherited_roles.is_empty());
    }
}

#[test]
fn where_clause_rules_read_booleans_and_keep_unknown_values() {
    let json = r#"{"require_where_on_delete": true, "require_where_on_update": "sometimes"}"#;
    let safety: QuerySafetySettings = serde_json::from_str(json).unwrap();
    assert_eq!(safety.require_where_on_delete, Some(WhereClauseRule::On));
    assert_eq!(
        safety.require_where_on_update,
        Some(WhereClauseRule::Unknown("sometimes".into()))
    );
    let off: QuerySafetySettings =
        serde_json::from_str(r#"{"require_where_on_delete": false}"#).unwrap();
    assert_eq!(off.require_where_on_delete, Some(WhereClauseRule::Off));
}

#[test]
fn an_unknown_inherited_role_is_kept() {
    let role: Role =
        serde_json::from_str(r#"{"id":"r","name":"n","inherited_roles":["pg_future_role"]}"#)
            .unwrap();
    assert_eq!(
        role.inherited_roles,
        vec![InheritedRole::Unknown("pg_future_role".into())]
    );
}

#[test]
fn create_body_sends_only_what_is_set() {
    assert_eq!(
        serde_json::to_value(CreateRole::default()).unwrap(),
        serde_json::json!({})
    );
    let body = CreateRole {
        name: Some("app".into()),
        ttl: Some(3600),
        inherited_roles: vec![InheritedRole::PgReadAllData],
        with_replication: Some(false),
        require_where_on_delete: Some(WhereClauseRule::On),
        require_where_on_update: None,
    };
    assert_eq!(
        serde_json::to_value(&body).unwrap(),
        serde_json::json!({"name": "app", "ttl": 3600, "inherited_roles": ["pg_read_all_data"],
            "with_replication": false, "require_where_on_delete": "on"})
    );
}

#[test]
fn list_filters_become_query_parameters() {
    let filters = ListRoles {
        q: Some("app".into()),
        status: Some("expired".into()),
    };
    assert_eq!(
        filters.query(),
        vec![("q", "app".to_string()), ("status", "expired".to_string())]
    );
}
