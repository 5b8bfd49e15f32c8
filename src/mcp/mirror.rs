//! The `Mcp-Method` and `Mcp-Name` headers, read as the MCP specification
//! 2026-07-28 defines them (basic/transports/streamable-http, sections
//! "Standard Request Headers", "Value Encoding" and "Server Validation"):
//! - a value is visible ASCII, spaces and tabs (RFC 9110 field values);
//!   one with other bytes is invalid, and an invalid value fails validation;
//! - only `Mcp-Name` (and `Mcp-Param-*`) may carry the Base64 sentinel
//!   `=?base64?{Base64 of the UTF-8 value}?=`, markers lowercase and exact;
//!   the server decodes it before comparing with the body. `Mcp-Method` is
//!   always compared as sent;
//! - a value that matches the sentinel pattern is always an encoded one
//!   (clients must encode a literal value of that shape). One that starts
//!   like the sentinel but is not a well-formed one (no `?=` end, bad
//!   Base64, not UTF-8 once decoded) is refused: readers may disagree on it.
//!
//! A header the filter cannot decode agrees with nothing, not even with a
//! body that lacks the field.

use super::framing::trim_ows;
use super::McpBodyError;
use crate::headers::Header;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

const SENTINEL_START: &str = "=?base64?";
const SENTINEL_END: &str = "?=";

/// Each header, when present, must be the only one of its name and equal
/// the body's value (`None`: the body has none).
pub(super) fn check(
    headers: &[Header<'_>],
    method: Option<&str>,
    name: Option<&str>,
) -> Result<(), McpBodyError> {
    // Repeated headers first: which copy a router reads is anyone's guess.
    let method_header = only(headers, "mcp-method")?;
    let name_header = only(headers, "mcp-name")?;
    if let Some(value) = method_header {
        agree(plain(value).map(str::to_string), method)?;
    }
    if let Some(value) = name_header {
        agree(decode_name(value), name)?;
    }
    Ok(())
}

fn only<'a>(headers: &[Header<'a>], wanted: &str) -> Result<Option<&'a [u8]>, McpBodyError> {
    let mut values = headers
        .iter()
        .filter(|(n, _)| *n == wanted)
        .map(|(_, v)| *v);
    let first = values.next();
    match values.next() {
        Some(_) => Err(McpBodyError::RepeatedHeader),
        None => Ok(first),
    }
}

fn agree(header: Option<String>, body: Option<&str>) -> Result<(), McpBodyError> {
    match (header, body) {
        (Some(h), Some(b)) if h == b => Ok(()),
        _ => Err(McpBodyError::HeaderMismatch),
    }
}

/// The value without the whitespace around it, when it has only the bytes
/// a field value may hold.
fn plain(value: &[u8]) -> Option<&str> {
    let value = trim_ows(value);
    if !value
        .iter()
        .all(|b| (0x20..0x7f).contains(b) || *b == b'\t')
    {
        return None;
    }
    std::str::from_utf8(value).ok()
}

fn decode_name(value: &[u8]) -> Option<String> {
    let text = plain(value)?;
    let Some(rest) = text.strip_prefix(SENTINEL_START) else {
        return Some(text.to_string());
    };
    // `=?base64?=` overlaps the two markers: not a sentinel, refused.
    let encoded = rest.strip_suffix(SENTINEL_END)?;
    // Padded, canonical RFC 4648 Base64 (the specification's examples):
    // one spelling per value.
    String::from_utf8(STANDARD.decode(encoded).ok()?).ok()
}
