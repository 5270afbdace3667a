//! Passwords: plaintext once, usernames, roles, TTL and renewal, production rules, delete.

use reqwest::Method;
use serde_json::json;

use crate::common::{DB, H, assert_ms_timestamp};

#[tokio::test]
async fn plaintext_is_only_in_the_create_response_and_verifies() {
    let h = H::new().await;
    h.ready_branch("dev").await;
    let path = format!("{DB}/branches/dev/passwords");
    let pw = h.post(&path, json!({"name": "app"})).await.expect(201);
    let plain = pw["plain_text"].as_str().unwrap();
    let secret = plain.strip_prefix("pscale_pw_").expect("pscale_pw_ prefix");
    assert!(
        secret.len() == 43 && secret.chars().all(|c| c.is_ascii_alphanumeric()),
        "{plain}"
    );
    let (id, username) = (pw["id"].as_str().unwrap(), pw["username"].as_str().unwrap());
    assert_eq!(username.len(), 20);
    assert!(
        username
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    );
    assert_ne!(id, username);
    assert_eq!(
        (pw["role"].as_str(), pw["expires_at"].clone()),
        (Some("admin"), json!(null))
    );
    assert_eq!(pw["database_branch"]["name"], "dev");
    assert_eq!(
        h.get(&format!("{path}/{id}")).await.expect(200)["plain_text"],
        json!(null)
    );
    assert_eq!(
        h.get(&path).await.expect(200)["data"][0]["plain_text"],
        json!(null)
    );
    assert_eq!(h.verify("dev", username, plain).await["valid"], true);
    let wrong = h.verify("dev", username, "pscale_pw_wrong").await;
    assert_eq!(
        (wrong["valid"].as_bool(), wrong["reason"].as_str()),
        (Some(false), Some("wrong password"))
    );
    assert_eq!(
        h.verify("main", username, plain).await["valid"],
        false,
        "a password works only on its branch"
    );
}

#[tokio::test]
async fn roles_names_and_cidrs_are_validated() {
    let h = H::new().await;
    h.ready_branch("dev").await;
    let path = format!("{DB}/branches/dev/passwords");
    for role in ["reader", "writer", "readwriter", "admin"] {
        assert_eq!(
            h.post(&path, json!({"role": role})).await.expect(201)["role"],
            role
        );
    }
    h.post(&path, json!({"role": "root"}))
        .await
        .expect_error(422, "unprocessable");
    h.post(&path, json!({"ttl": -5}))
        .await
        .expect_error(422, "unprocessable");
    h.post(&path, json!({"cidrs": ["10.0.0.0/33"]}))
        .await
        .expect_error(422, "unprocessable");
    let pw = h
        .post(&path, json!({"cidrs": ["10.0.0.0/8"]}))
        .await
        .expect(201);
    let id = pw["id"].as_str().unwrap();
    let updated = h
        .patch(
            &format!("{path}/{id}"),
            json!({"name": "renamed", "cidrs": ["192.168.0.0/16"]}),
        )
        .await
        .expect(200);
    assert_eq!(
        (updated["name"].as_str(), updated["cidrs"][0].as_str()),
        (Some("renamed"), Some("192.168.0.0/16"))
    );
    let list = h.get(&format!("{path}?q=renamed")).await.expect(200);
    assert_eq!(list["total_count"], 1);
}

