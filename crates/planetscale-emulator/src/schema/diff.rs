//! Three-way diff between a branch, its base and the target, and the `ALTER TABLE`
//! statements shown in deploy operations.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Schema, same};

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
