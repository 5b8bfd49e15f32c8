//! `ConfigError`, and serde's errors turned into it: the key path from
//! serde_path_to_error, a short reason, line and column for syntax errors.
//!
//! serde's messages echo the input (`invalid type: string "x", expected
//! u64`); only the expected part is kept, so the one log line names the key
//! and what it must be, never the value found there.

use serde_json::error::Category;
use serde_path_to_error::Segment;
use std::fmt;

/// Why a configuration was refused: the key (a JSON path) and the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub key: String,
    pub reason: String,
}

impl ConfigError {
    pub(crate) fn new(key: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid configuration: {}: {}", self.key, self.reason)
    }
}

impl std::error::Error for ConfigError {}

pub type Result<T> = std::result::Result<T, ConfigError>;

const ROOT: &str = "(root)";

/// A key repeated in an object (serde keeps the last copy of a map's key).
pub const DUPLICATE_KEY: &str = "duplicate key";

impl From<serde_path_to_error::Error<serde_json::Error>> for ConfigError {
    fn from(e: serde_path_to_error::Error<serde_json::Error>) -> Self {
        let path = key_path(e.path());
        from_json(path, e.into_inner())
    }
}

/// A serde_json error met at `path` (empty: the root).
pub fn from_json(path: String, inner: serde_json::Error) -> ConfigError {
    let text = inner.to_string();
    let position = format!(" at line {} column {}", inner.line(), inner.column());
    let message = text.strip_suffix(&position).unwrap_or(&text);
    match inner.classify() {
        Category::Data => data_error(path, message),
        Category::Io | Category::Syntax | Category::Eof => ConfigError::new(
            ROOT,
            format!(
                "not valid JSON: {message} (line {}, column {})",
                inner.line().max(1),
                // serde_json counts the column before the first byte as 0.
                inner.column().max(1)
            ),
        ),
    }
}

/// `entra.required_claims[0].name`; an empty key shows as `""` so that the
/// log line still names something.
fn key_path(path: &serde_path_to_error::Path) -> String {
    let mut out = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Map { key } => push_key(&mut out, key),
            Segment::Enum { variant } => push_key(&mut out, variant),
            Segment::Unknown => push_key(&mut out, "?"),
        }
    }
    out
}

fn push_key(out: &mut String, key: &str) {
    if !out.is_empty() {
        out.push('.');
    }
    out.push_str(if key.is_empty() { "\"\"" } else { key });
}

fn data_error(mut path: String, message: &str) -> ConfigError {
    let field = |prefix: &str| {
        message
            .strip_prefix(prefix)
            .and_then(|rest| rest.split_once('`'))
            .map(|(name, rest)| (name.to_string(), rest))
    };
    if let Some((name, _)) = field("missing field `") {
        push_key(&mut path, &name);
        return ConfigError::new(path, "is required");
    }
    if let Some((name, _)) = field("duplicate field `") {
        push_key(&mut path, &name);
        return ConfigError::new(path, "duplicate key");
    }
    let path = if path.is_empty() { ROOT.into() } else { path };
    if message.starts_with("unknown field `") {
        // serde_path_to_error's path already ends with the unknown key; the
        // list of known ones closes the message and holds only our names.
        let known = message
            .rsplit_once(", expected one of ")
            .map_or("none", |(_, known)| known)
            .replace('`', "");
        return ConfigError::new(path, format!("unknown key (expected one of: {known})"));
    }
    if message.starts_with("invalid type: ") || message.starts_with("invalid value: ") {
        let expected = message.rsplit_once(", expected ").map_or("", |(_, e)| e);
        let reason = match expected {
            "a sequence" => "must be an array".to_string(),
            "a string" => "must be a string".to_string(),
            "u64" => "must be a non-negative integer".to_string(),
            "a map" => "must be a JSON object".to_string(),
            e if e.starts_with("struct ") => "must be a JSON object".to_string(),
            e => format!("must be {e}"),
        };
        return ConfigError::new(path, reason);
    }
    // The block types' own reasons, which never echo more than they mean to.
    ConfigError::new(path, message)
}
