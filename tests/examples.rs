//! Every YAML example in the documentation (fenced ```yaml blocks of docs/**/*.md, README.md,
//! charts/planetscale-operator/README.md and crates/planetscale-emulator/README.md) and in
//! examples/ (*.yaml files) is checked against the control plane with server-side dry run
//! (`kubectl apply --dry-run=server --validate=strict`), so no published example is refused by
//! the CRDs' schema and admission rules.
//!
//! Namespaced objects go into a fresh namespace, whatever namespace they name. The first line
//! of a block or file decides how it is checked:
//! - no marker: every document is a complete object and is applied;
//! - `# fragment-of: <file> [<Kind>/<name>] [at <path>] [; note]`: a fragment or a patch of
//!   an object shown elsewhere. It is merged (JSON merge patch, as kustomize does for custom
//!   resources) into that base object, nested under `<path>` (e.g. `spec.secret`), and the
//!   result is applied. `<file>` is an example file or a markdown file holding the base object
//!   (`<Kind>/<name>` picks one when it has several), or `above`: the nearest block before the
//!   fragment, in the same file, that holds `<Kind>/<name>`;
//! - `# not-applied: <reason>`: not a Kubernetes object (a CI file, an emulator seed file); it
//!   must still parse as YAML. Emulator seed files are loaded by the emulator below.
//!
//! A `PlanetScalePassword` (also one merged from a fragment) has its Secret rendered as the
//! operator would, with sample credentials: a preset conflict or a template that does not
//! render fails the test although admission accepts it.
//!
//! Objects of other projects' kinds (Argo CD, Flux, the Prometheus Operator) are applied too:
//! the test installs placeholder CRDs for them that accept any `spec`, so their apiVersion,
//! kind and metadata are checked against the served API.
mod support;

#[path = "examples/health.rs"]
mod health;
#[path = "examples/reasons.rs"]
mod reasons;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{DynamicObject, Patch, PatchParams};
use kube::core::GroupVersionKind;
use kube::discovery::{Discovery, Scope};
use kube::{Api, Client};
use serde_json::{Value, json};

/// Marker on a block's or file's first line: not a Kubernetes object, only parsed.
const NOT_APPLIED: &str = "# not-applied:";
/// First line of a block of Helm values for our chart: rendered with `helm template`, which
/// checks every key and type against the chart's `values.schema.json`.
const HELM_VALUES: &str = "# helm-values: charts/planetscale-operator";
/// Marker on a block's or file's first line: merged into a base object, then applied.
const FRAGMENT_OF: &str = "# fragment-of:";
/// The `not-applied` reason of emulator seed files: those are loaded by the emulator instead.
const EMULATOR_CONFIG: &str = "planetscale-emulator config";

/// At least this many objects are applied (raise it when examples are added): a block that
/// silently stops being applied (a new marker, a lost file) fails the test.
const MIN_APPLIED: usize = 56;
/// At most this many blocks are only parsed: the two CI files of docs/emulator.md and the two
/// emulator seed files (docs/emulator.md, crates/planetscale-emulator/README.md).
const MAX_NOT_APPLIED: usize = 4;

/// Other projects' kinds that examples use: (group, version, kind, plural). The test installs
/// a placeholder CRD for each one that the control plane does not serve yet.
const PLACEHOLDER_KINDS: &[(&str, &str, &str, &str)] = &[
    ("argoproj.io", "v1alpha1", "Application", "applications"),
    (
        "argoproj.io",
        "v1alpha1",
        "ApplicationSet",
        "applicationsets",
    ),
    (
        "kustomize.toolkit.fluxcd.io",
        "v1",
        "Kustomization",
        "kustomizations",
    ),
    (
        "source.toolkit.fluxcd.io",
        "v1",
        "GitRepository",
        "gitrepositories",
    ),
    (
        "helm.toolkit.fluxcd.io",
        "v2",
        "HelmRelease",
        "helmreleases",
    ),
    (
        "monitoring.coreos.com",
        "v1",
        "PrometheusRule",
        "prometheusrules",
    ),
];
/// Label on the placeholder CRDs: only CRDs carrying it are (re)applied by this test, so a real
/// Argo CD or Flux CRD on the control plane is never replaced.
const PLACEHOLDER_LABEL: &str = "planetscale.operator.dev/test-placeholder";

