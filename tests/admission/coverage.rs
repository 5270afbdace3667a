//! Which admission rules the generated CRDs hold (every CEL rule and every constrained property
//! under `spec`), and whether a case in the tables expects each one's refusal. Needs no cluster:
//! it reads `crds/*.yaml`, which `checked_in_crds_match_the_types` keeps equal to the types.
//!
//! `status` is left out: users cannot write it (create ignores it, the status subresource is the
//! operator's), so its bounds are not admission rules for a manifest; status.rs tests them.
use std::fmt;
use std::path::PathBuf;

use serde_json::Value;

use crate::case::{Case, Kind};

/// One check the API server makes on a manifest.
#[derive(Debug)]
pub struct Rule {
    pub kind: Kind,
    /// The field path the refusal names: `[*]` stands for any list index, `.*` for any map key.
    pub path: String,
    pub check: Check,
}

#[derive(Debug, PartialEq)]
pub enum Check {
    /// An `x-kubernetes-validations` rule, by its message.
    Cel(String),
    /// An OpenAPI keyword (`maxLength`, `enum`, `required`, ...).
    Schema(&'static str),
}

/// Keywords that constrain a value, with the text the API server's refusal contains.
const SCHEMA_CHECKS: [(&str, &str); 12] = [
    ("maxLength", "Too long"),
    ("maxItems", "Too many"),
    ("maxProperties", "Too many"),
    ("enum", "Unsupported value"),
    ("pattern", "should match"),
    ("minimum", "should be greater than or equal to"),
    ("maximum", "should be less than or equal to"),
    ("minLength", "should be at least"),
    ("minItems", "should have at least"),
    ("required", "Required value"),
    ("x-kubernetes-list-type", "Duplicate value"),
    ("format", "must be of type"),
];

/// Keywords that describe rather than refuse (a wrong `type` is refused too, but every field
/// has one; the tables test it where a user is likely to get it wrong).
const NOT_CHECKS: [&str; 7] = [
    "description",
    "type",
    // `int32` on integers: the range checks (`minimum`, `maximum`) are the refusals users see.
    "format",
    "title",
    "default",
    "x-kubernetes-list-map-keys",
    "additionalProperties",
];

/// Rules no manifest can break, each with why. [`uncovered`] fails if one no longer exists.
pub const UNREACHABLE: [(Kind, &str, &str, &str); 1] = [(
    Kind::Branch,
    "spec.seedData",
    "seedData is immutable",
    "seedData's enum has one value, so an update either keeps it (allowed) or fails the enum \
     check first, and the API server skips CEL rules when the enum check fails; \
     `seedData cannot be added or removed` covers the field",
)];

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.check {
            Check::Cel(message) => write!(f, "{} {}: CEL {message:?}", self.kind.name(), self.path),
            Check::Schema(keyword) => write!(
                f,
                "{} {}: {keyword} (a case expecting {:?} and naming {})",
                self.kind.name(),
                self.path,
                signature(keyword),
                self.path
            ),
        }
    }
}

fn signature(keyword: &str) -> &'static str {
    SCHEMA_CHECKS
        .iter()
        .find(|(k, _)| *k == keyword)
        .map(|(_, s)| *s)
        .expect("a known keyword")
}

fn kind_of(crd: &Value) -> Kind {
    let name = crd["spec"]["names"]["kind"]
        .as_str()
        .expect("spec.names.kind");
    [
        Kind::Branch,
        Kind::Password,
        Kind::DeployRequest,
        Kind::Database,
        Kind::Backup,
    ]
    .into_iter()
    .find(|k| k.name() == name)
    .unwrap_or_else(|| {
        panic!("crds/ holds a CRD for {name}, which the admission tables do not know")
    })
}

