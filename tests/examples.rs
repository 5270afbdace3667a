//! Every YAML example in docs/ (fenced ```yaml blocks) and examples/ (*.yaml files) is applied
//! to the control plane with server-side dry run (`kubectl apply --dry-run=server`), so no
//! published example is refused by the CRDs' schema and admission rules.
//!
//! Namespaced objects go into a fresh namespace, whatever namespace they name. A block or file
//! whose first line is `# not-applied: <reason>` is skipped (a fragment, Helm values, a kind
//! whose CRD is not installed here); every other document must be a complete object.
mod support;

use std::path::{Path, PathBuf};

use kube::api::{DynamicObject, Patch, PatchParams};
use kube::core::GroupVersionKind;
use kube::discovery::{Discovery, Scope};
use kube::{Api, Client};
use serde_json::Value;

/// Marker on a block's or file's first line that keeps it out of this test.
const NOT_APPLIED: &str = "# not-applied:";
/// The `not-applied` reason of emulator seed files: those are loaded by the emulator instead.
const EMULATOR_CONFIG: &str = "planetscale-emulator config";

/// One YAML text to apply: where it comes from (`path:line`) and its content.
#[derive(Debug, Clone, PartialEq)]
struct Example {
    origin: String,
    yaml: String,
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Files under `dir` whose name ends with one of `exts`, sorted.
fn files(dir: &Path, exts: &[&str]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files(&path, exts));
        } else if exts.iter().any(|e| path.to_string_lossy().ends_with(e)) {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// The ```yaml / ```yml blocks of a markdown text, with the line of their first content line.
fn yaml_blocks(markdown: &str, file: &str) -> Vec<Example> {
    let mut out = Vec::new();
    let mut open: Option<(usize, usize, String)> = None; // (line, indent, text)
    for (i, line) in markdown.lines().enumerate() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        match &mut open {
            None if trimmed.starts_with("```yaml") || trimmed.starts_with("```yml") => {
                open = Some((i + 2, indent, String::new()));
            }
            Some((start, _, text)) if trimmed.starts_with("```") => {
                out.push(Example {
                    origin: format!("{file}:{start}"),
                    yaml: std::mem::take(text),
                });
                open = None;
            }
            Some((_, indent, text)) => {
                text.push_str(line.get(*indent..).unwrap_or(line.trim_start()));
                text.push('\n');
            }
            None => {}
        }
    }
    out
}

/// Every example of docs/**/*.md and examples/**/*.yaml.
fn all_examples() -> Vec<Example> {
    let root = repo();
    let rel = |p: &Path| p.strip_prefix(&root).unwrap_or(p).display().to_string();
    let mut out = Vec::new();
    for md in files(&root.join("docs"), &[".md"]) {
        let text = std::fs::read_to_string(&md).expect("read markdown");
        out.extend(yaml_blocks(&text, &rel(&md)));
    }
    for y in files(&root.join("examples"), &[".yaml", ".yml"]) {
        let yaml = std::fs::read_to_string(&y).expect("read example");
        out.push(Example {
            origin: rel(&y),
            yaml,
        });
    }
    out
}

/// `Some(reason)` when the example is marked `# not-applied: reason`.
fn not_applied(yaml: &str) -> Option<&str> {
    let first = yaml.lines().find(|l| !l.trim().is_empty())?;
    first.trim().strip_prefix(NOT_APPLIED).map(str::trim)
}

/// The YAML documents of an example (empty documents dropped).
fn documents(yaml: &str) -> Result<Vec<Value>, String> {
    use serde::Deserialize;
    let mut docs = Vec::new();
    for doc in serde_norway::Deserializer::from_str(yaml) {
        let v = Value::deserialize(doc).map_err(|e| format!("not valid YAML: {e}"))?;
        if !v.is_null() {
            docs.push(v);
        }
    }
    Ok(docs)
}

/// Applies one document with dry run; `Err` says what is wrong.
async fn dry_run_apply(
    client: &Client,
    discovery: &Discovery,
    ns: &str,
    doc: &Value,
) -> Result<String, String> {
    let mut obj: DynamicObject = serde_json::from_value(doc.clone()).map_err(|e| {
        format!("not a Kubernetes object ({e}): add apiVersion, kind and metadata.name, or mark it `{NOT_APPLIED} <reason>`")
    })?;
    let types = obj.types.clone().ok_or("no apiVersion/kind")?;
    let gvk = GroupVersionKind::try_from(&types).map_err(|e| e.to_string())?;
    let (ar, caps) = discovery.resolve_gvk(&gvk).ok_or_else(|| {
        format!(
            "{} is not served by this control plane: mark the example `{NOT_APPLIED} needs <what>`",
            types.kind
        )
    })?;
    let name = obj
        .metadata
        .name
        .clone()
        .ok_or("metadata.name is missing")?;
    let api: Api<DynamicObject> = if caps.scope == Scope::Namespaced {
        obj.metadata.namespace = Some(ns.to_string());
        Api::namespaced_with(client.clone(), ns, &ar)
    } else {
        Api::all_with(client.clone(), &ar)
    };
    let pp = PatchParams::apply("pso-examples").dry_run().force();
    api.patch(&name, &pp, &Patch::Apply(&obj))
        .await
        .map(|_| format!("{}/{name}", types.kind))
        .map_err(|e| format!("{}/{name} refused: {e}", types.kind))
}

