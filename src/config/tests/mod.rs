use super::*;
use serde_json::{json, Value};
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

mod advice;
mod authorization_server;
mod filter_state;
mod reading;
mod resources;

const TID: &str = "11111111-2222-3333-4444-555555555555";
const KEY_HASH: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

fn full() -> Value {
    json!({
        "entra": {
            "tenant_id": TID,
            "authority": "https://login.microsoftonline.com/",
            "cluster": "entra",
            "audiences": ["api://calc", "00000000-0000-0000-0000-000000000001"],
            "client_application_ids": ["c1"],
            "required_claims": [
                {"name": "roles", "match": "any", "values": ["Calculator.Add"]},
                {"name": "scp", "match": "all", "values": ["a", "b"], "separator": " "}
            ],
            "clock_skew_seconds": 60
        },
        "subscription_keys": {
            "header": "Ocp-Apim-Subscription-Key",
            "query": "subscription-key",
            "keys": [{"name": "contoso", "sha256": KEY_HASH}]
        },
        "mcp": {
            "resource": "https://mcp.contoso.com/mcp",
            "resource_metadata_url": "https://mcp.contoso.com/.well-known/oauth-protected-resource/mcp",
            "scopes_supported": ["api://calc/calculator.add"],
            "resource_name": "Calculator MCP"
        },
        "rules": [
            {"path_prefix": "/health/", "require": "none"},
            {"path_prefix": "/mcp", "require": "jwt", "required_scopes": ["calculator.add"]}
        ],
        "claims_to_headers": {"oid": "X-Entra-Oid", "tid": "x-entra-tid"}
    })
}

fn parse_value(v: &Value) -> Result<Config, ConfigError> {
    parse(v.to_string().as_bytes())
}

#[test]
fn the_contract_example_parses() {
    let c = parse_value(&full()).unwrap();
    assert_eq!(c.entra.tenancy, Tenancy::Single(TID.into()));
    assert_eq!(c.entra.authority, "https://login.microsoftonline.com");
    assert_eq!(c.entra.authority_host, "login.microsoftonline.com");
    assert_eq!(c.entra.clock_skew_seconds, 60);
    assert_eq!(c.entra.required_claims[0].match_mode, ClaimMatch::Any);
    let sub = c.subscription.unwrap();
    assert_eq!(sub.header, "ocp-apim-subscription-key");
    assert_eq!(sub.query.as_deref(), Some("subscription-key"));
    assert_eq!(sub.keys[0].sha256[0], 0x9f);
    let mcp = c.mcp.unwrap();
    assert_eq!(
        mcp.resource_metadata_path,
        "/.well-known/oauth-protected-resource/mcp"
    );
    assert_eq!(c.rules[0].path_prefix, "/health");
    assert_eq!(c.rules[1].require, Requirement::Jwt);
    assert_eq!(
        c.claims_to_headers,
        vec![
            ("oid".into(), "x-entra-oid".into()),
            ("tid".into(), "x-entra-tid".into())
        ]
    );
}

#[test]
fn defaults_apply() {
    let c = parse(
        br#"{"entra":{"tenant_id":"11111111-2222-3333-4444-555555555555","audiences":["a"]}}"#,
    )
    .unwrap();
    assert_eq!(c.entra.authority, DEFAULT_AUTHORITY);
    assert_eq!(c.entra.cluster, "entra");
    assert_eq!(c.entra.clock_skew_seconds, 300);
    assert_eq!(
        c.entra.jwks_hosts,
        vec!["login.microsoftonline.com".to_string()]
    );
    assert!(c.rules.is_empty() && c.subscription.is_none() && c.mcp.is_none());
}

#[test]
fn null_query_disables_the_query_form() {
    let mut v = full();
    v["subscription_keys"]["query"] = Value::Null;
    assert_eq!(parse_value(&v).unwrap().subscription.unwrap().query, None);
    v["subscription_keys"]
        .as_object_mut()
        .unwrap()
        .remove("query");
    let q = parse_value(&v).unwrap().subscription.unwrap().query;
    assert_eq!(q.as_deref(), Some("subscription-key"));
}

#[test]
fn multi_tenant_uses_organizations_for_discovery() {
    let mut v = full();
    v["entra"].as_object_mut().unwrap().remove("tenant_id");
    v["entra"]["allowed_tenants"] = json!([TID.to_uppercase()]);
    let c = parse_value(&v).unwrap();
    assert_eq!(c.entra.tenancy, Tenancy::Allowed(vec![TID.into()]));
    assert_eq!(c.entra.discovery_tenant, "organizations");
    assert_eq!(
        c.entra.discovery_issuer,
        "https://login.microsoftonline.com/{tenantid}/v2.0"
    );
    v["entra"]["tenant_id"] = json!(TID);
    let home = parse_value(&v).unwrap();
    assert_eq!(
        home.entra.discovery_issuer,
        format!("https://login.microsoftonline.com/{TID}/v2.0")
    );
}