/// Every rule in `crds/*.yaml`. Panics naming a keyword nobody has classified yet, so a new
/// kind of constraint is sorted into [`SCHEMA_CHECKS`] or [`NOT_CHECKS`] before it is trusted.
pub fn rules_in_crds() -> Vec<Rule> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("crds");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        // The cluster admin's access policy has its own admission cases: tests/policy/admission.rs.
        .filter(|p| !p.ends_with("planetscaleaccesspolicies.planetscale.operator.dev.yaml"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 5, "crds/ holds {files:?}");
    let mut rules = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read CRD");
        let crd: Value = serde_norway::from_str(&text).expect("CRD YAML");
        let versions = crd["spec"]["versions"].as_array().expect("versions");
        assert_eq!(versions.len(), 1, "{}: one version", file.display());
        let root = &versions[0]["schema"]["openAPIV3Schema"];
        collect(kind_of(&crd), "", root, &mut rules);
    }
    rules
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

fn collect(kind: Kind, path: &str, schema: &Value, out: &mut Vec<Rule>) {
    let schema = schema.as_object().expect("a schema is an object");
    for (keyword, value) in schema {
        match keyword.as_str() {
            "properties" => {
                for (name, sub) in value.as_object().expect("properties") {
                    if !(path.is_empty() && name == "status") {
                        collect(kind, &join(path, name), sub, out);
                    }
                }
            }
            "items" => collect(kind, &format!("{path}[*]"), value, out),
            "additionalProperties" if value.is_object() => {
                collect(kind, &format!("{path}.*"), value, out);
            }
            "required" => {
                for name in value.as_array().expect("required") {
                    out.push(Rule {
                        kind,
                        path: join(path, name.as_str().expect("a property name")),
                        check: Check::Schema("required"),
                    });
                }
            }
            "x-kubernetes-validations" => {
                for cel in value.as_array().expect("validations") {
                    out.push(cel_rule(kind, path, cel));
                }
            }
            "x-kubernetes-list-type" if value == "atomic" => {}
            // A duplicate is refused at the index of the second copy.
            "x-kubernetes-list-type" => out.push(Rule {
                kind,
                path: format!("{path}[*]"),
                check: Check::Schema("x-kubernetes-list-type"),
            }),
            k if NOT_CHECKS.contains(&k) => {}
            k => match SCHEMA_CHECKS.iter().find(|(known, _)| *known == k) {
                Some((known, _)) => out.push(Rule {
                    kind,
                    path: path.to_string(),
                    check: Check::Schema(known),
                }),
                None => panic!(
                    "{} {}: keyword {k} is neither a known check nor known to check nothing; \
                     add it to SCHEMA_CHECKS or NOT_CHECKS in tests/admission/coverage.rs",
                    kind.name(),
                    if path.is_empty() { "(root)" } else { path }
                ),
            },
        }
    }
}

fn cel_rule(kind: Kind, path: &str, cel: &Value) -> Rule {
    let message = cel["message"].as_str().unwrap_or_else(|| {
        panic!(
            "{} {path}: CEL rule {} has no fixed message to test for",
            kind.name(),
            cel["rule"]
        )
    });
    let path = match cel.get("fieldPath").and_then(Value::as_str) {
        Some(field) => {
            assert!(
                !field.contains('['),
                "{} {path}: fieldPath {field} with an index; teach coverage.rs to read it",
                kind.name()
            );
            join(path, field.trim_start_matches('.'))
        }
        None => path.to_string(),
    };
    Rule {
        kind,
        path,
        check: Check::Cel(message.to_string()),
    }
}

