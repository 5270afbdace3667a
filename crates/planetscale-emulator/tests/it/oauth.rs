//! OAuth server: authorization code flow, rotating refresh tokens, revoke, token info.

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{DB, H, Resp, send};

const CLIENT: &str = planetscale_emulator::config::DEFAULT_CLIENT_ID;
const SECRET: &str = planetscale_emulator::config::DEFAULT_CLIENT_SECRET;

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn authorize(h: &H, redirect: &str, state: &str) -> Resp {
    authorize_as(h, CLIENT, redirect, state).await
}

async fn authorize_as(h: &H, client_id: &str, redirect: &str, state: &str) -> Resp {
    let url = format!(
        "{}/oauth/authorize?client_id={client_id}&redirect_uri={redirect}&state={state}",
        h.url
    );
    send(no_redirects().get(url)).await
}

async fn code_for(h: &H, redirect: &str) -> String {
    let r = authorize(h, redirect, "xyz%20123").await;
    assert_eq!(r.status, 302, "authorize redirects");
    let location = r.headers["location"].to_str().unwrap().to_string();
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
    let r = send(
        reqwest::Client::new()
            .post(format!("{}/oauth/token", h.url))
            .form(form),
    )
    .await;
    (r.status, r.body)
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
    assert_eq!(r.status, 400);
    // Userinfo that looks like the registered loopback authority: the host is evil.example.
    let r = authorize(&h, "http://127.0.0.1:1@evil.example/callback", "s").await;
    assert_eq!(r.status, 400, "a redirect URI with userinfo");
    assert!(!r.headers.contains_key("location"));
    let r = send(no_redirects().get(format!("{}/oauth/authorize?client_id=unknown", h.url))).await;
    assert_eq!(r.status, 400);
    let code = code_for(&h, "http://127.0.0.1:9999/callback").await;
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
            send(reqwest::Client::new().get(url).bearer_auth(tok))
                .await
                .expect(200)
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
    let revoke = reqwest::Client::new()
        .post(format!("{}/oauth/revoke", h.url))
        .form(&[
            ("token", access),
            ("client_id", CLIENT),
            ("client_secret", SECRET),
        ]);
    assert_eq!(send(revoke).await.expect(200), json!({}));
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
    let basic = reqwest::Client::new()
        .post(format!("{}/oauth/token", h.url))
        .basic_auth(CLIENT, Some(SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
        ]);
    let tokens = send(basic).await.expect(200);
    let body = json!({"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], "client_id": CLIENT, "client_secret": SECRET});
    send(
        reqwest::Client::new()
            .post(format!("{}/oauth/token", h.url))
            .json(&body),
    )
    .await
    .expect(200);
    let stats = h.admin(Method::GET, "/stats", None).await.expect(200);
    assert_eq!(stats["operations"]["oauth_token"]["by_status"]["200"], 2);
    assert_eq!(
        stats["operations"]["oauth_authorize"]["by_status"]["302"],
        1
    );
}

/// An OAuth application and its user from a config file, read through the binary's flags.
const OAUTH_CONFIG: &str = r#"
users:
  - name: Emulator User
    organizations: [corp]
  - id: dana00000001
    name: Dana
    email: dana@corp.example
    organizations: [corp]
organizations:
  - name: corp
    databases:
      - name: api
oauth_applications:
  - organization: corp
    name: corp-cli
    id: corpapp00001
    client_id: corp-client
    client_secret: corp-client-secret
    redirect_uri: https://cli.corp.example/oauth/callback
    scopes: [read_user, read_databases, "database:read_branches"]
    user: Dana
"#;

#[tokio::test]
async fn config_file_oauth_application_and_user_drive_authorize_token_and_scopes() {
    use clap::Parser;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("emulator.yaml");
    std::fs::write(&file, OAUTH_CONFIG).unwrap();
    let args = planetscale_emulator::cli::Args::try_parse_from([
        "planetscale-emulator",
        "--config",
        file.to_str().unwrap(),
        "--rate-limit",
        "0",
    ])
    .unwrap();
    let h = H::from_config(args.into_config().expect("the config file is valid")).await;
    let (client, secret) = ("corp-client", "corp-client-secret");
    let redirect = "https://cli.corp.example/oauth/callback";

    let app = h
        .get("/v1/organizations/corp/oauth-applications/corpapp00001")
        .await
        .expect(200);
    assert_eq!(
        (
            app["name"].as_str(),
            app["client_id"].as_str(),
            app["redirect_uri"].as_str()
        ),
        (Some("corp-cli"), Some(client), Some(redirect))
    );

    let r = authorize_as(&h, client, "https://cli.corp.example/other", "s1").await;
    assert_eq!(r.status, 400, "a redirect URI that is not configured");
    let r = authorize_as(&h, client, "http://127.0.0.1:9000/oauth/callback", "s1").await;
    assert_eq!(
        r.status, 400,
        "any loopback port matches only a loopback registration"
    );
    let r = authorize_as(&h, CLIENT, "http://127.0.0.1/callback", "s1").await;
    assert_eq!(
        r.status, 400,
        "the config replaces the built-in application"
    );
    let r = authorize_as(&h, client, redirect, "s1").await;
    assert_eq!(r.status, 302);
    let location = r.headers["location"].to_str().unwrap().to_string();
    let code = location
        .strip_prefix(&format!("{redirect}?code="))
        .and_then(|rest| rest.strip_suffix("&state=s1"))
        .expect("redirected to the configured URI with a code and the state")
        .to_string();

    let exchange = |client_secret: &'static str| {
        let code = code.clone();
        let h = &h;
        async move {
            let form = [
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", redirect),
                ("client_id", client),
                ("client_secret", client_secret),
            ];
            token(h, &form).await
        }
    };
    let (status, body) = exchange(SECRET).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client")),
        "the built-in secret is not this application's"
    );
    let (status, tokens) = exchange(secret).await;
    assert_eq!(status, 200, "{}", tokens["error"]);
    assert_eq!(
        tokens["scope"], "read_user read_databases database:read_branches",
        "the configured scopes, exactly"
    );
    let bearer = format!("Bearer {}", tokens["access_token"].as_str().unwrap());
    let dana = Some(bearer.as_str());

    let user = h
        .req_as(dana, Method::GET, "/v1/user", None)
        .await
        .expect(200);
    assert_eq!(
        (
            user["id"].as_str(),
            user["name"].as_str(),
            user["email"].as_str()
        ),
        (
            Some("dana00000001"),
            Some("Dana"),
            Some("dana@corp.example")
        ),
        "authorize approves as the configured user, not the first one"
    );
    let db = "/v1/organizations/corp/databases/api";
    h.req_as(dana, Method::GET, db, None).await.expect(200);
    h.req_as(dana, Method::GET, &format!("{db}/branches"), None)
        .await
        .expect(200);
    h.req_as(
        dana,
        Method::POST,
        &format!("{db}/branches"),
        Some(json!({"name": "dev"})),
    )
    .await
    .expect_error(404, "not_found");
    h.req_as(
        dana,
        Method::POST,
        &format!("{db}/branches/main/passwords"),
        Some(json!({})),
    )
    .await
    .expect_error(404, "not_found");
    h.req_as(dana, Method::GET, "/v1/organizations/corp", None)
        .await
        .expect_error(404, "not_found");
    h.get(&format!("{db}/branches/dev"))
        .await
        .expect_error(404, "not_found");
}

