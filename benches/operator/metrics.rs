//! The operator's Prometheus endpoint (`/metrics`), read by the scenarios that start it with
//! a known `PSO_METRICS_ADDR` port.
use anyhow::{Context, Result};

/// The operator's `/metrics`.
pub struct Metrics {
    url: String,
    http: reqwest::Client,
}

impl Metrics {
    /// The endpoint of an operator started with `PSO_METRICS_ADDR=127.0.0.1:<port>`.
    pub fn new(port: u16) -> Self {
        Self {
            url: format!("http://127.0.0.1:{port}/metrics"),
            http: reqwest::Client::new(),
        }
    }

    async fn text(&self) -> Result<String> {
        let r = self
            .http
            .get(&self.url)
            .send()
            .await
            .context("GET /metrics")?;
        Ok(r.text().await?)
    }

    /// The value of one series, its name and labels exactly as exposed (e.g.
    /// `planetscale_operator_webhook_databases{mode="webhooks"}`); 0 when absent.
    pub async fn value(&self, series: &str) -> Result<f64> {
        Ok(sample(&self.text().await?, series))
    }

    /// Finished reconciles of the branch and the password controllers.
    pub async fn finished(&self) -> Result<(u64, u64)> {
        let text = self.text().await?;
        let count = |controller: &str| {
            let series = format!(
                "planetscale_operator_reconcile_duration_seconds_count{{controller=\"{controller}\"}}"
            );
            sample(&text, &series) as u64
        };
        Ok((count("branch"), count("password")))
    }

    /// `reconcile_failures_total` by its labels.
    pub async fn failures(&self) -> Result<std::collections::BTreeMap<String, f64>> {
        let text = self.text().await?;
        Ok(text
            .lines()
            .filter_map(|l| l.strip_prefix("planetscale_operator_reconcile_failures_total"))
            .filter_map(|l| l.rsplit_once(' '))
            .map(|(labels, v)| (labels.to_string(), v.parse().unwrap_or(0.0)))
            .collect())
    }
}

/// The value of the line for `series` (name and labels exactly), 0 when absent.
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| {
            l.strip_prefix(series)?
                .trim()
                .split(' ')
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or(0.0)
}