#[tokio::test]
async fn every_documented_example_is_accepted_by_the_control_plane() {
    support::install_crds().await;
    let examples = all_examples();
    support::with_temp_ns(|client, ns| async move {
        let discovery = Discovery::new(client.clone())
            .run()
            .await
            .expect("API discovery");
        let (mut applied, mut skipped, mut failures) = (Vec::new(), 0, Vec::new());
        for ex in &examples {
            if let Some(reason) = not_applied(&ex.yaml) {
                if reason.is_empty() {
                    failures.push(format!("{}: `{NOT_APPLIED}` needs a reason", ex.origin));
                }
                skipped += 1;
                continue;
            }
            let docs = match documents(&ex.yaml) {
                Ok(d) if !d.is_empty() => d,
                Ok(_) => {
                    failures.push(format!("{}: empty example", ex.origin));
                    continue;
                }
                Err(e) => {
                    failures.push(format!("{}: {e}", ex.origin));
                    continue;
                }
            };
            for doc in &docs {
                match dry_run_apply(&client, &discovery, &ns, doc).await {
                    Ok(what) => applied.push(format!("{}: {what}", ex.origin)),
                    Err(e) => failures.push(format!("{}: {e}", ex.origin)),
                }
            }
        }
        eprintln!(
            "applied {} objects, skipped {skipped} marked examples:\n{}",
            applied.len(),
            applied.join("\n")
        );
        assert!(
            failures.is_empty(),
            "{} example(s) refused:\n{}",
            failures.len(),
            failures.join("\n")
        );
        for demo in [
            "01-branch.yaml",
            "02-password.yaml",
            "03-deploy-request.yaml",
        ] {
            assert!(
                applied.iter().any(|a| a.contains(demo)),
                "examples/demo/{demo} was not applied; applied: {applied:#?}"
            );
        }
    })
    .await;
}

/// Starts the emulator with `config` and waits for it to serve (it refuses a bad seed at once).
async fn emulator_accepts(origin: &str, config: &str) -> Result<(), String> {
    let file = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(file.path(), config).expect("write config");
    let path = file.path().to_str().expect("utf-8 path");
    let mut emulator = support::ChildProcess::spawn(
        "emulator-config",
        &support::bin_path("planetscale-emulator"),
        &[
            "--listen",
            "127.0.0.1:0",
            "--config",
            path,
            "--no-default-token",
        ],
        &[],
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        if emulator.log_text().contains("http://127.0.0.1:") {
            return Ok(());
        }
        if let Ok(Some(status)) = emulator.child.try_wait() {
            return Err(format!(
                "{origin}: the emulator refused it ({status}):\n{}",
                emulator.log_text()
            ));
        }
        if std::time::Instant::now() >= deadline {
            return Err(format!(
                "{origin}: the emulator did not start:\n{}",
                emulator.log_text()
            ));
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn every_documented_emulator_config_loads() {
    let mut configs: Vec<Example> = all_examples()
        .into_iter()
        .filter(|ex| not_applied(&ex.yaml).is_some_and(|r| r.starts_with(EMULATOR_CONFIG)))
        .collect();
    let demo = repo().join("hack/demo/emulator.yaml");
    configs.push(Example {
        origin: "hack/demo/emulator.yaml".into(),
        yaml: std::fs::read_to_string(demo).expect("demo emulator config"),
    });
    assert!(
        configs.len() >= 2,
        "docs/emulator.md has a seed example: {configs:?}"
    );
    let mut failures = Vec::new();
    for c in &configs {
        if let Err(e) = emulator_accepts(&c.origin, &c.yaml).await {
            failures.push(e);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn yaml_blocks_are_found_with_their_line_and_indentation_removed() {
    let md =
        "# T\n\n```yaml\na: 1\n```\n\n- item\n\n  ```yml\n  b:\n    c: 2\n  ```\n```sh\nx\n```\n";
    let blocks = yaml_blocks(md, "d.md");
    assert_eq!(
        blocks,
        vec![
            Example {
                origin: "d.md:4".into(),
                yaml: "a: 1\n".into()
            },
            Example {
                origin: "d.md:10".into(),
                yaml: "b:\n  c: 2\n".into()
            },
        ]
    );
}

#[test]
fn the_not_applied_marker_is_read_from_the_first_line_only() {
    assert_eq!(
        not_applied("\n# not-applied: Helm values\na: 1\n"),
        Some("Helm values")
    );
    assert_eq!(not_applied("# not-applied:\n"), Some(""));
    assert_eq!(not_applied("a: 1\n# not-applied: late\n"), None);
}

#[test]
fn multi_document_examples_are_split_and_empty_documents_dropped() {
    let docs = documents("---\na: 1\n---\n---\nb: 2\n").unwrap();
    assert_eq!(docs.len(), 2);
    assert!(documents("a: [\n").is_err());
}
