//! `config::parse`: raw bytes, and the same bytes read through `arbitrary`
//! as a structured configuration (so the fuzzer reaches validation, not
//! only the JSON reader).
//!
//! Asserted: deterministic; errors name a key and a reason; an accepted
//! configuration meets every documented bound, and everything derived from
//! it that reaches a response header (challenges, realm, metadata URL) is
//! header-safe.

#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use entra_guard::replies::challenge::{bearer_response, BearerFailure};
use entra_guard::config::{self, Config, Requirement, Tenancy};
use entra_guard::replies::metadata;
use entra_guard::subscription::{invalid_key_response, missing_key_response};
use entra_guard::url::parse_absolute;
use entra_guard_fuzz::assert_response_sane;
use libfuzzer_sys::fuzz_target;
use serde_json::{json, Map, Value};

fuzz_target!(|data: &[u8]| {
    check(data);
    if let Ok(c) = FuzzConfig::arbitrary(&mut Unstructured::new(data)) {
        check(c.to_json().to_string().as_bytes());
    }
});

fn check(json: &[u8]) {
    let result = config::parse(json);
    let again = config::parse(json);
    assert_eq!(format!("{result:?}"), format!("{again:?}"), "deterministic");
    match result {
        Err(e) => {
            assert!(!e.key.is_empty() && !e.reason.is_empty(), "{e:?}");
            // A syntax error says where it is, as "(line N, column M)".
            if let Some(rest) = e.reason.strip_prefix("not valid JSON: ") {
                let position = rest
                    .rsplit_once(" (line ")
                    .and_then(|(_, p)| p.strip_suffix(')'))
                    .and_then(|p| p.split_once(", column "));
                let numbers = position.is_some_and(|(l, c)| {
                    [l, c]
                        .iter()
                        .all(|n| n.parse::<usize>().is_ok_and(|n| n > 0))
                });
                assert!(numbers, "{e}");
            }
            let _ = e.to_string();
        }
        Ok(c) => accepted(&c),
    }
}

const TCHAR: &[u8] = b"!#$%&'*+-.^_`|~";
const RESERVED: &[&str] = &[
    "authorization",
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "te",
];

fn header_name(h: &str) {
    assert!(!h.is_empty(), "empty header name");
    assert!(
        h.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || TCHAR.contains(&b)),
        "{h:?}"
    );
    assert!(!RESERVED.contains(&h), "{h}");
}

