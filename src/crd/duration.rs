//! Durations in resource specs: Go-style strings such as `90s`, `10m`, `1h30m` or `168h`.
//!
//! The CRD checks the format and the bounds at admission (CEL), so the controllers only ever see
//! strings that [`parse_duration`] accepts; the parser still reports errors rather than panic.
use std::time::Duration;

use kube::core::{Message, Rule};

/// The accepted format: one or more `<number><unit>` pairs, units `ns us µs ms s m h`.
/// This is Go's `time.ParseDuration` format without the sign.
pub const DURATION_PATTERN: &str = "^([0-9]+([.][0-9]+)?(ns|us|µs|ms|s|m|h))+$";

/// Longest duration string accepted.
pub const DURATION_MAX_LEN: usize = 32;

/// Why a duration string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// The string is empty.
    #[error("empty duration")]
    Empty,
    /// A number was expected at this byte offset.
    #[error("expected a number at offset {0}")]
    ExpectedNumber(usize),
    /// A unit was expected at this byte offset.
    #[error("expected a unit (ns, us, µs, ms, s, m, h) at offset {0}")]
    ExpectedUnit(usize),
    /// The duration does not fit in 64-bit nanoseconds.
    #[error("duration too large")]
    Overflow,
}

impl DurationError {
    /// Stable short name, usable as an event or condition reason.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Empty => "EmptyDuration",
            Self::ExpectedNumber(_) => "InvalidDuration",
            Self::ExpectedUnit(_) => "InvalidDuration",
            Self::Overflow => "DurationTooLarge",
        }
    }
}

const UNITS: [(&str, f64); 7] = [
    ("ns", 1.0),
    ("us", 1e3),
    ("µs", 1e3),
    ("ms", 1e6),
    ("s", 1e9),
    ("m", 60e9),
    ("h", 3600e9),
];

/// Parses a duration in [`DURATION_PATTERN`] form, e.g. `"1h30m"` → 5400 s.
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    if text.is_empty() {
        return Err(DurationError::Empty);
    }
    let mut rest = text;
    let mut total_nanos = 0f64;
    while !rest.is_empty() {
        let offset = text.len() - rest.len();
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number = &rest[..num_len];
        if !valid_number(number) {
            return Err(DurationError::ExpectedNumber(offset));
        }
        let value: f64 = number
            .parse()
            .map_err(|_| DurationError::ExpectedNumber(offset))?;
        rest = &rest[num_len..];
        // Longest unit first so that "ms" is not read as "m".
        let (unit, scale) = UNITS
            .iter()
            .filter(|(u, _)| rest.starts_with(u))
            .max_by_key(|(u, _)| u.len())
            .ok_or(DurationError::ExpectedUnit(offset + num_len))?;
        rest = &rest[unit.len()..];
        total_nanos += value * scale;
    }
    if total_nanos > u64::MAX as f64 {
        return Err(DurationError::Overflow);
    }
    Ok(Duration::from_nanos(total_nanos.round() as u64))
}

/// `digits` or `digits.digits`.
fn valid_number(s: &str) -> bool {
    let mut parts = s.splitn(2, '.');
    let int = parts.next().unwrap_or("");
    let frac = parts.next();
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    digits(int) && frac.is_none_or(digits)
}

/// CEL rule: `field` is a duration in [`DURATION_PATTERN`] form.
pub(crate) fn duration_format_rule(field: &str) -> Rule {
    Rule::new(format!("self.matches('{DURATION_PATTERN}')")).message(Message::Message(format!(
        "{field} must be a duration such as 90s, 10m, 1h30m or 168h (units ns, us, ms, s, m, h)"
    )))
}

/// CEL rule: `field`, when well-formed, lies within `[min, max]` (both Go duration strings).
pub(crate) fn duration_bounds_rule(field: &str, min: &str, max: &str) -> Rule {
    Rule::new(format!(
        "!self.matches('{DURATION_PATTERN}') || \
         (duration(self) >= duration('{min}') && duration(self) <= duration('{max}'))"
    ))
    .message(Message::Message(format!(
        "{field} must be between {min} and {max}"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: &str) -> f64 {
        parse_duration(s).unwrap().as_secs_f64()
    }

    #[test]
    fn parses_go_style_durations() {
        assert_eq!(secs("90s"), 90.0);
        assert_eq!(secs("10m"), 600.0);
        assert_eq!(secs("1h30m"), 5400.0);
        assert_eq!(secs("168h"), 604_800.0);
        assert_eq!(secs("1.5h"), 5400.0);
        assert_eq!(secs("0s"), 0.0);
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("3us").unwrap(), Duration::from_micros(3));
        assert_eq!(parse_duration("3µs").unwrap(), Duration::from_micros(3));
        assert_eq!(parse_duration("7ns").unwrap(), Duration::from_nanos(7));
        assert_eq!(secs("1h1m1s"), 3661.0);
    }

    #[test]
    fn refuses_what_the_pattern_refuses() {
        assert_eq!(parse_duration(""), Err(DurationError::Empty));
        assert_eq!(parse_duration("10"), Err(DurationError::ExpectedUnit(2)));
        assert_eq!(parse_duration("h"), Err(DurationError::ExpectedNumber(0)));
        assert_eq!(parse_duration("-5m"), Err(DurationError::ExpectedNumber(0)));
        assert_eq!(parse_duration("5 m"), Err(DurationError::ExpectedUnit(1)));
        assert_eq!(parse_duration("1d"), Err(DurationError::ExpectedUnit(1)));
        assert_eq!(parse_duration(".5h"), Err(DurationError::ExpectedNumber(0)));
        assert_eq!(parse_duration("5.h"), Err(DurationError::ExpectedNumber(0)));
        assert_eq!(parse_duration("1h30"), Err(DurationError::ExpectedUnit(4)));
        assert_eq!(
            parse_duration("1.2.3s"),
            Err(DurationError::ExpectedNumber(0))
        );
    }

    #[test]
    fn refuses_overflow() {
        let err = parse_duration("99999999999999999999h").unwrap_err();
        assert_eq!(err, DurationError::Overflow);
        assert_eq!(err.reason(), "DurationTooLarge");
    }

    #[test]
    fn rules_name_the_field() {
        let r = duration_format_rule("ttl");
        assert!(matches!(r.message, Some(Message::Message(ref m)) if m.starts_with("ttl ")));
        let r = duration_bounds_rule("ttl", "5m", "8760h");
        assert!(r.rule.contains("duration('5m')"));
        assert!(
            matches!(r.message, Some(Message::Message(ref m)) if m == "ttl must be between 5m and 8760h")
        );
    }
}
