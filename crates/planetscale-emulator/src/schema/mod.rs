//! Branch schemas (one `CREATE TABLE` per table), schema lint and the
//! three-way diff that deploy requests are built from.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

mod diff;

pub use diff::{Change, OpKind, alter_statement, apply, changes};

/// Table name → `CREATE TABLE` statement.
pub type Schema = BTreeMap<String, String>;

/// Extract the table name from a `CREATE TABLE` statement.
pub fn table_name(raw: &str) -> Option<String> {
    let words: Vec<&str> = raw.split_whitespace().take(6).collect();
    let upper: Vec<String> = words.iter().map(|w| w.to_ascii_uppercase()).collect();
    if upper.first()? != "CREATE" || upper.get(1)? != "TABLE" {
        return None;
    }
    let idx = if upper.get(2).map(String::as_str) == Some("IF") {
        5
    } else {
        2
    };
    let word = words.get(idx)?;
    let name = word.split('(').next()?.trim_matches('`');
    let name = name.rsplit('.').next()?.trim_matches('`');
    (!name.is_empty()).then(|| name.to_string())
}

/// Build a schema from `CREATE TABLE` statements.
pub fn parse_tables(statements: &[String]) -> Result<Schema, String> {
    let mut schema = Schema::new();
    for raw in statements {
        let raw = raw.trim().trim_end_matches(';').trim();
        let name =
            table_name(raw).ok_or_else(|| format!("not a CREATE TABLE statement: {raw:.60}"))?;
        if schema.insert(name.clone(), raw.to_string()).is_some() {
            return Err(format!("table {name} is defined twice"));
        }
    }
    Ok(schema)
}

fn normalize(raw: &str) -> String {
    raw.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whether two statements are the same apart from whitespace.
pub fn same(a: &str, b: &str) -> bool {
    normalize(a) == normalize(b)
}

/// One schema lint finding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lint {
    /// UPPER_SNAKE lint code, e.g. `NO_PRIMARY_KEY`.
    pub code: String,
    /// Table the finding is about.
    pub table: String,
    /// Human-readable description.
    pub description: String,
    /// Offending charset, when the lint is about one.
    pub charset: String,
    /// Offending engine, when the lint is about one.
    pub engine: String,
}

fn option_value(upper: &str, raw: &str, key: &str) -> Option<String> {
    let pos = upper.find(key)? + key.len();
    let rest = raw[pos..].trim_start().trim_start_matches('=').trim_start();
    let value: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    (!value.is_empty()).then_some(value)
}

/// Lint one table statement.
pub fn lint_table(table: &str, raw: &str, foreign_keys_enabled: bool) -> Vec<Lint> {
    let upper = raw.to_ascii_uppercase();
    let finding = |code: &str, description: String| Lint {
        code: code.into(),
        table: table.into(),
        description,
        charset: String::new(),
        engine: String::new(),
    };
    let mut out = Vec::new();
    if !upper.contains("PRIMARY KEY") {
        out.push(finding(
            "NO_PRIMARY_KEY",
            format!("Table \"{table}\" has no primary key"),
        ));
    }
    if let Some(engine) = option_value(&upper, raw, "ENGINE")
        && !engine.eq_ignore_ascii_case("InnoDB")
    {
        let text = format!("Table \"{table}\" uses unsupported engine {engine}");
        out.push(Lint {
            engine,
            ..finding("INVALID_ENGINE", text)
        });
    }
    let charset =
        option_value(&upper, raw, "CHARSET").or_else(|| option_value(&upper, raw, "CHARACTER SET"));
    if let Some(charset) = charset
        && ["ucs2", "utf16", "utf16le", "utf32"].contains(&charset.to_ascii_lowercase().as_str())
    {
        let text = format!("Table \"{table}\" uses unsupported charset {charset}");
        out.push(Lint {
            charset,
            ..finding("INVALID_CHARSET", text)
        });
    }
    if !foreign_keys_enabled && upper.contains("FOREIGN KEY") {
        let text =
            format!("Table \"{table}\" has foreign keys, which this database does not allow");
        out.push(finding("FOREIGN_KEYS_DISALLOWED", text));
    }
    out
}

/// Lint a whole schema.
pub fn lint(schema: &Schema, foreign_keys_enabled: bool) -> Vec<Lint> {
    schema
        .iter()
        .flat_map(|(t, raw)| lint_table(t, raw, foreign_keys_enabled))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(stmts: &[&str]) -> Schema {
        parse_tables(
            &stmts
                .iter()
                .map(std::string::ToString::to_string)
                .collect::<Vec<_>>(),
        )
        .unwrap()
    }

    #[test]
    fn table_names_are_parsed_with_or_without_quotes() {
        assert_eq!(
            table_name("CREATE TABLE `a` (id int)").as_deref(),
            Some("a")
        );
        assert_eq!(
            table_name("create table if not exists b(id int)").as_deref(),
            Some("b")
        );
        assert_eq!(table_name("DROP TABLE a"), None);
    }

    #[test]
    fn lint_finds_missing_primary_key_and_bad_engine() {
        let codes: Vec<String> = lint_table("t", "CREATE TABLE t (id int) ENGINE=MyISAM", false)
            .into_iter()
            .map(|l| l.code)
            .collect();
        assert_eq!(codes, ["NO_PRIMARY_KEY", "INVALID_ENGINE"]);
        assert!(
            lint_table(
                "t",
                "CREATE TABLE t (id int, PRIMARY KEY (id)) ENGINE=InnoDB",
                false
            )
            .is_empty()
        );
    }

    #[test]
    fn diff_reports_create_alter_drop_and_conflicts() {
        let base = s(&[
            "CREATE TABLE a (id int, PRIMARY KEY (id))",
            "CREATE TABLE b (id int)",
        ]);
        let branch = s(&[
            "CREATE TABLE a (id int, name text, PRIMARY KEY (id))",
            "CREATE TABLE c (id int, PRIMARY KEY (id))",
        ]);
        let got = changes(&base, &branch, &base).unwrap();
        let kinds: Vec<_> = got.iter().map(|c| (c.table.as_str(), c.kind)).collect();
        assert_eq!(
            kinds,
            [
                ("a", OpKind::Alter),
                ("b", OpKind::Drop),
                ("c", OpKind::Create)
            ]
        );
        assert_eq!(got[0].ddl, "ALTER TABLE `a` ADD COLUMN name text");
        let target = s(&[
            "CREATE TABLE a (id int, other int, PRIMARY KEY (id))",
            "CREATE TABLE b (id int)",
        ]);
        assert!(changes(&base, &branch, &target).is_err());
        assert!(changes(&base, &base, &base).unwrap().is_empty());
    }

    #[test]
    fn alter_statements_respect_quotes_keys_and_options() {
        let old = "CREATE TABLE `o` (\n  `id` int NOT NULL,\n  PRIMARY KEY (`id`),\n  KEY `k` (`id`)\n) ENGINE=InnoDB";
        let new = "CREATE TABLE `o` (\n  `id` bigint NOT NULL,\n  `s` varchar(9) DEFAULT 'a,b',\n  PRIMARY KEY (`id`)\n) ENGINE=InnoDB";
        assert_eq!(
            alter_statement("o", old, new),
            "ALTER TABLE `o` DROP KEY `k`, MODIFY COLUMN `id` bigint NOT NULL, ADD COLUMN `s` varchar(9) DEFAULT 'a,b'"
        );
    }
}
