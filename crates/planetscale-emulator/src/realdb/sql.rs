//! SQL text for the real servers (pure): quoting, users and grants by password role, the
//! statements that turn one branch schema into another, Postgres roles.

use std::collections::BTreeMap;

use crate::schema::{Schema, alter_statement};

/// `name` as a MySQL identifier.
pub fn ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// `value` as a MySQL string literal (backslashes and quotes escaped).
pub fn literal(value: &str) -> String {
    format!("'{}'", value.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// The privileges of a PlanetScale password role on its database.
pub fn privileges(role: &str) -> &'static str {
    match role {
        "reader" => "SELECT",
        "writer" => "INSERT, UPDATE, DELETE",
        "readwriter" => "SELECT, INSERT, UPDATE, DELETE",
        _ => "ALL PRIVILEGES",
    }
}

/// Creates `user` (from any host) with `password` and the grants of `role` on `database`.
pub fn create_user(user: &str, password: &str, role: &str, database: &str) -> String {
    let account = format!("{}@'%'", literal(user));
    format!(
        "CREATE USER {account} IDENTIFIED BY {};\nGRANT {} ON {}.* TO {account};\n",
        literal(password),
        privileges(role),
        ident(database),
    )
}

/// Drops `user` (a deleted password).
pub fn drop_user(user: &str) -> String {
    format!("DROP USER IF EXISTS {}@'%';\n", literal(user))
}

/// Locks or unlocks `user` (an expired, then renewed, password).
pub fn lock_user(user: &str, locked: bool) -> String {
    let how = if locked { "LOCK" } else { "UNLOCK" };
    format!(
        "ALTER USER IF EXISTS {}@'%' ACCOUNT {how};\n",
        literal(user)
    )
}

/// `statement` in MariaDB's dialect: MySQL 8's default collation `utf8mb4_0900_ai_ci`, which
/// PlanetScale reports and MariaDB 10.11 does not know, becomes `utf8mb4_unicode_520_ci`.
pub fn mariadb_dialect(statement: &str) -> String {
    statement.replace("utf8mb4_0900_ai_ci", "utf8mb4_unicode_520_ci")
}

/// The DDL that turns database `database` from schema `old` into `new`: new tables created,
/// changed ones altered, removed ones dropped.
pub fn migrate(database: &str, old: &Schema, new: &Schema) -> String {
    let mut out = format!(
        "CREATE DATABASE IF NOT EXISTS {0};\nUSE {0};\n",
        ident(database)
    );
    let names: BTreeMap<&String, ()> = old.keys().chain(new.keys()).map(|k| (k, ())).collect();
    for name in names.keys() {
        match (old.get(*name), new.get(*name)) {
            (None, Some(create)) => out.push_str(&format!("{};\n", mariadb_dialect(create))),
            (Some(_), None) => out.push_str(&format!("DROP TABLE IF EXISTS {};\n", ident(name))),
            (Some(a), Some(b)) if !crate::schema::same(a, b) => {
                let alter = alter_statement(name, a, b);
                out.push_str(&format!("{};\n", mariadb_dialect(&alter)));
            }
            _ => {}
        }
    }
    out
}

/// `name` as a Postgres identifier.
pub fn pg_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `value` as a Postgres string literal.
pub fn pg_literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// Creates (or, when it exists, updates) login role `user` with `password`, member of
/// `inherited` (e.g. `pg_read_all_data`), whose unqualified names resolve in `schema` (its
/// branch). Idempotent, so it also serves a password reset.
pub fn pg_create_role(user: &str, password: &str, inherited: &[String], schema: &str) -> String {
    let role = pg_ident(user);
    let schema = pg_ident(schema);
    let mut out = format!(
        "DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = {}) THEN \
         CREATE ROLE {role}; END IF; END$$;\n\
         ALTER ROLE {role} LOGIN PASSWORD {};\n\
         ALTER ROLE {role} SET search_path = {schema};\n\
         GRANT USAGE ON SCHEMA {schema} TO {role};\n",
        pg_literal(user),
        pg_literal(password),
    );
    for parent in inherited {
        out.push_str(&format!("GRANT {} TO {role};\n", pg_ident(parent)));
    }
    out
}

/// Creates the schema of a branch.
pub fn pg_create_schema(schema: &str) -> String {
    format!("CREATE SCHEMA IF NOT EXISTS {};\n", pg_ident(schema))
}

/// Drops the schema of a deleted branch with everything in it.
pub fn pg_drop_schema(schema: &str) -> String {
    format!("DROP SCHEMA IF EXISTS {} CASCADE;\n", pg_ident(schema))
}

/// Lets role `user` log in again (renewed) or no longer (expired); its sessions stay.
pub fn pg_login(user: &str, login: bool) -> String {
    let how = if login { "LOGIN" } else { "NOLOGIN" };
    format!("ALTER ROLE {} {how};\n", pg_ident(user))
}

/// Hands what `user` owns to `successor`.
pub fn pg_reassign(user: &str, successor: &str) -> String {
    format!(
        "REASSIGN OWNED BY {} TO {};\n",
        pg_ident(user),
        pg_ident(successor)
    )
}

/// Drops role `user` when it exists, what it owns going to `successor` first (so that no
/// table is lost with it) and its privileges revoked.
pub fn pg_drop_role(user: &str, successor: &str) -> String {
    let role = pg_ident(user);
    format!(
        "DO $$BEGIN IF EXISTS (SELECT FROM pg_roles WHERE rolname = {}) THEN \
         REASSIGN OWNED BY {role} TO {}; DROP OWNED BY {role}; DROP ROLE {role}; \
         END IF; END$$;\n",
        pg_literal(user),
        pg_ident(successor)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_get_the_planetscale_privileges() {
        assert_eq!(privileges("reader"), "SELECT");
        assert_eq!(privileges("writer"), "INSERT, UPDATE, DELETE");
        assert_eq!(privileges("readwriter"), "SELECT, INSERT, UPDATE, DELETE");
        assert_eq!(privileges("admin"), "ALL PRIVILEGES");
        let sql = create_user("u1", "p'w\\", "reader", "sh`op");
        assert!(sql.contains("IDENTIFIED BY 'p\\'w\\\\'"), "{sql}");
        assert!(
            sql.contains("GRANT SELECT ON `sh``op`.* TO 'u1'@'%'"),
            "{sql}"
        );
    }

    #[test]
    fn migrate_creates_alters_and_drops() {
        let old = Schema::from([
            ("a".into(), "CREATE TABLE a (id int PRIMARY KEY)".into()),
            ("b".into(), "CREATE TABLE b (id int PRIMARY KEY)".into()),
        ]);
        let new = Schema::from([
            (
                "a".into(),
                "CREATE TABLE a (id int PRIMARY KEY, name text)".into(),
            ),
            ("c".into(), "CREATE TABLE c (id int PRIMARY KEY)".into()),
        ]);
        let sql = migrate("shop", &old, &new);
        assert!(sql.starts_with("CREATE DATABASE IF NOT EXISTS `shop`;\nUSE `shop`;\n"));
        assert!(
            sql.contains("ALTER TABLE `a` ADD COLUMN name text;"),
            "{sql}"
        );
        assert!(sql.contains("DROP TABLE IF EXISTS `b`;"), "{sql}");
        assert!(
            sql.contains("CREATE TABLE c (id int PRIMARY KEY);"),
            "{sql}"
        );
        assert_eq!(migrate("shop", &new, &new).lines().count(), 2);
    }

    #[test]
    fn postgres_roles_inherit_what_is_asked_and_live_in_their_branch_schema() {
        let sql = pg_create_role("r1.b1", "x'y", &["pg_read_all_data".into()], "branch_b1");
        assert!(sql.contains("WHERE rolname = 'r1.b1') THEN CREATE ROLE \"r1.b1\";"));
        assert!(
            sql.contains("ALTER ROLE \"r1.b1\" LOGIN PASSWORD 'x''y';"),
            "{sql}"
        );
        assert!(sql.contains("ALTER ROLE \"r1.b1\" SET search_path = \"branch_b1\";"));
        assert!(sql.contains("GRANT USAGE ON SCHEMA \"branch_b1\" TO \"r1.b1\";"));
        assert!(sql.contains("GRANT \"pg_read_all_data\" TO \"r1.b1\";"));
    }

    #[test]
    fn a_dropped_postgres_role_leaves_its_objects_to_the_successor() {
        let sql = pg_drop_role("r1", "s\"1");
        assert!(
            sql.contains(
                "REASSIGN OWNED BY \"r1\" TO \"s\"\"1\"; DROP OWNED BY \"r1\"; DROP ROLE \"r1\";"
            ),
            "{sql}"
        );
        assert_eq!(pg_login("r1", false), "ALTER ROLE \"r1\" NOLOGIN;\n");
    }
}
