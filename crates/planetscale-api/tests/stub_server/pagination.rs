use std::collections::HashMap;

use axum::Json;
use axum::Router;
use axum::extract::Query;
use axum::routing::get;
use futures::{StreamExt, TryStreamExt};
use planetscale_api::models::ListBranches;
use serde_json::{Value, json};

use crate::support::{branch_json, builder, start};

/// Five branches served two per page: pages 1, 2, 3, then `next_page: null`.
async fn branches(Query(query): Query<HashMap<String, String>>) -> Json<Value> {
    let page: usize = query.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
    let per_page: usize = query
        .get("per_page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(25);
    let names: Vec<String> = (1..=5).map(|i| format!("b{i}")).collect();
    let chunk: Vec<Value> = names
        .iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .map(|n| branch_json(n))
        .collect();
    let next = (page * per_page < names.len()).then_some(page + 1);
    Json(
        json!({"type": "list", "current_page": page, "next_page": next, "prev_page": null,
                "total_count": 5, "data": chunk}),
    )
}

fn router() -> Router {
    Router::new().route(
        "/v1/organizations/{org}/databases/{db}/branches",
        get(branches),
    )
}

#[tokio::test]
async fn stream_follows_next_page_until_null() {
    let stub = start(router()).await;
    let client = builder(&stub).page_size(2).build().unwrap();
    let names: Vec<String> = client
        .list_branches("acme", "shop", &ListBranches::default())
        .map_ok(|b| b.name)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(names, ["b1", "b2", "b3", "b4", "b5"]);
    let queries: Vec<String> = stub.log.all().into_iter().map(|s| s.query).collect();
    assert_eq!(
        queries,
        [
            "page=1&per_page=2",
            "page=2&per_page=2",
            "page=3&per_page=2"
        ]
    );
}

#[tokio::test]
async fn all_collects_and_filters_reach_the_server() {
    let stub = start(router()).await;
    let client = builder(&stub).build().unwrap();
    let filters = ListBranches {
        production: Some(false),
        ..ListBranches::default()
    };
    let all = client
        .list_branches_all("acme", "shop", &filters)
        .await
        .unwrap();
    assert_eq!(all.len(), 5);
    let seen = stub.log.all();
    assert_eq!(seen.len(), 1, "one page of 100 holds everything: {seen:?}");
    assert_eq!(seen[0].query, "production=false&page=1&per_page=100");
}

#[tokio::test]
async fn stream_is_lazy() {
    let stub = start(router()).await;
    let client = builder(&stub).page_size(2).build().unwrap();
    let first: Vec<_> = client
        .list_branches("acme", "shop", &ListBranches::default())
        .take(2)
        .collect()
        .await;
    assert_eq!(first.len(), 2);
    assert_eq!(stub.log.all().len(), 1, "only the first page was fetched");
}

#[tokio::test]
async fn a_next_page_that_does_not_advance_stops_the_stream() {
    let looping = Router::new().route(
        "/v1/organizations",
        get(|| async { Json(json!({"data": [{"id": "o1", "name": "acme"}], "next_page": 1})) }),
    );
    let stub = start(looping).await;
    let client = builder(&stub).build().unwrap();
    let orgs = client.list_organizations_all().await.unwrap();
    assert_eq!(orgs.len(), 1);
    assert_eq!(stub.log.all().len(), 1);
}

#[tokio::test]
async fn database_passwords_are_listed_a_hundred_per_page_with_their_branch() {
    let page = |Query(query): Query<HashMap<String, String>>| async move {
        let page: u32 = query.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
        let data: Vec<Value> = (0..2)
            .map(|i| json!({"id": format!("p{page}{i}"), "name": "x", "database_branch": {"id": "b", "name": format!("dev{i}")}}))
            .collect();
        let next = (page < 2).then_some(page + 1);
        Json(json!({"data": data, "next_page": next}))
    };
    let stub = start(Router::new().route(
        "/v1/organizations/{org}/databases/{db}/passwords",
        get(page),
    ))
    .await;
    let client = builder(&stub).build().unwrap();
    let all = client
        .list_database_passwords_all("acme", "shop", &Default::default())
        .await
        .unwrap();
    let seen: Vec<(String, String)> = all
        .iter()
        .map(|p| (p.id.clone(), p.database_branch.clone().unwrap().name))
        .collect();
    assert_eq!(
        seen,
        [
            ("p10", "dev0"),
            ("p11", "dev1"),
            ("p20", "dev0"),
            ("p21", "dev1")
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    let requests: Vec<(String, String)> = stub
        .log
        .all()
        .into_iter()
        .map(|s| (s.path, s.query))
        .collect();
    let path = "/v1/organizations/acme/databases/shop/passwords".to_string();
    assert_eq!(
        requests,
        [
            (path.clone(), "page=1&per_page=100".to_string()),
            (path, "page=2&per_page=100".to_string())
        ]
    );
}
