//! Per-operation request counts by status, for benchmarks counting API calls.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde_json::{Value, json};

/// Request counters keyed by operation name, then HTTP status.
#[derive(Debug, Default)]
pub struct Stats {
    counts: Mutex<BTreeMap<String, BTreeMap<u16, u64>>>,
}

impl Stats {
    /// Count one response.
    pub fn record(&self, operation: &str, status: u16) {
        let mut counts = self
            .counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *counts
            .entry(operation.to_string())
            .or_default()
            .entry(status)
            .or_default() += 1;
    }

    /// `{"total": N, "operations": {"create_password": {"total": 2, "by_status": {"201": 2}}}}`.
    pub fn snapshot(&self) -> Value {
        let counts = self
            .counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut total = 0;
        let operations: serde_json::Map<String, Value> = counts
            .iter()
            .map(|(op, by_status)| {
                let sum: u64 = by_status.values().sum();
                total += sum;
                let by: serde_json::Map<String, Value> = by_status
                    .iter()
                    .map(|(s, n)| (s.to_string(), json!(n)))
                    .collect();
                (op.clone(), json!({"total": sum, "by_status": by}))
            })
            .collect();
        json!({"total": total, "operations": operations})
    }

    /// Forget every count.
    pub fn reset(&self) {
        self.counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clear();
    }
}