/// Whether `expect` starts with a field path matching `pattern` (`[*]`: any index, `.*`: any map
/// key), followed by its end, ':' or ' ' — so `spec.branchRef` is not named by
/// `spec.branchRef.name`.
pub fn names_path(expect: &str, pattern: &str) -> bool {
    fn at_end(e: &[u8]) -> bool {
        matches!(e.first(), None | Some(b':' | b' '))
    }
    fn go(e: &[u8], p: &[u8]) -> bool {
        if p.is_empty() {
            return at_end(e);
        }
        if let Some(rest) = p.strip_prefix(b"[*]") {
            let digits = e.iter().skip(1).take_while(|c| c.is_ascii_digit()).count();
            return e.first() == Some(&b'[')
                && digits > 0
                && e.get(1 + digits) == Some(&b']')
                && go(&e[2 + digits..], rest);
        }
        if let Some(rest) = p.strip_prefix(b".*") {
            let key = e.iter().skip(1).take_while(|c| !at_end(&[**c])).count();
            return e.first() == Some(&b'.') && (1..=key).any(|n| go(&e[1 + n..], rest));
        }
        e.first() == p.first() && go(&e[1..], &p[1..])
    }
    go(expect.as_bytes(), pattern.as_bytes())
}

/// Whether `case` expects the refusal `rule` gives: it names the rule's field, and either the
/// keyword's text or a start of the CEL message that no other rule on that field shares.
pub fn covers(case: &Case, rule: &Rule, all: &[Rule]) -> bool {
    if case.kind != rule.kind || !case.expect.iter().any(|e| names_path(e, &rule.path)) {
        return false;
    }
    match &rule.check {
        Check::Schema(keyword) => case.expect.iter().any(|e| e.contains(signature(keyword))),
        Check::Cel(message) => {
            case.expect.iter().any(|e| {
                e.len() >= 10 && message.starts_with(e) && !all.iter().any(|other| {
                    other.kind == rule.kind
                        && other.path == rule.path
                        && matches!(&other.check, Check::Cel(m) if m != message && m.starts_with(e))
                })
            })
        }
    }
}

/// The rules no case covers, apart from the [`UNREACHABLE`] ones (which must still exist).
pub fn uncovered(rules: &[Rule], cases: &[Case]) -> Vec<String> {
    let mut missing = Vec::new();
    for (kind, path, message, _why) in UNREACHABLE {
        let exists = rules.iter().any(|r| {
            r.kind == kind
                && r.path == path
                && matches!(&r.check, Check::Cel(m) if m.starts_with(message))
        });
        if !exists {
            missing.push(format!(
                "{} {path}: UNREACHABLE lists {message:?}, which the CRD no longer has",
                kind.name()
            ));
        }
    }
    for rule in rules {
        let unreachable = UNREACHABLE.iter().any(|(kind, path, message, _)| {
            rule.kind == *kind
                && rule.path == *path
                && matches!(&rule.check, Check::Cel(m) if m.starts_with(message))
        });
        if !unreachable && !cases.iter().any(|c| covers(c, rule, rules)) {
            missing.push(rule.to_string());
        }
    }
    missing
}

#[test]
fn seed_data_is_still_unreachable() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("crds/planetscalebranches.planetscale.operator.dev.yaml");
    let crd: Value = serde_norway::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let seed = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
        ["seedData"];
    assert_eq!(
        seed["enum"].as_array().map(Vec::len),
        Some(1),
        "seedData can now change to another valid value: add a case for `seedData is immutable` \
         and drop it from UNREACHABLE"
    );
}

#[test]
fn names_path_matches_indices_and_map_keys() {
    assert!(names_path("spec.cidrs[0]", "spec.cidrs[*]"));
    assert!(names_path(
        "spec.restartOnRotation[12].name: Required value",
        "spec.restartOnRotation[*].name"
    ));
    assert!(names_path(
        "spec.secret.labels.app.kubernetes.io/name",
        "spec.secret.labels.*"
    ));
    assert!(names_path("spec: Invalid value", "spec"));
    assert!(!names_path("spec.branchRef.name", "spec.branchRef"));
    assert!(!names_path("spec.cidrs", "spec.cidrs[*]"));
    assert!(!names_path("spec.secret.labels", "spec.secret.labels.*"));
    assert!(!names_path("intoBranch must differ", "spec.intoBranch"));
}
