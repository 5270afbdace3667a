//! The report: every figure beside its target, as JSON (`report.json`), Markdown
//! (`report.md`) and a table on stdout.
use std::fmt::Write as _;
use std::path::Path;

use anyhow::Result;
use serde::Serialize;
use serde_json::Value;

/// One measured figure.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub metric: String,
    /// The figure as shown, with its unit.
    pub value: String,
    /// The raw number, when there is one.
    pub number: Option<f64>,
    /// The target from issue 10 (empty for context figures).
    pub target: String,
    /// Whether the target is met; `None` for context figures.
    pub met: Option<bool>,
}

impl Row {
    /// A figure with `decimals` digits and a unit.
    pub fn num(metric: &str, value: f64, decimals: usize, unit: &str) -> Self {
        let unit = if unit.is_empty() {
            String::new()
        } else {
            format!(" {unit}")
        };
        Self {
            metric: metric.into(),
            value: format!("{value:.decimals$}{unit}"),
            number: Some(value),
            target: String::new(),
            met: None,
        }
    }

    /// A figure shown as text.
    pub fn text(metric: &str, value: impl Into<String>) -> Self {
        Self {
            metric: metric.into(),
            value: value.into(),
            number: None,
            target: String::new(),
            met: None,
        }
    }

    /// The same row with a target and whether it is met.
    pub fn target(self, target: &str, met: bool) -> Self {
        Self {
            target: target.into(),
            met: Some(met),
            ..self
        }
    }
}

/// What one scenario measured.
#[derive(Debug, Clone, Serialize, Default)]
pub struct ScenarioReport {
    pub name: String,
    /// The parameters it ran with (N, delays, rate limit, …).
    pub params: Value,
    pub rows: Vec<Row>,
    /// Raw counts (API calls by operation, kube writes by kind, latencies, …).
    pub details: Value,
    pub notes: Vec<String>,
    /// Set when the scenario could not finish; its rows hold what was measured until then.
    pub error: Option<String>,
    pub wall_seconds: f64,
}

/// The whole run.
#[derive(Debug, Serialize)]
pub struct Report {
    pub generated_at: String,
    pub commit: String,
    pub cpus: usize,
    pub scenarios: Vec<ScenarioReport>,
}

impl Report {
    /// Writes `report.json` and `report.md` into `dir`.
    pub fn write(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir)?;
        std::fs::write(dir.join("report.json"), serde_json::to_string_pretty(self)?)?;
        std::fs::write(dir.join("report.md"), self.markdown())?;
        Ok(())
    }

    /// The figures as a Markdown document.
    pub fn markdown(&self) -> String {
        let mut md = format!(
            "# Operator benchmark\n\n{} · commit {} · {} CPUs · `make bench`\n\n",
            self.generated_at, self.commit, self.cpus
        );
        md.push_str(&self.table());
        for s in &self.scenarios {
            let _ = writeln!(md, "\n## {}\n", s.name);
            let _ = writeln!(md, "Parameters: `{}`  ", s.params);
            let _ = writeln!(md, "Wall time: {:.0} s\n", s.wall_seconds);
            if let Some(e) = &s.error {
                let _ = writeln!(md, "**Did not finish:** {e}\n");
            }
            for n in &s.notes {
                let _ = writeln!(md, "- {n}");
            }
            let details = serde_json::to_string_pretty(&s.details).unwrap_or_default();
            let _ = writeln!(md, "\n```json\n{details}\n```");
        }
        md
    }

    /// Every row of every scenario as one Markdown table.
    pub fn table(&self) -> String {
        let mut t = String::from(
            "| scenario | metric | measured | target | met |\n|---|---|---|---|---|\n",
        );
        for s in &self.scenarios {
            for r in &s.rows {
                let met = match r.met {
                    Some(true) => "yes",
                    Some(false) => "**no**",
                    None => "",
                };
                let _ = writeln!(
                    t,
                    "| {} | {} | {} | {} | {met} |",
                    s.name, r.metric, r.value, r.target
                );
            }
            if let Some(e) = &s.error {
                let first = e.lines().next().unwrap_or_default();
                let _ = writeln!(t, "| {} | error | {first} | | **no** |", s.name);
            }
        }
        t
    }
}

/// Median and nearest-rank percentile of `values` (sorted in place).
pub fn percentile(values: &mut [f64], p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * values.len() as f64).ceil() as usize;
    Some(values[rank.clamp(1, values.len()) - 1])
}

/// The median of `values` (sorted in place): the middle one, or the mean of the two middle
/// ones for an even count.
pub fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let n = values.len();
    Some(if n % 2 == 1 {
        values[n / 2]
    } else {
        f64::midpoint(values[n / 2 - 1], values[n / 2])
    })
}
