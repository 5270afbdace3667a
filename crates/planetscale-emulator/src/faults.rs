//! Fault injection for `/v1` and `/oauth` requests: error responses (always, with a
//! probability, or for the next N matching requests), added latency (before the request is
//! handled, or after it was handled and before the answer), and connections dropped after
//! the request was processed.

use std::sync::Mutex;
use std::time::Duration;

use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// A fault rule as posted to `POST /_emulator/faults`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    /// Path pattern: `*` matches one segment, a trailing `**` any rest, e.g.
    /// `/v1/organizations/*/databases/*/branches/**`. Either this or `operation` (or both).
    #[serde(default)]
    pub path: Option<String>,
    /// Operation name, e.g. `create_password`.
    #[serde(default)]
    pub operation: Option<String>,
    /// HTTP method; any when absent.
    #[serde(default)]
    pub method: Option<String>,
    /// Status to answer with instead of processing the request.
    #[serde(default)]
    pub status: Option<u16>,
    /// Error code in the body (default derived from the status).
    #[serde(default)]
    pub code: Option<String>,
    /// Error message in the body.
    #[serde(default)]
    pub message: Option<String>,
    /// `Retry-After` seconds on injected 429s (default 1; only when retry-after is on).
    #[serde(default)]
    pub retry_after: Option<u64>,
    /// Probability in [0, 1] that a matching request is affected (default 1).
    #[serde(default)]
    pub probability: Option<f64>,
    /// Latency added before the request is handled, e.g. `250ms`.
    #[serde(default, with = "opt_duration")]
    pub latency: Option<Duration>,
    /// Latency added after the request was handled, before the answer is sent, e.g. `5s`:
    /// the change is made, and a client that gives up or dies meanwhile never learns of it.
    #[serde(default, with = "opt_duration")]
    pub answer_latency: Option<Duration>,
    /// Process the request, then close the connection without answering.
    #[serde(default)]
    pub drop_connection: bool,
    /// Affect only the next N matching requests; unlimited when absent.
    #[serde(default)]
    pub count: Option<u64>,
}

mod opt_duration {
    use super::*;

    pub fn serialize<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => crate::config::humantime_serde::serialize(d, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Duration>, D::Error> {
        #[derive(Deserialize)]
        struct Wrap(#[serde(with = "crate::config::humantime_serde")] Duration);
        Ok(Option::<Wrap>::deserialize(d)?.map(|w| w.0))
    }
}

/// What to do with a request that matched a rule.
#[derive(Debug, Clone, Default)]
pub struct FaultAction {
    /// Sleep this long first.
    pub latency: Option<Duration>,
    /// Handle the request, then sleep this long before answering.
    pub answer_latency: Option<Duration>,
    /// Answer with this status, code, message and Retry-After instead of handling the request.
    pub error: Option<(u16, String, String, u64)>,
    /// Handle the request, then drop the connection.
    pub drop_connection: bool,
}

#[derive(Debug)]
struct Rule {
    id: u64,
    spec: FaultSpec,
    hits: u64,
}

/// The active rules.
#[derive(Debug, Default)]
pub struct Faults {
    rules: Mutex<(u64, Vec<Rule>)>,
}

fn default_code(status: u16) -> &'static str {
    match status {
        400 => "bad_request",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        422 => "unprocessable",
        429 => "too_many_requests",
        502 => "bad_gateway",
        503 => "service_unavailable",
        504 => "gateway_timeout",
        _ => "internal_server_error",
    }
}

/// Whether `path` matches the glob `pattern`.
pub fn path_matches(pattern: &str, path: &str) -> bool {
    let pat: Vec<&str> = pattern.trim_end_matches('/').split('/').collect();
    let segs: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    for (i, p) in pat.iter().enumerate() {
        if *p == "**" {
            return true;
        }
        match segs.get(i) {
            Some(s) if *p == "*" || p == s => {}
            _ => return false,
        }
    }
    pat.len() == segs.len()
}

impl Faults {
    /// Add a rule; returns its id.
    pub fn add(&self, spec: FaultSpec) -> Result<u64, String> {
        if spec.path.is_none() && spec.operation.is_none() {
            return Err("a fault needs `path` or `operation`".into());
        }
        if let Some(p) = spec.probability
            && !(0.0..=1.0).contains(&p)
        {
            return Err("`probability` must be between 0 and 1".into());
        }
        if spec.status.is_some_and(|s| !(100..=599).contains(&s)) {
            return Err("`status` must be an HTTP status".into());
        }
        let mut rules = self
            .rules
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        rules.0 += 1;
        let id = rules.0;
        rules.1.push(Rule { id, spec, hits: 0 });
        Ok(id)
    }

