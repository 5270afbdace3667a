//! Final touches on the generated schemas, applied by [`super::all`].
//!
//! - `nullable: true` is dropped everywhere. The API server then prunes an explicit `null`
//!   (e.g. `region: ~`, or an empty Helm value) instead of keeping it, so `null` means "unset"
//!   exactly as an omitted field does, and the CEL rules never see a null value.
//! - Descriptions are unwrapped: the line breaks of a doc comment become spaces (blank lines
//!   stay paragraph breaks), so `kubectl explain` wraps the text itself.
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use serde_json::Value;

/// The CRD with every schema tidied.
pub(crate) fn tidy_crd(crd: &CustomResourceDefinition) -> CustomResourceDefinition {
    let mut value = serde_json::to_value(crd).expect("a CRD serializes to JSON");
    let versions = value["spec"]["versions"].as_array_mut();
    for version in versions.into_iter().flatten() {
        tidy_schema(&mut version["schema"]["openAPIV3Schema"]);
    }
    serde_json::from_value(value).expect("the tidied CRD deserializes")
}

/// Tidies a schema object and the schemas nested in it.
fn tidy_schema(schema: &mut Value) {
    let Some(obj) = schema.as_object_mut() else {
        return;
    };
    obj.remove("nullable");
    if let Some(Value::String(text)) = obj.get_mut("description") {
        *text = unwrap_lines(text);
    }
    if let Some(props) = obj.get_mut("properties").and_then(Value::as_object_mut) {
        props.values_mut().for_each(tidy_schema);
    }
    for key in ["items", "additionalProperties"] {
        if let Some(sub) = obj.get_mut(key) {
            tidy_schema(sub);
        }
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        if let Some(list) = obj.get_mut(key).and_then(Value::as_array_mut) {
            list.iter_mut().for_each(tidy_schema);
        }
    }
}

/// Joins the lines of each paragraph with spaces; paragraphs stay separated by a blank line.
fn unwrap_lines(text: &str) -> String {
    text.split("\n\n")
        .map(|para| para.lines().map(str::trim).collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join("\n\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unwraps_lines_but_keeps_paragraphs() {
        assert_eq!(
            unwrap_lines("one\ntwo\n\nthree\n four"),
            "one two\n\nthree four"
        );
        assert_eq!(unwrap_lines("single line"), "single line");
    }

    #[test]
    fn drops_nullable_at_every_depth_but_not_a_field_named_nullable() {
        let mut schema = json!({
            "type": "object", "nullable": true, "description": "a\nb",
            "properties": {
                "nullable": {"type": "string", "nullable": true},
                "list": {"type": "array", "items": {"type": "object", "nullable": true}},
                "map": {"type": "object", "additionalProperties": {"type": "string", "nullable": true}}
            }
        });
        tidy_schema(&mut schema);
        assert_eq!(
            schema,
            json!({
                "type": "object", "description": "a b",
                "properties": {
                    "nullable": {"type": "string"},
                    "list": {"type": "array", "items": {"type": "object"}},
                    "map": {"type": "object", "additionalProperties": {"type": "string"}}
                }
            })
        );
    }
}
