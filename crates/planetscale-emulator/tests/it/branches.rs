//! Branches: readiness, naming, parents, deletion rules, promote/demote, safe migrations,
//! limits, schema and lint, backups and data branching.

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{DB, H, assert_ms_timestamp, table};

fn names(list: &Value) -> Vec<String> {
    list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["name"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn branch_goes_pending_to_ready_with_the_parent_schema() {
    let h = H::new().await;
    let b = h
        .post(&format!("{DB}/branches"), json!({"name": "feature-1"}))
        .await
        .expect(201);
    assert_eq!(
        (
            b["state"].as_str(),
            b["ready"].as_bool(),
            b["production"].as_bool()
        ),
        (Some("pending"), Some(false), Some(false))
    );
    assert_eq!(
        (b["parent_branch"].as_str(), b["type"].as_str()),
        (Some("main"), Some("Branch"))
    );
    assert_ms_timestamp(&b["created_at"]);
    assert_ms_timestamp(&b["updated_at"]);
    h.advance(4).await;
    assert_eq!(
        h.get(&format!("{DB}/branches/feature-1")).await.expect(200)["state"],
        "pending"
    );
    h.advance(2).await;
    assert_eq!(
        h.get(&format!("{DB}/branches/feature-1")).await.expect(200)["ready"],
        true
    );
    let schema = h
        .get(&format!("{DB}/branches/feature-1/schema"))
        .await
        .expect(200);
    let tables: Vec<&str> = schema["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(tables, ["customers", "orders"]);
    assert!(
        schema["data"][0]["raw"]
            .as_str()
            .unwrap()
            .starts_with("CREATE TABLE `customers`")
    );
}

#[tokio::test]
async fn branch_names_duplicates_and_parents_are_checked() {
    let h = H::new().await;
    let path = format!("{DB}/branches");
    for bad in ["Feature", "_x", "has space", &"b".repeat(64)] {
        h.post(&path, json!({"name": bad}))
            .await
            .expect_error(422, "unprocessable");
    }
    h.post(&path, json!({"name": "main"}))
        .await
        .expect_error(422, "unprocessable");
    h.post(&path, json!({"name": "x", "parent_branch": "ghost"}))
        .await
        .expect_error(404, "not_found");
    h.post(&path, json!({"name": "child-of-pending"}))
        .await
        .expect(201);
    let err = h
        .post(
            &path,
            json!({"name": "grandchild", "parent_branch": "child-of-pending"}),
        )
        .await;
    err.expect_error(422, "unprocessable");
    h.post(&path, json!({"name": "far", "region": "eu-west"}))
        .await
        .expect(201);
    h.post(&path, json!({"name": "nowhere", "region": "mars"}))
        .await
        .expect_error(422, "unprocessable");
    h.patch(DB, json!({"restrict_branch_region": true}))
        .await
        .expect(200);
    h.post(&path, json!({"name": "far2", "region": "eu-west"}))
        .await
        .expect_error(422, "unprocessable");
    let list = h
        .get(&format!("{path}?production=false&order=desc"))
        .await
        .expect(200);
    assert_eq!(names(&list), ["far", "child-of-pending"]);
}

#[tokio::test]
async fn default_and_protected_branches_cannot_be_deleted() {
    let h = H::new().await;
    h.delete(&format!("{DB}/branches/main"))
        .await
        .expect_error(422, "unprocessable");
    h.post(
        &format!("{DB}/branches"),
        json!({"name": "keep", "deletion_protected": true}),
    )
    .await
    .expect(201);
    h.delete(&format!("{DB}/branches/keep"))
        .await
        .expect_error(422, "unprocessable");
    let b = h
        .patch(
            &format!("{DB}/branches/keep"),
            json!({"deletion_protected": false}),
        )
        .await
        .expect(200);
    assert_eq!(b["deletion_protected"], false);
    assert_eq!(h.delete(&format!("{DB}/branches/keep")).await.status, 204);
    h.get(&format!("{DB}/branches/keep"))
        .await
        .expect_error(404, "not_found");
    h.delete(&format!("{DB}/branches/keep"))
        .await
        .expect_error(404, "not_found");
}

#[tokio::test]
async fn delete_descendants_removes_the_subtree() {
    let h = H::new().await;
    h.ready_branch("parent").await;
    h.post(
        &format!("{DB}/branches"),
        json!({"name": "child", "parent_branch": "parent"}),
    )
    .await
    .expect(201);
    h.advance(10).await;
    h.post(
        &format!("{DB}/branches"),
        json!({"name": "grandchild", "parent_branch": "child"}),
    )
    .await
    .expect(201);
    assert_eq!(
        h.delete(&format!("{DB}/branches/parent?delete_descendants=true"))
            .await
            .status,
        204
    );
    assert_eq!(
        names(&h.get(&format!("{DB}/branches")).await.expect(200)),
        ["main"]
    );
}

#[tokio::test]
async fn promote_demote_and_safe_migrations() {
    let h = H::new().await;
    let br = format!("{DB}/branches/staging");
    h.post(&format!("{DB}/branches"), json!({"name": "staging"}))
        .await
        .expect(201);
    h.post(&format!("{br}/promote"), json!({}))
        .await
        .expect_error(422, "unprocessable");
    h.advance(10).await;
    h.post(&format!("{br}/safe-migrations"), json!({}))
        .await
        .expect_error(422, "unprocessable");
    let b = h
        .post(&format!("{br}/promote"), json!({}))
        .await
        .expect(200);
    assert_eq!(
        (b["production"].as_bool(), b["cluster_name"].as_str()),
        (Some(true), Some("PS_10"))
    );
    h.post(&format!("{br}/promote"), json!({}))
        .await
        .expect_error(422, "unprocessable");
    assert_eq!(
        h.post(&format!("{br}/safe-migrations"), json!({}))
            .await
            .expect(200)["safe_migrations"],
        true
    );
    assert_eq!(
        h.put(
            &format!("{br}/safe-migrations"),
            json!({"safe_migrations": false})
        )
        .await
        .expect(200)["safe_migrations"],
        false
    );
    h.put(&format!("{br}/safe-migrations"), json!({}))
        .await
        .expect_error(422, "invalid_params");
    assert_eq!(
        h.delete(&format!("{br}/safe-migrations")).await.expect(200)["safe_migrations"],
        false
    );
    h.delete(&br).await.expect(204);
    h.post(&format!("{DB}/branches/main/demote"), json!({}))
        .await
        .expect_error(422, "unprocessable");
}

#[tokio::test]
async fn demote_turns_a_production_branch_back_into_development() {
    let h = H::new().await;
    h.ready_branch("staging").await;
    h.post(&format!("{DB}/branches/staging/promote"), json!({}))
        .await
        .expect(200);
    let b = h
        .post(&format!("{DB}/branches/staging/demote"), json!({}))
        .await
        .expect(200);
    assert_eq!(
        (b["production"].as_bool(), b["safe_migrations"].as_bool()),
        (Some(false), Some(false))
    );
    h.post(&format!("{DB}/branches/staging/demote"), json!({}))
        .await
        .expect_error(422, "unprocessable");
}

#[tokio::test]
async fn development_branch_limit_is_enforced() {
    let h = H::new().await;
    h.admin(
        Method::PATCH,
        "/settings",
        Some(json!({"development_branch_limit": 2})),
    )
    .await
    .expect(200);
    for name in ["d1", "d2"] {
        h.post(&format!("{DB}/branches"), json!({"name": name}))
            .await
            .expect(201);
    }
    h.post(&format!("{DB}/branches"), json!({"name": "d3"}))
        .await
        .expect_error(422, "unprocessable");
    assert_eq!(
        h.get(DB).await.expect(200)["at_development_branch_usage_limit"],
        true
    );
}

#[tokio::test]
async fn schema_changes_and_lint() {
    let h = H::new().await;
    h.ready_branch("dev").await;
    let lint = h
        .get(&format!("{DB}/branches/dev/schema/lint"))
        .await
        .expect(200);
    assert_eq!(lint["data"], json!([]));
    let r = h
        .set_schema(
            "dev",
            &[
                "CREATE TABLE `logs` (`msg` text) ENGINE=MyISAM",
                &table("users", ""),
            ],
        )
        .await;
    assert!(r.expect(200)["schema_last_updated_at"].is_string());
    let lint = h
        .get(&format!("{DB}/branches/dev/schema/lint"))
        .await
        .expect(200);
    let codes: Vec<&str> = lint["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["lint_error"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["NO_PRIMARY_KEY", "INVALID_ENGINE"]);
    assert_eq!(lint["data"][0]["table_name"], "logs");
    let path = "/organizations/acme/databases/shop/branches/main/schema";
    let r = h
        .admin(Method::PUT, path, Some(json!({"tables": [table("x", "")]})))
        .await;
    r.expect_error(409, "direct_ddl_disabled");
    let r = h
        .admin(Method::PUT, path, Some(json!({"tables": ["DROP TABLE x"]})))
        .await;
    r.expect_error(422, "invalid_params");
}

#[tokio::test]
async fn renaming_a_branch_keeps_its_passwords() {
    let h = H::new().await;
    h.ready_branch("dev").await;
    let pw = h
        .post(
            &format!("{DB}/branches/dev/passwords"),
            json!({"role": "reader"}),
        )
        .await
        .expect(201);
    let b = h
        .patch(
            &format!("{DB}/branches/dev"),
            json!({"new_name": "renamed"}),
        )
        .await
        .expect(200);
    assert_eq!(b["name"], "renamed");
    h.patch(
        &format!("{DB}/branches/renamed"),
        json!({"new_name": "main"}),
    )
    .await
    .expect_error(422, "unprocessable");
    let ok = h
        .verify(
            "renamed",
            pw["username"].as_str().unwrap(),
            pw["plain_text"].as_str().unwrap(),
        )
        .await;
    assert_eq!(ok["valid"], true);
}