/// `answer_latency` on the token endpoint: the refresh is made at once (the refresh token is
/// spent, the state says so) while the answer comes late; a client that gives up meanwhile
/// cannot use its refresh token again.
#[tokio::test]
async fn a_refresh_answered_late_is_spent_before_the_answer() {
    let h = H::new().await;
    let minted = h
        .admin(Method::POST, "/oauth-tokens", Some(json!({})))
        .await
        .expect(201);
    let refresh = minted["refresh_token"].as_str().unwrap();
    let late = json!({"operation": "oauth_token", "answer_latency": "3s", "count": 1});
    h.admin(Method::POST, "/faults", Some(late))
        .await
        .expect(201);
    let grant = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh),
        ("client_id", CLIENT),
        ("client_secret", SECRET),
    ];
    let impatient = reqwest::Client::builder()
        .timeout(std::time::Duration::from_millis(500))
        .build()
        .unwrap();
    let sent = impatient
        .post(format!("{}/oauth/token", h.url))
        .form(&grant)
        .send()
        .await;
    assert!(sent.is_err_and(|e| e.is_timeout()), "answered early");
    let world = h.admin(Method::GET, "/state", None).await.expect(200);
    let spent: Vec<bool> = world["oauth_tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["refresh_spent"].as_bool().unwrap())
        .collect();
    assert_eq!(
        spent,
        [true, false],
        "the minted token spent, a new pair issued"
    );
    let (status, again) = token(&h, &grant).await;
    assert_eq!(
        (status, again["error"].as_str()),
        (400, Some("invalid_grant")),
        "the refresh token the client never saw replaced is spent"
    );
}
