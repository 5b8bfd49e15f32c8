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

fn read(body: &str) -> Result<McpCall, McpBodyError> {
    read_call(body.as_bytes(), &[])
}

#[test]
fn reads_calls_from_bodies() {
    let tool = br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add","arguments":{"a":1}}}"#;
    assert_eq!(
        read_call(tool, &[]),
        Ok(call(Some("tools/call"), Some("add")))
    );
    let res = br#"{"jsonrpc":"2.0","id":2,"method":"resources/read","params":{"uri":"file:///x"}}"#;
    assert_eq!(
        read_call(res, &[]),
        Ok(call(Some("resources/read"), Some("file:///x")))
    );
    let list = br#"{"jsonrpc":"2.0","id":3,"method":"tools/list"}"#;
    assert_eq!(read_call(list, &[]), Ok(call(Some("tools/list"), None)));
    let reply = br#"{"jsonrpc":"2.0","id":3,"result":{}}"#;
    assert_eq!(read_call(reply, &[]), Ok(call(None, None)));
}

/// Each method's target comes from the one field its servers execute:
/// `{"method":"resources/read","params":{"name":"public","uri":"file:///secret"}}`
/// was matched as "public" while the server reads the uri.
#[test]
fn the_target_is_the_field_the_method_uses() {
    for method in ["tools/call", "prompts/get"] {
        let body = format!(r#"{{"method":"{method}","params":{{"name":"n"}}}}"#);
        assert_eq!(read(&body), Ok(call(Some(method), Some("n"))));
    }
    for method in [
        "resources/read",
        "resources/subscribe",
        "resources/unsubscribe",
    ] {
        let body = format!(r#"{{"method":"{method}","params":{{"uri":"file:///u"}}}}"#);
        assert_eq!(read(&body), Ok(call(Some(method), Some("file:///u"))));
        let both = format!(
            r#"{{"method":"{method}","params":{{"name":"public","uri":"file:///secret"}}}}"#
        );
        assert_eq!(read(&both), Err(McpBodyError::AmbiguousTarget), "{both}");
        let name_only = format!(r#"{{"method":"{method}","params":{{"name":"public"}}}}"#);
        assert_eq!(read(&name_only), Err(McpBodyError::AmbiguousTarget));
    }
    for body in [
        r#"{"method":"tools/call","params":{"uri":"file:///x","name":"add"}}"#,
        r#"{"method":"prompts/get","params":{"name":"p","uri":null}}"#,
        r#"{"params":{"name":"add","uri":"x"},"method":"tools/call"}"#,
    ] {
        assert_eq!(read(body), Err(McpBodyError::AmbiguousTarget), "{body}");
    }
    for body in [
        r#"{"method":"tools/call","params":{"name":5}}"#,
        r#"{"method":"tools/call","params":{"name":null}}"#,
        r#"{"method":"resources/read","params":{"uri":["file:///x"]}}"#,
    ] {
        assert_eq!(read(body), Err(McpBodyError::TargetNotString), "{body}");
    }
    // Other methods run nothing the client names: no target.
    for body in [
        r#"{"method":"tools/list","params":{"name":"divide"}}"#,
        r#"{"method":"initialize","params":{"uri":"file:///x","name":"n"}}"#,
        r#"{"method":"completion/complete","params":{"ref":{"type":"ref/prompt","name":"p"}}}"#,
    ] {
        assert_eq!(read(body).map(|c| c.name), Ok(None), "{body}");
    }
}

#[test]
fn refuses_what_it_cannot_read_one_way() {
    for body in [
        &br#"[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add"}}]"#[..],
        br#"{"method":"tools/list","method":"tools/call"}"#,
        br#"{"method":"tools/call","params":{"name":"a","name":"b"}}"#,
        br#"{"method":"resources/read","params":{"uri":"a","u\u0072i":"b"}}"#,
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
    // The resource's header is its uri, never a name beside it.
    let res = br#"{"method":"resources/read","params":{"uri":"file:///secret"}}"#;
    let uri = h(&[("mcp-name", "file:///secret")]);
    assert!(read_call(res, &uri).is_ok());
}

/// MCP 2026-07-28, streamable HTTP, "Value Encoding" and "Server
/// Validation": one header of each, visible ASCII or the lowercase Base64
/// sentinel (for `Mcp-Name` only), decoded before the comparison.
#[test]
fn headers_are_decoded_as_the_specification_says() {
    let tool = br#"{"method":"tools/call","params":{"name":"add"}}"#;
    let check = |pairs: &[(&str, &str)]| read_call(tool, &h(pairs));
    for agreeing in [
        &[("mcp-name", "=?base64?YWRk?=")][..],
        &[("mcp-name", " add\t")],
        &[("mcp-method", "tools/call "), ("mcp-name", "add")],
    ] {
        assert!(check(agreeing).is_ok(), "{agreeing:?}");
    }
    for repeated in [
        &[("mcp-method", "tools/call"), ("mcp-method", "tools/call")][..],
        &[("mcp-name", "add"), ("mcp-name", "add")],
        &[("mcp-name", "add"), ("mcp-name", "divide")],
    ] {
        assert_eq!(
            check(repeated),
            Err(McpBodyError::RepeatedHeader),
            "{repeated:?}"
        );
    }
    for disagreeing in [
        // The sentinel is for Mcp-Name (and Mcp-Param-*), not Mcp-Method.
        &[("mcp-method", "=?base64?dG9vbHMvY2FsbA==?=")][..],
        // Markers are lowercase and exact.
        &[("mcp-name", "=?BASE64?YWRk?=")],
        &[("mcp-name", "=?base64?YWRk")],
        &[("mcp-name", "=?base64?YWRk?= ?=")],
        &[("mcp-name", "=?base64?YWRk=?=")],
    ] {
        assert_eq!(
            check(disagreeing),
            Err(McpBodyError::HeaderMismatch),
            "{disagreeing:?}"
        );
    }
    // Padded, canonical Base64 only: one spelling per value.
    let ad = br#"{"method":"tools/call","params":{"name":"ad"}}"#;
    assert!(read_call(ad, &h(&[("mcp-name", "=?base64?YWQ=?=")])).is_ok());
    for other_spelling in ["=?base64?YWQ?=", "=?base64?YWR=?=", "=?base64?YW Q=?="] {
        assert_eq!(
            read_call(ad, &h(&[("mcp-name", other_spelling)])),
            Err(McpBodyError::HeaderMismatch),
            "{other_spelling}"
        );
    }
    // A name outside visible ASCII must come encoded: raw UTF-8 is invalid.
    let unicode = br#"{"method":"tools/call","params":{"name":"t\u00f6\u00f6l"}}"#;
    assert_eq!(
        read_call(unicode, &h(&[("mcp-name", "tööl")])),
        Err(McpBodyError::HeaderMismatch)
    );
    let control: Vec<Header> = vec![("mcp-name", b"a\x0bdd")];
    assert_eq!(read_call(tool, &control), Err(McpBodyError::HeaderMismatch));
    // A literal value shaped like the sentinel is sent encoded, and only so.
    let literal = br#"{"method":"tools/call","params":{"name":"=?base64?YWRk?="}}"#;
    assert_eq!(
        read_call(literal, &h(&[("mcp-name", "=?base64?YWRk?=")])),
        Err(McpBodyError::HeaderMismatch)
    );
    let encoded = h(&[("mcp-name", "=?base64?PT9iYXNlNjQ/WVdSaz89?=")]);
    assert!(read_call(literal, &encoded).is_ok());
}

/// Clients fill `Mcp-Name` from `params.name` else `params.uri` on any
/// method: accepted when it agrees, never matched by the rules.
#[test]
fn methods_without_a_target_still_mirror_what_the_body_says() {
    let body = br#"{"method":"x/y","params":{"name":"n"}}"#;
    assert_eq!(
        read_call(body, &h(&[("mcp-name", "n")])),
        Ok(call(Some("x/y"), None))
    );
    assert_eq!(
        read_call(body, &h(&[("mcp-name", "m")])),
        Err(McpBodyError::HeaderMismatch)
    );
    let uri = br#"{"method":"x/y","params":{"uri":"u"}}"#;
    assert!(read_call(uri, &h(&[("mcp-name", "u")])).is_ok());
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

/// Express's body parser decodes `charset=utf-7`, `utf-16` and gzip: the
/// server would run another tool than the one the filter read.
#[test]
fn the_body_is_read_only_as_plain_utf8_json() {
    let framing = |pairs: &[(&str, &str)]| check_framing(&h(pairs));
    for ok in [
        "application/json",
        "Application/JSON",
        "application/json; charset=utf-8",
        "application/json;charset=UTF-8",
        "application/json ;\tCharset=\"utf-8\"",
        "application/json; charset=\"utf\\-8\"",
        " application/json ",
    ] {
        assert_eq!(framing(&[("content-type", ok)]), Ok(()), "{ok}");
        for encoding in ["identity", "IDENTITY"] {
            let pairs = [("content-type", ok), ("content-encoding", encoding)];
            assert_eq!(framing(&pairs), Ok(()));
        }
    }
    for bad in [
        "application/json; charset=utf-7",
        "application/json; charset=utf-16",
        "application/json; charset=utf-16le",
        "application/json; charset=\"utf-8",
        "application/json; charset=\"utf-8\"x",
        "application/json; charset= utf-8",
        "application/json; charset =utf-8",
        "application/json; charset=utf-8; charset=utf-8",
        "application/json; charset=utf-8;",
        "application/json;",
        "application/json; foo=bar",
        "application/json, text/plain",
        "application/jsonx",
        "application/json-rpc",
        "text/plain",
        "text/json",
        "",
    ] {
        assert_eq!(
            framing(&[("content-type", bad)]),
            Err(McpBodyError::ContentType),
            "{bad}"
        );
    }
    assert_eq!(framing(&[]), Err(McpBodyError::ContentType));
    let two = [
        ("content-type", "application/json"),
        ("content-type", "application/json"),
    ];
    assert_eq!(framing(&two), Err(McpBodyError::ContentType));
    for encoding in [
        &[("content-encoding", "gzip")][..],
        &[("content-encoding", "identity, gzip")],
        &[("content-encoding", "")],
        &[
            ("content-encoding", "identity"),
            ("content-encoding", "identity"),
        ],
    ] {
        let mut pairs = vec![("content-type", "application/json")];
        pairs.extend_from_slice(encoding);
        assert_eq!(
            framing(&pairs),
            Err(McpBodyError::ContentEncoding),
            "{encoding:?}"
        );
    }
}