/// One YAML text to check: where it comes from (`path:line`) and its content.
#[derive(Debug, Clone, PartialEq)]
struct Example {
    origin: String,
    yaml: String,
}

impl Example {
    /// The file part of `origin` (without `:line`).
    fn file(&self) -> &str {
        self.origin
            .rsplit_once(':')
            .filter(|(_, line)| line.parse::<usize>().is_ok())
            .map_or(&self.origin, |(file, _)| file)
    }
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

/// The markdown files whose YAML blocks are examples: docs/**/*.md and the READMEs.
fn markdown_files() -> Vec<PathBuf> {
    let root = repo();
    let mut out = files(&root.join("docs"), &[".md"]);
    out.extend(
        [
            "README.md",
            "charts/planetscale-operator/README.md",
            "crates/planetscale-emulator/README.md",
        ]
        .map(|f| root.join(f)),
    );
    out
}

/// Every example of the markdown files and of examples/**/*.yaml.
fn all_examples() -> Vec<Example> {
    let root = repo();
    let rel = |p: &Path| p.strip_prefix(&root).unwrap_or(p).display().to_string();
    let mut out = Vec::new();
    for md in markdown_files() {
        let text =
            std::fs::read_to_string(&md).unwrap_or_else(|e| panic!("read {}: {e}", md.display()));
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

/// The text after `marker` when the example's first non-empty line starts with it.
fn first_line_marker<'a>(yaml: &'a str, marker: &str) -> Option<&'a str> {
    let first = yaml.lines().find(|l| !l.trim().is_empty())?;
    first.trim().strip_prefix(marker).map(str::trim)
}

/// Renders the chart with `values` (a Helm values block): `Err` with helm's output when the
/// values do not fit the chart's schema or a template fails.
fn render_chart(values: &str) -> Result<(), String> {
    let file = tempfile::NamedTempFile::new().map_err(|e| e.to_string())?;
    std::fs::write(file.path(), values).map_err(|e| e.to_string())?;
    let chart = support::helm::chart().display().to_string();
    let path = file.path().display().to_string();
    let args = ["template", "pso", &chart, "-f", &path].map(str::to_string);
    let out = support::helm::helm(&args);
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "helm template refused the values: {}",
            support::helm::text(&out)
        ))
    }
}

/// `Some(reason)` when the example is marked `# not-applied: reason`.
fn not_applied(yaml: &str) -> Option<&str> {
    first_line_marker(yaml, NOT_APPLIED)
}

/// Where a fragment goes: `# fragment-of: <file> [<Kind>/<name>] [at <a.b.c>] [; note]`.
#[derive(Debug, Clone, PartialEq)]
struct FragmentOf {
    file: String,
    object: Option<(String, String)>,
    at: Vec<String>,
}

