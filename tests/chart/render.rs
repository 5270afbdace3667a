//! Running helm and kubectl from the local control plane's binary folder, and reading the
//! rendered manifests.
use std::io::Write;
use std::process::{Output, Stdio};

use serde::Deserialize;
use serde_json::Value;

pub use super::support::helm::{chart, text};

/// Runs `tool` (helm or kubectl) with `args`, feeding `stdin`.
pub fn run(tool: &str, args: &[String], stdin: Option<&str>) -> Output {
    let mut child = super::support::helm::tool(tool)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {tool}: {e}"));
    let mut input = child.stdin.take().expect("stdin");
    input
        .write_all(stdin.unwrap_or("").as_bytes())
        .expect("write stdin");
    drop(input);
    child.wait_with_output().expect("wait")
}

/// One value set of the chart: a file in `ci/` (or none for the defaults) plus extra flags.
#[derive(Clone, Debug)]
pub struct ValueSet {
    pub name: &'static str,
    pub file: Option<&'static str>,
    pub flags: Vec<String>,
}

impl ValueSet {
    /// The chart's default values.
    pub fn default_set() -> Self {
        Self::new("default", None)
    }

    fn new(name: &'static str, file: Option<&'static str>) -> Self {
        Self {
            name,
            file,
            flags: vec![],
        }
    }

    /// `helm template` arguments for release `pso` in `namespace`.
    pub fn template_args(&self, namespace: &str) -> Vec<String> {
        let mut args: Vec<String> = [
            "template",
            "pso",
            &chart().display().to_string(),
            "-n",
            namespace,
        ]
        .map(String::from)
        .to_vec();
        if let Some(file) = self.file {
            args.extend([
                "-f".into(),
                chart().join("ci").join(file).display().to_string(),
            ]);
        }
        args.extend(self.flags.iter().cloned());
        args
    }

    /// The rendered manifests, or helm's error output.
    pub fn render(&self, namespace: &str, extra: &[&str]) -> Result<String, String> {
        let mut args = self.template_args(namespace);
        args.extend(extra.iter().map(std::string::ToString::to_string));
        let out = run("helm", &args, None);
        if out.status.success() {
            Ok(String::from_utf8(out.stdout).expect("utf-8"))
        } else {
            Err(text(&out))
        }
    }

    /// The rendered objects (panics when rendering fails).
    pub fn objects(&self, namespace: &str) -> Vec<Value> {
        let yaml = self
            .render(namespace, &[])
            .unwrap_or_else(|e| panic!("{}: helm template failed\n{e}", self.name));
        parse(&yaml)
    }
}

/// The default values and every file in the chart's `ci/` folder (each must be listed here).
pub fn value_sets() -> Vec<ValueSet> {
    let sets = vec![
        ValueSet::new("default", None),
        ValueSet::new("namespaced", Some("namespaced-values.yaml")),
        ValueSet::new("ha", Some("ha-values.yaml")),
        ValueSet::new("token-credentials", Some("token-credentials-values.yaml")),
        ValueSet::new("oauth-credentials", Some("oauth-credentials-values.yaml")),
        ValueSet::new("monitoring", Some("monitoring-values.yaml")),
    ];
    let mut listed: Vec<&str> = sets.iter().filter_map(|s| s.file).collect();
    let mut on_disk: Vec<String> = std::fs::read_dir(chart().join("ci"))
        .expect("ci folder")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    listed.sort_unstable();
    on_disk.sort_unstable();
    assert_eq!(listed, on_disk, "every ci/ values file must be tested");
    sets
}

/// Every YAML document in `yaml` as JSON, skipping empty ones.
pub fn parse(yaml: &str) -> Vec<Value> {
    serde_norway::Deserializer::from_str(yaml)
        .map(|doc| Value::deserialize(doc).expect("helm renders valid YAML"))
        .filter(|v| !v.is_null())
        .collect()
}

/// The objects of one kind.
pub fn of_kind<'a>(objects: &'a [Value], kind: &str) -> Vec<&'a Value> {
    objects.iter().filter(|o| o["kind"] == kind).collect()
}

/// The only object of one kind.
pub fn one<'a>(objects: &'a [Value], kind: &str) -> &'a Value {
    let found = of_kind(objects, kind);
    assert_eq!(found.len(), 1, "expected one {kind}, got {}", found.len());
    found[0]
}

/// Strings of a JSON array (empty when absent).
pub fn strings(v: &Value) -> Vec<&str> {
    v.as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}
