//! OAuth server: authorization code flow, rotating refresh tokens, revoke, token info.

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{DB, H};

const CLIENT: &str = planetscale_emulator::config::DEFAULT_CLIENT_ID;
const SECRET: &str = planetscale_emulator::config::DEFAULT_CLIENT_SECRET;

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn authorize(h: &H, redirect: &str, state: &str) -> reqwest::Response {
    let url = format!(
        "{}/oauth/authorize?client_id={CLIENT}&redirect_uri={redirect}&state={state}",
        h.url
    );
    no_redirects().get(url).send().await.unwrap()
}

async fn code_for(h: &H, redirect: &str) -> String {
    let r = authorize(h, redirect, "xyz%20123").await;
    assert_eq!(r.status(), 302, "authorize redirects");
    let location = r.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with(redirect), "{location}");
    assert!(
        location.ends_with("&state=xyz%20123"),
        "state comes back: {location}"
    );
    location
        .split("code=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_string()
}

async fn token(h: &H, form: &[(&str, &str)]) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(format!("{}/oauth/token", h.url))
        .form(form)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test]
async fn authorization_code_flow_and_refresh_rotation() {
    let h = H::new().await;
    let redirect = "http://127.0.0.1:53682/callback";
    let code = code_for(&h, redirect).await;
    let grant = [
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", redirect),
        ("client_id", CLIENT),
        ("client_secret", SECRET),
    ];
    let (status, tokens) = token(&h, &grant).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(
        (tokens["token_type"].as_str(), tokens["expires_in"].as_i64()),
        (Some("Bearer"), Some(2_592_000))
    );
    let access = tokens["access_token"].as_str().unwrap();
    assert!(
        access.starts_with("pscale_oauth_")
            && tokens["refresh_token"]
                .as_str()
                .unwrap()
                .starts_with("pscale_oauth_refresh_")
    );
    assert!(tokens["scope"].as_str().unwrap().contains("read_databases"));
    h.req_as(Some(&format!("Bearer {access}")), Method::GET, DB, None)
        .await
        .expect(200);
    let (status, again) = token(&h, &grant).await;
    assert_eq!(
        (status, again["error"].as_str()),
        (400, Some("invalid_grant")),
        "codes are single-use"
    );
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let refresh_grant = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh),
        ("client_id", CLIENT),
        ("client_secret", SECRET),
    ];
    let (status, rotated) = token(&h, &refresh_grant).await;
    assert_eq!(status, 200, "{rotated}");
    assert_ne!(rotated["refresh_token"], tokens["refresh_token"]);
    let (status, reused) = token(&h, &refresh_grant).await;
    assert_eq!(
        (status, reused["error"].as_str()),
        (400, Some("invalid_grant")),
        "the old refresh token is spent"
    );
}

