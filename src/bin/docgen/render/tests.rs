use serde_json::json;

use super::*;
use planetscale_operator::crd;

fn crds() -> Vec<Value> {
    crd::all()
        .iter()
        .map(|c| serde_json::to_value(c).unwrap())
        .collect()
}

/// Every property path under `schema`, as the page writes it (without the section prefix).
fn paths(schema: &Value, prefix: &str, out: &mut Vec<String>) {
    let Some(props) = schema["properties"].as_object() else {
        return;
    };
    for (name, prop) in props {
        let path = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        out.push(path.clone());
        if prop["items"].is_object() && !is_condition(&prop["items"]) {
            paths(&prop["items"], &format!("{path}[]"), out);
        }
        paths(prop, &path, out);
    }
}

#[test]
fn every_spec_and_status_field_has_a_row() {
    for c in crds() {
        let page = page(&c);
        let schema = &c["spec"]["versions"][0]["schema"]["openAPIV3Schema"];
        for section in ["spec", "status"] {
            // A kind without status (the cluster-scoped access policy) has nothing to list.
            if section == "status" && schema["properties"]["status"].is_null() {
                continue;
            }
            let mut all = Vec::new();
            paths(&schema["properties"][section], "", &mut all);
            assert!(all.len() > 3, "{section} of {} has fields", kind(&c));
            for p in all {
                assert!(
                    page.contains(&format!("| `{p}` |")),
                    "{}: no row for {section}.{p}",
                    kind(&c)
                );
            }
        }
    }
}

#[test]
fn pages_show_admission_messages_defaults_and_enums() {
    let branch = crds()
        .into_iter()
        .find(|c| kind(c) == "PlanetScaleBranch")
        .unwrap();
    let page = page(&branch);
    assert!(page.contains("branchName is immutable"), "{page}");
    assert!(
        page.contains("| `deletionPolicy` | string | `\"Delete\"` |"),
        "{page}"
    );
    assert!(page.contains("One of `Delete`, `Retain`."), "{page}");
    assert!(page.contains("short name `psbranch`"), "{page}");
    assert!(
        page.contains("| Organization | `.status.organization` | with `-o wide` |"),
        "{page}"
    );
    assert_eq!(file_name(&branch), "planetscalebranch.md");
}

#[test]
fn conditions_are_summarised_not_expanded() {
    let with_conditions = crds().into_iter().filter(|c| {
        let schema = &c["spec"]["versions"][0]["schema"]["openAPIV3Schema"];
        schema["properties"]["status"]["properties"]["conditions"].is_object()
    });
    for c in with_conditions {
        let page = page(&c);
        assert!(!page.contains("`conditions[].reason`"), "{}", kind(&c));
        assert!(
            page.contains("Standard Kubernetes conditions"),
            "{}",
            kind(&c)
        );
    }
}

#[test]
fn a_table_row_has_four_cells_even_with_pipes_and_newlines() {
    let prop = json!({
        "type": "object",
        "description": "a | b\n\nsecond paragraph\nwrapped",
        "additionalProperties": {"type": "string"},
        "x-kubernetes-validations": [{"rule": "self.size() > 0 || true"}]
    });
    let r = row("spec.x", &prop, true);
    assert_eq!(r.lines().count(), 1, "{r}");
    let unescaped = r.replace("\\|", "").matches('|').count();
    assert_eq!(unescaped, 5, "{r}");
    assert!(r.starts_with("| `x` | map[string]string |"), "{r}");
    assert!(
        r.contains("**Required.**") && r.contains("<br>second paragraph wrapped"),
        "{r}"
    );
}

#[test]
fn types_are_named_like_kubectl_explain() {
    assert_eq!(
        type_name(&json!({"type": "array", "items": {"type": "string"}})),
        "[]string"
    );
    assert_eq!(
        type_name(&json!({"type": "string", "format": "date-time"})),
        "string (date-time)"
    );
    assert_eq!(
        type_name(&json!({"x-kubernetes-int-or-string": true})),
        "int or string"
    );
    assert_eq!(type_name(&json!({})), "any");
}