#[tokio::test]
async fn ttl_expiry_and_renewal() {
    let h = H::new().await;
    h.ready_branch("dev").await;
    let path = format!("{DB}/branches/dev/passwords");
    let pw = h.post(&path, json!({"ttl": 3600})).await.expect(201);
    let (id, user, plain) = (
        pw["id"].as_str().unwrap(),
        pw["username"].as_str().unwrap(),
        pw["plain_text"].as_str().unwrap(),
    );
    assert_eq!(
        (
            pw["ttl_seconds"].as_i64(),
            pw["renewable"].as_bool(),
            pw["expired"].as_bool()
        ),
        (Some(3600), Some(true), Some(false))
    );
    assert_ms_timestamp(&pw["created_at"]);
    assert_ms_timestamp(&pw["expires_at"]);
    let created = chrono::DateTime::parse_from_rfc3339(pw["created_at"].as_str().unwrap()).unwrap();
    let expires = chrono::DateTime::parse_from_rfc3339(pw["expires_at"].as_str().unwrap()).unwrap();
    assert_eq!((expires - created).num_seconds(), 3600);
    h.advance(1800).await;
    let renewed = h
        .post(&format!("{path}/{id}/renew"), json!({}))
        .await
        .expect(200);
    assert_eq!(
        (renewed["id"].as_str(), renewed["plain_text"].clone()),
        (Some(id), json!(null))
    );
    let new_expiry =
        chrono::DateTime::parse_from_rfc3339(renewed["expires_at"].as_str().unwrap()).unwrap();
    assert_eq!(
        (new_expiry - expires).num_seconds(),
        1800,
        "renewal extends to now + ttl"
    );
    h.advance(3601).await;
    let got = h.get(&format!("{path}/{id}")).await.expect(200);
    assert_eq!(
        (got["expired"].as_bool(), got["renewable"].as_bool()),
        (Some(true), Some(false))
    );
    assert_eq!(
        h.verify("dev", user, plain).await["reason"],
        "password expired"
    );
    h.post(&format!("{path}/{id}/renew"), json!({}))
        .await
        .expect_error(422, "unprocessable");
    assert_eq!(
        h.get(&format!("{path}?status=expired")).await.expect(200)["total_count"],
        1
    );
    assert_eq!(
        h.get(&format!("{path}?status=active")).await.expect(200)["total_count"],
        0
    );
}

#[tokio::test]
async fn passwords_without_ttl_cannot_be_renewed() {
    let h = H::new().await;
    h.ready_branch("dev").await;
    let path = format!("{DB}/branches/dev/passwords");
    let pw = h.post(&path, json!({"ttl": 0})).await.expect(201);
    assert_eq!(
        (pw["ttl_seconds"].clone(), pw["renewable"].as_bool()),
        (json!(null), Some(false))
    );
    h.post(
        &format!("{path}/{}/renew", pw["id"].as_str().unwrap()),
        json!({}),
    )
    .await
    .expect_error(422, "unprocessable");
}

#[tokio::test]
async fn production_branches_need_connect_production_branch() {
    let h = H::new().await;
    h.ready_branch("dev").await;
    let dev_only = h.token(json!([{"database": "shop", "accesses": ["connect_branch", "read_branch", "delete_branch_password"]}])).await;
    let prod = h.token(json!([{"database": "shop", "accesses": ["connect_production_branch", "delete_production_branch_password"]}])).await;
    let main = format!("{DB}/branches/main/passwords");
    let r = h
        .req_as(Some(&dev_only), Method::POST, &main, Some(json!({})))
        .await;
    r.expect_error(404, "not_found");
    let r = h
        .req_as(
            Some(&dev_only),
            Method::POST,
            &format!("{DB}/branches/dev/passwords"),
            Some(json!({})),
        )
        .await;
    r.expect(201);
    let pw = h
        .req_as(
            Some(&prod),
            Method::POST,
            &main,
            Some(json!({"role": "reader"})),
        )
        .await
        .expect(201);
    assert_eq!(pw["database_branch"]["production"], true);
    let del = format!("{main}/{}", pw["id"].as_str().unwrap());
    h.req_as(Some(&dev_only), Method::DELETE, &del, None)
        .await
        .expect_error(404, "not_found");
    assert_eq!(
        h.req_as(Some(&prod), Method::DELETE, &del, None)
            .await
            .status,
        204
    );
}

#[tokio::test]
async fn deleted_passwords_stop_working_and_are_listed_as_deleted() {
    let h = H::new().await;
    h.ready_branch("dev").await;
    let path = format!("{DB}/branches/dev/passwords");
    let pw = h.post(&path, json!({})).await.expect(201);
    let id = pw["id"].as_str().unwrap();
    let r = h.delete(&format!("{path}/{id}")).await;
    assert_eq!((r.status, r.body), (204, serde_json::Value::Null));
    h.get(&format!("{path}/{id}"))
        .await
        .expect_error(404, "not_found");
    h.delete(&format!("{path}/{id}"))
        .await
        .expect_error(404, "not_found");
    let v = h
        .verify(
            "dev",
            pw["username"].as_str().unwrap(),
            pw["plain_text"].as_str().unwrap(),
        )
        .await;
    assert_eq!(v["reason"], "password deleted");
    let state = h.admin(Method::GET, "/state", None).await.expect(200);
    let entry = state["passwords"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == id)
        .unwrap()
        .clone();
    assert_eq!(entry["deleted"], true);
    assert!(
        !state.to_string().contains("pscale_pw_"),
        "the admin state never holds plaintext"
    );
}

