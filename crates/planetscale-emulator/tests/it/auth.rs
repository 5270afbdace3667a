//! Credentials: service token header, accesses (404 when missing), service-token API,
//! Bearer token failures with OAuth-style bodies.

use reqwest::Method;
use serde_json::json;

use crate::common::{DB, H};

#[tokio::test]
async fn missing_malformed_and_unknown_credentials_are_401() {
    let h = H::new().await;
    h.req_as(None, Method::GET, "/v1/organizations", None)
        .await
        .expect_error(401, "unauthorized");
    h.req_as(Some("garbage"), Method::GET, "/v1/organizations", None)
        .await
        .expect_error(401, "unauthorized");
    h.req_as(Some("abcdefabcdef:pscale_tkn_nope"), Method::GET, DB, None)
        .await
        .expect_error(401, "unauthorized");
    let wrong_secret = format!("{}:wrong", h.emu.default_token().unwrap().id);
    h.req_as(Some(&wrong_secret), Method::GET, DB, None)
        .await
        .expect_error(401, "unauthorized");
    let r = h
        .req_as(Some("Bearer pscale_oauth_unknown"), Method::GET, DB, None)
        .await;
    assert_eq!(
        (r.status, r.body["error"].as_str()),
        (401, Some("invalid_token")),
        "{:#}",
        r.body
    );
    assert!(r.body["error_description"].is_string());
    h.get("/v1/organizations/acme/nothing-here")
        .await
        .expect_error(404, "not_found");
    h.put("/v1/organizations/acme", json!({}))
        .await
        .expect_error(404, "not_found");
}

#[tokio::test]
async fn missing_accesses_look_like_missing_resources() {
    let h = H::new().await;
    h.post(
        "/v1/organizations/acme/databases",
        json!({"name": "other", "cluster_size": "PS_10"}),
    )
    .await
    .expect(201);
    let reader = h
        .token(json!([{"database": "other", "accesses": ["read_branch"]}]))
        .await;
    let get = |path: String| {
        let reader = reader.clone();
        let h = &h;
        async move { h.req_as(Some(&reader), Method::GET, &path, None).await }
    };
    get(format!("{DB}/branches"))
        .await
        .expect_error(404, "not_found");
    get("/v1/organizations/acme/databases/other/branches".into())
        .await
        .expect(200);
    let list = get("/v1/organizations/acme/databases".into())
        .await
        .expect(200);
    assert_eq!(
        list["data"].as_array().unwrap().len(),
        1,
        "only databases the token can access are listed"
    );
    let orgs = get("/v1/organizations".into()).await.expect(200);
    assert_eq!(orgs["data"].as_array().unwrap().len(), 1);
    let r = h
        .req_as(
            Some(&reader),
            Method::POST,
            "/v1/organizations/acme/databases/other/branches",
            Some(json!({"name": "x"})),
        )
        .await;
    r.expect_error(404, "not_found");
    let nothing = h.token(json!([])).await;
    let orgs = h
        .req_as(Some(&nothing), Method::GET, "/v1/organizations", None)
        .await
        .expect(200);
    assert_eq!(orgs["data"], json!([]), "a new token reaches nothing");
    h.req_as(Some(&nothing), Method::GET, "/v1/organizations/acme", None)
        .await
        .expect_error(404, "not_found");
}

#[tokio::test]
async fn creating_a_database_grants_the_creator_full_access() {
    let h = H::new().await;
    let creator = h.token(json!([{"accesses": ["create_databases"]}])).await;
    let path = "/v1/organizations/acme/databases";
    h.req_as(
        Some(&creator),
        Method::POST,
        path,
        Some(json!({"name": "mine", "cluster_size": "PS_10"})),
    )
    .await
    .expect(201);
    h.req_as(Some(&creator), Method::GET, &format!("{path}/mine"), None)
        .await
        .expect(200);
    h.req_as(Some(&creator), Method::GET, DB, None)
        .await
        .expect_error(404, "not_found");
}

