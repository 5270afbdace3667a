//! Branch schema and schema lint results.

use serde::{Deserialize, Serialize};

use super::de::or_default;

/// One table of `GET …/branches/{branch}/schema`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TableSchema {
    /// Table name.
    #[serde(default, deserialize_with = "or_default")]
    pub name: String,
    /// The `CREATE TABLE` statement.
    #[serde(default, deserialize_with = "or_default")]
    pub raw: String,
    /// The statement with syntax highlighting (HTML).
    #[serde(default)]
    pub html: Option<String>,
}

/// One finding of `GET …/branches/{branch}/schema/lint`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LintError {
    /// UPPER_SNAKE code, e.g. `NO_PRIMARY_KEY`.
    #[serde(default, deserialize_with = "or_default")]
    pub lint_error: String,
    /// `table`, `vschema` or `routing_rules`.
    #[serde(default)]
    pub subject_type: Option<String>,
    /// Keyspace.
    #[serde(default)]
    pub keyspace_name: Option<String>,
    /// Table.
    #[serde(default)]
    pub table_name: Option<String>,
    /// Column, when the finding is about one.
    #[serde(default)]
    pub column_name: Option<String>,
    /// Human description.
    #[serde(default)]
    pub error_description: Option<String>,
    /// Documentation link.
    #[serde(default)]
    pub docs_url: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::Page;

    #[test]
    fn schema_envelope_without_paging_fields() {
        let json = r#"{"data":[{"name":"orders","html":"<pre>..</pre>",
            "raw":"CREATE TABLE `orders` (`id` bigint NOT NULL, PRIMARY KEY (`id`))"}]}"#;
        let page: Page<TableSchema> = serde_json::from_str(json).unwrap();
        assert_eq!(page.data[0].name, "orders");
        assert!(page.data[0].raw.starts_with("CREATE TABLE"));
        assert_eq!(page.next_page, None);
    }

    #[test]
    fn lint_page_decodes() {
        let json = r#"{"type":"list","current_page":1,"next_page":null,"data":[
            {"lint_error":"NO_PRIMARY_KEY","subject_type":"table","keyspace_name":"shop",
             "table_name":"events","error_description":"table has no primary key",
             "docs_url":"https://planetscale.com/docs/x","column_name":"",
             "foreign_key_column_names":[],"auto_increment_column_names":null}]}"#;
        let page: Page<LintError> = serde_json::from_str(json).unwrap();
        assert_eq!(page.data[0].lint_error, "NO_PRIMARY_KEY");
        assert_eq!(page.data[0].table_name.as_deref(), Some("events"));
    }
}
