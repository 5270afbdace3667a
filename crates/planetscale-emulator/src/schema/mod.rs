//! Branch schemas (one `CREATE TABLE` per table), schema lint and the
//! three-way diff that deploy requests are built from.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

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
            table_name(raw).ok_or_else(|| format!("not a CREATE TABLE statement: {:.60}", raw))?;
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
    let mut out = Vec::new();
    let mut push = |code: &str, description: String, charset: String, engine: String| {
        out.push(Lint {
            code: code.into(),
            table: table.into(),
            description,
            charset,
            engine,
        });
    };
    if !upper.contains("PRIMARY KEY") {
        push(
            "NO_PRIMARY_KEY",
            format!("Table \"{table}\" has no primary key"),
            String::new(),
            String::new(),
        );
    }
    if let Some(engine) = option_value(&upper, raw, "ENGINE")
        && !engine.eq_ignore_ascii_case("InnoDB")
    {
        push(
            "INVALID_ENGINE",
            format!("Table \"{table}\" uses unsupported engine {engine}"),
            String::new(),
            engine,
        );
    }
    let charset =
        option_value(&upper, raw, "CHARSET").or_else(|| option_value(&upper, raw, "CHARACTER SET"));
    if let Some(cs) = charset
        && ["ucs2", "utf16", "utf16le", "utf32"].contains(&cs.to_ascii_lowercase().as_str())
    {
        push(
            "INVALID_CHARSET",
            format!("Table \"{table}\" uses unsupported charset {cs}"),
            cs,
            String::new(),
        );
    }
    if !foreign_keys_enabled && upper.contains("FOREIGN KEY") {
        let text = format!(
            "Table \"{table}\" has foreign key constraints, which are not enabled for this database"
        );
        push(
            "FOREIGN_KEYS_DISALLOWED",
            text,
            String::new(),
            String::new(),
        );
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

/// Kind of a deploy operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OpKind {
    /// New table.
    Create,
    /// Changed table.
    Alter,
    /// Removed table.
    Drop,
}

impl OpKind {
    /// The spec's `operation_name`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Create => "CREATE",
            Self::Alter => "ALTER",
            Self::Drop => "DROP",
        }
    }
}

/// One table change of a deploy request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// Table name.
    pub table: String,
    /// Kind of change.
    pub kind: OpKind,
    /// DDL statement that performs it.
    pub ddl: String,
    /// The table's statement on the branch (`None` for drops).
    pub new_raw: Option<String>,
}

/// Three-way diff: the changes made on the branch since `base` that the target does not
/// have yet. Errors name tables changed on both sides differently (conflicts).
pub fn changes(
    base: &Schema,
    branch: &Schema,
    target: &Schema,
) -> Result<Vec<Change>, Vec<String>> {
    let mut out = Vec::new();
    let mut conflicts = Vec::new();
    let tables: std::collections::BTreeSet<&String> = base.keys().chain(branch.keys()).collect();
    for table in tables {
        let (b, br, t) = (base.get(table), branch.get(table), target.get(table));
        let changed_on_branch = !opt_same(b, br);
        if !changed_on_branch || opt_same(t, br) {
            continue;
        }
        if !opt_same(t, b) {
            conflicts.push(format!(
                "table `{table}` was changed on both the branch and the target"
            ));
            continue;
        }
        out.push(change_for(table, t, br));
    }
    if conflicts.is_empty() {
        Ok(out)
    } else {
        Err(conflicts)
    }
}

fn opt_same(a: Option<&String>, b: Option<&String>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => same(a, b),
        (None, None) => true,
        _ => false,
    }
}

fn change_for(table: &str, old: Option<&String>, new: Option<&String>) -> Change {
    let (kind, ddl) = match (old, new) {
        (None, Some(new)) => (OpKind::Create, new.clone()),
        (Some(_), None) => (OpKind::Drop, format!("DROP TABLE `{table}`")),
        (Some(old), Some(new)) => (OpKind::Alter, alter_statement(table, old, new)),
        (None, None) => unreachable!("a change has at least one side"),
    };
    Change {
        table: table.into(),
        kind,
        ddl,
        new_raw: new.cloned(),
    }
}

