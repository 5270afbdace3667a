//! User templates for extra Secret entries, rendered in a sandbox.
//!
//! A template is text with `{{ expression }}` blocks and `{% if %}`/`{% elif %}`/`{% else %}`/
//! `{% endif %}`. There is no loader (no `include`/`import`/`extends`), no `set`, loops or
//! macros, no `*`/`**`, and only the filters below, each refusing inputs over
//! [`MAX_FILTER_INPUT`] bytes. Without variables to grow and with bounded filters, a value's size
//! is bounded by the template's length, so memory stays small whatever a template says; fuel
//! bounds the work and [`MAX_RENDERED_LEN`] the output. Unknown variables are errors.
//!
//! Nothing observable may depend on the password's value (a condition that says whether a
//! template renders would answer one question about the password per edit). So a template is
//! judged only against [`PLACEHOLDER_PASSWORD`], a fixed value of the shape PlanetScale's
//! passwords have: its errors are the ones reported, with their detail. Only a template that
//! renders for the placeholder is rendered with the real password, and when that run fails
//! (a branch on the password's content, a filter that fails on some values) the caller learns
//! only that it failed, never why ([`render_template`] returns `Ok(None)`).

use std::io;

use minijinja::machinery::{Token, tokenize};
use minijinja::syntax::SyntaxConfig;
use minijinja::value::Value;
use minijinja::{AutoEscape, Environment, Error, ErrorKind, UndefinedBehavior};

use super::info::ConnectionInfo;
use super::urls;

/// Longest template source accepted, in bytes (the CRD allows 8192 characters).
pub const MAX_TEMPLATE_LEN: usize = 8192;
/// Longest rendered value, in bytes.
pub const MAX_RENDERED_LEN: usize = 16 * 1024;
/// Longest value a filter accepts, in bytes.
pub const MAX_FILTER_INPUT: usize = 4096;
/// The variables a template sees.
pub const VARIABLES: [&str; 9] = [
    "host",
    "port",
    "username",
    "password",
    "database",
    "branch",
    "organization",
    "region",
    "role",
];
/// The filters a template may use.
pub const FILTERS: [&str; 6] = ["urlencode", "lower", "upper", "trim", "replace", "tojson"];

const STATEMENTS: [&str; 4] = ["if", "elif", "else", "endif"];
const FUEL: u64 = 50_000;
/// The password templates are judged against: PlanetScale's shape (`pscale_pw_` and 43 base62
/// characters), a fixed value, so that whether a template renders says nothing about the real
/// password.
pub const PLACEHOLDER_PASSWORD: &str = "pscale_pw_0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefg";

/// Renders one template entry. `Err` is the reason the template fails for the placeholder
/// password (safe to show anywhere: it depends on the template alone); `Ok(None)` means it
/// renders for the placeholder but not for the real password, which must not be reported.
pub(crate) fn render_template(
    source: &str,
    info: &ConnectionInfo,
) -> Result<Option<String>, String> {
    check_source(source)?;
    let env = environment();
    render_with(&env, source, context(info, PLACEHOLDER_PASSWORD)).map_err(failure_reason)?;
    Ok(render_with(&env, source, context(info, info.password.expose())).ok())
}

/// Refuses what the sandbox does not allow, using minijinja's own lexer. A template the lexer
/// rejects passes here and fails to compile with the parser's message.
fn check_source(source: &str) -> Result<(), String> {
    if source.len() > MAX_TEMPLATE_LEN {
        return Err(format!("template is longer than {MAX_TEMPLATE_LEN} bytes"));
    }
    let mut after_block_start = false;
    for token in tokenize(source, false, SyntaxConfig::default()) {
        let Ok((token, span)) = token else {
            return Ok(());
        };
        let line = span.start_line;
        match token {
            Token::Ident(name) if after_block_start && !STATEMENTS.contains(&name) => {
                return Err(format!(
                    "line {line}: `{name}` blocks are not allowed; only if/elif/else/endif"
                ));
            }
            Token::Mul | Token::Pow => {
                return Err(format!(
                    "line {line}: the `*` and `**` operators are not allowed"
                ));
            }
            _ => {}
        }
        after_block_start = matches!(token, Token::BlockStart);
    }
    Ok(())
}

