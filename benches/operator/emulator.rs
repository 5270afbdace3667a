//! The PlanetScale emulator as a child process, and its admin API (`/_emulator/...`).
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Utc};
use planetscale_api::models::CreateBranch;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::procs::Proc;

/// The emulator's default service token in every scenario (a fixture, not a real secret).
pub const TOKEN_ID: &str = "pso0bench0tk";
pub const TOKEN: &str = "pscale_tkn_operatorbenchmark000000000000000";
/// Organization and database of the built-in world.
pub const ORG: &str = "acme";
pub const DATABASE: &str = "shop";

/// A running emulator.
pub struct Emulator {
    pub process: Proc,
    /// Base URL, e.g. `http://127.0.0.1:41234`.
    pub url: String,
    http: reqwest::Client,
}

/// Per-operation counts of API responses (`GET /_emulator/stats`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Stats {
    pub total: u64,
    #[serde(default)]
    pub operations: BTreeMap<String, OpStats>,
}

/// One operation's responses by HTTP status.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct OpStats {
    pub total: u64,
    #[serde(default)]
    pub by_status: BTreeMap<String, u64>,
}

impl Stats {
    /// Responses with status 429 (rate limited), over every operation.
    pub fn rate_limited(&self) -> u64 {
        self.operations
            .values()
            .filter_map(|o| o.by_status.get("429"))
            .sum()
    }

    /// `"create_branch 1.00, get_branch 2.75, …"`: each operation's count divided by `per`.
    pub fn per_operation(&self, per: f64, decimals: usize) -> String {
        let parts: Vec<String> = self
            .operations
            .iter()
            .map(|(op, s)| format!("{op} {:.decimals$}", s.total as f64 / per))
            .collect();
        if parts.is_empty() {
            "none".into()
        } else {
            parts.join(", ")
        }
    }

    /// `operation -> count` for display.
    pub fn by_operation(&self) -> BTreeMap<String, u64> {
        self.operations
            .iter()
            .map(|(k, v)| (k.clone(), v.total))
            .collect()
    }
}

/// What the emulator writes to its log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Log {
    /// Warnings only, as text.
    Quiet,
    /// Also one JSON line per API request (time, method, path, operation, status), read back
    /// with [`Emulator::requests`].
    Requests,
}

/// One API request the emulator served, from its log.
#[derive(Debug, Clone, Serialize)]
pub struct Request {
    /// When the emulator answered it (real time).
    pub at: DateTime<Utc>,
    pub method: String,
    pub path: String,
    pub operation: String,
    pub status: u16,
}

/// One webhook delivery attempt (`GET /_emulator/webhook-deliveries`).
#[derive(Debug, Clone, Deserialize)]
pub struct Delivery {
    pub event: String,
    pub success: bool,
    /// When the receiver's answer came back (real time).
    pub at: DateTime<Utc>,
}

impl Emulator {
    /// Starts the emulator binary with the bench token and `extra` flags.
    pub async fn start(
        binary: &Path,
        extra: &[&str],
        log_dir: &Path,
        name: &str,
        log: Log,
    ) -> Result<Self> {
        let mut args: Vec<String> = [
            "--listen",
            "127.0.0.1:0",
            "--default-token-id",
            TOKEN_ID,
            "--default-token",
            TOKEN,
        ]
        .iter()
        .chain(extra)
        .map(std::string::ToString::to_string)
        .collect();
        let (format, filter) = match log {
            Log::Quiet => ("text", "warn"),
            Log::Requests => ("json", "warn,planetscale_emulator::routes::middleware=info"),
        };
        args.extend(["--log-format".into(), format.into()]);
        let envs = vec![("RUST_LOG".to_string(), filter.to_string())];
        let mut process = Proc::spawn(name, binary, &args, &envs, log_dir)?;
        let line = process
            .wait_for_log("http://127.0.0.1:", Duration::from_secs(30))
            .await?;
        Ok(Self {
            process,
            url: line.trim().to_string(),
            http: reqwest::Client::new(),
        })
    }

    /// The API base URL for the operator.
    pub fn api_url(&self) -> String {
        format!("{}/v1", self.url)
    }

    /// A PlanetScale API client of this emulator with the bench token (its calls are counted
    /// like the operator's).
    pub fn api_client(&self) -> Result<planetscale_api::Client> {
        let creds = planetscale_api::Credentials::service_token(TOKEN_ID, TOKEN);
        Ok(planetscale_api::Client::builder(creds)
            .base_url(self.api_url())
            .build()?)
    }

