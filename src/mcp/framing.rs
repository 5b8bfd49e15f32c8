//! The body is read as UTF-8 JSON bytes, exactly as they arrive. A server
//! may decode them otherwise: Express's body parser (MCP TypeScript SDK)
//! honours `charset=utf-7`, `utf-16` and a `Content-Encoding` (gzip,
//! deflate, br), so the tool it runs would not be the one the filter read.
//! Only the one framing both sides read alike passes:
//! - exactly one `Content-Type`, `application/json` (ASCII case-insensitive)
//!   with no parameter or one `charset` parameter (name case-insensitive)
//!   whose value, as a token or an RFC 9110 quoted-string, is `utf-8`
//!   (case-insensitive). Any other parameter is refused too: RFC 8259
//!   defines none for `application/json`, MCP clients send none, and one
//!   the filter does not model is a reading it cannot promise to share.
//!   Empty parameters (`application/json;`) are refused for the same reason.
//! - no `Content-Encoding`, or exactly one that says `identity`.

use super::McpBodyError;
use crate::headers::Header;

/// Checks `Content-Type` and `Content-Encoding` of a body about to be read.
pub fn check_framing(headers: &[Header<'_>]) -> Result<(), McpBodyError> {
    match only(headers, "content-type") {
        Some(Some(value)) if is_json_utf8(trim_ows(value)) => {}
        _ => return Err(McpBodyError::ContentType),
    }
    match only(headers, "content-encoding") {
        Some(None) => Ok(()),
        Some(Some(value)) if trim_ows(value).eq_ignore_ascii_case(b"identity") => Ok(()),
        _ => Err(McpBodyError::ContentEncoding),
    }
}

/// `None` when the header is repeated; `Some(None)` when it is absent.
fn only<'a>(headers: &[Header<'a>], wanted: &str) -> Option<Option<&'a [u8]>> {
    let mut values = headers
        .iter()
        .filter(|(n, _)| *n == wanted)
        .map(|(_, v)| *v);
    let first = values.next();
    values.next().is_none().then_some(first)
}

fn is_json_utf8(value: &[u8]) -> bool {
    let mut parts = value.splitn(2, |b| *b == b';');
    let media_type = parts.next().unwrap_or_default();
    if !trim_ows(media_type).eq_ignore_ascii_case(b"application/json") {
        return false;
    }
    let Some(parameter) = parts.next() else {
        return true;
    };
    // RFC 9110 §5.6.6: OWS after `;`, none around `=`.
    let mut halves = trim_start_ows(parameter).splitn(2, |b| *b == b'=');
    let (Some(name), Some(value)) = (halves.next(), halves.next()) else {
        return false;
    };
    let value = match value.first() {
        Some(b'"') => match unquote(value) {
            Some(v) => v,
            None => return false,
        },
        _ => value.to_vec(),
    };
    name.eq_ignore_ascii_case(b"charset") && value.eq_ignore_ascii_case(b"utf-8")
}

/// An RFC 9110 quoted-string that is the whole input, without its quotes
/// and with its quoted-pairs resolved.
fn unquote(value: &[u8]) -> Option<Vec<u8>> {
    let inner = value.strip_prefix(b"\"")?;
    let mut out = Vec::with_capacity(inner.len());
    let mut bytes = inner.iter();
    while let Some(&b) = bytes.next() {
        match b {
            b'\\' => out.push(*bytes.next()?),
            b'"' => return bytes.next().is_none().then_some(out),
            _ => out.push(b),
        }
    }
    None
}

fn is_ows(b: &u8) -> bool {
    *b == b' ' || *b == b'\t'
}

fn trim_start_ows(value: &[u8]) -> &[u8] {
    let start = value.iter().position(|b| !is_ows(b)).unwrap_or(value.len());
    value.get(start..).unwrap_or_default()
}

/// Without the optional whitespace (RFC 9110 OWS: spaces and tabs) around
/// it, which Envoy strips from header values too.
pub(super) fn trim_ows(value: &[u8]) -> &[u8] {
    let value = trim_start_ows(value);
    let end = value.iter().rposition(|b| !is_ows(b)).map_or(0, |i| i + 1);
    value.get(..end).unwrap_or_default()
}