    /// Every rule with its id, hit count and remaining count.
    pub fn list(&self) -> Value {
        let rules = self
            .rules
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Value::Array(
            rules
                .1
                .iter()
                .map(|r| json!({"id": r.id, "hits": r.hits, "rule": r.spec}))
                .collect(),
        )
    }

    /// Remove one rule; false if unknown.
    pub fn remove(&self, id: u64) -> bool {
        let mut rules = self
            .rules
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let before = rules.1.len();
        rules.1.retain(|r| r.id != id);
        rules.1.len() != before
    }

    /// Remove every rule.
    pub fn clear(&self) {
        self.rules
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .1
            .clear();
    }

    /// The action for a request, consuming one use of each matching limited rule.
    pub fn check(&self, method: &str, path: &str, operation: Option<&str>) -> FaultAction {
        let mut rules = self
            .rules
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut action = FaultAction::default();
        let mut rng = rand::rng();
        for rule in &mut rules.1 {
            let s = &rule.spec;
            let hit = s
                .method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(method))
                && s.path.as_deref().is_none_or(|p| path_matches(p, path))
                && s.operation.as_deref().is_none_or(|o| Some(o) == operation)
                && s.count.is_none_or(|c| c > 0)
                && rng.random_bool(s.probability.unwrap_or(1.0));
            if !hit {
                continue;
            }
            rule.hits += 1;
            if let Some(c) = rule.spec.count.as_mut() {
                *c -= 1;
            }
            let s = &rule.spec;
            action.latency = action.latency.max(s.latency);
            action.answer_latency = action.answer_latency.max(s.answer_latency);
            action.drop_connection |= s.drop_connection;
            if let (None, Some(status)) = (&action.error, s.status) {
                let code = s
                    .code
                    .clone()
                    .unwrap_or_else(|| default_code(status).into());
                let message = s.message.clone().unwrap_or_else(|| "Injected fault".into());
                action.error = Some((status, code, message, s.retry_after.unwrap_or(1)));
            }
        }
        rules.1.retain(|r| r.spec.count != Some(0));
        action
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_segments() {
        assert!(path_matches(
            "/v1/organizations/*/databases",
            "/v1/organizations/acme/databases"
        ));
        assert!(path_matches("/v1/**", "/v1/organizations/acme"));
        assert!(!path_matches(
            "/v1/organizations/*",
            "/v1/organizations/acme/databases"
        ));
    }

    #[test]
    fn counted_rules_expire() {
        let faults = Faults::default();
        let spec = FaultSpec {
            path: None,
            operation: Some("get_branch".into()),
            method: None,
            status: Some(503),
            code: None,
            message: None,
            retry_after: None,
            probability: None,
            latency: None,
            answer_latency: None,
            drop_connection: false,
            count: Some(1),
        };
        faults.add(spec).unwrap();
        assert_eq!(
            faults
                .check("GET", "/x", Some("get_branch"))
                .error
                .unwrap()
                .0,
            503
        );
        assert!(
            faults
                .check("GET", "/x", Some("get_branch"))
                .error
                .is_none()
        );
    }
}