/// `Some(Ok(..))` when the example is marked `# fragment-of: ...`, `Some(Err(..))` when the
/// marker does not parse.
fn fragment_of(yaml: &str) -> Option<Result<FragmentOf, String>> {
    let text = first_line_marker(yaml, FRAGMENT_OF)?;
    let spec = text.split_once(';').map_or(text, |(s, _note)| s);
    let mut words = spec.split_whitespace();
    let Some(file) = words.next() else {
        return Some(Err(format!(
            "`{FRAGMENT_OF}` needs the base: `{FRAGMENT_OF} <file> [<Kind>/<name>] [at <path>]`"
        )));
    };
    let mut out = FragmentOf {
        file: file.to_string(),
        object: None,
        at: Vec::new(),
    };
    while let Some(word) = words.next() {
        match (word, words.clone().next()) {
            ("at", Some(path)) => {
                out.at = path.split('.').map(String::from).collect();
                words.next();
            }
            (w, _) if out.object.is_none() && w.contains('/') => {
                let (kind, name) = w.split_once('/').expect("contains /");
                out.object = Some((kind.to_string(), name.to_string()));
            }
            (w, _) => {
                return Some(Err(format!(
                    "`{FRAGMENT_OF} {text}`: unexpected {w:?}; the form is `<file> [<Kind>/<name>] [at <path>] [; note]`"
                )));
            }
        }
    }
    Some(Ok(out))
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

/// RFC 7386 JSON merge patch: objects merge key by key, `null` removes, anything else
/// (lists included) replaces. This is how kustomize patches a custom resource.
fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Default::default());
    }
    let target = target.as_object_mut().expect("an object");
    for (key, value) in patch {
        if value.is_null() {
            target.remove(key);
        } else {
            merge_patch(target.entry(key.clone()).or_insert(Value::Null), value);
        }
    }
}

fn kind_and_name(doc: &Value) -> (&str, &str) {
    (
        doc["kind"].as_str().unwrap_or_default(),
        doc["metadata"]["name"].as_str().unwrap_or_default(),
    )
}

/// The object a fragment belongs to, merged with it. `fragment_origin` is where the fragment
/// is (`above` looks for the base in the blocks before it in the same file).
fn merge_fragment(
    fragment: &FragmentOf,
    fragment_origin: &Example,
    doc: &Value,
    examples: &[Example],
) -> Result<Value, String> {
    let wanted = |d: &Value| {
        fragment
            .object
            .as_ref()
            .is_none_or(|(kind, name)| kind_and_name(d) == (kind.as_str(), name.as_str()))
    };
    let complete =
        |ex: &&Example| not_applied(&ex.yaml).is_none() && fragment_of(&ex.yaml).is_none();
    let line = |ex: &Example| {
        ex.origin[ex.file().len()..]
            .trim_start_matches(':')
            .parse::<usize>()
            .unwrap_or(0)
    };
    let mut bases = Vec::new();
    if fragment.file == "above" {
        let before = examples
            .iter()
            .filter(complete)
            .filter(|ex| ex.file() == fragment_origin.file() && line(ex) < line(fragment_origin));
        for ex in before {
            let found: Vec<_> = documents(&ex.yaml)
                .unwrap_or_default()
                .into_iter()
                .filter(|d| wanted(d))
                .map(|d| (ex.origin.clone(), d))
                .collect();
            if !found.is_empty() {
                bases = found;
            }
        }
    } else {
        for ex in examples
            .iter()
            .filter(complete)
            .filter(|ex| ex.file() == fragment.file)
        {
            for d in documents(&ex.yaml).unwrap_or_default() {
                if wanted(&d) {
                    bases.push((ex.origin.clone(), d));
                }
            }
        }
    }
    let mut merged = match bases.as_slice() {
        [(_, base)] => base.clone(),
        [] => {
            return Err(format!(
                "no base object for `{FRAGMENT_OF}`: {} has no complete {} example",
                fragment.file,
                fragment
                    .object
                    .as_ref()
                    .map_or(String::new(), |(k, n)| format!("{k}/{n}"))
            ));
        }
        more => {
            return Err(format!(
                "`{FRAGMENT_OF} {}` matches {} objects ({}); name one with <Kind>/<name>",
                fragment.file,
                more.len(),
                more.iter()
                    .map(|(o, d)| format!("{o} {}/{}", kind_and_name(d).0, kind_and_name(d).1))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    };
    let patch = fragment
        .at
        .iter()
        .rev()
        .fold(doc.clone(), |inner, key| json!({ key: inner }));
    let before = merged.clone();
    merge_patch(&mut merged, &patch);
    if merged == before {
        return Err("the fragment changes nothing in its base object".into());
    }
    Ok(merged)
}

/// The placeholder CRD of a foreign kind: any `spec`, nothing else at the top level.
fn placeholder_crd(
    group: &str,
    version: &str,
    kind: &str,
    plural: &str,
) -> CustomResourceDefinition {
    serde_json::from_value(json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": format!("{plural}.{group}"),
            "labels": {PLACEHOLDER_LABEL: "true"},
        },
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {
                "kind": kind,
                "plural": plural,
                "singular": kind.to_lowercase(),
                "listKind": format!("{kind}List"),
            },
            "versions": [{
                "name": version,
                "served": true,
                "storage": true,
                "schema": {"openAPIV3Schema": {
                    "type": "object",
                    "required": ["spec"],
                    "properties": {"spec": {
                        "type": "object",
                        "x-kubernetes-preserve-unknown-fields": true,
                    }},
                }},
            }],
        },
    }))
    .expect("a CRD")
}

