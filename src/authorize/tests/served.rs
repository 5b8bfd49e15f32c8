//! The contract's "Authorization-server metadata for Entra" rows, through
//! the decision: documents and registration before any rule, the body read
//! through `NeedBody`, preflights of the filter's own paths only.

use super::*;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

const ISSUER: &str = "https://mcp.example/as";

fn harness(client_id: bool) -> Harness {
    let mut h = Harness::new();
    let mut block = json!({"issuer": ISSUER});
    if client_id {
        block["client_id"] = json!(CLIENT);
        block["redirect_uris"] =
            json!(["http://127.0.0.1/callback", "https://vscode.dev/redirect"]);
    }
    let mut v = config_value();
    v["mcp"]["authorization_server"] = block;
    h.config = config::parse(v.to_string().as_bytes()).unwrap();
    h
}

fn answered(d: Decision) -> (Rc<Response>, Reason) {
    match d {
        Decision::Respond { response, reason } => (response, reason),
        other => panic!("expected an answer, got {other:?}"),
    }
}

fn json_body(r: &Response) -> serde_json::Value {
    serde_json::from_slice(&r.body).unwrap()
}

#[test]
fn the_protected_resource_metadata_names_the_filters_issuer() {
    let mut h = harness(false);
    let (r, _) = answered(h.get("/.well-known/oauth-protected-resource/mcp", &[]));
    assert_eq!(json_body(&r)["authorization_servers"], json!([ISSUER]));
}

#[test]
fn the_document_is_served_at_all_three_paths_without_credentials() {
    let mut h = harness(true);
    for path in [
        "/.well-known/oauth-authorization-server/as",
        "/.well-known/openid-configuration/as",
        "/as/.well-known/openid-configuration?x=1",
    ] {
        for method in ["GET", "HEAD"] {
            let (r, reason) = answered(h.run(method, path, &[("authorization", "Bearer x")], true));
            assert_eq!((r.status, reason), (200, Reason::Served), "{method} {path}");
            assert_eq!(r.header("access-control-allow-origin"), Some("*"));
            let tenant = format!("{AUTHORITY}/{TENANT}");
            assert_eq!(
                json_body(&r),
                json!({
                    "issuer": ISSUER,
                    "authorization_endpoint": format!("{tenant}/oauth2/v2.0/authorize"),
                    "token_endpoint": format!("{tenant}/oauth2/v2.0/token"),
                    "jwks_uri": format!("{tenant}/discovery/v2.0/keys"),
                    "response_types_supported": ["code"],
                    "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
                    "code_challenge_methods_supported": ["S256"],
                    "token_endpoint_auth_methods_supported":
                        ["none", "client_secret_post", "client_secret_basic", "private_key_jwt"],
                    "scopes_supported": ["api://calculator/calculator.add", "offline_access"],
                    "registration_endpoint": format!("{ISSUER}/register"),
                })
            );
        }
    }
    // Other methods and paths go on to the rules (the default rule: a token).
    for (method, path) in [
        ("POST", "/.well-known/oauth-authorization-server/as"),
        ("GET", "/.well-known/oauth-authorization-server"),
        ("GET", "/as/register"),
    ] {
        let (status, _, _) = response(h.run(method, path, &[], true));
        assert_eq!(status, 401, "{method} {path}");
    }
}

#[test]
fn multi_tenant_documents_point_at_organizations_and_omit_registration() {
    let mut h = harness(false);
    h.config.entra.discovery_tenant = "organizations".into();
    let (r, _) = answered(h.get("/.well-known/oauth-authorization-server/as", &[]));
    let doc = json_body(&r);
    assert_eq!(
        doc["authorization_endpoint"],
        format!("{AUTHORITY}/organizations/oauth2/v2.0/authorize")
    );
    assert!(doc.get("registration_endpoint").is_none());
    // Without a client id there is no registration endpoint to answer.
    h.has_body = true;
    assert!(
        matches!(h.run("POST", "/as/register", &[JSON], true), Decision::Respond { ref response, .. } if response.status == 401)
    );
}

#[test]
fn registration_reads_the_body_through_the_decision() {
    let mut h = harness(true);
    h.has_body = true;
    assert_eq!(
        h.run("POST", "/as/register", &[JSON], true),
        Decision::NeedBody
    );
    h.body =
        Some(br#"{"redirect_uris":["http://127.0.0.1:4711/callback"],"client_name":"x"}"#.to_vec());
    let (r, reason) = answered(h.run("POST", "/as/register", &[JSON], true));
    assert_eq!(
        (r.status, reason),
        (201, Reason::Registration { accepted: true })
    );
    let doc = json_body(&r);
    assert_eq!(doc["client_id"], CLIENT);
    assert_eq!(
        doc["redirect_uris"],
        json!(["http://127.0.0.1:4711/callback"])
    );
    h.body = Some(br#"{"redirect_uris":["http://127.0.0.1:4711/other"]}"#.to_vec());
    let (r, reason) = answered(h.run("POST", "/as/register", &[JSON], true));
    assert_eq!(
        (r.status, reason),
        (400, Reason::Registration { accepted: false })
    );
    assert_eq!(json_body(&r)["error"], "invalid_redirect_uri");
    h.body = Some(b"redirect_uris=x".to_vec());
    let (r, _) = answered(h.run("POST", "/as/register", &[JSON], true));
    assert_eq!(json_body(&r)["error"], "invalid_client_metadata");
    // No body at all: nothing to read, refused at once.
    h.body = None;
    h.has_body = false;
    let (r, _) = answered(h.run("POST", "/as/register", &[JSON], true));
    assert_eq!(
        (r.status, json_body(&r)["error"].as_str()),
        (400, Some("invalid_client_metadata"))
    );
}

#[test]
fn preflights_of_the_filters_own_paths_are_answered_others_forwarded() {
    let mut h = harness(true);
    let origin = ("origin", "http://localhost:6274");
    let acrh = (
        "access-control-request-headers",
        "content-type, mcp-protocol-version",
    );
    for (path, method) in [
        ("/.well-known/oauth-protected-resource", "GET"),
        ("/.well-known/oauth-protected-resource/mcp", "GET"),
        ("/.well-known/oauth-authorization-server/as", "GET"),
        ("/as/.well-known/openid-configuration", "GET"),
        ("/as/register", "POST"),
    ] {
        let acrm = ("access-control-request-method", method);
        let (r, reason) = answered(h.run("OPTIONS", path, &[origin, acrm, acrh], true));
        assert_eq!((r.status, reason), (204, Reason::Served), "{path}");
        assert_eq!(r.header("access-control-allow-origin"), Some("*"));
        assert_eq!(r.header("access-control-allow-methods"), Some(method));
        assert_eq!(
            r.header("access-control-allow-headers"),
            Some("content-type, mcp-protocol-version")
        );
    }
    let acrm = ("access-control-request-method", "POST");
    for path in [
        "/mcp",
        "/register",
        "/.well-known/oauth-authorization-server",
    ] {
        let allowed = allowed(h.run("OPTIONS", path, &[origin, acrm], true));
        assert_eq!(allowed.via, Via::Preflight, "{path}");
    }
    // Not a preflight (no Origin): an OPTIONS of the register path follows the rules.
    let (status, _, _) = response(h.run("OPTIONS", "/as/register", &[acrm], true));
    assert_eq!(status, 401);
}