#[tokio::test]
async fn passwords_on_a_pending_branch_are_refused() {
    let h = H::new().await;
    h.post(&format!("{DB}/branches"), json!({"name": "young"}))
        .await
        .expect(201);
    h.post(&format!("{DB}/branches/young/passwords"), json!({}))
        .await
        .expect_error(422, "unprocessable");
}

#[tokio::test]
async fn deleting_a_branch_deletes_its_passwords() {
    let h = H::new().await;
    h.ready_branch("dev").await;
    let pw = h
        .post(&format!("{DB}/branches/dev/passwords"), json!({}))
        .await
        .expect(201);
    h.delete(&format!("{DB}/branches/dev")).await.expect(204);
    let state = h.admin(Method::GET, "/state", None).await.expect(200);
    let entry = state["passwords"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == pw["id"])
        .unwrap()
        .clone();
    assert_eq!(entry["deleted"], true, "no orphaned live password: {entry}");
}

#[tokio::test]
async fn the_database_list_pages_through_the_passwords_of_every_branch() {
    let h = H::new().await;
    h.ready_branch("dev").await;
    let mut ids = Vec::new();
    for (branch, n) in [("main", 3), ("dev", 2)] {
        let path = format!("{DB}/branches/{branch}/passwords");
        for i in 0..n {
            let pw = h
                .post(&path, json!({"name": format!("{branch}-{i}")}))
                .await
                .expect(201);
            ids.push((pw["id"].as_str().unwrap().to_string(), branch));
        }
    }
    let gone = ids.pop().unwrap();
    h.delete(&format!("{DB}/branches/dev/passwords/{}", gone.0))
        .await
        .expect(204);

    let first = h
        .get(&format!("{DB}/passwords?per_page=3"))
        .await
        .expect(200);
    assert_eq!(
        (first["next_page"].clone(), first["total_count"].clone()),
        (json!(2), json!(4))
    );
    let second = h
        .get(&format!("{DB}/passwords?per_page=3&page=2"))
        .await
        .expect(200);
    assert_eq!(second["next_page"], json!(null));
    let listed: Vec<(String, String)> = [first, second]
        .iter()
        .flat_map(|page| page["data"].as_array().unwrap().clone())
        .map(|p| {
            assert_eq!(p["plain_text"], json!(null));
            let branch = p["database_branch"]["name"].as_str().unwrap().to_string();
            (p["id"].as_str().unwrap().to_string(), branch)
        })
        .collect();
    let want: Vec<(String, String)> = ids
        .iter()
        .map(|(id, b)| (id.clone(), b.to_string()))
        .collect();
    assert_eq!(
        listed, want,
        "every live password of the database, with its branch"
    );

    let named = h.get(&format!("{DB}/passwords?q=dev-")).await.expect(200);
    assert_eq!(named["data"].as_array().unwrap().len(), 1);
    h.get("/v1/organizations/acme/databases/nope/passwords")
        .await
        .expect_error(404, "not_found");
    let ops = h.admin(Method::GET, "/operations", None).await.expect(200);
    let op = ops["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == "list_database_passwords")
        .expect("listed");
    assert_eq!(op["in_spec"], json!(false));
}

#[tokio::test]
async fn the_database_list_needs_the_same_access_as_the_branch_list() {
    let h = H::new().await;
    let body = json!({"name": "other", "cluster_size": "PS_10"});
    h.post("/v1/organizations/acme/databases", body)
        .await
        .expect(201);
    let other = h
        .token(json!([{"database": "other", "accesses": ["read_branch"]}]))
        .await;
    h.req_as(Some(&other), Method::GET, &format!("{DB}/passwords"), None)
        .await
        .expect_error(404, "not_found");
    let reader = h
        .token(json!([{"database": "shop", "accesses": ["read_branch"]}]))
        .await;
    h.req_as(Some(&reader), Method::GET, &format!("{DB}/passwords"), None)
        .await
        .expect(200);
}
