//! Postgres roles: password only in the create and reset responses, `ready` after a delay,
//! TTL and renewal, successors for roles that own objects, the default role, accesses.

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::H;

/// Base path of the built-in PostgreSQL database.
pub const PG: &str = "/v1/organizations/acme/databases/ledger";

impl H {
    /// Create a development branch of `ledger` off `main` and wait (by clock) until ready.
    pub async fn ready_pg_branch(&self, name: &str) {
        self.post(&format!("{PG}/branches"), json!({"name": name}))
            .await
            .expect(201);
        self.advance(60).await;
    }

    /// Ask the admin API whether a role credential of `ledger` works.
    pub async fn verify_pg(&self, branch: &str, username: &str, password: &str) -> Value {
        let body = json!({"organization": "acme", "database": "ledger", "branch": branch,
            "username": username, "password": password});
        self.admin(Method::POST, "/verify-password", Some(body))
            .await
            .expect(200)
    }
}

fn text(v: &Value, field: &str) -> String {
    v[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} in {v:#}"))
        .to_string()
}

#[tokio::test]
async fn the_password_is_only_in_create_and_reset_and_works_once_ready() {
    let h = H::new().await;
    h.ready_pg_branch("dev").await;
    let path = format!("{PG}/branches/dev/roles");
    let body = json!({"name": "app", "inherited_roles": ["pg_read_all_data", "pg_write_all_data"]});
    let role = h.post(&path, body).await.expect(200);
    let (id, user, plain) = (
        text(&role, "id"),
        text(&role, "username"),
        text(&role, "password"),
    );
    assert!(
        plain.starts_with("pscale_pw_") && plain.len() == 53,
        "{plain}"
    );
    assert_eq!(
        (
            role["ready"].as_bool(),
            role["name"].as_str(),
            role["database_name"].as_str()
        ),
        (Some(false), Some("app"), Some("postgres"))
    );
    assert!(user.ends_with(&format!(".{}", role["branch"]["id"].as_str().unwrap())));
    assert_eq!(
        role["inherited_roles"],
        json!(["pg_read_all_data", "pg_write_all_data"])
    );
    assert_eq!(
        h.verify_pg("dev", &user, &plain).await["reason"],
        "role not ready"
    );
    assert_eq!(
        h.get(&format!("{path}/{id}")).await.expect(200)["password"],
        ""
    );
    let listed = h.get(&path).await.expect(200);
    assert_eq!(
        (
            listed["total_count"].as_u64(),
            listed["data"][0]["password"].as_str()
        ),
        (Some(1), Some(""))
    );
    h.advance(5).await;
    assert_eq!(
        h.get(&format!("{path}/{id}")).await.expect(200)["ready"],
        true
    );
    assert_eq!(h.verify_pg("dev", &user, &plain).await["valid"], true);
    assert_eq!(
        h.verify_pg("main", &user, &plain).await["valid"],
        false,
        "only on its branch"
    );

    let reset = h
        .post(&format!("{path}/{id}/reset"), json!({}))
        .await
        .expect(200);
    let new_plain = text(&reset, "password");
    assert_ne!(new_plain, plain);
    assert_eq!(
        (text(&reset, "id"), text(&reset, "username")),
        (id.clone(), user.clone())
    );
    assert_eq!(
        h.verify_pg("dev", &user, &plain).await["reason"],
        "wrong password"
    );
    assert_eq!(h.verify_pg("dev", &user, &new_plain).await["valid"], true);
}

#[tokio::test]
async fn ttl_expiry_and_renewal() {
    let h = H::new().await;
    h.ready_pg_branch("dev").await;
    let path = format!("{PG}/branches/dev/roles");
    let role = h.post(&path, json!({"ttl": 3600})).await.expect(200);
    let (id, user, plain) = (
        text(&role, "id"),
        text(&role, "username"),
        text(&role, "password"),
    );
    assert_eq!(
        (role["ttl"].as_i64(), role["expired"].as_bool()),
        (Some(3600), Some(false))
    );
    let created = chrono::DateTime::parse_from_rfc3339(&text(&role, "created_at")).unwrap();
    let expires = chrono::DateTime::parse_from_rfc3339(&text(&role, "expires_at")).unwrap();
    assert_eq!((expires - created).num_seconds(), 3600);
    h.advance(1800).await;
    let renewed = h
        .post(&format!("{path}/{id}/renew"), json!({}))
        .await
        .expect(200);
    let renewed_at = chrono::DateTime::parse_from_rfc3339(&text(&renewed, "expires_at")).unwrap();
    assert_eq!((renewed_at - expires).num_seconds(), 1800, "now + ttl");
    assert_eq!(renewed["password"], "", "renew never shows the password");
    h.advance(3601).await;
    let expired = h.get(&format!("{path}/{id}")).await.expect(200);
    assert_eq!(expired["expired"], true);
    assert_eq!(
        h.verify_pg("dev", &user, &plain).await["reason"],
        "role expired"
    );
    h.post(&format!("{path}/{id}/renew"), json!({}))
        .await
        .expect_error(422, "unprocessable");
    h.post(&format!("{path}/{id}/reset"), json!({}))
        .await
        .expect_error(422, "unprocessable");
    let forever = h.post(&path, json!({"name": "forever"})).await.expect(200);
    assert_eq!(
        (forever["ttl"].as_i64(), forever["expires_at"].clone()),
        (Some(0), json!(null))
    );
    let err = h
        .post(&format!("{path}/{}/renew", text(&forever, "id")), json!({}))
        .await
        .expect_error(422, "unprocessable");
    assert!(
        err["message"].as_str().unwrap().contains("does not expire"),
        "{err}"
    );
    let count = |status: &'static str| {
        let h = &h;
        let path = path.clone();
        async move { h.get(&format!("{path}?status={status}")).await.expect(200)["total_count"].clone() }
    };
    assert_eq!(
        (count("expired").await, count("active").await),
        (json!(1), json!(1))
    );
}