/// Installs the placeholder CRDs that are missing (or ours from an earlier run), waits until
/// they are Established, and returns a discovery that serves every placeholder kind.
async fn install_placeholders(client: &Client) -> Discovery {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    for (group, version, kind, plural) in PLACEHOLDER_KINDS {
        let crd = placeholder_crd(group, version, kind, plural);
        let name = format!("{plural}.{group}");
        let existing = api.get_opt(&name).await.expect("get CRD");
        let ours = existing.as_ref().is_none_or(|c| {
            c.metadata
                .labels
                .as_ref()
                .is_some_and(|l| l.contains_key(PLACEHOLDER_LABEL))
        });
        if ours {
            api.patch(
                &name,
                &PatchParams::apply("pso-examples").force(),
                &Patch::Apply(&crd),
            )
            .await
            .unwrap_or_else(|e| panic!("apply placeholder CRD {name}: {e}"));
        }
        support::wait_established(&api, &name, Duration::from_secs(60)).await;
    }
    // Established CRDs can take a moment to show up in discovery.
    support::eventually(
        Duration::from_secs(30),
        "the placeholder kinds in API discovery",
        || async {
            let discovery = Discovery::new(client.clone())
                .run()
                .await
                .expect("API discovery");
            let missing: Vec<_> = PLACEHOLDER_KINDS
                .iter()
                .filter(|(g, v, k, _)| {
                    discovery
                        .resolve_gvk(&GroupVersionKind::gvk(g, v, k))
                        .is_none()
                })
                .collect();
            if missing.is_empty() {
                Ok(discovery)
            } else {
                Err(missing)
            }
        },
    )
    .await
}

