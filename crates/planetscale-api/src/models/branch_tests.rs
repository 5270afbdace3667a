use super::*;

const WEBHOOK_BRANCH: &str = r#"{
  "id": "4xsz0ql82y4n", "type": "Branch", "name": "pr-1234", "kind": "mysql",
  "created_at": "2023-10-25T16:54:12.879Z", "updated_at": "2023-10-25T16:55:01.002Z",
  "restore_checklist_completed_at": null, "schema_last_updated_at": "2023-10-25T16:54:12.879Z",
  "mysql_address": "us-east.connect.psdb.cloud", "mysql_edge_address": "aws.connect.psdb.cloud",
  "access_host_url": "aws.connect.psdb.cloud", "mysql_provider_address": "aws",
  "initial_restore_id": null, "private_connectivity": false, "cluster_architecture": "x86_64",
  "cluster_display_name": "PS-10", "state": "ready", "schema_ready": true,
  "direct_vtgate": false, "vtgate_size": "vtg-1", "vtgate_count": 1, "cluster_name": "PS_10",
  "cluster_iops": null, "ready": true, "production": false, "safe_migrations": false,
  "sharded": false, "shard_count": 1, "stale_schema": false,
  "actor": {"id": "u1", "type": "User", "display_name": "Ada", "avatar_url": "https://x/a.png"},
  "restored_from_branch": null,
  "html_url": "https://app.planetscale.com/acme/shop/pr-1234",
  "url": "https://api.planetscale.com/v1/organizations/acme/databases/shop/branches/pr-1234",
  "region": {"id": "r1", "type": "Region", "provider": "AWS", "enabled": true,
    "public_ip_addresses": ["3.3.3.3"], "display_name": "AWS us-east-1",
    "location": "N. Virginia", "slug": "us-east", "current_default": true},
  "parent_branch": "main", "deletion_protected": false
}"#;

#[test]
fn real_shaped_branch_decodes() {
    let branch: Branch = serde_json::from_str(WEBHOOK_BRANCH).unwrap();
    assert_eq!(branch.name, "pr-1234");
    assert_eq!(branch.state, Some(BranchState::Ready));
    assert!(branch.ready);
    assert_eq!(branch.parent_branch.as_deref(), Some("main"));
    assert_eq!(
        branch.region.as_ref().map(|r| r.slug.as_str()),
        Some("us-east")
    );
    assert_eq!(branch.actor.as_ref().map(|a| a.id.as_str()), Some("u1"));
    assert_eq!(branch.cluster_name.as_deref(), Some("PS_10"));
}

#[test]
fn pending_branch_with_nulls_decodes() {
    let json = r#"{"id":"b1","name":"dev","state":"pending","ready":null,"production":null,
        "safe_migrations":null,"deletion_protected":null,"region":null,"parent_branch":null,
        "actor":null,"created_at":"2023-10-25T16:54:12.879Z"}"#;
    let branch: Branch = serde_json::from_str(json).unwrap();
    assert_eq!(branch.state, Some(BranchState::Pending));
    assert!(!branch.ready && !branch.production && !branch.safe_migrations);
    assert!(branch.region.is_none());
    assert!(branch.state.unwrap().is_transitioning());
}

#[test]
fn unknown_branch_state_is_kept() {
    let branch: Branch =
        serde_json::from_str(r#"{"id":"b","name":"n","state":"resizing"}"#).unwrap();
    let state = branch.state.unwrap();
    assert_eq!(state, BranchState::Unknown("resizing".into()));
    assert!(!state.is_ready() && !state.is_transitioning());
}

#[test]
fn create_body_sends_only_what_is_set() {
    let mut body = CreateBranch::new("pr-1");
    body.parent_branch = Some("main".into());
    body.deletion_protected = Some(false);
    assert_eq!(
        serde_json::to_value(&body).unwrap(),
        serde_json::json!({"name":"pr-1","parent_branch":"main","deletion_protected":false})
    );
}

#[test]
fn list_filters_become_query_parameters() {
    let filters = ListBranches {
        production: Some(true),
        ..ListBranches::default()
    };
    assert_eq!(filters.query(), vec![("production", "true".to_string())]);
    assert!(ListBranches::default().query().is_empty());
    let newest = ListBranches {
        newest_first: true,
        ..ListBranches::default()
    };
    assert_eq!(newest.query(), vec![("order", "desc".to_string())]);
}

#[test]
fn postgres_create_body_adds_the_restore_point_and_major_version() {
    let body = CreatePostgresBranch {
        branch: CreateBranch {
            parent_branch: Some("main".into()),
            ..CreateBranch::new("pitr")
        },
        restore_point: Some("2025-07-15T10:19:23Z".parse().unwrap()),
        major_version: Some("17".into()),
    };
    assert_eq!(
        serde_json::to_value(&body).unwrap(),
        serde_json::json!({"name": "pitr", "parent_branch": "main",
            "restore_point": "2025-07-15T10:19:23Z", "major_version": "17"})
    );
    let plain = CreatePostgresBranch {
        branch: CreateBranch::new("dev"),
        ..CreatePostgresBranch::default()
    };
    assert_eq!(
        serde_json::to_value(&plain).unwrap(),
        serde_json::json!({"name": "dev"})
    );
}

#[test]
fn postgres_branch_decodes_its_kind_and_major_version() {
    let branch: Branch = serde_json::from_str(
        r#"{"id":"b","name":"pitr","kind":"postgresql","major_version":"17",
            "restore_point":"2025-07-15T10:19:23Z","access_host_url":"us-east.pg.psdb.cloud"}"#,
    )
    .unwrap();
    assert_eq!(branch.kind, Some(DatabaseKind::Postgresql));
    assert_eq!(branch.major_version.as_deref(), Some("17"));
    assert_eq!(
        branch.restore_point,
        Some("2025-07-15T10:19:23Z".parse().unwrap())
    );
    assert_eq!(
        branch.access_host_url.as_deref(),
        Some("us-east.pg.psdb.cloud")
    );
}
