//! The filter's own JSON (RFC 8259): a strict reader and a small writer for
//! the few documents it handles (configuration, discovery, JWKS, token
//! header and claims, MCP bodies, shared-data records, denial bodies).
//!
//! Stricter than most parsers on purpose: an object read with a repeated
//! key is an error, never a choice between two values (a duplicated `aud`
//! or `method` must not mean one thing here and another upstream); only
//! values skipped unread (`Reader::skip`) are not searched for them. Numbers keep
//! their text, so no float code is linked and nothing is rounded. It
//! replaced serde and serde_json in the wasm (65 KB smaller); the
//! unit tests and the `json` fuzz target check it against serde_json.

mod read;
mod scan;
mod write;

pub use read::{parse, set_once, JsonError, ObjectCursor, Reader};
pub use write::{push_string, ObjectWriter};

/// Deepest nesting of arrays and objects read into a `Value` (serde_json's
/// limit); `Reader::skip` has none.
pub const MAX_DEPTH: usize = 127;

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Number(Number),
    String(String),
    Array(Vec<Value>),
    Object(Object),
}

impl Value {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
}

/// An object's members in document order; the reader guarantees the keys
/// are unique, so a lookup has one answer.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Object(Vec<(String, Value)>);

impl Object {
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(k, _)| k.as_str())
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// An unsigned integer member; `None` when absent or anything else.
    pub fn u64(&self, key: &str) -> Option<u64> {
        match self.get(key)? {
            Value::Number(n) => n.as_u64(),
            _ => None,
        }
    }
}

/// A number as written in the document (already checked against the JSON
/// grammar by the reader).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Number(Box<str>);

impl Number {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Plain non-negative integer syntax that fits in a u64.
    pub fn as_u64(&self) -> Option<u64> {
        let text = self.as_str();
        if !text.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        text.parse().ok()
    }

    /// The value truncated toward zero, for non-negative numbers of any
    /// form (`1.7e9`, `1700000000.25`); `None` when negative (other than a
    /// zero) or beyond u64. Exact decimal arithmetic, no rounding.
    pub fn whole_part(&self) -> Option<u64> {
        let text = self.as_str();
        let (negative, text) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (mantissa, exponent) = match text.find(['e', 'E']) {
            Some(i) => (&text[..i], exponent(&text[i + 1..])?),
            None => (text, 0),
        };
        let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        let digits = int.bytes().chain(frac.bytes());
        let leading_zeros = digits.clone().take_while(|d| *d == b'0').count();
        let mut significant = digits.skip(leading_zeros).peekable();
        if significant.peek().is_none() {
            return Some(0);
        }
        if negative {
            return None;
        }
        // Digits left of the decimal point once the exponent is applied.
        let point = int.len() as i64 + exponent - leading_zeros as i64;
        if point > 20 {
            return None;
        }
        let mut value: u64 = 0;
        for _ in 0..point.max(0) {
            let digit = significant.next().map_or(0, |d| u64::from(d - b'0'));
            value = value.checked_mul(10)?.checked_add(digit)?;
        }
        Some(value)
    }
}

/// An exponent's value, clamped far beyond any u64 so huge ones cannot
/// overflow (they then read as "too large" or as zero).
fn exponent(text: &str) -> Option<i64> {
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let mut value: i64 = 0;
    for d in digits.bytes() {
        if !d.is_ascii_digit() {
            return None;
        }
        value = (value * 10 + i64::from(d - b'0')).min(100_000);
    }
    Some(if negative { -value } else { value })
}

impl std::fmt::Display for Number {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests;