fn environment() -> Environment<'static> {
    let mut env = Environment::empty();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|_| AutoEscape::None);
    env.set_fuel(Some(FUEL));
    env.add_filter("urlencode", |v: Value| {
        bounded(&v).map(|s| urls::encode(&s))
    });
    env.add_filter("lower", |v: Value| bounded(&v).map(|s| s.to_lowercase()));
    env.add_filter("upper", |v: Value| bounded(&v).map(|s| s.to_uppercase()));
    env.add_filter("trim", |v: Value| bounded(&v).map(|s| s.trim().to_owned()));
    env.add_filter("replace", replace);
    env.add_filter("tojson", tojson);
    env
}

/// The filter input as text, refused when longer than [`MAX_FILTER_INPUT`].
fn bounded(value: &Value) -> Result<String, Error> {
    let text = value.to_string();
    if text.len() > MAX_FILTER_INPUT {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("filter input is longer than {MAX_FILTER_INPUT} bytes"),
        ));
    }
    Ok(text)
}

fn replace(value: &Value, from: &str, to: &str) -> Result<String, Error> {
    let text = bounded(value)?;
    // Upper bound of the result's length, checked before allocating it.
    let count = if from.is_empty() {
        text.chars().count() + 1
    } else {
        text.matches(from).count()
    };
    if text.len() + count * to.len() > MAX_FILTER_INPUT {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("replace result would be longer than {MAX_FILTER_INPUT} bytes"),
        ));
    }
    Ok(text.replace(from, to))
}

fn tojson(value: &Value) -> Result<Value, Error> {
    if let Ok(number) = i64::try_from(value.clone()) {
        return Ok(Value::from(number.to_string()));
    }
    let text = bounded(value)?;
    serde_json::to_string(&text)
        .map(Value::from)
        .map_err(|_| Error::new(ErrorKind::InvalidOperation, "cannot encode as JSON"))
}

fn context(info: &ConnectionInfo, password: &str) -> Value {
    let strings = [
        ("host", info.host.as_str()),
        ("username", &info.username),
        ("password", password),
        ("database", &info.database),
        ("branch", &info.branch),
        ("organization", &info.organization),
        ("region", &info.region),
        ("role", &info.role),
    ];
    let mut map: std::collections::BTreeMap<&str, Value> = strings
        .into_iter()
        .map(|(k, v)| (k, Value::from(v)))
        .collect();
    map.insert("port", Value::from(info.port));
    Value::from(map)
}

enum Failure {
    Engine(Error),
    TooLong,
}

fn render_with(env: &Environment<'static>, source: &str, ctx: Value) -> Result<String, Failure> {
    let template = env.template_from_str(source).map_err(Failure::Engine)?;
    let mut out = BoundedWriter::default();
    let result = template.render_captured_to(ctx, &mut out);
    if out.overflowed {
        return Err(Failure::TooLong);
    }
    result.map_err(Failure::Engine)?;
    String::from_utf8(out.buf).map_err(|_| Failure::TooLong)
}

/// Describes a failure of the run with the placeholder password.
fn failure_reason(failure: Failure) -> String {
    match failure {
        Failure::TooLong => format!("rendered value is longer than {MAX_RENDERED_LEN} bytes"),
        Failure::Engine(err) => describe(&err),
    }
}

fn describe(err: &Error) -> String {
    let mut reason = match err.line() {
        Some(line) => format!("line {line}: {}", err.kind()),
        None => err.kind().to_string(),
    };
    if let Some(detail) = err.detail() {
        reason.push_str(": ");
        reason.push_str(detail);
    }
    match err.kind() {
        ErrorKind::UndefinedError => {
            reason.push_str(&format!(" (the variables are {})", VARIABLES.join(", ")));
        }
        ErrorKind::UnknownFilter => {
            reason.push_str(&format!(" (the filters are {})", FILTERS.join(", ")));
        }
        _ => {}
    }
    reason
}

/// An `io::Write` that stops accepting bytes past [`MAX_RENDERED_LEN`].
#[derive(Default)]
struct BoundedWriter {
    buf: Vec<u8>,
    overflowed: bool,
}

impl io::Write for BoundedWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        if self.buf.len() + bytes.len() > MAX_RENDERED_LEN {
            self.overflowed = true;
            return Err(io::Error::other("rendered value too long"));
        }
        self.buf.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