    async fn admin(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value> {
        let mut req = self
            .http
            .request(method.clone(), format!("{}/_emulator{path}", self.url));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req
            .send()
            .await
            .with_context(|| format!("{method} {path}"))?;
        let status = r.status();
        let text = r.text().await.unwrap_or_default();
        if !status.is_success() {
            bail!("{method} /_emulator{path}: {status} {text}");
        }
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Per-operation counts since the last reset.
    pub async fn stats(&self) -> Result<Stats> {
        let v = self.admin(reqwest::Method::GET, "/stats", None).await?;
        serde_json::from_value(v).context("parse /_emulator/stats")
    }

    /// Zeroes the counters.
    pub async fn reset_stats(&self) -> Result<()> {
        self.admin(reqwest::Method::DELETE, "/stats", None).await?;
        Ok(())
    }

    /// Changes settings at run time (`PATCH /_emulator/settings`), e.g. `{"rate_limit": 600}`.
    pub async fn patch_settings(&self, patch: Value) -> Result<()> {
        self.admin(reqwest::Method::PATCH, "/settings", Some(patch))
            .await?;
        Ok(())
    }

    /// Moves the emulator clock forward, e.g. `"1m"`.
    pub async fn advance(&self, by: &str) -> Result<()> {
        self.admin(
            reqwest::Method::POST,
            "/clock/advance",
            Some(json!({ "by": by })),
        )
        .await?;
        Ok(())
    }

    /// Replaces the schema of `branch` of the bench database with `tables` (`CREATE TABLE`
    /// statements): a developer running DDL on a development branch.
    pub async fn set_schema(&self, branch: &str, tables: &[String]) -> Result<()> {
        let path = format!("/organizations/{ORG}/databases/{DATABASE}/branches/{branch}/schema");
        let body = json!({ "tables": tables });
        self.admin(reqwest::Method::PUT, &path, Some(body)).await?;
        Ok(())
    }

    /// The webhook delivery attempts the emulator remembers, oldest first.
    pub async fn deliveries(&self) -> Result<Vec<Delivery>> {
        let v = self
            .admin(reqwest::Method::GET, "/webhook-deliveries", None)
            .await?;
        serde_json::from_value(v["data"].clone()).context("parse /_emulator/webhook-deliveries")
    }

    /// Forgets the delivery attempts.
    pub async fn clear_deliveries(&self) -> Result<()> {
        self.admin(reqwest::Method::DELETE, "/webhook-deliveries", None)
            .await?;
        Ok(())
    }

    /// Every API request logged so far (an emulator started with [`Log::Requests`]).
    pub fn requests(&self) -> Result<Vec<Request>> {
        let text = std::fs::read_to_string(&self.process.log)
            .with_context(|| format!("read {}", self.process.log.display()))?;
        Ok(text.lines().filter_map(request_line).collect())
    }

    /// Creates development branch `name` of the bench database through the API (with `ps`, a
    /// client of this emulator) and adds a table to its schema, ready for a deploy request.
    pub async fn branch_with_table(&self, ps: &planetscale_api::Client, name: &str) -> Result<()> {
        let body = CreateBranch {
            name: name.into(),
            parent_branch: Some("main".into()),
            ..Default::default()
        };
        ps.create_branch(ORG, DATABASE, &body).await?;
        let main = ps.get_branch_schema(ORG, DATABASE, "main", None).await?;
        let mut tables: Vec<String> = main.into_iter().map(|t| t.raw).collect();
        let table = name.replace('-', "_");
        tables.push(format!(
            "CREATE TABLE `{table}` (`id` bigint NOT NULL, PRIMARY KEY (`id`)) ENGINE=InnoDB"
        ));
        self.set_schema(name, &tables).await
    }

    /// Whether `username`/`password` work on `branch` of the bench database.
    pub async fn password_valid(
        &self,
        branch: &str,
        username: &str,
        password: &str,
    ) -> Result<bool> {
        let body = json!({
            "organization": ORG, "database": DATABASE, "branch": branch,
            "username": username, "password": password,
        });
        let v = self
            .admin(reqwest::Method::POST, "/verify-password", Some(body))
            .await?;
        Ok(v["valid"].as_bool().unwrap_or(false))
    }
}

/// A request line of the emulator's JSON log (`"message": "request"`), else `None`.
fn request_line(line: &str) -> Option<Request> {
    let v: Value = serde_json::from_str(line).ok()?;
    let f = &v["fields"];
    if f["message"] != "request" || f["operation"].as_str().is_none_or(str::is_empty) {
        return None;
    }
    Some(Request {
        at: v["timestamp"].as_str()?.parse().ok()?,
        method: f["method"].as_str()?.to_string(),
        path: f["path"].as_str()?.to_string(),
        operation: f["operation"].as_str()?.to_string(),
        status: u16::try_from(f["status"].as_u64()?).ok()?,
    })
}
