//! Test harness: an in-process emulator and a small HTTP client that checks conformance.

use planetscale_emulator::{Config, Emulator};
use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

/// Base path of the built-in database.
pub const DB: &str = "/v1/organizations/acme/databases/shop";

/// A response.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub body: Value,
    pub headers: HeaderMap,
}

impl Resp {
    /// Assert the status and return the body, printing it on mismatch.
    #[track_caller]
    pub fn expect(self, status: u16) -> Value {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {:#}",
            self.body
        );
        self.body
    }

    /// Assert an error status and code.
    #[track_caller]
    pub fn expect_error(self, status: u16, code: &str) -> Value {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {:#}",
            self.body
        );
        assert_eq!(
            self.body["code"], code,
            "unexpected code; body: {:#}",
            self.body
        );
        assert!(
            self.body["message"].is_string(),
            "errors carry a message: {:#}",
            self.body
        );
        self.body
    }
}

/// Send a request (to any emulator, with any client) and check the response against the
/// spec: every test request to a spec operation goes through here.
pub async fn send(req: reqwest::RequestBuilder) -> Resp {
    let (client, req) = req.build_split();
    let req = req.expect("a valid request");
    let (method, path) = (req.method().clone(), req.url().path().to_string());
    let resp = client
        .execute(req)
        .await
        .expect("request reaches the emulator");
    let (status, headers) = (resp.status().as_u16(), resp.headers().clone());
    let text = resp.text().await.expect("body");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    crate::conformance::check(method.as_str(), &path, status, &body);
    Resp {
        status,
        body,
        headers,
    }
}

/// Assert an API timestamp: UTC with milliseconds, `2024-01-02T03:04:05.678Z`.
#[track_caller]
pub fn assert_ms_timestamp(v: &Value) {
    let s = v.as_str().unwrap_or_else(|| panic!("not a timestamp: {v}"));
    let shape: String = s
        .chars()
        .map(|c| if c.is_ascii_digit() { 'd' } else { c })
        .collect();
    assert_eq!(
        shape, "dddd-dd-ddTdd:dd:dd.dddZ",
        "{s} is not a UTC timestamp with milliseconds"
    );
}

/// A running emulator plus a client using its default token.
pub struct H {
    pub emu: Emulator,
    pub url: String,
    pub auth: String,
    http: reqwest::Client,
}

impl H {
    /// Default world, rate limiting off.
    pub async fn new() -> Self {
        Self::with(|_| {}).await
    }

    /// Default world with a tweaked config (rate limiting off unless the closure turns it on).
    pub async fn with(f: impl FnOnce(&mut Config)) -> Self {
        let mut config = Config::default();
        config.settings.rate_limit = 0;
        f(&mut config);
        Self::from_config(config).await
    }

    /// An emulator started from exactly this config (e.g. one built from the binary's flags).
    pub async fn from_config(config: Config) -> Self {
        let emu = Emulator::start(config).await.expect("emulator starts");
        let url = emu.url().to_string();
        let auth = emu.authorization().expect("default token");
        Self {
            emu,
            url,
            auth,
            http: reqwest::Client::new(),
        }
    }

    /// Send a request with an explicit Authorization header (or none).
    pub async fn req_as(
        &self,
        auth: Option<&str>,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Resp {
        let mut req = self.http.request(method, format!("{}{path}", self.url));
        if let Some(auth) = auth {
            req = req.header("Authorization", auth);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        send(req).await
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.req_as(Some(&self.auth), Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Resp {
        self.req_as(Some(&self.auth), Method::POST, path, Some(body))
            .await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Resp {
        self.req_as(Some(&self.auth), Method::PATCH, path, Some(body))
            .await
    }

    pub async fn put(&self, path: &str, body: Value) -> Resp {
        self.req_as(Some(&self.auth), Method::PUT, path, Some(body))
            .await
    }

    pub async fn delete(&self, path: &str) -> Resp {
        self.req_as(Some(&self.auth), Method::DELETE, path, None)
            .await
    }

    /// Admin call; returns the response.
    pub async fn admin(&self, method: Method, path: &str, body: Option<Value>) -> Resp {
        self.req_as(None, method, &format!("/_emulator{path}"), body)
            .await
    }

    /// Move the emulator clock forward.
    pub async fn advance(&self, secs: u64) {
        self.admin(
            Method::POST,
            "/clock/advance",
            Some(json!({"seconds": secs})),
        )
        .await
        .expect(200);
    }

    /// Create a development branch off `main` and wait (by clock) until it is ready.
    pub async fn ready_branch(&self, name: &str) -> Value {
        self.post(&format!("{DB}/branches"), json!({"name": name}))
            .await
            .expect(201);
        self.advance(60).await;
        let b = self.get(&format!("{DB}/branches/{name}")).await.expect(200);
        assert_eq!(b["state"], "ready");
        b
    }

    /// Replace a branch schema through the admin API.
    pub async fn set_schema(&self, branch: &str, tables: &[&str]) -> Resp {
        let path = format!("/organizations/acme/databases/shop/branches/{branch}/schema");
        self.admin(
            Method::PUT,
            &path,
            Some(json!({"tables": tables, "force": true})),
        )
        .await
    }

    /// Create a service token in `acme` with the given accesses; returns the Authorization value.
    pub async fn token(&self, accesses: Value) -> String {
        let body = json!({"organization": "acme", "accesses": accesses});
        let t = self
            .admin(Method::POST, "/service-tokens", Some(body))
            .await
            .expect(201);
        t["authorization"].as_str().unwrap().to_string()
    }

    /// Ask the admin API whether a password works.
    pub async fn verify(&self, branch: &str, username: &str, password: &str) -> Value {
        let body = json!({"organization": "acme", "database": "shop", "branch": branch, "username": username, "password": password});
        self.admin(Method::POST, "/verify-password", Some(body))
            .await
            .expect(200)
    }
}

/// A `CREATE TABLE` with a primary key.
pub fn table(name: &str, extra_columns: &str) -> String {
    format!(
        "CREATE TABLE `{name}` (\n  `id` bigint NOT NULL AUTO_INCREMENT,{extra_columns}\n  PRIMARY KEY (`id`)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"
    )
}
