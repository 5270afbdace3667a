//! Writes the per-kind field reference (`docs/reference/<kind>.md`) from the CRD schemas, so
//! the field documentation never drifts from the types (`make docs`).
//!
//! `docgen --out-dir DIR` writes one file per kind; `docgen --check DIR` writes nothing and
//! fails when a file in DIR differs from what it would write (`make check-generated`).
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use planetscale_operator::crd;

mod render;

const USAGE: &str = "usage: docgen (--out-dir DIR | --check DIR)";

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (check, dir) = match args.as_slice() {
        [flag, dir] if flag == "--out-dir" => (false, PathBuf::from(dir)),
        [flag, dir] if flag == "--check" => (true, PathBuf::from(dir)),
        _ => bail!(USAGE),
    };
    let pages = pages()?;
    if check {
        let stale = stale_pages(&dir, &pages);
        if !stale.is_empty() {
            bail!(
                "{} is stale ({}): run `make docs` and commit the result",
                dir.display(),
                stale.join(", ")
            );
        }
        println!("{} is up to date", dir.display());
        return Ok(());
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("create {}", dir.display()))?;
    for (name, text) in &pages {
        let path = dir.join(name);
        std::fs::write(&path, text).with_context(|| format!("write {}", path.display()))?;
    }
    Ok(())
}

/// Every page as (file name, markdown).
fn pages() -> anyhow::Result<Vec<(String, String)>> {
    crd::all()
        .iter()
        .map(|c| {
            let value = serde_json::to_value(c).context("CRD as JSON")?;
            Ok((render::file_name(&value), render::page(&value)))
        })
        .collect()
}

/// Names of the pages whose file in `dir` is missing or differs.
fn stale_pages(dir: &Path, pages: &[(String, String)]) -> Vec<String> {
    pages
        .iter()
        .filter(|(name, text)| std::fs::read_to_string(dir.join(name)).ok().as_ref() != Some(text))
        .map(|(name, _)| name.clone())
        .collect()
}
