//! docs/troubleshooting.md in step with the code: every condition reason that src/ can set is
//! a row of the page, and every row names a reason that exists.
//!
//! Reasons are found in the source text (non-test code only):
//! - `const X: &str = "Reason";` inside a `pub mod reason { … }`;
//! - the string literals a `fn reason(&self)` or `fn api_reason(…)` returns (`=> "Reason"`);
//! - `reason: "Reason"` and `reason: SOME_CONST` fields (`Error::Invalid`, `Error::Waiting`,
//!   with the constant declared in the same file).
use std::collections::BTreeMap;
use std::path::Path;

use super::{files, repo};

/// Reasons that `fn reason` returns but that never reach a condition, with where they end up.
pub const NOT_CONDITION_REASONS: &[(&str, &str)] = &[
    (
        "EmptyDuration",
        "DurationError::reason; the password controller reports a bad duration as InvalidSpec",
    ),
    (
        "InvalidDuration",
        "DurationError::reason; the password controller reports a bad duration as InvalidSpec",
    ),
    (
        "DurationTooLarge",
        "DurationError::reason; the password controller reports a bad duration as InvalidSpec",
    ),
    (
        "InvalidLeaderElectionDurations",
        "LeaderError::reason: the operator refuses to start, no resource is involved",
    ),
    (
        "CredentialsInUse",
        "a Normal event on a credentials Secret, documented below the tables of troubleshooting.md",
    ),
];

/// A reason the page documents: the first cell of a table row, e.g. `` `Queued` / `NotQueued` ``.
#[derive(Debug, Clone, PartialEq)]
pub struct DocReason {
    pub name: String,
    /// The heading the row is under (`## DeployRequest`, `### Secret rendering`, …).
    pub section: String,
    /// The last line of text before the table (what the table is about).
    pub intro: String,
    /// The whole row.
    pub row: String,
}

/// The reasons documented in the tables of a troubleshooting page.
pub fn documented_reasons(markdown: &str) -> Vec<DocReason> {
    let (mut section, mut intro, mut last_text) = (String::new(), String::new(), String::new());
    let mut in_table = false;
    let mut out = Vec::new();
    for line in markdown.lines() {
        let line = line.trim();
        if line.starts_with('#') {
            section = line.to_string();
            last_text.clear();
        }
        if !line.starts_with('|') {
            in_table = false;
            if !line.is_empty() && !line.starts_with('#') {
                last_text = line.to_string();
            }
            continue;
        }
        if !in_table {
            in_table = true;
            intro = last_text.clone();
        }
        let first = line.trim_start_matches('|').split('|').next().unwrap_or("");
        for (i, part) in first.split('`').enumerate() {
            let camel = part.chars().next().is_some_and(|c| c.is_ascii_uppercase())
                && part.chars().all(|c| c.is_ascii_alphanumeric());
            if i % 2 == 1 && camel {
                out.push(DocReason {
                    name: part.to_string(),
                    section: section.clone(),
                    intro: intro.clone(),
                    row: line.to_string(),
                });
            }
        }
    }
    out
}

pub fn troubleshooting() -> String {
    std::fs::read_to_string(repo().join("docs/troubleshooting.md")).expect("read troubleshooting")
}

/// The text of `text` from the line after `start` up to its closing brace (by brace count).
fn block_after(text: &str, start: usize) -> &str {
    let body = &text[start..];
    let mut depth = 0i32;
    for (i, c) in body.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return &body[..i];
                }
            }
            _ => {}
        }
    }
    body
}

/// The string literals that follow `prefix` in `text` (`prefix"Literal"`).
fn literals_after<'a>(text: &'a str, prefix: &str) -> Vec<&'a str> {
    text.match_indices(prefix)
        .filter_map(|(i, _)| {
            let rest = text[i + prefix.len()..].strip_prefix('"')?;
            rest.split_once('"').map(|(lit, _)| lit)
        })
        .collect()
}

/// `const NAME: &str = "value";` declarations of a text.
fn str_consts(text: &str) -> BTreeMap<&str, &str> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim().trim_start_matches("pub ");
        let Some(rest) = line.strip_prefix("const ") else {
            continue;
        };
        if let Some((name, value)) = rest.split_once(": &str = \"")
            && let Some((value, _)) = value.split_once('"')
        {
            out.insert(name.trim(), value);
        }
    }
    out
}

fn is_reason_word(s: &str) -> bool {
    s.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        && s.chars().all(|c| c.is_ascii_alphanumeric())
}

/// The reasons of one source file, each with where it was found.
pub fn reasons_in_source(text: &str, file: &str) -> BTreeMap<String, String> {
    // Only the code before the unit tests.
    let code = text.split("#[cfg(test)]").next().unwrap_or(text);
    let mut out = BTreeMap::new();
    let mut add = |name: &str, how: &str| {
        if is_reason_word(name) {
            out.entry(name.to_string())
                .or_insert_with(|| format!("{file} ({how})"));
        }
    };
    for (i, _) in code.match_indices("pub mod reason {") {
        for (_, value) in str_consts(block_after(code, i)) {
            add(value, "mod reason");
        }
    }
    for marker in ["fn reason(&self)", "fn api_reason("] {
        for (i, _) in code.match_indices(marker) {
            for lit in literals_after(block_after(code, i), "=> ") {
                add(lit, "fn reason");
            }
        }
    }
    for lit in literals_after(code, "reason: ") {
        add(lit, "reason field");
    }
    let consts = str_consts(code);
    for (i, _) in code.match_indices("reason: ") {
        let ident: String = code[i + "reason: ".len()..]
            .chars()
            .take_while(|c| c.is_ascii_uppercase() || *c == '_')
            .collect();
        if let Some(value) = consts.get(ident.as_str()) {
            add(value, "reason field");
        }
    }
    out
}

