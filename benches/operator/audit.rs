//! Kube writes of the operator, counted from the API server's audit log (`TESTENV_AUDIT=1`
//! logs every create/update/patch/delete as one JSON line). A no-op patch counts too: it
//! still costs the API server a request.
use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Serialize;
use serde_json::Value;

/// The audit log of the bench control plane.
pub struct AuditLog {
    path: PathBuf,
    user: String,
}

/// Writes counted between two offsets of the log.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Writes {
    pub total: u64,
    /// `"verb resource[/subresource]" -> count`, e.g. `"patch planetscalebranches/status"`.
    pub by_kind: BTreeMap<String, u64>,
}

impl AuditLog {
    /// The log at `path`, counting writes made by `user`.
    pub fn new(path: &Path, user: &str) -> Self {
        Self {
            path: path.to_path_buf(),
            user: user.into(),
        }
    }

    /// The current end of the log; pass it to [`Self::writes_since`] later.
    pub fn offset(&self) -> u64 {
        std::fs::metadata(&self.path).map_or(0, |m| m.len())
    }

    /// The user's writes logged after `offset`.
    pub fn writes_since(&self, offset: u64) -> Result<Writes> {
        let mut f = std::fs::File::open(&self.path)
            .with_context(|| format!("open {}", self.path.display()))?;
        f.seek(SeekFrom::Start(offset))?;
        let mut text = String::new();
        f.read_to_string(&mut text)?;
        let mut writes = Writes::default();
        for line in text.lines() {
            let Ok(ev) = serde_json::from_str::<Value>(line) else {
                continue;
            };
            if ev["user"]["username"].as_str() != Some(self.user.as_str()) {
                continue;
            }
            let obj = &ev["objectRef"];
            let mut kind = format!(
                "{} {}",
                ev["verb"].as_str().unwrap_or("?"),
                obj["resource"].as_str().unwrap_or("?")
            );
            if let Some(sub) = obj["subresource"].as_str() {
                kind = format!("{kind}/{sub}");
            }
            writes.total += 1;
            *writes.by_kind.entry(kind).or_default() += 1;
        }
        Ok(writes)
    }
}
