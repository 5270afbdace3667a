//! Prints every CRD of the operator as a multi-document YAML stream, or with
//! `--out-dir DIR` writes one file per CRD named `<plural>.<group>.yaml`.
use std::path::PathBuf;

use anyhow::{Context, bail};
use planetscale_operator::crd;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let out_dir = match (args.next().as_deref(), args.next()) {
        (None, _) => None,
        (Some("--out-dir"), Some(dir)) => Some(PathBuf::from(dir)),
        _ => bail!("usage: crdgen [--out-dir DIR]"),
    };
    if args.next().is_some() {
        bail!("usage: crdgen [--out-dir DIR]");
    }
    for crd in crd::all() {
        let yaml = crd::to_yaml(&crd)?;
        match &out_dir {
            None => print!("{yaml}"),
            Some(dir) => {
                let path = dir.join(crd::file_name(&crd));
                std::fs::write(&path, yaml).with_context(|| format!("write {}", path.display()))?;
            }
        }
    }
    Ok(())
}
