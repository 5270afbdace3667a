//! Organizations, regions, databases and pagination.

use reqwest::Method;
use serde_json::json;

use crate::common::{DB, H};

#[tokio::test]
async fn organizations_regions_and_skus() {
    let h = H::new().await;
    let orgs = h.get("/v1/organizations").await.expect(200);
    assert_eq!(orgs["type"], "list");
    assert_eq!(orgs["data"][0]["name"], "acme");
    assert_eq!(orgs["next_page"], json!(null));
    assert!(
        orgs.get("total_count").is_none(),
        "organization lists have no totals"
    );
    let org = h.get("/v1/organizations/acme").await.expect(200);
    assert_eq!(org["id"].as_str().unwrap().len(), 12);
    h.get("/v1/organizations/nope")
        .await
        .expect_error(404, "not_found");
    let regions = h
        .req_as(None, Method::GET, "/v1/regions", None)
        .await
        .expect(200);
    assert!(
        regions["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["slug"] == "us-east")
    );
    h.get("/v1/organizations/acme/regions").await.expect(200);
    let skus = h
        .get("/v1/organizations/acme/cluster-size-skus")
        .await
        .expect(200);
    assert!(skus.is_array(), "cluster sizes are a bare array");
    h.get("/v1/user").await.expect_error(404, "not_found");
}

#[tokio::test]
async fn new_database_is_pending_and_refuses_branches_until_ready() {
    let h = H::new().await;
    let db = h
        .post(
            "/v1/organizations/acme/databases",
            json!({"name": "inventory", "cluster_size": "PS_10"}),
        )
        .await
        .expect(201);
    assert_eq!(
        (db["state"].as_str(), db["ready"].as_bool()),
        (Some("pending"), Some(false))
    );
    assert_eq!(db["default_branch"], "main");
    let path = "/v1/organizations/acme/databases/inventory/branches";
    let err = h
        .post(path, json!({"name": "dev"}))
        .await
        .expect_error(400, "bad_request");
    assert_eq!(
        err["message"],
        "Database is still initializing and cannot create branches."
    );
    h.advance(10).await;
    let db = h
        .get("/v1/organizations/acme/databases/inventory")
        .await
        .expect(200);
    assert_eq!(
        (db["state"].as_str(), db["ready"].as_bool()),
        (Some("ready"), Some(true))
    );
    h.post(path, json!({"name": "dev"})).await.expect(201);
    let list = h.get("/v1/organizations/acme/databases").await.expect(200);
    assert_eq!(list["total_count"], 3, "shop, ledger and inventory");
    let found = h
        .get("/v1/organizations/acme/databases?q=inv")
        .await
        .expect(200);
    assert_eq!(found["data"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn database_names_and_required_fields_are_validated() {
    let h = H::new().await;
    let path = "/v1/organizations/acme/databases";
    for name in ["Upper", "-dash", "a b", &"x".repeat(64)] {
        h.post(path, json!({"name": name, "cluster_size": "PS_10"}))
            .await
            .expect_error(422, "unprocessable");
    }
    h.post(path, json!({"name": "shop", "cluster_size": "PS_10"}))
        .await
        .expect_error(422, "unprocessable");
    h.post(path, json!({"name": "nosize"}))
        .await
        .expect_error(422, "unprocessable");
    h.post(
        path,
        json!({"name": "badregion", "cluster_size": "PS_10", "region": "mars"}),
    )
    .await
    .expect_error(422, "unprocessable");
    h.post(path, json!({"cluster_size": "PS_10"}))
        .await
        .expect_error(422, "invalid_params");
    let r = h.req_as(Some(&h.auth), Method::POST, path, None).await;
    assert_eq!(r.status, 422, "an empty body lacks the name: {:#}", r.body);
}

#[tokio::test]
async fn deletion_protection_blocks_database_delete() {
    let h = H::new().await;
    let db = h
        .patch(
            DB,
            json!({"deletion_protected": true, "require_approval_for_deploy": true}),
        )
        .await
        .expect(200);
    assert_eq!(db["deletion_protected"], true);
    assert_eq!(db["require_approval_for_deploy"], true);
    h.delete(DB).await.expect_error(422, "unprocessable");
    h.patch(DB, json!({"deletion_protected": false}))
        .await
        .expect(200);
    let r = h.delete(DB).await;
    assert_eq!((r.status, r.body), (204, serde_json::Value::Null));
    h.get(DB).await.expect_error(404, "not_found");
}

#[tokio::test]
async fn database_settings_validate_the_default_branch_and_rename() {
    let h = H::new().await;
    h.ready_branch("dev").await;
    h.patch(DB, json!({"default_branch": "dev"}))
        .await
        .expect_error(422, "unprocessable");
    h.patch(DB, json!({"default_branch": "ghost"}))
        .await
        .expect_error(422, "unprocessable");
    let db = h.patch(DB, json!({"new_name": "store"})).await.expect(200);
    assert_eq!(db["name"], "store");
    h.get("/v1/organizations/acme/databases/store/branches/dev")
        .await
        .expect(200);
}

#[tokio::test]
async fn pagination_stops_with_a_null_next_page() {
    let h = H::new().await;
    for name in ["a1", "a2", "a3", "a4"] {
        h.post(&format!("{DB}/branches"), json!({"name": name}))
            .await
            .expect(201);
    }
    let page1 = h
        .get(&format!("{DB}/branches?per_page=2"))
        .await
        .expect(200);
    assert_eq!(
        (page1["total_count"].as_u64(), page1["total_pages"].as_u64()),
        (Some(5), Some(3))
    );
    assert_eq!(page1["next_page"], 2);
    assert!(
        page1["next_page_url"].as_str().unwrap().starts_with(&h.url),
        "links point at the emulator"
    );
    let page3 = h
        .get(&format!("{DB}/branches?per_page=2&page=3"))
        .await
        .expect(200);
    assert_eq!(page3["data"].as_array().unwrap().len(), 1);
    assert_eq!(
        (page3["next_page"].clone(), page3["prev_page"].clone()),
        (json!(null), json!(2))
    );
    let filtered = h
        .get(&format!("{DB}/branches?per_page=3&q=a"))
        .await
        .expect(200);
    assert_eq!(filtered["total_count"], 5, "a1..a4 and main");
    let next = filtered["next_page_url"].as_str().unwrap().to_string();
    assert!(next.ends_with("?page=2&per_page=3&q=a"), "{next}");
    let page2 = h.get(next.strip_prefix(&h.url).unwrap()).await.expect(200);
    assert_eq!(page2["next_page"], json!(null));
    let capped = h
        .get(&format!("{DB}/branches?per_page=500"))
        .await
        .expect(200);
    assert_eq!(capped["per_page"], 100);
    let past = h.get(&format!("{DB}/branches?page=9")).await.expect(200);
    assert_eq!(
        (
            past["data"].as_array().unwrap().len(),
            past["next_page"].clone()
        ),
        (0, json!(null))
    );
}

#[tokio::test]
async fn database_regions_and_cascading_delete() {
    let h = H::new().await;
    let regions = h.get(&format!("{DB}/regions")).await.expect(200);
    assert!(regions["data"].as_array().unwrap().len() > 5);
    let ro = h.get(&format!("{DB}/read-only-regions")).await.expect(200);
    assert_eq!(
        (ro["data"].clone(), ro["next_page"].clone()),
        (json!([]), json!(null))
    );
    h.ready_branch("dev").await;
    h.post(&format!("{DB}/branches/dev/passwords"), json!({}))
        .await
        .expect(201);
    let scoped = h
        .token(json!([{"database": "shop", "accesses": ["read_branch"]}]))
        .await;
    assert_eq!(h.delete(DB).await.status, 204);
    let state = h.admin(Method::GET, "/state", None).await.expect(200);
    let shop_branches: Vec<&serde_json::Value> = state["branches"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["database"] == "shop")
        .collect();
    assert!(
        shop_branches.is_empty(),
        "no branch outlives its database: {shop_branches:?}"
    );
    assert!(
        state["passwords"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["deleted"] == true)
    );
    let tokens = state["service_tokens"].as_array().unwrap();
    assert!(tokens.iter().all(|t| {
        t["accesses"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["database"].is_null())
    }));
    h.req_as(Some(&scoped), Method::GET, "/v1/organizations", None)
        .await
        .expect(200);
}