/// Applies one document with dry run and strict field validation; `Err` says what is wrong.
async fn dry_run_apply(
    client: &Client,
    discovery: &Discovery,
    ns: &str,
    doc: &Value,
) -> Result<String, String> {
    let mut obj: DynamicObject = serde_json::from_value(doc.clone()).map_err(|e| {
        format!("not a Kubernetes object ({e}): add apiVersion, kind and metadata.name, mark it `{FRAGMENT_OF} <base>`, or `{NOT_APPLIED} <reason>` if it is no Kubernetes object at all")
    })?;
    let types = obj.types.clone().ok_or("no apiVersion/kind")?;
    let gvk = GroupVersionKind::try_from(&types).map_err(|e| e.to_string())?;
    let (ar, caps) = discovery.resolve_gvk(&gvk).ok_or_else(|| {
        format!(
            "{}/{} is not served by this control plane: add a placeholder CRD to PLACEHOLDER_KINDS in tests/examples.rs",
            types.api_version, types.kind
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
    let pp = PatchParams::apply("pso-examples")
        .dry_run()
        .force()
        .validation_strict();
    api.patch(&name, &pp, &Patch::Apply(&obj))
        .await
        .map(|_| format!("{}/{name}", types.kind))
        .map_err(|e| format!("{}/{name} refused: {e}", types.kind))
}

/// For a `PlanetScalePassword`: renders its Secret as the operator would (presets and
/// templates, with sample credentials), so an example that passes admission but that the
/// operator refuses (`FormatConflict`, `TemplateFailed`, …) fails too. `Ok(false)`: not a
/// password.
fn operator_renders_secret(doc: &Value) -> Result<bool, String> {
    use planetscale_api::Secret;
    use planetscale_operator::connection::{ConnectionInfo, Engine};
    use planetscale_operator::controller::password::secret::render;
    use planetscale_operator::crd::PlanetScalePassword;
    if doc["kind"] != "PlanetScalePassword" {
        return Ok(false);
    }
    let obj: PlanetScalePassword = serde_json::from_value(doc.clone())
        .map_err(|e| format!("not a PlanetScalePassword: {e}"))?;
    // The engine is the branch's; the examples' PostgreSQL database is `ledger`.
    let postgres =
        obj.spec.postgres.is_some() || obj.spec.target.database.as_deref() == Some("ledger");
    let engine = if postgres {
        Engine::Postgres
    } else {
        Engine::Mysql
    };
    let info = ConnectionInfo {
        host: "aws.connect.psdb.cloud".into(),
        port: engine.port(),
        username: "k8s7x2m9q1w5e3r".into(),
        password: Secret::new("pscale_pw_EXAMPLE"),
        database: "shop".into(),
        branch: "main".into(),
        organization: "acme".into(),
        region: "us-east".into(),
        role: obj.spec.role.as_str().to_string(),
        engine,
    };
    render(&obj, &info)
        .map(|_| true)
        .map_err(|e| format!("the operator would refuse its Secret ({}): {e}", e.reason()))
}

/// What the test did with the examples.
#[derive(Debug, Default)]
struct Outcome {
    /// Blocks and files checked.
    examples: usize,
    /// `origin: Kind/name` of every object applied (fragments as their merged object).
    applied: Vec<String>,
    /// Origins of the fragments merged into their base and applied.
    fragments: Vec<String>,
    /// Passwords whose Secret was rendered as the operator would.
    rendered: usize,
    /// Kinds of the applied objects, counted.
    kinds: BTreeMap<String, usize>,
    /// `origin (reason)` of the blocks that were only parsed.
    parsed_only: Vec<String>,
    /// Origins of the Helm values blocks rendered with the chart.
    helm_values: Vec<String>,
    failures: Vec<String>,
}

async fn check_examples(client: &Client, discovery: &Discovery, ns: &str) -> Outcome {
    let examples = all_examples();
    let mut out = Outcome {
        examples: examples.len(),
        ..Outcome::default()
    };
    for ex in &examples {
        let docs = match documents(&ex.yaml) {
            Ok(d) if !d.is_empty() => d,
            Ok(_) => {
                out.failures.push(format!("{}: empty example", ex.origin));
                continue;
            }
            Err(e) => {
                out.failures.push(format!("{}: {e}", ex.origin));
                continue;
            }
        };
        if first_line_marker(&ex.yaml, HELM_VALUES).is_some() {
            match render_chart(&ex.yaml) {
                Ok(()) => out.helm_values.push(ex.origin.clone()),
                Err(e) => out.failures.push(format!("{}: {e}", ex.origin)),
            }
            continue;
        }
        if let Some(reason) = not_applied(&ex.yaml) {
            if reason.is_empty() {
                out.failures
                    .push(format!("{}: `{NOT_APPLIED}` needs a reason", ex.origin));
            }
            out.parsed_only.push(format!("{} ({reason})", ex.origin));
            continue;
        }
        let fragment = match fragment_of(&ex.yaml) {
            Some(Err(e)) => {
                out.failures.push(format!("{}: {e}", ex.origin));
                continue;
            }
            Some(Ok(f)) => Some(f),
            None => None,
        };
        for doc in &docs {
            let doc = match &fragment {
                None => doc.clone(),
                Some(f) => match merge_fragment(f, ex, doc, &examples) {
                    Ok(merged) => merged,
                    Err(e) => {
                        out.failures.push(format!("{}: {e}", ex.origin));
                        continue;
                    }
                },
            };
            match operator_renders_secret(&doc) {
                Ok(rendered) => out.rendered += usize::from(rendered),
                Err(e) => out.failures.push(format!("{}: {e}", ex.origin)),
            }
            match dry_run_apply(client, discovery, ns, &doc).await {
                Ok(what) => {
                    if fragment.is_some() {
                        out.fragments.push(ex.origin.clone());
                    }
                    *out.kinds
                        .entry(kind_and_name(&doc).0.to_string())
                        .or_default() += 1;
                    out.applied.push(format!("{}: {what}", ex.origin));
                }
                Err(e) => out.failures.push(format!("{}: {e}", ex.origin)),
            }
        }
    }
    out
}

#[tokio::test]
async fn every_documented_example_is_accepted_by_the_control_plane() {
    support::install_crds().await;
    support::with_temp_ns(|client, ns| async move {
        let discovery = install_placeholders(&client).await;
        let out = check_examples(&client, &discovery, &ns).await;
        eprintln!(
            "{} YAML blocks and files: {} applied, {} parsed only\n\
             applied {} objects ({} of them fragments merged into their base; {} passwords' \
             Secrets rendered), by kind: {:?}\n{}\n\
             Helm values rendered with the chart: {}\n\
             parsed only (not Kubernetes objects): {}\n{}",
            out.examples,
            out.examples - out.parsed_only.len(),
            out.parsed_only.len(),
            out.applied.len(),
            out.fragments.len(),
            out.rendered,
            out.kinds,
            out.applied.join("\n"),
            out.helm_values.join(", "),
            out.parsed_only.len(),
            out.parsed_only.join("\n"),
        );
        assert!(
            out.failures.is_empty(),
            "{} example(s) refused:\n{}",
            out.failures.len(),
            out.failures.join("\n")
        );
        assert!(
            out.applied.len() >= MIN_APPLIED,
            "only {} objects applied, expected at least {MIN_APPLIED}: an example stopped being \
             applied (a new `{NOT_APPLIED}` marker, a lost file?)",
            out.applied.len()
        );
        assert!(
            out.parsed_only.len() <= MAX_NOT_APPLIED,
            "{} blocks are `{NOT_APPLIED}`, at most {MAX_NOT_APPLIED} may be (CI and emulator \
             seed files); apply the new ones (`{FRAGMENT_OF}` for fragments, a placeholder CRD \
             for other projects' kinds):\n{}",
            out.parsed_only.len(),
            out.parsed_only.join("\n")
        );
        for (_, _, kind, _) in PLACEHOLDER_KINDS {
            assert!(
                out.kinds.contains_key(*kind),
                "no example of placeholder kind {kind} was applied: remove it from PLACEHOLDER_KINDS"
            );
        }
        for demo in [
            "00-access-policy.yaml",
            "01-branch.yaml",
            "02-password.yaml",
            "03-deploy-request.yaml",
            "04-app-password.yaml",
            "05-postgres-password.yaml",
        ] {
            assert!(
                out.applied.iter().any(|a| a.contains(demo)),
                "examples/demo/{demo} was not applied; applied: {:#?}",
                out.applied
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
        configs.len() >= 3,
        "docs/emulator.md and crates/planetscale-emulator/README.md have a seed example each \
         (marked `{NOT_APPLIED} {EMULATOR_CONFIG}`): {configs:?}"
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

#[test]
fn the_fragment_marker_names_a_file_an_object_and_a_path() {
    let parse = |y: &str| fragment_of(y).expect("marked");
    assert_eq!(
        parse("# fragment-of: examples/password.yaml\nspec: {}\n"),
        Ok(FragmentOf {
            file: "examples/password.yaml".into(),
            object: None,
            at: vec![],
        })
    );
    assert_eq!(
        parse("# fragment-of: docs/x.md DeployRequest/add at spec.secret; a kustomize patch\n"),
        Ok(FragmentOf {
            file: "docs/x.md".into(),
            object: Some(("DeployRequest".into(), "add".into())),
            at: vec!["spec".into(), "secret".into()],
        })
    );
    assert!(parse("# fragment-of:\n").is_err());
    assert!(parse("# fragment-of: a.yaml at\n").is_err());
    assert!(parse("# fragment-of: a.yaml stray words\n").is_err());
    assert_eq!(fragment_of("a: 1\n# fragment-of: late\n"), None);
}

#[test]
fn a_fragment_is_merged_into_its_base_as_a_merge_patch() {
    let examples = vec![
        Example {
            origin: "docs/p.md:3".into(),
            yaml:
                "kind: P\nmetadata: {name: a}\nspec: {secret: {name: s, formats: [x]}, ttl: 1h}\n"
                    .into(),
        },
        Example {
            origin: "docs/p.md:9".into(),
            yaml: "kind: P\nmetadata: {name: b}\nspec: {}\n".into(),
        },
        Example {
            origin: "docs/p.md:12".into(),
            yaml: "# not-applied: not a base\nkind: P\nmetadata: {name: a}\n".into(),
        },
    ];
    let doc = |y: &str| documents(y).unwrap().remove(0);
    let here = Example {
        origin: "docs/p.md:11".into(),
        yaml: String::new(),
    };
    let at_secret = fragment_of("# fragment-of: docs/p.md P/a at spec.secret\n")
        .unwrap()
        .unwrap();
    assert_eq!(
        merge_fragment(
            &at_secret,
            &here,
            &doc("formats: [y, z]\ntemplate: {data: {K: v}}\n"),
            &examples
        ),
        Ok(doc(
            "kind: P\nmetadata: {name: a}\nspec: {secret: {name: s, formats: [y, z], template: {data: {K: v}}}, ttl: 1h}\n"
        ))
    );
    let removing = fragment_of("# fragment-of: docs/p.md P/a\n")
        .unwrap()
        .unwrap();
    assert_eq!(
        merge_fragment(&removing, &here, &doc("spec: {ttl: null}\n"), &examples),
        Ok(doc(
            "kind: P\nmetadata: {name: a}\nspec: {secret: {name: s, formats: [x]}}\n"
        ))
    );
    let ambiguous = fragment_of("# fragment-of: docs/p.md\n").unwrap().unwrap();
    let err = merge_fragment(&ambiguous, &here, &doc("spec: {ttl: 2h}\n"), &examples).unwrap_err();
    assert!(err.contains("matches 2 objects"), "{err}");
    let missing = fragment_of("# fragment-of: docs/p.md P/c\n")
        .unwrap()
        .unwrap();
    assert!(merge_fragment(&missing, &here, &doc("spec: {}\n"), &examples).is_err());
    let no_change = merge_fragment(&removing, &here, &doc("spec: {ttl: 1h}\n"), &examples);
    assert!(no_change.unwrap_err().contains("changes nothing"));
    // `above`: the nearest block before the fragment that holds the object (line 9, not 3).
    let above = fragment_of("# fragment-of: above P\n").unwrap();
    assert!(above.is_err(), "a bare kind is not <Kind>/<name>");
    let above = fragment_of("# fragment-of: above P/b\n").unwrap().unwrap();
    assert_eq!(
        merge_fragment(&above, &here, &doc("spec: {ttl: 2h}\n"), &examples),
        Ok(doc("kind: P\nmetadata: {name: b}\nspec: {ttl: 2h}\n"))
    );
    let early = Example {
        origin: "docs/p.md:5".into(),
        yaml: String::new(),
    };
    assert!(merge_fragment(&above, &early, &doc("spec: {ttl: 2h}\n"), &examples).is_err());
}

#[test]
fn the_origin_of_a_block_names_its_file() {
    let ex = |origin: &str| Example {
        origin: origin.into(),
        yaml: String::new(),
    };
    assert_eq!(ex("docs/a.md:12").file(), "docs/a.md");
    assert_eq!(ex("examples/b.yaml").file(), "examples/b.yaml");
}