#[tokio::test]
async fn a_role_owning_objects_is_deleted_only_with_a_successor() {
    let h = H::new().await;
    h.ready_pg_branch("dev").await;
    let path = format!("{PG}/branches/dev/roles");
    let owner = h.post(&path, json!({"name": "owner"})).await.expect(200);
    let heir = h.post(&path, json!({"name": "heir"})).await.expect(200);
    let (owner_id, heir_user) = (text(&owner, "id"), text(&heir, "username"));
    let admin_path =
        format!("/organizations/acme/databases/ledger/branches/dev/roles/{owner_id}/owns-objects");
    h.admin(
        Method::PUT,
        &admin_path,
        Some(json!({"owns_objects": true})),
    )
    .await
    .expect(200);
    let err = h
        .delete(&format!("{path}/{owner_id}"))
        .await
        .expect_error(422, "unprocessable");
    assert!(
        err["message"].as_str().unwrap().contains("successor"),
        "{err}"
    );
    h.delete(&format!("{path}/{owner_id}?successor=nobody"))
        .await
        .expect_error(422, "unprocessable");
    h.delete(&format!("{path}/{owner_id}?successor={owner_id}"))
        .await
        .expect_error(422, "unprocessable");
    h.delete(&format!("{path}/{owner_id}?successor={heir_user}"))
        .await
        .expect(204);
    h.get(&format!("{path}/{owner_id}"))
        .await
        .expect_error(404, "not_found");
    let plain = text(&owner, "password");
    h.advance(5).await;
    assert_eq!(
        h.verify_pg("dev", &text(&owner, "username"), &plain).await["reason"],
        "role deleted"
    );
    let state = h.admin(Method::GET, "/state", None).await.expect(200);
    let heir_state = state["roles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "heir")
        .cloned()
        .unwrap();
    assert_eq!(
        heir_state["owns_objects"], true,
        "the successor took the objects over"
    );

    // Reassigning first (here to the default role) makes a plain delete possible.
    let heir_id = text(&heir, "id");
    h.post(
        &format!("{path}/{heir_id}/reassign"),
        json!({"successor": "postgres"}),
    )
    .await
    .expect(204);
    h.post(&format!("{path}/{heir_id}/reassign"), json!({}))
        .await
        .expect_error(422, "invalid_params");
    h.delete(&format!("{path}/{heir_id}")).await.expect(204);
    h.delete(&format!("{path}/{heir_id}"))
        .await
        .expect_error(404, "not_found");
}

#[tokio::test]
async fn the_default_role_is_the_postgres_user_and_its_password_can_be_reset() {
    let h = H::new().await;
    let path = format!("{PG}/branches/main/roles");
    let default = h.get(&format!("{path}/default")).await.expect(200);
    assert_eq!(
        (
            default["default"].as_bool(),
            default["base_username"].as_str(),
            default["password"].as_str()
        ),
        (Some(true), Some("postgres"), Some(""))
    );
    let reset = h
        .post(&format!("{path}/reset-default"), json!({}))
        .await
        .expect(200);
    assert_eq!(text(&reset, "id"), text(&default, "id"));
    let plain = text(&reset, "password");
    assert_eq!(
        h.verify_pg("main", &text(&reset, "username"), &plain).await["valid"],
        true
    );
    assert_eq!(
        h.get(&path).await.expect(200)["total_count"],
        0,
        "not in the list"
    );
    h.delete(&format!("{path}/{}", text(&default, "id")))
        .await
        .expect_error(422, "unprocessable");
}

#[tokio::test]
async fn bodies_are_validated_and_the_branch_must_be_ready() {
    let h = H::new().await;
    h.post(&format!("{PG}/branches"), json!({"name": "young"}))
        .await
        .expect(201);
    h.post(&format!("{PG}/branches/young/roles"), json!({}))
        .await
        .expect_error(422, "unprocessable");
    h.advance(60).await;
    let path = format!("{PG}/branches/young/roles");
    for bad in [
        json!({"inherited_roles": ["superuser"]}),
        json!({"ttl": -1}),
        json!({"require_where_on_delete": "always"}),
    ] {
        h.post(&path, bad).await.expect_error(422, "unprocessable");
    }
    let role = h
        .post(
            &path,
            json!({"require_where_on_update": "warn", "with_replication": true}),
        )
        .await
        .expect(200);
    assert_eq!(
        role["query_safety_settings"]["require_where_on_update"],
        "warn"
    );
    assert_eq!(role["with_replication"], true);
    let id = text(&role, "id");
    let updated = h
        .patch(
            &format!("{path}/{id}"),
            json!({"name": "renamed", "require_where_on_delete": "on"}),
        )
        .await
        .expect(200);
    assert_eq!(
        (
            updated["name"].as_str(),
            updated["query_safety_settings"]["require_where_on_delete"].as_str()
        ),
        (Some("renamed"), Some("on"))
    );
    h.patch(
        &format!("{path}/{id}"),
        json!({"require_where_on_update": "maybe"}),
    )
    .await
    .expect_error(422, "unprocessable");
    assert_eq!(
        h.get(&format!("{path}?q=renamed")).await.expect(200)["total_count"],
        1
    );
}

#[tokio::test]
async fn accesses_are_checked_like_passwords() {
    let h = H::new().await;
    h.ready_pg_branch("dev").await;
    let reader = h
        .token(json!([{"database": "ledger", "accesses": ["read_branch"]}]))
        .await;
    let creator = h
        .token(
            json!([{"database": "ledger", "accesses": ["create_branch_password", "read_branch"]}]),
        )
        .await;
    let dev = format!("{PG}/branches/dev/roles");
    let main = format!("{PG}/branches/main/roles");
    let create = |auth: String, path: String| {
        let h = &h;
        async move {
            h.req_as(Some(&auth), Method::POST, &path, Some(json!({})))
                .await
        }
    };
    create(reader.clone(), dev.clone())
        .await
        .expect_error(404, "not_found");
    let role = create(creator.clone(), dev.clone()).await.expect(200);
    create(creator.clone(), main.clone())
        .await
        .expect_error(404, "not_found");
    let one = format!("{dev}/{}", text(&role, "id"));
    h.req_as(Some(&reader), Method::GET, &one, None)
        .await
        .expect(200);
    h.req_as(Some(&creator), Method::DELETE, &one, None)
        .await
        .expect_error(404, "not_found");
    let producer = h
        .token(json!([{"database": "ledger", "accesses": ["create_production_branch_password"]}]))
        .await;
    create(producer, main).await.expect(200);
}