/// Apply changes to a target schema; returns the previous statements of the touched tables.
pub fn apply(target: &mut Schema, changes: &[Change]) -> BTreeMap<String, Option<String>> {
    let mut previous = BTreeMap::new();
    for c in changes {
        let old = match &c.new_raw {
            Some(raw) => target.insert(c.table.clone(), raw.clone()),
            None => target.remove(&c.table),
        };
        previous.insert(c.table.clone(), old);
    }
    previous
}

/// Split the table body into top-level definitions and the trailing table options.
fn split_definitions(raw: &str) -> (Vec<String>, String) {
    let (Some(start), Some(end)) = (raw.find('('), raw.rfind(')')) else {
        return (Vec::new(), String::new());
    };
    let mut items = Vec::new();
    let (mut depth, mut current, mut quote) = (0i32, String::new(), None::<char>);
    for c in raw[start + 1..end].chars() {
        match (quote, c) {
            (Some(q), _) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '(') => depth += 1,
            (None, ')') => depth -= 1,
            (None, ',') if depth == 0 => {
                items.push(current.trim().to_string());
                current.clear();
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    if !current.trim().is_empty() {
        items.push(current.trim().to_string());
    }
    (items, raw[end + 1..].trim().to_string())
}

/// Key identifying a definition: `col:<name>`, `primary`, or `key:<name>`.
fn definition_key(def: &str) -> String {
    let upper = def.to_ascii_uppercase();
    let first = upper.split_whitespace().next().unwrap_or_default();
    let keywords = [
        "PRIMARY",
        "KEY",
        "INDEX",
        "UNIQUE",
        "CONSTRAINT",
        "FULLTEXT",
        "SPATIAL",
        "FOREIGN",
        "CHECK",
    ];
    if def.starts_with('`') || !keywords.contains(&first) {
        let name = def
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .trim_matches('`');
        return format!("col:{name}");
    }
    if first == "PRIMARY" {
        return "primary".into();
    }
    let name = def.split('`').nth(1).unwrap_or(def);
    if upper.starts_with("CONSTRAINT") && upper.contains("FOREIGN KEY") {
        return format!("fk:{name}");
    }
    format!("key:{name}")
}

fn drop_clause(key: &str) -> String {
    match key.split_once(':') {
        Some(("col", name)) => format!("DROP COLUMN `{name}`"),
        Some(("fk", name)) => format!("DROP FOREIGN KEY `{name}`"),
        Some((_, name)) => format!("DROP KEY `{name}`"),
        None => "DROP PRIMARY KEY".into(),
    }
}

/// A readable `ALTER TABLE` turning `old` into `new`.
pub fn alter_statement(table: &str, old: &str, new: &str) -> String {
    let (old_defs, old_opts) = split_definitions(old);
    let (new_defs, new_opts) = split_definitions(new);
    let old_map: BTreeMap<String, &String> =
        old_defs.iter().map(|d| (definition_key(d), d)).collect();
    let new_keys: Vec<String> = new_defs.iter().map(|d| definition_key(d)).collect();
    let mut clauses = Vec::new();
    for (key, _) in old_map.iter().filter(|(k, _)| !new_keys.contains(k)) {
        clauses.push(drop_clause(key));
    }
    for (key, def) in new_keys.iter().zip(&new_defs) {
        match old_map.get(key) {
            None if key.starts_with("col:") => clauses.push(format!("ADD COLUMN {def}")),
            None => clauses.push(format!("ADD {def}")),
            Some(old_def) if same(old_def, def) => {}
            Some(_) if key.starts_with("col:") => clauses.push(format!("MODIFY COLUMN {def}")),
            Some(_) => clauses.push(format!("{}, ADD {def}", drop_clause(key))),
        }
    }
    if !same(&old_opts, &new_opts) && !new_opts.is_empty() {
        clauses.push(new_opts);
    }
    format!("ALTER TABLE `{table}` {}", clauses.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(stmts: &[&str]) -> Schema {
        parse_tables(&stmts.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
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
}
