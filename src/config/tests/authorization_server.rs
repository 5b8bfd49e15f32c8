//! `mcp.authorization_server`: what it accepts and what it refuses, by key.

use super::*;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

fn with_server(block: Value) -> Result<Config, ConfigError> {
    let mut v = full();
    v["mcp"]["authorization_server"] = block;
    parse_value(&v)
}

fn server(block: Value) -> AuthorizationServerConfig {
    with_server(block)
        .unwrap()
        .mcp
        .unwrap()
        .authorization_server
        .unwrap()
}

#[test]
fn the_contract_example_parses() {
    let s = server(json!({
        "issuer": "https://mcp.contoso.com",
        "client_id": "aaaaaaaa-0000-0000-0000-000000000001",
        "redirect_uris": ["http://127.0.0.1/callback", "https://vscode.dev/redirect"]
    }));
    assert_eq!(s.issuer, "https://mcp.contoso.com");
    assert_eq!(s.issuer_path, "");
    assert_eq!(
        s.client_id.as_deref(),
        Some("aaaaaaaa-0000-0000-0000-000000000001")
    );
    assert_eq!(s.redirect_uris.len(), 2);
    let s = server(json!({"issuer": "http://127.0.0.1:8080/tenant-1/v2.0"}));
    assert_eq!(
        (s.issuer_path.as_str(), s.client_id),
        ("/tenant-1/v2.0", None)
    );
    assert!(s.redirect_uris.is_empty());
    for loopback in ["http://localhost", "http://[::1]:9", "http://127.1.2.3"] {
        server(json!({ "issuer": loopback }));
    }
    let c = parse_value(&full()).unwrap();
    assert!(c.mcp.unwrap().authorization_server.is_none());
}

#[test]
fn refusals_name_the_key() {
    let cases = [
        (json!({}), "mcp.authorization_server.issuer", "is required"),
        (
            json!({"issuer": "http://mcp.contoso.com"}),
            "mcp.authorization_server.issuer",
            "must be https",
        ),
        (
            json!({"issuer": "http://127.0.0.1.evil.example"}),
            "mcp.authorization_server.issuer",
            "must be https",
        ),
        (
            json!({"issuer": "https://mcp.contoso.com/"}),
            "mcp.authorization_server.issuer",
            "must not end with /",
        ),
        (
            json!({"issuer": "https://mcp.contoso.com/a/"}),
            "mcp.authorization_server.issuer",
            "must not end with /",
        ),
        (
            json!({"issuer": "https://mcp.contoso.com?x"}),
            "mcp.authorization_server.issuer",
            "query",
        ),
        (
            json!({"issuer": "https://mcp.contoso.com/#x"}),
            "mcp.authorization_server.issuer",
            "absolute",
        ),
        (
            json!({"issuer": "https://mcp.contoso.com/a%2Fb"}),
            "mcp.authorization_server.issuer",
            "path segments",
        ),
        (
            json!({"issuer": "https://mcp.contoso.com/a//b"}),
            "mcp.authorization_server.issuer",
            "path segments",
        ),
        (
            json!({"issuer": "https://mcp.contoso.com/a/../b"}),
            "mcp.authorization_server.issuer",
            "path segments",
        ),
        (
            json!({"issuer": "mcp.contoso.com"}),
            "mcp.authorization_server.issuer",
            "absolute",
        ),
        (
            json!({"issuer": "https://x", "client_id": "c"}),
            "mcp.authorization_server.redirect_uris",
            "required when client_id",
        ),
        (
            json!({"issuer": "https://x", "client_id": "c", "redirect_uris": []}),
            "mcp.authorization_server.redirect_uris",
            "must not be empty",
        ),
        (
            json!({"issuer": "https://x", "redirect_uris": ["https://a/b"]}),
            "mcp.authorization_server.redirect_uris",
            "only allowed with client_id",
        ),
        (
            json!({"issuer": "https://x", "client_id": "", "redirect_uris": ["https://a/b"]}),
            "mcp.authorization_server.client_id",
            "spaces",
        ),
        (
            json!({"issuer": "https://x", "client_id": "a b", "redirect_uris": ["https://a/b"]}),
            "mcp.authorization_server.client_id",
            "spaces",
        ),
        (
            json!({"issuer": "https://x", "client_id": "a\nb", "redirect_uris": ["https://a/b"]}),
            "mcp.authorization_server.client_id",
            "printable",
        ),
        (
            json!({"issuer": "https://x", "client_id": "c", "redirect_uris": ["http://app.example/cb"]}),
            "mcp.authorization_server.redirect_uris[0]",
            "loopback",
        ),
        (
            json!({"issuer": "https://x", "client_id": "c", "redirect_uris": ["https://a/b", "https://a/b#f"]}),
            "mcp.authorization_server.redirect_uris[1]",
            "fragment",
        ),
        (
            json!({"issuer": "https://x", "client_id": "c", "redirect_uris": ["/callback"]}),
            "mcp.authorization_server.redirect_uris[0]",
            "absolute",
        ),
        (
            json!({"issuer": "https://x", "client_id": "c", "redirect_uris": ["https://a/b c"]}),
            "mcp.authorization_server.redirect_uris[0]",
            "visible ASCII",
        ),
        (
            json!({"issuer": "https://x", "client_id": "c", "redirect_uris": [format!("https://a/{}", "b".repeat(2048))]}),
            "mcp.authorization_server.redirect_uris[0]",
            "2048",
        ),
        (
            json!({"issuer": "https://x", "client_id": "c", "redirect_uris": vec!["https://a/b"; 65]}),
            "mcp.authorization_server.redirect_uris",
            "at most 64",
        ),
        (
            json!({"issuer": "https://x", "clientid": "c"}),
            "mcp.authorization_server.clientid",
            "unknown key",
        ),
        (
            json!("https://x"),
            "mcp.authorization_server",
            "must be a JSON object",
        ),
    ];
    for (block, key, reason) in cases {
        let err = with_server(block.clone()).unwrap_err();
        assert_eq!(err.key, key, "{block}: {err}");
        assert!(err.reason.contains(reason), "{block}: {err}");
    }
}