fn guid(g: &str) {
    assert_eq!(g.len(), 36, "{g}");
    assert!(
        g.bytes()
            .all(|b| b == b'-' || b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
        "{g}"
    );
}

fn accepted(c: &Config) {
    let e = &c.entra;
    match &e.tenancy {
        Tenancy::Single(t) => {
            guid(t);
            assert_eq!(&e.discovery_tenant, t);
        }
        Tenancy::Allowed(list) => {
            assert!(!list.is_empty());
            list.iter().for_each(|t| guid(t));
            if e.discovery_tenant != "organizations" {
                guid(&e.discovery_tenant);
            }
        }
    }
    for origin in [&e.authority, &e.v1_issuer_authority] {
        let u = parse_absolute(origin).expect("origin parses");
        assert_eq!((u.path, u.query), ("/", None), "{origin}");
        assert!(!origin.ends_with('/'));
    }
    assert_eq!(
        Some(e.authority_host.as_str()),
        e.authority.split_once("://").map(|x| x.1)
    );
    assert_eq!(e.jwks_hosts[0], e.authority_host.to_ascii_lowercase());
    assert!(e
        .jwks_hosts
        .iter()
        .all(|h| *h == h.to_ascii_lowercase() && !h.is_empty()));
    assert!(!e.cluster.is_empty());
    assert!(!e.audiences.is_empty() && e.audiences.iter().all(|a| !a.is_empty()));
    assert!(e.client_application_ids.iter().all(|a| !a.is_empty()));
    for rc in &e.required_claims {
        assert!(!rc.name.is_empty() && !rc.values.is_empty());
        assert!(rc.values.iter().all(|v| !v.is_empty()));
        assert_ne!(rc.separator.as_deref(), Some(""));
    }
    assert!(e.clock_skew_seconds <= 3600);
    assert!((60..=86_400).contains(&e.jwks_refresh_seconds));
    assert!((100..=60_000).contains(&e.fetch_timeout_ms));
    assert!(e.key_wait_ms <= 60_000);
    assert!((1024..=65_536).contains(&e.max_token_bytes));
    assert!((1..=3600).contains(&e.kid_miss_refetch_seconds));
    assert!(e.token_cache_size <= 100_000);

    if let Some(s) = &c.subscription {
        header_name(&s.header);
        header_name(&s.name_header);
        assert_ne!(s.header, s.name_header);
        if let Some(q) = &s.query {
            assert!(!q.is_empty());
            assert!(
                q.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.~".contains(&b)),
                "{q}"
            );
        }
        assert!(!s.keys.is_empty());
        for k in &s.keys {
            assert!(!k.name.is_empty() && k.name.bytes().all(|b| (b' '..0x7f).contains(&b)));
        }
        assert!(s.realm.bytes().all(|b| (b' '..0x7f).contains(&b)));
        assert_response_sane(&missing_key_response(s));
        assert_response_sane(&invalid_key_response(s));
    }
    if let Some(m) = &c.mcp {
        assert!(m.resource_metadata_path.starts_with('/'));
        assert_eq!(
            parse_absolute(&m.resource_metadata_url).map(|u| u.path),
            Some(m.resource_metadata_path.as_str())
        );
        assert!((1024..=16 << 20).contains(&m.max_body_bytes));
        assert_eq!(c.mcp_max_body_bytes, m.max_body_bytes);
        let doc: Value =
            serde_json::from_slice(&metadata::document(c, m)).expect("metadata is JSON");
        assert_eq!(doc["resource"], json!(m.resource));
        assert_eq!(
            doc["authorization_servers"][0],
            json!(metadata::authorization_server(c))
        );
        assert_response_sane(&metadata::response(c, m));
    } else {
        // The default (no `mcp` block) is within the same bounds.
        assert!((1024..=16 << 20).contains(&c.mcp_max_body_bytes));
    }
    for r in &c.rules {
        let p = &r.path_prefix;
        assert!(p.starts_with('/') && (p == "/" || !p.ends_with('/')), "{p}");
        assert!(
            !p.contains(['?', '#']) && p.bytes().all(|b| b > b' '),
            "{p:?}"
        );
        for v in r.required_scopes.iter().chain(&r.required_roles) {
            assert!(
                !v.is_empty()
                    && v.bytes()
                        .all(|b| (b'!'..0x7f).contains(&b) && b != b'"' && b != b'\\'),
                "{v:?}"
            );
        }
        if matches!(r.require, Requirement::None | Requirement::SubscriptionKey) {
            assert!(r.required_scopes.is_empty() && r.required_roles.is_empty());
        }
        if r.require.needs_subscription_keys() {
            assert!(c.subscription.is_some());
        }
        if !r.mcp_tools.is_empty() {
            assert!(!r.mcp_methods.is_empty());
        }
        assert!(r
            .mcp_methods
            .iter()
            .chain(&r.mcp_tools)
            .all(|s| !s.is_empty()));
        for failure in [
            BearerFailure::NoCredentials,
            BearerFailure::InsufficientScope("x"),
        ] {
            let resp = bearer_response(&failure, &r.required_scopes, c.mcp.as_ref());
            assert_response_sane(&resp);
        }
    }
    let mut seen = Vec::new();
    for (claim, h) in &c.claims_to_headers {
        assert!(!claim.is_empty());
        header_name(h);
        // Never a credential, nor a header the filter sets for keys, in any
        // spelling an upstream reads as the same name.
        let norm = |n: &str| n.to_ascii_lowercase().replace('_', "-");
        let mut banned = vec!["authorization".to_string(), "host".to_string()];
        if let Some(s) = &c.subscription {
            banned.push(norm(&s.header));
            banned.push(norm(&s.name_header));
        }
        assert!(!banned.contains(&norm(h)), "claim header {h}");
        assert!(
            !seen.iter().any(|s: &&String| norm(s) == norm(h)),
            "duplicate header {h}"
        );
        seen.push(h);
    }
}

// ----------------------------------------------------- structured input

/// A value usually drawn from plausible ones, sometimes free or mistyped.
fn pick(u: &mut Unstructured<'_>, pool: &[&str]) -> arbitrary::Result<Value> {
    Ok(match u.int_in_range(0..=9)? {
        0 => Value::String(String::arbitrary(u)?),
        1 => Value::Null,
        2 => json!(u64::arbitrary(u)?),
        _ => Value::String(u.choose(pool)?.to_string()),
    })
}

fn list(u: &mut Unstructured<'_>, pool: &[&str]) -> arbitrary::Result<Value> {
    let n = u.int_in_range(0..=3)?;
    let mut items = Vec::new();
    for _ in 0..n {
        items.push(pick(u, pool)?);
    }
    Ok(Value::Array(items))
}

fn maybe(
    u: &mut Unstructured<'_>,
    obj: &mut Map<String, Value>,
    key: &str,
    v: impl FnOnce(&mut Unstructured<'_>) -> arbitrary::Result<Value>,
) -> arbitrary::Result<()> {
    if u.ratio(2, 3)? {
        let v = v(u)?;
        obj.insert(key.to_string(), v);
    }
    Ok(())
}

const GUIDS: &[&str] = &[
    "11111111-2222-3333-4444-555555555555",
    "ABCDEF01-2222-3333-4444-555555555555",
    "organizations",
    "11111111-2222-3333-4444-55555555555",
];
const URLS: &[&str] = &[
    "https://login.microsoftonline.com",
    "https://login.microsoftonline.com/",
    "http://127.0.0.1:8080",
    "https://[::1]:443/",
    "https://sts.windows.net/x",
    "https://mcp.example/.well-known/oauth-protected-resource/mcp",
    "https://mcp.example/mcp?x=1",
    "https://mcp.example/\u{e9}",
    "https://mcp.example/a\"b",
    "https://user@host/",
    "ftp://x/",
];
const HEADERS: &[&str] = &[
    "Ocp-Apim-Subscription-Key",
    "x-api-key",
    "x-apim-subscription-name",
    "Authorization",
    "TE",
    "x-entra-oid",
    "bad header",
    "x~!#",
];
const WORDS: &[&str] = &[
    "a",
    "calculator.add",
    "api://calc",
    "none",
    "jwt",
    "subscription_key",
    "jwt_and_subscription_key",
    "jwt_or_subscription_key",
    "any",
    "all",
    " ",
    "a\"b",
    "tools/call",
    "/",
    "/mcp",
    "/mcp/",
    "//",
    "/a/../b",
    "/health?x",
    "rust",
    "host",
    "auto",
];
const HASHES: &[&str] = &[
    "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08",
    "9f86",
    "zz",
];

#[derive(Debug)]
struct FuzzConfig(Value);

impl<'a> Arbitrary<'a> for FuzzConfig {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let mut entra = Map::new();
        maybe(u, &mut entra, "tenant_id", |u| pick(u, GUIDS))?;
        maybe(u, &mut entra, "allowed_tenants", |u| list(u, GUIDS))?;
        maybe(u, &mut entra, "authority", |u| pick(u, URLS))?;
        maybe(u, &mut entra, "v1_issuer_authority", |u| pick(u, URLS))?;
        maybe(u, &mut entra, "cluster", |u| pick(u, &["entra", ""]))?;
        entra.insert("audiences".into(), list(u, WORDS)?);
        maybe(u, &mut entra, "client_application_ids", |u| list(u, WORDS))?;
        maybe(u, &mut entra, "jwks_hosts", |u| {
            list(
                u,
                &[
                    "keys.example",
                    "keys.example:8443",
                    "a/b",
                    "[::1]",
                    "K.Example",
                ],
            )
        })?;
        for key in [
            "clock_skew_seconds",
            "jwks_refresh_seconds",
            "fetch_timeout_ms",
            "key_wait_ms",
            "max_token_bytes",
            "kid_miss_refetch_seconds",
            "token_cache_size",
        ] {
            maybe(u, &mut entra, key, |u| {
                Ok(json!(u.int_in_range(0..=200_000u64)?))
            })?;
        }
        maybe(u, &mut entra, "signature_backend", |u| pick(u, WORDS))?;
        if u.ratio(1, 3)? {
            let mut claims = Vec::new();
            for _ in 0..u.int_in_range(0..=2)? {
                let mut rc = Map::new();
                rc.insert("name".into(), pick(u, WORDS)?);
                rc.insert("values".into(), list(u, WORDS)?);
                maybe(u, &mut rc, "match", |u| pick(u, WORDS))?;
                maybe(u, &mut rc, "separator", |u| pick(u, WORDS))?;
                claims.push(Value::Object(rc));
            }
            entra.insert("required_claims".into(), Value::Array(claims));
        }
        let mut root = Map::new();
        root.insert("entra".into(), Value::Object(entra));
        if u.ratio(1, 2)? {
            let mut s = Map::new();
            maybe(u, &mut s, "header", |u| pick(u, HEADERS))?;
            maybe(u, &mut s, "query", |u| {
                pick(u, &["subscription-key", "key", "a b", ""])
            })?;
            maybe(u, &mut s, "name_header", |u| pick(u, HEADERS))?;
            maybe(u, &mut s, "realm", |u| {
                pick(u, &["apim", "a \"quoted\" \\ realm", "\u{e9}"])
            })?;
            let mut keys = Vec::new();
            for _ in 0..u.int_in_range(0..=2)? {
                keys.push(json!({"name": pick(u, WORDS)?, "sha256": pick(u, HASHES)?}));
            }
            s.insert("keys".into(), Value::Array(keys));
            root.insert("subscription_keys".into(), Value::Object(s));
        }
        if u.ratio(1, 2)? {
            let mut m = Map::new();
            m.insert("resource".into(), pick(u, URLS)?);
            m.insert("resource_metadata_url".into(), pick(u, URLS)?);
            maybe(u, &mut m, "scopes_supported", |u| list(u, WORDS))?;
            maybe(u, &mut m, "resource_name", |u| pick(u, WORDS))?;
            for key in [
                "resource_documentation",
                "resource_policy_uri",
                "resource_tos_uri",
            ] {
                maybe(u, &mut m, key, |u| pick(u, URLS))?;
            }
            maybe(u, &mut m, "max_body_bytes", |u| {
                Ok(json!(u.int_in_range(0..=20_000_000u64)?))
            })?;
            root.insert("mcp".into(), Value::Object(m));
        }
        let mut rules = Vec::new();
        for _ in 0..u.int_in_range(0..=4)? {
            let mut r = Map::new();
            r.insert("path_prefix".into(), pick(u, WORDS)?);
            r.insert("require".into(), pick(u, WORDS)?);
            for key in [
                "required_scopes",
                "required_roles",
                "mcp_methods",
                "mcp_tools",
            ] {
                if u.ratio(1, 3)? {
                    r.insert(key.into(), list(u, WORDS)?);
                }
            }
            rules.push(Value::Object(r));
        }
        root.insert("rules".into(), Value::Array(rules));
        if u.ratio(1, 2)? {
            let mut c2h = Map::new();
            for _ in 0..u.int_in_range(0..=3)? {
                let claim = match pick(u, &["oid", "tid", "", "roles"])? {
                    Value::String(s) => s,
                    _ => "oid".into(),
                };
                c2h.insert(claim, pick(u, HEADERS)?);
            }
            root.insert("claims_to_headers".into(), Value::Object(c2h));
        }
        if u.ratio(1, 8)? {
            root.insert(String::arbitrary(u)?, Value::Null);
        }
        Ok(FuzzConfig(Value::Object(root)))
    }
}

impl FuzzConfig {
    fn to_json(&self) -> &Value {
        &self.0
    }
}
