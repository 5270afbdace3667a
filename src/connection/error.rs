//! Why a Secret's data could not be rendered. No message ever contains the password or a
//! rendered value.

use super::info::Engine;
use super::preset::Preset;

/// Everything that can keep [`render`](super::render) from producing the Secret's data.
///
/// None of these get better by retrying: the controller should report them (condition, event)
/// and wait for the resource to change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RenderError {
    /// A field of the connection info cannot go into a connection string (e.g. an empty host).
    #[error("invalid connection info: {field} {problem}")]
    InvalidConnectionInfo {
        /// The field, e.g. `host`.
        field: &'static str,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// A preset's format cannot represent a value (e.g. a `:` in the username of a Go DSN).
    #[error("preset {preset} cannot represent this {field}: {problem}")]
    Unrepresentable {
        /// The preset.
        preset: Preset,
        /// The field, e.g. `username`.
        field: &'static str,
        /// Why not.
        problem: &'static str,
    },
    /// Two selected presets want the same key with different values.
    #[error("presets {first} and {second} both write the key {key}; choose one of them")]
    PresetConflict {
        /// The contested key, e.g. `DATABASE_URL`.
        key: String,
        /// The preset that claimed the key first.
        first: Preset,
        /// The preset that wanted it too.
        second: Preset,
    },
    /// A preset named after one engine's URL selected for a branch of the other engine.
    #[error(
        "secret.formats: {preset} does not apply to {engine} branches; remove it (the default DATABASE_URL and the other presets follow the branch's engine)"
    )]
    PresetNotForEngine {
        /// The preset.
        preset: Preset,
        /// The branch's engine.
        engine: Engine,
    },
    /// A template entry names a key the operator owns (`host`, `port`, `username`, `password`,
    /// `database`): the controller reads those back to check the Secret.
    #[error("template key {key} is reserved for the operator's own entries")]
    ReservedKey {
        /// The key.
        key: String,
    },
    /// A template entry's key is not a valid Secret key.
    #[error(
        "template key {key:?} is not a valid Secret key (letters, digits, '-', '_', '.'; at most 253)"
    )]
    InvalidKey {
        /// The key as written.
        key: String,
    },
    /// A template entry did not render. `reason` never quotes the password or the output.
    #[error("template {key} does not render: {reason}")]
    Template {
        /// The Secret key of the entry.
        key: String,
        /// What went wrong, with the line when known.
        reason: String,
    },
    /// The rendered data would not fit in a Secret.
    #[error("the Secret's data would be {size} bytes, more than the limit of {limit}")]
    TooLarge {
        /// Total bytes of keys and values.
        size: usize,
        /// The limit.
        limit: usize,
    },
}

impl RenderError {
    /// A short, stable name for conditions, events and metric labels.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::InvalidConnectionInfo { .. } => "InvalidConnectionInfo",
            Self::Unrepresentable { .. } => "FormatUnrepresentable",
            Self::PresetConflict { .. } => "FormatConflict",
            Self::PresetNotForEngine { .. } => "FieldNotForEngine",
            Self::ReservedKey { .. } => "TemplateReservedKey",
            Self::InvalidKey { .. } => "TemplateInvalidKey",
            Self::Template { .. } => "TemplateFailed",
            Self::TooLarge { .. } => "SecretTooLarge",
        }
    }

    /// Always false: a render error only goes away when the resource (or the password) changes.
    pub fn is_transient(&self) -> bool {
        false
    }
}