#[test]
fn discovery_issuer_is_the_tenants() {
    let mut v = full();
    v["entra"]["authority"] = json!("https://login.microsoftonline.us/");
    let c = parse_value(&v).unwrap();
    assert_eq!(
        c.entra.discovery_issuer,
        format!("https://login.microsoftonline.us/{TID}/v2.0")
    );
}

#[test]
fn upstream_authorization_forwards_unless_told_to_remove() {
    use super::UpstreamAuthorization::{Forward, Remove};
    let mut v = full();
    v["rules"][0]["upstream_authorization"] = json!("remove");
    v["rules"][1]["upstream_authorization"] = json!("forward");
    let c = parse_value(&v).unwrap();
    assert_eq!(c.rules[0].upstream_authorization, Remove);
    assert_eq!(c.rules[1].upstream_authorization, Forward);
    assert_eq!(
        parse_value(&full()).unwrap().rules[0].upstream_authorization,
        Forward
    );
    v["rules"][0]["upstream_authorization"] = json!("strip");
    let err = parse_value(&v).unwrap_err();
    assert_eq!(err.key, "rules[0].upstream_authorization", "{err}");
}

/// Each mutation of the full example must be refused, naming this key.
#[test]
fn invalid_configurations_name_the_key() {
    type Mutation = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Mutation)> = vec![
        (
            "entra.audiences",
            Box::new(|v| v["entra"]["audiences"] = json!([])),
        ),
        (
            "entra.audiences[0]",
            Box::new(|v| v["entra"]["audiences"] = json!([""])),
        ),
        (
            "entra.tenant_id",
            Box::new(|v| v["entra"]["tenant_id"] = json!("contoso")),
        ),
        (
            "entra.tenant_id",
            Box::new(|v| {
                v["entra"].as_object_mut().unwrap().remove("tenant_id");
            }),
        ),
        (
            "entra.allowed_tenants",
            Box::new(|v| v["entra"]["allowed_tenants"] = json!([])),
        ),
        (
            "entra.allowed_tenants[1]",
            Box::new(|v| v["entra"]["allowed_tenants"] = json!([TID, "x"])),
        ),
        (
            "entra.audiencez",
            Box::new(|v| v["entra"]["audiencez"] = json!(["a"])),
        ),
        (
            "entra.authority",
            Box::new(|v| {
                v["entra"]["authority"] = json!("https://login.microsoftonline.com/tenant")
            }),
        ),
        (
            "entra.authority",
            Box::new(|v| v["entra"]["authority"] = json!("login.microsoftonline.com")),
        ),
        (
            "entra.cluster",
            Box::new(|v| v["entra"]["cluster"] = json!("")),
        ),
        (
            "entra.clock_skew_seconds",
            Box::new(|v| v["entra"]["clock_skew_seconds"] = json!(-1)),
        ),
        (
            "entra.clock_skew_seconds",
            Box::new(|v| v["entra"]["clock_skew_seconds"] = json!(100000)),
        ),
        (
            "entra.required_claims[0].match",
            Box::new(|v| v["entra"]["required_claims"][0]["match"] = json!("some")),
        ),
        (
            "entra.required_claims[1].values",
            Box::new(|v| v["entra"]["required_claims"][1]["values"] = json!([])),
        ),
        (
            "entra.jwks_hosts[0]",
            Box::new(|v| v["entra"]["jwks_hosts"] = json!(["https://x/"])),
        ),
        (
            "subscription_keys.keys[0].sha256",
            Box::new(|v| v["subscription_keys"]["keys"][0]["sha256"] = json!("abc")),
        ),
        (
            "subscription_keys.keys[0].sha256",
            Box::new(|v| {
                v["subscription_keys"]["keys"][0]["sha256"] = json!(KEY_HASH.replace('9', "g"))
            }),
        ),
        (
            "subscription_keys.keys[0].key",
            Box::new(|v| v["subscription_keys"]["keys"][0]["key"] = json!("plaintext")),
        ),
        (
            "subscription_keys.keys",
            Box::new(|v| v["subscription_keys"]["keys"] = json!([])),
        ),
        (
            "subscription_keys.header",
            Box::new(|v| v["subscription_keys"]["header"] = json!("bad header")),
        ),
        (
            "subscription_keys.query",
            Box::new(|v| v["subscription_keys"]["query"] = json!("a=b")),
        ),
        (
            "mcp.resource",
            Box::new(|v| v["mcp"]["resource"] = json!("/mcp")),
        ),
        (
            "mcp.resource_metadata_url",
            Box::new(|v| v["mcp"]["resource_metadata_url"] = json!("mcp.contoso.com")),
        ),
        (
            "mcp.scopes_supported",
            Box::new(|v| v["mcp"]["scopes_supported"] = json!(["a\"b"])),
        ),
        (
            "rules[1].require",
            Box::new(|v| v["rules"][1]["require"] = json!("jwt_or_magic")),
        ),
        (
            "rules[0].path_prefix",
            Box::new(|v| v["rules"][0]["path_prefix"] = json!("health")),
        ),
        (
            "rules[1].required_scopes[0]",
            Box::new(|v| v["rules"][1]["required_scopes"] = json!(["a b"])),
        ),
        (
            "rules[0].require",
            Box::new(|v| v["rules"][0]["required_roles"] = json!(["r"])),
        ),
        (
            "rules[0].methods",
            Box::new(|v| v["rules"][0]["methods"] = json!(["GET"])),
        ),
        (
            "rules[1].require",
            Box::new(|v| {
                v.as_object_mut().unwrap().remove("subscription_keys");
                v["rules"][1]["require"] = json!("jwt_or_subscription_key");
            }),
        ),
        (
            "claims_to_headers.oid",
            Box::new(|v| v["claims_to_headers"]["oid"] = json!("Authorization")),
        ),
        (
            "claims_to_headers.tid",
            Box::new(|v| v["claims_to_headers"]["tid"] = json!("x-entra-oid")),
        ),
        (
            "unknown_block",
            Box::new(|v| v["unknown_block"] = json!({})),
        ),
    ];
    for (key, mutate) in cases {
        let mut v = full();
        mutate(&mut v);
        let err = parse_value(&v).expect_err(key);
        assert_eq!(err.key, key, "{err}");
        assert!(!err.reason.is_empty());
    }
}

