//! What MCP operation a request performs: the JSON-RPC `method` and the
//! tool (or resource/prompt) name, from the body, cross-checked with the
//! `Mcp-Method` / `Mcp-Name` headers of the 2026-07-28 transport.

use crate::headers::{self, Header};
use crate::json::{set_once, JsonError, ObjectCursor, Reader};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct McpCall {
    /// `None` for a JSON-RPC response or a message without a method.
    pub method: Option<String>,
    /// `params.name` (tools, prompts) or `params.uri` (resources).
    pub name: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum McpBodyError {
    /// Not a single JSON-RPC object (batches included): the filter would
    /// have to guess what the server reads.
    Unreadable,
    /// `Mcp-Method`/`Mcp-Name` say something else than the body.
    HeaderMismatch,
}

impl McpBodyError {
    pub fn description(self) -> &'static str {
        match self {
            McpBodyError::Unreadable => "the request body is not a single JSON-RPC message",
            McpBodyError::HeaderMismatch => {
                "the Mcp-Method or Mcp-Name header does not match the request body"
            }
        }
    }
}

/// Reads the call from the body and checks it against the headers (each
/// header, when present, must equal what the body says).
pub fn read_call(body: &[u8], headers: &[Header<'_>]) -> Result<McpCall, McpBodyError> {
    let call = read_body(body).map_err(|_| McpBodyError::Unreadable)?;
    let header = |wanted: &str| headers::first(headers, wanted).map(decode_header);
    // A header that is present but cannot be decoded (`Some(None)`) agrees
    // with nothing, not even with a body that lacks the field.
    if let Some(h) = header("mcp-method") {
        if h.is_none() || h.as_deref() != call.method.as_deref() {
            return Err(McpBodyError::HeaderMismatch);
        }
    }
    if let Some(h) = header("mcp-name") {
        if h.is_none() || h.as_deref() != call.name.as_deref() {
            return Err(McpBodyError::HeaderMismatch);
        }
    }
    Ok(call)
}

/// The message's `method` and `params.name`/`params.uri`; the rest of the
/// body is only checked to be JSON, never stored. The message and its
/// `params` must be objects (an array read by position would be something
/// the server never sees), and a member the filter reads may appear once.
fn read_body(body: &[u8]) -> Result<McpCall, JsonError> {
    let mut reader = Reader::new(body);
    let mut message = reader.object()?.ok_or(JsonError::ExpectedValue)?;
    let (mut method, mut params) = (None, None);
    while let Some(key) = reader.next_key(&mut message)? {
        match key.as_str() {
            "method" => set_once(&mut method, &key, reader.string_or_null()?)?,
            "params" => set_once(&mut params, &key, read_params(&mut reader)?)?,
            _ => reader.skip()?,
        }
    }
    reader.end()?;
    Ok(McpCall {
        method: method.flatten(),
        name: params.flatten(),
    })
}

/// An object (or `null`): its `name`, else its `uri`, when a string.
fn read_params(reader: &mut Reader<'_>) -> Result<Option<String>, JsonError> {
    if reader.at_null() {
        return reader.skip().map(|()| None);
    }
    let mut params: ObjectCursor = reader.object()?.ok_or(JsonError::ExpectedValue)?;
    let (mut name, mut uri) = (None, None);
    while let Some(key) = reader.next_key(&mut params)? {
        match key.as_str() {
            "name" => set_once(&mut name, &key, string_or_skip(reader)?)?,
            "uri" => set_once(&mut uri, &key, string_or_skip(reader)?)?,
            _ => reader.skip()?,
        }
    }
    Ok(name.flatten().or(uri.flatten()))
}

fn string_or_skip(reader: &mut Reader<'_>) -> Result<Option<String>, JsonError> {
    if !reader.at_string() {
        return reader.skip().map(|()| None);
    }
    reader.string_or_null()
}

/// A header value as text; `=?base64?...?=` carries non-ASCII names.
/// `None` when it is neither valid UTF-8 nor valid base64.
fn decode_header(value: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(value).ok()?.trim();
    match text
        .strip_prefix("=?base64?")
        .and_then(|rest| rest.strip_suffix("?="))
    {
        Some(b64) => String::from_utf8(STANDARD.decode(b64).ok()?).ok(),
        None => Some(text.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn h<'a>(pairs: &[(&'a str, &'a str)]) -> Vec<Header<'a>> {
        pairs.iter().map(|(n, v)| (*n, v.as_bytes())).collect()
    }

    fn call(method: Option<&str>, name: Option<&str>) -> McpCall {
        McpCall {
            method: method.map(str::to_string),
            name: name.map(str::to_string),
        }
    }

    #[test]
    fn reads_calls_from_bodies() {
        let tool = br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add","arguments":{"a":1}}}"#;
        assert_eq!(
            read_call(tool, &[]),
            Ok(call(Some("tools/call"), Some("add")))
        );
        let res =
            br#"{"jsonrpc":"2.0","id":2,"method":"resources/read","params":{"uri":"file:///x"}}"#;
        assert_eq!(
            read_call(res, &[]),
            Ok(call(Some("resources/read"), Some("file:///x")))
        );
        let list = br#"{"jsonrpc":"2.0","id":3,"method":"tools/list"}"#;
        assert_eq!(read_call(list, &[]), Ok(call(Some("tools/list"), None)));
        let reply = br#"{"jsonrpc":"2.0","id":3,"result":{}}"#;
        assert_eq!(read_call(reply, &[]), Ok(call(None, None)));
    }

    #[test]
    fn refuses_what_it_cannot_read_one_way() {
        for body in [
            &br#"[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add"}}]"#[..],
            br#"{"method":"tools/list","method":"tools/call"}"#,
            br#"{"method":"tools/call","params":{"name":"a","name":"b"}}"#,
            br#"{"method":5}"#,
            b"",
            b"{",
        ] {
            assert_eq!(
                read_call(body, &[]),
                Err(McpBodyError::Unreadable),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn headers_must_agree_with_the_body() {
        let tool = br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add"}}"#;
        let ok = h(&[("mcp-method", "tools/call"), ("mcp-name", "add")]);
        assert!(read_call(tool, &ok).is_ok());
        let lying = h(&[("mcp-method", "tools/list")]);
        assert_eq!(read_call(tool, &lying), Err(McpBodyError::HeaderMismatch));
        let other = h(&[("mcp-name", "delete_everything")]);
        assert_eq!(read_call(tool, &other), Err(McpBodyError::HeaderMismatch));
        let unicode = br#"{"method":"tools/call","params":{"name":"t\u00f6\u00f6l"}}"#;
        let b64 = h(&[("mcp-name", "=?base64?dMO2w7Zs?=")]);
        assert_eq!(
            read_call(unicode, &b64),
            Ok(call(Some("tools/call"), Some("tööl")))
        );
    }

    /// Found by fuzzing (fuzz target `mcp_body`): serde's derived structs
    /// also read arrays by position, so `["tools/list"]` passed as a call.
    #[test]
    fn arrays_are_never_read_as_objects() {
        for body in [
            &br#"["tools/list"]"#[..],
            br#"["", null]"#,
            br#" ["tools/call", {"name": "divide"}]"#,
            br#"{"method":"tools/call","params":["divide"]}"#,
            br#"{"method":"tools/call","params":"divide"}"#,
            br#"{"method":"tools/list"} x"#,
            b"null",
        ] {
            assert_eq!(
                read_call(body, &[]),
                Err(McpBodyError::Unreadable),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        let null_params = br#" {"method":"tools/call","params":null} "#;
        assert_eq!(
            read_call(null_params, &[]),
            Ok(call(Some("tools/call"), None))
        );
    }

    /// Found by fuzzing (fuzz target `mcp_body`): an undecodable header
    /// compared equal to a field the body lacks (both "nothing").
    #[test]
    fn undecodable_headers_never_agree() {
        let list = br#"{"jsonrpc":"2.0","id":3,"method":"tools/list"}"#;
        let bad_b64 = h(&[("mcp-name", "=?base64?!!?=")]);
        assert_eq!(read_call(list, &bad_b64), Err(McpBodyError::HeaderMismatch));
        let reply = br#"{"jsonrpc":"2.0","id":3,"result":{}}"#;
        let not_utf8: Vec<Header> = vec![("mcp-method", b"\xff")];
        assert_eq!(
            read_call(reply, &not_utf8),
            Err(McpBodyError::HeaderMismatch)
        );
    }
}
