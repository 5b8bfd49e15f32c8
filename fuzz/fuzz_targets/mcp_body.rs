//! `mcp::read_call` on arbitrary bodies and headers, against a reference
//! reading of the same JSON.
//!
//! Input: `name: value` header lines, an empty line, then the body; input
//! without an empty line is all body (no headers).

#![no_main]

use entra_guard::mcp::{read_call, McpBodyError};
use entra_guard_fuzz::{parse_header_block, value_stricter, view};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let (headers, body) = match parse_header_block(data) {
        (h, Some(body)) => (h, body),
        (_, None) => (Vec::new(), data.to_vec()),
    };
    let view = view(&headers);
    let result = read_call(&body, &view);
    assert_eq!(result, read_call(&body, &view), "deterministic");
    let Ok(call) = result else {
        if result == Err(McpBodyError::HeaderMismatch) {
            // The body alone must read; only the headers disagree.
            assert!(read_call(&body, &[]).is_ok());
        }
        return;
    };
    // Whatever read_call accepts is a single JSON object that a generic
    // parser reads the same way.
    let v: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        // Deep nesting or a lone surrogate in a member read_call skips.
        Err(e) if value_stricter(&e) => return,
        Err(e) => panic!("accepted body is not JSON: {e}"),
    };
    let obj = v.as_object().expect("accepted body is one object");
    match obj.get("method") {
        None | Some(Value::Null) => assert_eq!(call.method, None),
        Some(Value::String(m)) => assert_eq!(call.method.as_deref(), Some(m.as_str())),
        Some(other) => panic!("accepted a non-string method {other}"),
    }
    let want_name = match obj.get("params") {
        Some(Value::Object(p)) => match (p.get("name"), p.get("uri")) {
            (Some(Value::String(n)), _) => Some(n.clone()),
            (_, Some(Value::String(u))) => Some(u.clone()),
            _ => None,
        },
        None | Some(Value::Null) => None,
        Some(other) => panic!("accepted non-object params {other}"),
    };
    assert_eq!(call.name, want_name);
    // Each MCP header present agrees with the body (its first copy is the
    // one compared; the glue forwards what it read).
    for (header, field) in [("mcp-method", &call.method), ("mcp-name", &call.name)] {
        if let Some((_, raw)) = headers.iter().find(|(n, _)| n == header) {
            let text = std::str::from_utf8(raw)
                .expect("an agreeing header is UTF-8")
                .trim();
            let decoded = match text
                .strip_prefix("=?base64?")
                .and_then(|r| r.strip_suffix("?="))
            {
                Some(b64) => {
                    use base64::Engine;
                    let bytes = base64::engine::general_purpose::STANDARD
                        .decode(b64)
                        .expect("agreeing base64 header");
                    String::from_utf8(bytes).expect("agreeing header decodes to UTF-8")
                }
                None => text.to_string(),
            };
            assert_eq!(Some(&decoded), field.as_ref(), "{header} disagrees");
        }
    }
});