/// Every reason src/ can set, with where it was found.
pub fn code_reasons() -> BTreeMap<String, String> {
    let root = repo();
    let mut out = BTreeMap::new();
    for file in files(&root.join("src"), &[".rs"]) {
        let rel = file
            .strip_prefix(&root)
            .unwrap_or(&file)
            .display()
            .to_string();
        let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name == "tests.rs" || name.ends_with("_tests.rs") || is_under_tests(&file) {
            continue;
        }
        let text = std::fs::read_to_string(&file).expect("read source");
        for (reason, at) in reasons_in_source(&text, &rel) {
            out.entry(reason).or_insert(at);
        }
    }
    out
}

fn is_under_tests(path: &Path) -> bool {
    path.components().any(|c| c.as_os_str() == "tests")
}

#[test]
fn troubleshooting_documents_every_condition_reason_of_the_code() {
    let code = code_reasons();
    let page = troubleshooting();
    let documented: BTreeMap<String, DocReason> = documented_reasons(&page)
        .into_iter()
        .map(|r| (r.name.clone(), r))
        .collect();
    let ignored: BTreeMap<&str, &str> = NOT_CONDITION_REASONS.iter().copied().collect();
    eprintln!(
        "{} reasons in src/ ({} never reach a condition), {} documented in docs/troubleshooting.md",
        code.len(),
        ignored.len(),
        documented.len()
    );
    // Sanity: the scan finds the reasons of every kind of definition.
    for known in [
        "CredentialsNotFound",
        "AlreadyExists",
        "SecretConflict",
        "QueueBlocked",
        "PlanetScaleUnavailable",
        "TemplateFailed",
        "InvalidSpec",
        "DeletionProtected",
    ] {
        assert!(
            code.contains_key(known),
            "the scan of src/ no longer finds {known}: fix code_reasons() in tests/examples/reasons.rs"
        );
    }
    let stale_ignored: Vec<_> = ignored.keys().filter(|r| !code.contains_key(**r)).collect();
    assert!(
        stale_ignored.is_empty(),
        "NOT_CONDITION_REASONS lists reasons src/ no longer has: {stale_ignored:?}"
    );
    let undocumented: Vec<String> = code
        .iter()
        .filter(|(r, _)| !documented.contains_key(*r) && !ignored.contains_key(r.as_str()))
        .map(|(r, at)| format!("{r} (from {at})"))
        .collect();
    assert!(
        undocumented.is_empty(),
        "docs/troubleshooting.md has no row for {} reason(s) the code sets; add a row \
         | `Reason` | condition | what it means | what to do | to the kind's table:\n{}",
        undocumented.len(),
        undocumented.join("\n")
    );
    let unknown: Vec<String> = documented
        .values()
        .filter(|r| !code.contains_key(&r.name))
        .map(|r| format!("{} ({})", r.name, r.section))
        .collect();
    assert!(
        unknown.is_empty(),
        "docs/troubleshooting.md documents reasons src/ never sets (renamed or removed?):\n{}",
        unknown.join("\n")
    );
}

#[test]
fn reasons_are_found_in_each_form_the_code_uses() {
    let src = r#"
pub mod reason {
    /// doc
    pub const A_B: &str = "AlphaBeta";
}
const LOCAL: &str = "LocalReason";
pub const KIND: &str = "NotAReason";
impl E {
    pub fn reason(&self) -> &'static str {
        match self {
            Self::X => "FromMatch",
            Self::Y { .. } => "AlsoFromMatch",
        }
    }
    fn other(&self) -> &'static str {
        match self { _ => "NotFromReasonFn" }
    }
}
fn f() -> Error {
    Error::Invalid { reason: "FieldReason", message: String::new() };
    Error::Waiting { reason: LOCAL, message: String::new() }
}
#[cfg(test)]
mod tests {
    const T: &str = "TestOnly";
    fn g() { Error::Invalid { reason: "TestReason", message: String::new() }; }
}
"#;
    let found: Vec<String> = reasons_in_source(src, "x.rs").into_keys().collect();
    assert_eq!(
        found,
        [
            "AlphaBeta",
            "AlsoFromMatch",
            "FieldReason",
            "FromMatch",
            "LocalReason"
        ]
    );
}

#[test]
fn documented_reasons_are_the_first_cells_of_table_rows() {
    let md = "## Kind\n\nReasons that need you:\n\n| reason | on |\n|---|---|\n\
              | `OneReason` | `Ready=False` *Waits.* |\n| `Two` / `Three` | `Queued` |\n\n\
              Text with `NotInATable`.\n";
    let found = documented_reasons(md);
    let names: Vec<&str> = found.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["OneReason", "Two", "Three"]);
    assert_eq!(found[0].section, "## Kind");
    assert_eq!(found[0].intro, "Reasons that need you:");
    assert!(found[0].row.contains("*Waits.*"));
}
