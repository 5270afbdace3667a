//! The emulator clock: real time plus an offset that `POST /_emulator/clock/advance` grows,
//! so state machines move without tests waiting in real time.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::model::World;

/// `t + d`, saturating.
pub fn after(t: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(d)
        .ok()
        .and_then(|d| t.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// Move the emulator clock forward by `d`.
pub fn advance(world: &mut World, d: Duration) {
    let ms = i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
    world.clock_offset_ms = world.clock_offset_ms.saturating_add(ms);
}

/// Parse a humantime duration such as `90s`, `5m`, `1h 30m`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim()).map_err(|e| format!("invalid duration {text:?}: {e}"))
}