#[tokio::test]
async fn service_token_api_shows_the_secret_once() {
    let h = H::new().await;
    let base = "/v1/organizations/acme/service-tokens";
    let created = h.post(base, json!({"name": "ci"})).await.expect(200);
    let (id, secret) = (
        created["id"].as_str().unwrap(),
        created["token"].as_str().unwrap(),
    );
    assert!(secret.starts_with("pscale_tkn_"));
    assert_eq!(created["service_token_accesses"], json!([]));
    let auth = format!("{id}:{secret}");
    h.req_as(Some(&auth), Method::GET, DB, None)
        .await
        .expect_error(404, "not_found");
    let added = h
        .post(
            &format!("{base}/{id}/access"),
            json!({"database": "shop", "access": ["read_database", "read_branch"]}),
        )
        .await
        .expect(200);
    assert_eq!(added["data"].as_array().unwrap().len(), 2);
    h.post(&format!("{base}/{id}/access"), json!({"access": ["fly"]}))
        .await
        .expect_error(422, "unprocessable");
    h.req_as(Some(&auth), Method::GET, DB, None)
        .await
        .expect(200);
    let listed = h.get(base).await.expect(200);
    assert!(
        listed["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["token"].is_null())
    );
    let one = h.get(&format!("{base}/{id}")).await.expect(200);
    assert_eq!(
        (
            one["token"].clone(),
            one["service_token_accesses"].as_array().unwrap().len()
        ),
        (json!(null), 2)
    );
    let grants = h.get(&format!("{base}/{id}/grants")).await.expect(200);
    assert_eq!(grants["data"][0]["resource_name"], "shop");
    let r = h
        .req_as(
            Some(&h.auth),
            Method::DELETE,
            &format!("{base}/{id}/access"),
            Some(json!({"database": "shop", "access": ["read_database"]})),
        )
        .await;
    assert_eq!(r.status, 204);
    assert_eq!(
        h.get(&format!("{base}/{id}/access")).await.expect(200)["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(h.delete(&format!("{base}/{id}")).await.status, 204);
    h.req_as(Some(&auth), Method::GET, DB, None)
        .await
        .expect_error(401, "unauthorized");
}

#[tokio::test]
async fn expiring_service_tokens_stop_working() {
    let h = H::new().await;
    let created = h
        .post("/v1/organizations/acme/service-tokens", json!({"ttl": 60}))
        .await
        .expect(200);
    assert!(created["expires_at"].is_string());
    let auth = format!(
        "{}:{}",
        created["id"].as_str().unwrap(),
        created["token"].as_str().unwrap()
    );
    h.req_as(Some(&auth), Method::GET, "/v1/organizations", None)
        .await
        .expect(200);
    h.advance(61).await;
    h.req_as(Some(&auth), Method::GET, "/v1/organizations", None)
        .await
        .expect_error(401, "unauthorized");
}

#[tokio::test]
async fn expired_and_revoked_oauth_tokens_get_oauth_style_401s() {
    let h = H::new().await;
    let minted = h
        .admin(
            Method::POST,
            "/oauth-tokens",
            Some(json!({"lifetime": "30s"})),
        )
        .await
        .expect(201);
    let bearer = format!("Bearer {}", minted["access_token"].as_str().unwrap());
    h.req_as(Some(&bearer), Method::GET, DB, None)
        .await
        .expect(200);
    let user = h
        .req_as(Some(&bearer), Method::GET, "/v1/user", None)
        .await
        .expect(200);
    assert_eq!(user["default_organization"]["name"], "acme");
    h.advance(31).await;
    let r = h.req_as(Some(&bearer), Method::GET, DB, None).await;
    assert_eq!(
        (r.status, r.body["error"].as_str()),
        (401, Some("invalid_token"))
    );
    let narrow = h
        .admin(
            Method::POST,
            "/oauth-tokens",
            Some(json!({"scopes": ["read_databases"]})),
        )
        .await
        .expect(201);
    let narrow = format!("Bearer {}", narrow["access_token"].as_str().unwrap());
    h.req_as(Some(&narrow), Method::GET, DB, None)
        .await
        .expect(200);
    let create = h
        .req_as(
            Some(&narrow),
            Method::POST,
            &format!("{DB}/branches"),
            Some(json!({"name": "x"})),
        )
        .await;
    create.expect_error(404, "not_found");
    h.req_as(
        Some(&narrow),
        Method::GET,
        "/v1/organizations/acme/service-tokens",
        None,
    )
    .await
    .expect_error(404, "not_found");
}

#[tokio::test]
async fn organization_updates_are_oauth_only() {
    let h = H::new().await;
    let body = json!({"billing_email": "finance@acme.example.com"});
    h.patch("/v1/organizations/acme", body.clone())
        .await
        .expect_error(404, "not_found");
    let minted = h
        .admin(Method::POST, "/oauth-tokens", Some(json!({})))
        .await
        .expect(201);
    let bearer = format!("Bearer {}", minted["access_token"].as_str().unwrap());
    let org = h
        .req_as(
            Some(&bearer),
            Method::PATCH,
            "/v1/organizations/acme",
            Some(body),
        )
        .await
        .expect(200);
    assert_eq!(org["billing_email"], "finance@acme.example.com");
    let stats = h.admin(Method::GET, "/stats", None).await.expect(200);
    assert_eq!(
        stats["operations"]["update_organization"]["by_status"],
        json!({"200": 1, "404": 1})
    );
}