#[test]
fn claims_never_become_credential_or_routing_headers() {
    for (header, says) in [
        ("Authorization", "credential"),
        ("AUTHORIZATION", "credential"),
        ("proxy_authorization", "credential"),
        ("Ocp-Apim-Subscription-Key", "credential"),
        ("ocp_apim_subscription_key", "credential"),
        ("X-APIM-Subscription-Name", "name_header"),
        ("x_apim_subscription_name", "name_header"),
        (":path", "pseudo-header"),
        (":authority", "pseudo-header"),
        ("Host", "routing"),
        ("x_forwarded_host", "routing"),
        ("X-Envoy-Original-Path", "routing"),
        ("x_envoy_upstream_rq_timeout_ms", "routing"),
    ] {
        let mut v = full();
        v["claims_to_headers"]["oid"] = json!(header);
        let err = parse_value(&v).expect_err(header);
        assert_eq!(err.key, "claims_to_headers.oid", "{header}: {err}");
        assert!(err.reason.contains(says), "{header}: {err}");
    }
    let mut v = full();
    v["claims_to_headers"]["tid"] = json!("X_Entra_Oid");
    let err = parse_value(&v).unwrap_err();
    assert_eq!(err.key, "claims_to_headers.tid", "{err}");
    let mut v = full();
    v["claims_to_headers"]["oid"] = json!("x-envoyish");
    assert!(parse_value(&v).is_ok());
}

#[test]
fn malformed_json_is_refused() {
    for bad in [&b""[..], b"{", b"[]", b"null", b"{\"entra\":{}} x", b"\xff"] {
        assert!(parse(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
    }
    let err = parse(b"{}").unwrap_err();
    assert_eq!(
        (err.key.as_str(), err.reason.as_str()),
        ("entra", "is required")
    );
    // Named by its own path now, no longer by "(root)".
    let err = parse(br#"{"entra":{"audiences":["a"],"audiences":["b"]}}"#).unwrap_err();
    assert_eq!(
        (err.key.as_str(), err.reason.as_str()),
        ("entra.audiences", "duplicate key")
    );
    let err = parse(br#"{"entra":{"audiences":"a"}}"#).unwrap_err();
    assert_eq!(
        (err.key.as_str(), err.reason.as_str()),
        ("entra.audiences", "must be an array")
    );
    let err = parse(br#"{"entra":{"audiences":[1]}}"#).unwrap_err();
    assert_eq!(err.key, "entra.audiences[0]");
}

/// Found by fuzzing (fuzz target `config`): an unknown key with an empty
/// name gave an error whose key was "", a log line naming nothing.
#[test]
fn errors_always_name_a_key() {
    for bad in [
        &br#"{"":null}"#[..],
        br#"{"entra":{"tenant_id":"11111111-2222-3333-4444-555555555555","audiences":["a"]},"":1}"#,
    ] {
        let err = parse(bad).unwrap_err();
        assert_eq!(err.key, "\"\"", "{err}");
        assert!(err.reason.starts_with("unknown key"), "{err}");
    }
    let err = parse(br#"{"entra":{"":1}}"#).unwrap_err();
    assert!(!err.key.is_empty(), "{err}");
}
