//! CORS preflights of what the filter serves itself (the protected
//! resource metadata, the authorization-server metadata, registration):
//! browser clients must be able to read them. The request's method and
//! headers are echoed, but only as HTTP tokens and bounded, so nothing a
//! client sends (a control character, a newline) reaches a header.

use crate::headers::{first, Header};
use crate::replies::Response;

/// Longest method echoed; a longer one gets the methods the filter serves.
const MAX_METHOD_BYTES: usize = 32;
/// Most header names granted, and the longest one.
const MAX_HEADERS: usize = 32;
const MAX_HEADER_NAME_BYTES: usize = 64;
/// What a preflight asks for without a readable method.
const SERVED_METHODS: &str = "GET, HEAD, POST";

fn is_token(value: &[u8]) -> bool {
    const TCHAR: &[u8] = b"!#$%&'*+-.^_`|~";
    !value.is_empty()
        && value
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || TCHAR.contains(b))
}

/// 204 granting the preflight's method and headers from any origin (the
/// documents are public and no credentials are involved).
pub fn preflight_response(headers: &[Header<'_>]) -> Response {
    let method = first(headers, "access-control-request-method")
        .filter(|m| m.len() <= MAX_METHOD_BYTES && is_token(m))
        .and_then(|m| std::str::from_utf8(m).ok())
        .unwrap_or(SERVED_METHODS);
    let mut out = vec![
        ("access-control-allow-origin".into(), "*".into()),
        ("access-control-allow-methods".into(), method.to_string()),
    ];
    let granted = requested_headers(headers);
    if !granted.is_empty() {
        out.push(("access-control-allow-headers".into(), granted.join(", ")));
    }
    out.push(("access-control-max-age".into(), "86400".into()));
    Response::new(204, out, Vec::new())
}

/// The names in `Access-Control-Request-Headers` (all copies), lowercased,
/// each once; anything that is not a header name is left out.
fn requested_headers(headers: &[Header<'_>]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let values = headers
        .iter()
        .filter(|(n, _)| *n == "access-control-request-headers")
        .map(|(_, v)| *v);
    for value in values {
        for item in value.split(|b| *b == b',') {
            let name = item.trim_ascii();
            if name.len() > MAX_HEADER_NAME_BYTES || !is_token(name) || names.len() >= MAX_HEADERS {
                continue;
            }
            let name = String::from_utf8_lossy(name).to_ascii_lowercase();
            if !names.contains(&name) {
                names.push(name);
            }
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn preflight(headers: &[Header<'_>]) -> Response {
        preflight_response(headers)
    }

    #[test]
    fn grants_what_was_asked() {
        let r = preflight(&[
            ("origin", b"http://localhost:6274"),
            ("access-control-request-method", b"POST"),
            (
                "access-control-request-headers",
                b"content-type, MCP-Protocol-Version",
            ),
            (
                "access-control-request-headers",
                b"content-type,authorization",
            ),
        ]);
        assert_eq!(r.status, 204);
        assert!(r.body.is_empty());
        assert_eq!(r.header("access-control-allow-origin"), Some("*"));
        assert_eq!(r.header("access-control-allow-methods"), Some("POST"));
        assert_eq!(
            r.header("access-control-allow-headers"),
            Some("content-type, mcp-protocol-version, authorization")
        );
    }

    #[test]
    fn never_echoes_what_is_not_a_token() {
        let r = preflight(&[
            ("access-control-request-method", b"GET\r\nx-evil: 1"),
            (
                "access-control-request-headers",
                b"a\x01b, x-ok ,\tx\ty, , \xff, x-\"q\"",
            ),
        ]);
        assert_eq!(
            r.header("access-control-allow-methods"),
            Some(SERVED_METHODS)
        );
        assert_eq!(r.header("access-control-allow-headers"), Some("x-ok"));
        let long = "x".repeat(MAX_HEADER_NAME_BYTES + 1);
        let many: Vec<String> = (0..100).map(|i| format!("h{i}")).collect();
        let many = many.join(",") + "," + &long;
        let r = preflight(&[
            ("access-control-request-method", "M".repeat(40).as_bytes()),
            ("access-control-request-headers", many.as_bytes()),
        ]);
        assert_eq!(
            r.header("access-control-allow-methods"),
            Some(SERVED_METHODS)
        );
        let granted = r.header("access-control-allow-headers").unwrap();
        assert_eq!(granted.split(", ").count(), MAX_HEADERS);
        assert!(!granted.contains(&long));
        for (_, value) in &r.headers {
            assert!(
                value.bytes().all(|b| (b' '..0x7f).contains(&b)),
                "{value:?}"
            );
        }
        let none = preflight(&[("access-control-request-method", b"GET")]);
        assert_eq!(none.header("access-control-allow-headers"), None);
    }
}