#[tokio::test]
async fn client_and_grant_errors() {
    let h = H::new().await;
    let (status, body) = token(
        &h,
        &[
            ("grant_type", "authorization_code"),
            ("code", "x"),
            ("client_id", CLIENT),
            ("client_secret", "bad"),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    let (status, body) = token(
        &h,
        &[
            ("grant_type", "password"),
            ("client_id", CLIENT),
            ("client_secret", SECRET),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unsupported_grant_type"))
    );
    let (status, body) = token(
        &h,
        &[
            ("grant_type", "authorization_code"),
            ("code", "nope"),
            ("client_id", CLIENT),
            ("client_secret", SECRET),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let r = authorize(&h, "https://evil.example.com/cb", "s").await;
    assert_eq!(r.status(), 400);
    let r = no_redirects()
        .get(format!("{}/oauth/authorize?client_id=unknown", h.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let code = code_for(&h, "http://localhost:9999/callback").await;
    let (status, _) = token(
        &h,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "http://localhost:1/other"),
            ("client_id", CLIENT),
            ("client_secret", SECRET),
        ],
    )
    .await;
    assert_eq!(
        status, 400,
        "redirect_uri must match the authorization request"
    );
}

#[tokio::test]
async fn authorization_codes_expire() {
    let h = H::new().await;
    let redirect = "http://127.0.0.1:8000/callback";
    let code = code_for(&h, redirect).await;
    h.advance(601).await;
    let (status, body) = token(
        &h,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("client_id", CLIENT),
            ("client_secret", SECRET),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

#[tokio::test]
async fn revoke_and_token_info() {
    let h = H::new().await;
    let minted = h
        .admin(Method::POST, "/oauth-tokens", Some(json!({})))
        .await
        .expect(201);
    let (access, refresh) = (
        minted["access_token"].as_str().unwrap(),
        minted["refresh_token"].as_str().unwrap(),
    );
    let info = |tok: String| {
        let url = format!("{}/oauth/token/info", h.url);
        async move {
            reqwest::Client::new()
                .get(url)
                .bearer_auth(tok)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let i = info(access.to_string()).await;
    assert_eq!(
        (
            i["active"].as_bool(),
            i["client_id"].as_str(),
            i["token_type"].as_str()
        ),
        (Some(true), Some(CLIENT), Some("Bearer"))
    );
    assert!(i["exp"].as_i64().unwrap() > i["iat"].as_i64().unwrap());
    let r = reqwest::Client::new()
        .post(format!("{}/oauth/revoke", h.url))
        .form(&[
            ("token", access),
            ("client_id", CLIENT),
            ("client_secret", SECRET),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap(), json!({}));
    assert_eq!(info(access.to_string()).await, json!({"active": false}));
    let r = h
        .req_as(Some(&format!("Bearer {access}")), Method::GET, DB, None)
        .await;
    assert_eq!(
        (r.status, r.body["error"].as_str()),
        (401, Some("invalid_token"))
    );
    let (status, _) = token(
        &h,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh),
            ("client_id", CLIENT),
            ("client_secret", SECRET),
        ],
    )
    .await;
    assert_eq!(
        status, 200,
        "revoking an access token leaves its refresh token usable"
    );
}

#[tokio::test]
async fn oauth_applications_and_the_deprecated_token_endpoint() {
    let h = H::new().await;
    let apps = h
        .get("/v1/organizations/acme/oauth-applications")
        .await
        .expect(200);
    let app_id = apps["data"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(apps["data"][0]["client_id"], CLIENT);
    h.get(&format!(
        "/v1/organizations/acme/oauth-applications/{app_id}"
    ))
    .await
    .expect(200);
    let code = code_for(&h, "http://127.0.0.1/callback").await;
    let body = json!({"client_id": CLIENT, "client_secret": SECRET, "grant_type": "authorization_code", "code": code});
    let path = format!("/v1/organizations/acme/oauth-applications/{app_id}/token");
    let t = h.post(&path, body.clone()).await.expect(200);
    assert!(t["token"].as_str().unwrap().starts_with("pscale_oauth_"));
    assert!(t["plain_text_refresh_token"].is_string());
    h.post(&path, body).await.expect_error(422, "unprocessable");
    let tokens = h
        .get(&format!(
            "/v1/organizations/acme/oauth-applications/{app_id}/tokens"
        ))
        .await
        .expect(200);
    assert_eq!(tokens["total_count"], 1);
    let token_id = tokens["data"][0]["id"].as_str().unwrap();
    assert!(tokens["data"][0]["token"].is_null());
    let one = format!("/v1/organizations/acme/oauth-applications/{app_id}/tokens/{token_id}");
    h.get(&one).await.expect(200);
    assert_eq!(h.delete(&one).await.status, 204);
    h.get(&one).await.expect_error(404, "not_found");
}

#[tokio::test]
async fn token_endpoint_accepts_basic_client_auth_and_json_bodies() {
    let h = H::new().await;
    let code = code_for(&h, "http://127.0.0.1/callback").await;
    let r = reqwest::Client::new()
        .post(format!("{}/oauth/token", h.url))
        .basic_auth(CLIENT, Some(SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let tokens: Value = r.json().await.unwrap();
    let body = json!({"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], "client_id": CLIENT, "client_secret": SECRET});
    let r = reqwest::Client::new()
        .post(format!("{}/oauth/token", h.url))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let stats = h.admin(Method::GET, "/stats", None).await.expect(200);
    assert_eq!(stats["operations"]["oauth_token"]["by_status"]["200"], 2);
    assert_eq!(
        stats["operations"]["oauth_authorize"]["by_status"]["302"],
        1
    );
}
