use super::*;
use crate::cache::TokenCache;
use crate::config;
use crate::keys::KeySet;
use crate::policy::Policy;
use crate::signature::RustVerifier;
use crate::testing::*;
use serde_json::json;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

// What allowed decisions say about the caller (filter state).
mod identity;
// The contract's "What reaches the upstream" rows.
mod lifecycle;
mod resources;
mod served;
mod upstream;

const KEY: &str = "test"; // sha256 9f86d0...
const JSON: (&str, &str) = ("content-type", "application/json");
const PRM: &str = "https://mcp.example/.well-known/oauth-protected-resource/mcp";

fn config_value() -> serde_json::Value {
    json!({
        "entra": {"tenant_id": TENANT, "audiences": [AUDIENCE]},
        "subscription_keys": {"keys": [{"name": "contoso", "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}]},
        "mcp": {"resource": "https://mcp.example/mcp", "resource_metadata_url": PRM,
                "scopes_supported": ["api://calculator/calculator.add"]},
        "rules": [
            {"path_prefix": "/health", "require": "none"},
            {"path_prefix": "/admin", "require": "jwt", "required_roles": ["Calculator.Root"]},
            {"path_prefix": "/mcp", "require": "jwt", "mcp_tools": ["divide"], "required_scopes": ["calculator.divide"]},
            {"path_prefix": "/mcp", "require": "jwt", "mcp_methods": ["tools/list"], "required_scopes": []},
            {"path_prefix": "/mcp", "require": "jwt", "required_scopes": ["calculator.add"]},
            {"path_prefix": "/keyed", "require": "subscription_key"},
            {"path_prefix": "/both", "require": "jwt_and_subscription_key"},
            {"path_prefix": "/either", "require": "jwt_or_subscription_key"}
        ],
        "claims_to_headers": {"oid": "x-entra-oid", "azp": "x-entra-client-id"}
    })
}

fn config() -> Config {
    config::parse(config_value().to_string().as_bytes()).unwrap()
}

struct Harness {
    config: Config,
    keys: KeySet,
    cache: TokenCache,
    body: Option<Vec<u8>>,
    /// The stream goes on after the headers (always so with a `body`).
    has_body: bool,
}

impl Harness {
    fn new() -> Self {
        Harness {
            config: config(),
            keys: keyset(),
            cache: TokenCache::new(16),
            body: None,
            has_body: false,
        }
    }

    fn run(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        may_wait: bool,
    ) -> Decision {
        let headers: Vec<crate::headers::Header> =
            headers.iter().map(|(n, v)| (*n, v.as_bytes())).collect();
        let req = Request {
            method,
            path,
            headers: &headers,
            has_body: self.has_body || self.body.is_some(),
            body: self.body.as_deref(),
        };
        // Compiled from the configuration as it is now: tests edit it.
        let policy = Policy::compile(self.config.clone());
        let mut env = Env {
            policy: &policy,
            keys: &self.keys,
            verifier: &RustVerifier,
            cache: &mut self.cache,
            now_ms: NOW * 1000,
            may_wait,
            retry_after_seconds: 4,
        };
        authorize(&req, &mut env)
    }

    fn get(&mut self, path: &str, headers: &[(&str, &str)]) -> Decision {
        self.run("GET", path, headers, true)
    }
}

fn response(d: Decision) -> (u32, Option<String>, String) {
    match d {
        Decision::Respond { response, .. } => (
            response.status,
            response.header("www-authenticate").map(str::to_string),
            String::from_utf8(response.body.clone()).unwrap(),
        ),
        other => panic!("expected a response, got {other:?}"),
    }
}

fn allowed(d: Decision) -> Allowed {
    match d {
        Decision::Allow(a) => a,
        other => panic!("expected allow, got {other:?}"),
    }
}

fn bearer(t: &str) -> String {
    format!("Bearer {t}")
}

#[test]
fn metadata_document_is_served_without_credentials() {
    let mut h = Harness::new();
    for path in [
        "/.well-known/oauth-protected-resource/mcp",
        "/.well-known/oauth-protected-resource?x=1",
    ] {
        let Decision::Respond { response, reason } = h.get(path, &[]) else {
            panic!()
        };
        assert_eq!((response.status, reason), (200, Reason::Served));
        assert_eq!(response.header("access-control-allow-origin"), Some("*"));
        let doc: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
        assert_eq!(doc["resource"], "https://mcp.example/mcp");
        assert_eq!(
            doc["authorization_servers"][0],
            format!("{AUTHORITY}/{TENANT}/v2.0")
        );
        assert_eq!(doc["bearer_methods_supported"], json!(["header"]));
        assert_eq!(
            doc["scopes_supported"],
            json!(["api://calculator/calculator.add"])
        );
    }
    let mut no_mcp = Harness::new();
    no_mcp.config.mcp = None;
    let (status, challenge, _) = response(no_mcp.get("/.well-known/oauth-protected-resource", &[]));
    assert_eq!((status, challenge.as_deref()), (401, Some("Bearer")));
}

#[test]
fn missing_credentials_get_the_mcp_challenge() {
    let mut h = Harness::new();
    h.body = Some(br#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}"#.to_vec());
    for method in ["GET", "POST", "DELETE"] {
        let (status, challenge, _) = response(h.run(method, "/mcp", &[JSON], true));
        assert_eq!(status, 401);
        assert_eq!(
            challenge.unwrap(),
            format!(
                "Bearer scope=\"api://calculator/calculator.add\", resource_metadata=\"{PRM}\""
            )
        );
    }
    let (_, challenge, _) = response(h.get("/other", &[("authorization", "Basic eDp5")]));
    assert_eq!(
        challenge.unwrap(),
        format!("Bearer resource_metadata=\"{PRM}\"")
    );
}

#[test]
fn preflight_and_public_paths_pass_and_lose_spoofed_headers() {
    let mut h = Harness::new();
    let a = allowed(h.run(
        "OPTIONS",
        "/mcp",
        &[
            ("origin", "https://app.example"),
            ("access-control-request-method", "POST"),
        ],
        true,
    ));
    assert_eq!(a.via.name(), "preflight");
    let a = allowed(h.get("/health/live", &[("x-entra-oid", "spoofed")]));
    assert_eq!(a.via.name(), "public");
    assert_eq!(a.remove_headers, vec!["x-entra-oid".to_string()]);
    let spoofed = [
        ("x-apim-subscription-name", "x"),
        ("ocp-apim-subscription-key", "k"),
        ("x-entra-client-id", "c"),
    ];
    let mut removed = allowed(h.get("/health", &spoofed)).remove_headers;
    removed.sort();
    assert_eq!(
        removed,
        [
            "ocp-apim-subscription-key",
            "x-apim-subscription-name",
            "x-entra-client-id"
        ]
    );
    let (status, _, _) = response(h.get("/healthz", &[]));
    assert_eq!(status, 401);
    let (status, _, _) = response(h.get("/health/../mcp", &[]));
    assert_eq!(status, 400);
}

#[test]
fn a_valid_token_is_forwarded_with_claim_headers_then_cached() {
    let mut h = Harness::new();
    let auth = bearer(&token());
    let a = allowed(h.get("/mcp/tools", &[("authorization", &auth)]));
    assert_eq!((a.via.name(), a.cache_hit), ("jwt", false));
    assert!(a
        .set_headers
        .contains(&("x-entra-oid".into(), "o-1".into())));
    assert!(a
        .set_headers
        .contains(&("x-entra-client-id".into(), CLIENT.into())));
    let a = allowed(h.get("/mcp/tools", &[("authorization", &auth)]));
    assert!(a.cache_hit);
    // A cached token still meets each rule's own permissions.
    let (status, challenge, _) = response(h.get("/admin", &[("authorization", &auth)]));
    assert_eq!(status, 403);
    assert!(challenge
        .unwrap()
        .starts_with("Bearer error=\"insufficient_scope\""));
    // A new key set empties the cache.
    h.keys = KeySet::new(
        keyset().find("key-a").into_iter().cloned().collect(),
        NOW * 1000,
        2,
    );
    assert!(!allowed(h.get("/mcp", &[("authorization", &auth)])).cache_hit);
}

#[test]
fn token_failures_map_to_contract_statuses() {
    let mut h = Harness::new();
    let expired = sign(&header("key-a"), &{
        let mut c = v2_claims();
        c["exp"] = json!(NOW - 1000);
        c
    });
    let (status, challenge, body) =
        response(h.get("/mcp", &[("authorization", &bearer(&expired))]));
    assert_eq!(status, 401);
    assert_eq!(
        challenge.unwrap(),
        format!("Bearer error=\"invalid_token\", error_description=\"the token has expired\", resource_metadata=\"{PRM}\"")
    );
    assert!(body.contains("invalid_token"));
    let two = [("authorization", "Bearer a"), ("authorization", "Bearer b")];
    let (status, challenge, _) = response(h.get("/mcp", &two));
    assert_eq!(status, 400);
    assert!(challenge
        .unwrap()
        .starts_with("Bearer error=\"invalid_request\""));
    let (status, _, _) = response(h.get("/mcp", &[("authorization", "Bearer")]));
    assert_eq!(status, 401);
    let no_scope = sign(&header("key-a"), &{
        let mut c = v2_claims();
        c["scp"] = json!("calculator.read");
        c
    });
    let (status, challenge, _) = response(h.get("/mcp", &[("authorization", &bearer(&no_scope))]));
    assert_eq!(status, 403);
    assert_eq!(
        challenge.unwrap(),
        format!("Bearer error=\"insufficient_scope\", error_description=\"the token lacks a scope, role or claim this operation requires\", scope=\"api://calculator/calculator.add\", resource_metadata=\"{PRM}\"")
    );
}

#[test]
fn keys_missing_or_unknown_kid_wait_once_then_fail_closed() {
    let mut h = Harness::new();
    h.keys = KeySet::default();
    let auth = bearer(&token());
    assert_eq!(
        h.get("/mcp", &[("authorization", &auth)]),
        Decision::WaitForKeys(KeyWait::NoKeys)
    );
    let d = h.run("GET", "/mcp", &[("authorization", &auth)], false);
    let Decision::Respond {
        response: r,
        reason,
    } = d
    else {
        panic!()
    };
    assert_eq!(
        (r.status, reason, r.header("retry-after")),
        (503, Reason::Denied(DenyReason::KeysUnavailable), Some("4"))
    );
    // Cheap checks run first: a token for another audience never waits.
    let other = sign(&header("key-a"), &{
        let mut c = v2_claims();
        c["aud"] = json!("api://other");
        c
    });
    assert_eq!(
        response_status(h.get("/mcp", &[("authorization", &bearer(&other))])),
        401
    );
    let mut h = Harness::new();
    let rotated = bearer(&sign(&header("key-new"), &v2_claims()));
    assert_eq!(
        h.get("/mcp", &[("authorization", &rotated)]),
        Decision::WaitForKeys(KeyWait::UnknownKid)
    );
    let (status, challenge, _) =
        response(h.run("GET", "/mcp", &[("authorization", &rotated)], false));
    assert_eq!(status, 401);
    assert!(challenge.unwrap().contains("unknown key"));
}

fn response_status(d: Decision) -> u32 {
    response(d).0
}

#[test]
fn subscription_key_modes() {
    let mut h = Harness::new();
    let good = [("ocp-apim-subscription-key", KEY)];
    let bad = [("ocp-apim-subscription-key", "nope")];
    let a = allowed(h.get("/keyed?a=1&subscription-key=test&b=2", &[]));
    assert_eq!(
        (a.via.name(), a.subscription.as_deref()),
        ("subscription_key", Some("contoso"))
    );
    assert_eq!(a.new_path.as_deref(), Some("/keyed?a=1&b=2"));
    assert!(a
        .set_headers
        .contains(&("x-apim-subscription-name".into(), "contoso".into())));
    let (status, challenge, body) = response(h.get("/keyed", &[]));
    assert_eq!(status, 401);
    assert!(challenge.unwrap().starts_with("AzureApiManagementKey"));
    assert!(body.contains("missing subscription key"));
    let (status, _, body) = response(h.get("/keyed", &bad));
    assert_eq!(status, 401);
    assert!(body.contains("invalid subscription key"));

    let auth = bearer(&token());
    let both_ok = [("authorization", auth.as_str()), good[0]];
    assert_eq!(
        allowed(h.get("/both", &both_ok)).via.name(),
        "jwt_and_subscription_key"
    );
    assert!(response(h.get("/both", &[("authorization", &auth)]))
        .2
        .contains("missing subscription key"));
    assert_eq!(response_status(h.get("/both", &good)), 401);

    assert_eq!(
        allowed(h.get("/either", &good)).via.name(),
        "subscription_key"
    );
    assert_eq!(
        allowed(h.get("/either", &[("authorization", &auth)]))
            .via
            .name(),
        "jwt"
    );
    assert_eq!(
        allowed(h.get("/either", &[("authorization", auth.as_str()), bad[0]]))
            .via
            .name(),
        "jwt"
    );
    let (status, _, body) = response(h.get("/either", &bad));
    assert!(status == 401 && body.contains("invalid subscription key"));
    let Decision::Respond {
        response: neither,
        reason,
    } = h.get("/either", &[])
    else {
        panic!()
    };
    assert_eq!(
        (neither.status, reason),
        (401, Reason::Denied(DenyReason::Missing))
    );
    let challenges: Vec<&str> = neither
        .headers
        .iter()
        .filter(|(n, _)| n == "www-authenticate")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(challenges.len(), 2);
    let origins = neither
        .headers
        .iter()
        .filter(|(n, _)| n == "access-control-allow-origin");
    assert_eq!(origins.count(), 1);
    assert!(challenges[0].starts_with("Bearer resource_metadata="));
    assert!(challenges[1].starts_with("AzureApiManagementKey"));
    // Two keys are refused even when a valid token would admit the request.
    let two_keys = [("authorization", auth.as_str()), good[0], good[0]];
    assert_eq!(response_status(h.get("/either", &two_keys)), 400);
    // Keys never travel upstream, even on JWT-only routes.
    let a = allowed(h.get("/mcp?subscription-key=test", &[("authorization", &auth)]));
    assert_eq!(a.new_path.as_deref(), Some("/mcp"));
}

#[test]
fn per_tool_rules_read_the_mcp_call() {
    let mut h = Harness::new();
    let auth = bearer(&token());
    let call = |tool: &str| {
        format!(r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"{tool}"}}}}"#)
    };
    h.has_body = true;
    assert_eq!(
        h.run("POST", "/mcp", &[("authorization", &auth), JSON], true),
        Decision::NeedBody
    );
    h.has_body = false;
    assert_eq!(
        response_status(h.run("GET", "/mcp", &[], true)),
        401,
        "no body, no call to read"
    );
    h.body = Some(call("add").into_bytes());
    assert_eq!(
        allowed(h.run("POST", "/mcp", &[("authorization", &auth), JSON], true))
            .via
            .name(),
        "jwt"
    );
    h.body = Some(call("divide").into_bytes());
    let (status, challenge, _) =
        response(h.run("POST", "/mcp", &[("authorization", &auth), JSON], true));
    assert_eq!(status, 403);
    assert!(challenge.unwrap().contains("scope=\"calculator.divide\""));
    // The tool's own 401 hint names its scopes.
    let (_, challenge, _) = response(h.run("POST", "/mcp", &[JSON], true));
    assert!(challenge
        .unwrap()
        .starts_with("Bearer scope=\"calculator.divide\""));
    // A lying header cannot pick a laxer rule.
    let lying = [("authorization", auth.as_str()), ("mcp-name", "add"), JSON];
    assert_eq!(response_status(h.run("POST", "/mcp", &lying, true)), 400);
    h.body = Some(br#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#.to_vec());
    assert_eq!(
        allowed(h.run("POST", "/mcp", &[("authorization", &auth), JSON], true))
            .via
            .name(),
        "jwt"
    );
    h.body = Some(br#"[{"jsonrpc":"2.0","id":1,"method":"tools/list"}]"#.to_vec());
    assert_eq!(
        response_status(h.run("POST", "/mcp", &[("authorization", &auth), JSON], true)),
        400
    );
    h.body = Some(Vec::new());
    assert_eq!(
        response_status(h.run("POST", "/mcp", &[("authorization", &auth), JSON], true)),
        400
    );
}
