//! `mcp::read_call` on arbitrary bodies and headers, against a reference
//! reading of the same JSON.
//!
//! `check_framing` on the same headers: what it accepts names JSON once.
//!
//! Input: `name: value` header lines, an empty line, then the body; input
//! without an empty line is all body (no headers).

#![no_main]

use entra_guard::mcp::{check_framing, read_call, McpBodyError};
use entra_guard_fuzz::{parse_header_block, value_stricter, view};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let (headers, body) = match parse_header_block(data) {
        (h, Some(body)) => (h, body),
        (_, None) => (Vec::new(), data.to_vec()),
    };
    let view = view(&headers);
    if check_framing(&view).is_ok() {
        // One Content-Type, and it is JSON.
        let mut types = headers.iter().filter(|(n, _)| n == "content-type");
        let (_, value) = types.next().expect("framing accepted without Content-Type");
        assert!(types.next().is_none(), "framing accepted two Content-Types");
        let value = String::from_utf8_lossy(value).trim().to_ascii_lowercase();
        assert!(value.starts_with("application/json"), "{value}");
    }
    let result = read_call(&body, &view);
    assert_eq!(result, read_call(&body, &view), "deterministic");
    let Ok(call) = result else {
        if matches!(
            result,
            Err(McpBodyError::HeaderMismatch | McpBodyError::RepeatedHeader)
        ) {
            // The body alone must read; only the headers disagree.
            assert!(read_call(&body, &[]).is_ok());
        }
        return;
    };
    // Whatever read_call accepts is a single JSON object that a generic
    // parser reads the same way.
    let v: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        // Deep nesting, a lone surrogate escape or a number beyond f64 in
        // a member read_call skips unread.
        Err(e) if value_stricter(&e) => return,
        Err(e) => panic!("accepted body is not JSON: {e}"),
    };
    let obj = v.as_object().expect("accepted body is one object");
    let method = match obj.get("method") {
        None | Some(Value::Null) => None,
        Some(Value::String(m)) => Some(m.as_str()),
        Some(other) => panic!("accepted a non-string method {other}"),
    };
    assert_eq!(call.method.as_deref(), method);
    let params = match obj.get("params") {
        Some(Value::Object(p)) => Some(p),
        None | Some(Value::Null) => None,
        Some(other) => panic!("accepted non-object params {other}"),
    };
    let field = |key: &str| params.and_then(|p| p.get(key));
    let text = |key: &str| field(key).and_then(Value::as_str).map(str::to_string);
    // The target is the one field the method's servers execute; the other
    // one is never there beside it, and the target is a string if present.
    let (target, other) = match method {
        Some("tools/call" | "prompts/get") => ("name", "uri"),
        Some("resources/read" | "resources/subscribe" | "resources/unsubscribe") => {
            ("uri", "name")
        }
        _ => {
            assert_eq!(call.name, None, "a target for {method:?}");
            ("", "")
        }
    };
    let mirrored = if target.is_empty() {
        text("name").or_else(|| text("uri"))
    } else {
        assert!(field(other).is_none(), "accepted {target} beside {other}");
        assert!(field(target).is_none_or(Value::is_string));
        assert_eq!(call.name, text(target));
        call.name.clone()
    };
    // Each MCP header present is the only one of its name and agrees with
    // the body, decoded as the MCP specification (2026-07-28) says.
    for (header, field) in [("mcp-method", &call.method), ("mcp-name", &mirrored)] {
        let mut copies = headers.iter().filter(|(n, _)| n == header);
        if let Some((_, raw)) = copies.next() {
            assert!(copies.next().is_none(), "accepted a repeated {header}");
            let text = std::str::from_utf8(raw)
                .expect("an agreeing header is UTF-8")
                .trim_matches([' ', '\t']);
            assert!(
                text.bytes().all(|b| b == b'\t' || (0x20..0x7f).contains(&b)),
                "{header}: accepted bytes outside visible ASCII"
            );
            let sentinel = text
                .strip_prefix("=?base64?")
                .and_then(|r| r.strip_suffix("?="));
            let decoded = match sentinel {
                Some(b64) if header == "mcp-name" => {
                    use base64::Engine;
                    let bytes = base64::engine::general_purpose::STANDARD
                        .decode(b64)
                        .expect("agreeing base64 header");
                    String::from_utf8(bytes).expect("agreeing header decodes to UTF-8")
                }
                _ => text.to_string(),
            };
            assert_eq!(Some(&decoded), field.as_ref(), "{header} disagrees");
        }
    }
});
