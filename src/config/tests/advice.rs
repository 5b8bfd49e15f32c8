//! `advice`: each configuration Entra or strict clients refuse gets its
//! warning, and the setup docs/mcp.md recommends gets none.

use super::*;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

const APP: &str = "00000000-0000-0000-0000-000000000001";

/// The 2026 setup: the MCP server's URL is the Application ID URI.
fn good() -> Value {
    json!({
        "entra": {"tenant_id": TID, "audiences": [APP, "https://mcp.contoso.com/mcp"]},
        "mcp": {
            "resource": "https://mcp.contoso.com/mcp",
            "resource_metadata_url": "https://mcp.contoso.com/.well-known/oauth-protected-resource/mcp",
            "scopes_supported": ["https://mcp.contoso.com/mcp/calculator.add"],
            "authorization_server": {"issuer": "https://mcp.contoso.com", "client_id": APP,
                                     "redirect_uris": ["http://127.0.0.1/callback"]}
        },
        "rules": [{"path_prefix": "/mcp", "require": "jwt", "required_scopes": ["calculator.add"]}]
    })
}

fn keys(v: &Value) -> Vec<String> {
    advice(&parse_value(v).unwrap())
        .into_iter()
        .map(|w| {
            assert!(!w.problem.is_empty() && !w.fix.is_empty(), "{w:?}");
            w.key
        })
        .collect()
}

#[test]
fn the_recommended_setup_has_no_warning() {
    assert_eq!(keys(&good()), Vec::<String>::new());
    let mut api = good();
    api["mcp"]["scopes_supported"] = json!(["api://calc/calculator.add"]);
    api["rules"][0]["required_scopes"] = json!(["calculator.add"]);
    assert_eq!(
        keys(&api),
        Vec::<String>::new(),
        "api:// scopes are fine too"
    );
}

#[test]
fn each_refused_setup_gets_its_warning() {
    type Edit = fn(&mut Value);
    let cases: &[(&str, Edit)] = &[
        ("mcp.resource", |v| {
            v["mcp"]["resource"] = json!("https://mcp.contoso.com/mcp/");
            v["entra"]["audiences"][1] = json!("https://mcp.contoso.com/mcp/");
            v["mcp"]["scopes_supported"] = json!(["https://mcp.contoso.com/mcp/calculator.add"]);
        }),
        ("mcp.scopes_supported[0]", |v| {
            v["mcp"]["scopes_supported"] = json!(["https://other.example/x/calculator.add"])
        }),
        ("mcp.scopes_supported[1]", |v| {
            v["mcp"]["scopes_supported"] = json!([
                "https://mcp.contoso.com/mcp/calculator.add",
                "calculator.sub"
            ])
        }),
        ("mcp.scopes_supported", |v| {
            v["mcp"]["scopes_supported"] = json!([
                "https://mcp.contoso.com/mcp/calculator.add",
                "api://calc/calculator.sub"
            ])
        }),
        ("mcp.scopes_supported", |v| {
            v["mcp"]["scopes_supported"] = json!([]);
            v["rules"][0]["required_scopes"] = json!([]);
        }),
        ("rules[0].required_scopes[1]", |v| {
            v["rules"][0]["required_scopes"] = json!(["calculator.add", "offline_access"])
        }),
        ("rules[0].required_scopes[0]", |v| {
            v["rules"][0]["required_scopes"] = json!(["calculator.div"])
        }),
        ("entra.audiences", |v| {
            v["entra"]["audiences"] = json!(["https://mcp.contoso.com/mcp"])
        }),
        ("entra.audiences", |v| {
            v["entra"]["audiences"] = json!([APP])
        }),
        ("mcp.resource_metadata_url", |v| {
            v["mcp"]["resource_metadata_url"] =
                json!("https://other.contoso.com/.well-known/oauth-protected-resource/mcp")
        }),
        ("mcp.resource_metadata_url", |v| {
            v["mcp"]["resource_metadata_url"] =
                json!("https://mcp.contoso.com/.well-known/oauth-protected-resource")
        }),
        ("mcp.authorization_server.issuer", |v| {
            v["mcp"]["authorization_server"]["issuer"] = json!("https://login.contoso.com")
        }),
        ("mcp.authorization_server.client_id", |v| {
            v["mcp"]["authorization_server"]["client_id"] = json!("my-client")
        }),
    ];
    for (key, edit) in cases {
        let mut v = good();
        edit(&mut v);
        let found = keys(&v);
        assert!(found.iter().any(|k| k == key), "{key}: {found:?} for {v}");
    }
    let mut http = good();
    http["mcp"]["resource"] = json!("http://mcp.contoso.com/mcp");
    assert!(keys(&http).contains(&"mcp.resource".to_string()));
}
