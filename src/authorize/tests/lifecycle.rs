//! What reaches the upstream: which requests have their MCP call read, in
//! which framing, and which `OPTIONS` is a CORS preflight.

use super::*;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

fn divide() -> Vec<u8> {
    br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"divide"}}"#.to_vec()
}

/// The token has `calculator.add`, not `calculator.divide`: a `divide` call
/// read by the filter is 403, one it never read passes as the `/mcp` rule.
#[test]
fn a_body_is_read_whatever_the_method() {
    let mut h = Harness::new();
    let auth = bearer(&token());
    let headers = [("authorization", auth.as_str()), JSON];
    for method in ["POST", "PUT", "PATCH", "DELETE", "GET", "post", "FOO"] {
        h.body = None;
        h.has_body = true;
        assert_eq!(
            h.run(method, "/mcp", &headers, true),
            Decision::NeedBody,
            "{method}"
        );
        h.body = Some(divide());
        assert_eq!(
            response_status(h.run(method, "/mcp", &headers, true)),
            403,
            "{method}"
        );
    }
    // No body: no call, whatever the method.
    h.body = None;
    h.has_body = false;
    for method in ["POST", "PUT"] {
        assert_eq!(
            allowed(h.run(method, "/mcp", &headers, true)).via.name(),
            "jwt",
            "{method}"
        );
    }
    // Paths without per-tool rules never wait for a body.
    h.has_body = true;
    assert_eq!(allowed(h.get("/health", &[])).via.name(), "public");
}

/// A stream that ends with trailers only has a body, and it is empty.
#[test]
fn an_empty_body_is_unreadable() {
    let mut h = Harness::new();
    let auth = bearer(&token());
    h.body = Some(Vec::new());
    for method in ["POST", "PUT"] {
        let (status, _, body) =
            response(h.run(method, "/mcp", &[("authorization", &auth), JSON], true));
        assert_eq!(status, 400, "{method}");
        assert!(body.contains("invalid_request"), "{body}");
        assert!(body.contains("not a single JSON-RPC message"), "{body}");
    }
}

#[test]
fn the_body_is_read_only_as_utf8_json() {
    let mut h = Harness::new();
    let auth = bearer(&token());
    let ok = [
        ("authorization", auth.as_str()),
        ("content-type", "application/json; charset=UTF-8"),
    ];
    h.body = Some(divide());
    assert_eq!(response_status(h.run("POST", "/mcp", &ok, true)), 403);
    for (extra, words) in [
        (
            &[("content-type", "application/json; charset=utf-7")][..],
            "Content-Type",
        ),
        (&[("content-type", "text/plain")], "Content-Type"),
        (&[], "Content-Type"),
        (&[JSON, JSON], "Content-Type"),
        (&[JSON, ("content-encoding", "gzip")], "Content-Encoding"),
    ] {
        let mut headers = vec![("authorization", auth.as_str())];
        headers.extend_from_slice(extra);
        // Refused before the body is buffered, and again with it.
        for body in [None, Some(divide())] {
            h.has_body = true;
            h.body = body;
            let (status, _, reply) = response(h.run("POST", "/mcp", &headers, true));
            assert_eq!(status, 400, "{extra:?}");
            assert!(reply.contains(words), "{reply}");
        }
    }
}

#[test]
fn header_and_target_refusals_reach_the_client() {
    let mut h = Harness::new();
    let auth = bearer(&token());
    h.body = Some(
        br#"{"method":"resources/read","params":{"name":"public","uri":"file:///secret"}}"#
            .to_vec(),
    );
    let (status, _, reply) =
        response(h.run("POST", "/mcp", &[("authorization", &auth), JSON], true));
    assert_eq!(status, 400);
    assert!(reply.contains("both params.name and params.uri"), "{reply}");
    h.body = Some(divide());
    let twice = [
        ("authorization", auth.as_str()),
        JSON,
        ("mcp-name", "divide"),
        ("mcp-name", "divide"),
    ];
    let (status, _, reply) = response(h.run("POST", "/mcp", &twice, true));
    assert_eq!(status, 400);
    assert!(reply.contains("at most one"), "{reply}");
}

/// Only `OPTIONS` with `Origin` and `Access-Control-Request-Method` and no
/// body is a preflight; any other `OPTIONS` follows the rules.
#[test]
fn only_a_real_preflight_passes_unauthenticated() {
    let mut h = Harness::new();
    let origin = ("origin", "https://app.example");
    let acrm = ("access-control-request-method", "POST");
    assert_eq!(
        allowed(h.run("OPTIONS", "/admin", &[origin, acrm], true))
            .via
            .name(),
        "preflight"
    );
    for headers in [&[acrm][..], &[origin], &[]] {
        assert_eq!(
            response_status(h.run("OPTIONS", "/admin", headers, true)),
            401,
            "{headers:?}"
        );
    }
    h.has_body = true;
    assert_eq!(
        response_status(h.run("OPTIONS", "/admin", &[origin, acrm], true)),
        401,
        "a preflight has no body"
    );
    // On a per-tool path the body of such an OPTIONS is a call like any other.
    h.body = Some(divide());
    let auth = bearer(&token());
    let headers = [origin, acrm, ("authorization", auth.as_str()), JSON];
    assert_eq!(
        response_status(h.run("OPTIONS", "/mcp", &headers, true)),
        403
    );
}

#[test]
fn the_metadata_preflight_is_a_preflight_too() {
    let mut h = Harness::new();
    let path = "/.well-known/oauth-protected-resource/mcp";
    let origin = ("origin", "https://app.example");
    let acrm = ("access-control-request-method", "GET");
    let Decision::Respond { reason, .. } = h.run("OPTIONS", path, &[origin, acrm], true) else {
        panic!("no metadata preflight answer")
    };
    assert_eq!(reason, Reason::Served);
    for headers in [&[acrm][..], &[origin], &[]] {
        assert_eq!(
            response_status(h.run("OPTIONS", path, headers, true)),
            401,
            "{headers:?}"
        );
    }
    h.has_body = true;
    assert_eq!(
        response_status(h.run("OPTIONS", path, &[origin, acrm], true)),
        401
    );
}
