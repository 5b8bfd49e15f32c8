//! What reaches the upstream: letter case in paths, spellings of protected
//! headers, tokens next to keys, tokens in the query or after odd bytes,
//! and rules that keep `Authorization` to themselves.

use super::*;
use crate::config::UpstreamAuthorization;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

fn invalid_request(d: Decision) -> String {
    let (status, challenge, _) = response(d);
    assert_eq!(status, 400);
    let challenge = challenge.expect("a bearer challenge");
    assert!(
        challenge.starts_with("Bearer error=\"invalid_request\""),
        "{challenge}"
    );
    assert!(
        challenge.contains(&format!("resource_metadata=\"{PRM}\"")),
        "{challenge}"
    );
    challenge
}

#[test]
fn a_rule_that_changes_with_letter_case_is_ambiguous() {
    let mut h = Harness::new();
    // `/health` is public, anything else unlisted falls to the default
    // `jwt` rule: a case-insensitive upstream routes `/HEALTH` to `/health`
    // and `/MCP` to `/mcp`, under other rules than the filter would pick.
    for path in ["/HEALTH", "/Health/live", "/MCP", "/mcp/../ADMIN"] {
        let (status, _, body) = response(h.get(path, &[]));
        assert_eq!(status, 400, "{path}");
        assert!(body.contains("ambiguous"), "{path}: {body}");
    }
    assert_eq!(allowed(h.get("/health", &[])).via.name(), "public");
    assert_eq!(response_status(h.get("/HEALTHZ", &[])), 401);
}

#[test]
fn protected_headers_go_in_every_spelling() {
    let mut h = Harness::new();
    let sent = [
        ("X-Entra-Oid", "a"),
        ("x_entra_oid", "b"),
        ("X_ENTRA_CLIENT_ID", "c"),
        ("x-apim-subscription_name", "d"),
        ("ocp_apim_subscription_key", "e"),
        ("x-entra-oid", "f"),
        ("x_entra_oid", "g"),
        ("x-entra-oidx", "kept"),
        ("x-entra", "kept"),
        ("authorization", "Basic kept"),
    ];
    let a = allowed(h.get("/health", &sent));
    assert_eq!(
        a.remove_headers,
        [
            "X-Entra-Oid",
            "x_entra_oid",
            "X_ENTRA_CLIENT_ID",
            "x-apim-subscription_name",
            "ocp_apim_subscription_key",
            "x-entra-oid",
        ]
    );
    // Also on a denial's way out: what is accepted later loses them too.
    let a = allowed(h.get(
        "/mcp",
        &[
            ("authorization", &bearer(&token())),
            ("X_Entra_Oid", "spoofed"),
        ],
    ));
    assert_eq!(a.remove_headers, ["X_Entra_Oid"]);
    assert!(a
        .set_headers
        .contains(&("x-entra-oid".into(), "o-1".into())));
}

#[test]
fn a_token_next_to_a_valid_key_is_still_verified() {
    let mut h = Harness::new();
    let key = ("ocp-apim-subscription-key", KEY);
    let forged = format!("{}x", token());
    let (status, challenge, _) =
        response(h.get("/either", &[("authorization", &bearer(&forged)), key]));
    assert_eq!(status, 401);
    assert!(challenge.unwrap().contains("error=\"invalid_token\""));
    let expired = sign(
        &header("key-a"),
        &json!({"exp": NOW - 3600, "iss": format!("{AUTHORITY}/{TENANT}/v2.0"),
                "aud": AUDIENCE, "tid": TENANT, "azp": CLIENT}),
    );
    let auth = bearer(&expired);
    assert_eq!(
        response_status(h.get("/either", &[("authorization", &auth), key])),
        401
    );
    invalid_request(h.get("/either", &[("authorization", "Bearer\tabc"), key]));
    let auth = bearer(&token());
    let a = allowed(h.get("/either", &[("authorization", &auth), key]));
    assert_eq!(a.via.name(), "jwt_and_subscription_key");
    assert_eq!(a.subscription.as_deref(), Some("contoso"));
    assert!(a
        .set_headers
        .contains(&("x-entra-oid".into(), "o-1".into())));
    // Without a token the key alone still admits.
    assert_eq!(
        allowed(h.get("/either", &[key])).via.name(),
        "subscription_key"
    );
    assert_eq!(
        allowed(h.get("/either", &[key, ("authorization", "Basic dXNlcg==")]))
            .via
            .name(),
        "subscription_key"
    );
    // A token that needs keys waits for them like any other.
    let mut cold = Harness::new();
    cold.keys = KeySet::default();
    assert_eq!(
        cold.get("/either", &[("authorization", &auth), key]),
        Decision::WaitForKeys(KeyWait::NoKeys)
    );
}

#[test]
fn access_token_in_the_query_is_refused_on_protected_paths() {
    let mut h = Harness::new();
    let auth = bearer(&token());
    for path in [
        "/mcp?access_token=x",
        "/mcp?a=1&access%5Ftoken=x",
        "/mcp?%61ccess_token",
        "/keyed?access_token=x&subscription-key=test",
        "/either?access_token=x",
        "/unlisted?access_token=x",
    ] {
        let challenge = invalid_request(h.get(path, &[("authorization", &auth)]));
        assert!(challenge.contains("Authorization header"), "{challenge}");
    }
    let mut no_mcp = Harness::new();
    no_mcp.config.mcp = None;
    let (status, challenge, _) = response(no_mcp.get("/mcp?access_token=x", &[]));
    assert_eq!(status, 400);
    assert!(challenge
        .unwrap()
        .starts_with("Bearer error=\"invalid_request\""));
    // Public paths and look-alike names are not concerned.
    assert_eq!(
        allowed(h.get("/health?access_token=x", &[])).via.name(),
        "public"
    );
    for path in [
        "/mcp?access_tokens=x",
        "/mcp?x=access_token",
        "/access_token",
    ] {
        assert_eq!(
            allowed(h.get(path, &[("authorization", &auth)])).via.name(),
            "jwt",
            "{path}"
        );
    }
}

#[test]
fn bearer_then_anything_but_spaces_and_a_token_is_refused() {
    let mut h = Harness::new();
    let t = token();
    for auth in [
        format!("Bearer\t{t}"),
        format!("Bearer \t{t}"),
        format!("Bearer\u{b}{t}"),
        format!("Bearer {t}\u{c}"),
        format!("Bearer\u{a0}{t}"),
        format!("\u{b}Bearer {t}"),
    ] {
        invalid_request(h.get("/mcp", &[("authorization", &auth)]));
        invalid_request(h.get(
            "/both",
            &[("authorization", &auth), ("ocp-apim-subscription-key", KEY)],
        ));
    }
    assert_eq!(
        allowed(h.get("/mcp", &[("authorization", &format!("Bearer   {t}"))]))
            .via
            .name(),
        "jwt"
    );
}

#[test]
fn a_token_of_another_type_is_invalid() {
    let mut h = Harness::new();
    let id_token = sign(
        &json!({"alg": "RS256", "kid": "key-a", "typ": "id+jwt"}),
        &v2_claims(),
    );
    let (status, challenge, _) = response(h.get("/mcp", &[("authorization", &bearer(&id_token))]));
    assert_eq!(status, 401);
    assert!(challenge.unwrap().contains("error=\"invalid_token\""));
    let at = sign(
        &json!({"alg": "RS256", "kid": "key-a", "typ": "application/at+jwt"}),
        &v2_claims(),
    );
    assert_eq!(
        allowed(h.get("/mcp", &[("authorization", &bearer(&at))]))
            .via
            .name(),
        "jwt"
    );
}

#[test]
fn a_rule_can_keep_authorization_from_the_upstream() {
    let mut h = Harness::new();
    let auth = bearer(&token());
    let forwarded = allowed(h.get("/mcp", &[("authorization", &auth)]));
    assert!(forwarded.remove_headers.is_empty());
    for rule in &mut h.config.rules {
        if rule.path_prefix == "/mcp" || rule.path_prefix == "/health" {
            rule.upstream_authorization = UpstreamAuthorization::Remove;
        }
    }
    let a = allowed(h.get("/mcp", &[("authorization", &auth), ("x-other", "1")]));
    assert_eq!(
        (a.via.name(), a.remove_headers),
        ("jwt", vec!["authorization".to_string()])
    );
    // Decided as usual: no token is still a 401.
    assert_eq!(response_status(h.get("/mcp", &[])), 401);
    // Every copy, as spelt, also where no token is read.
    let a = allowed(h.get(
        "/health",
        &[("Authorization", "Basic a"), ("authorization", "Basic b")],
    ));
    assert_eq!(a.remove_headers, ["Authorization", "authorization"]);
    // Other rules forward it.
    let a = allowed(h.get(
        "/either",
        &[("ocp-apim-subscription-key", KEY), ("authorization", &auth)],
    ));
    assert!(!a
        .remove_headers
        .iter()
        .any(|r| r.eq_ignore_ascii_case("authorization")));
    // A preflight is forwarded before any rule is chosen: it loses it too.
    let a = allowed(h.run(
        "OPTIONS",
        "/mcp",
        &[
            ("origin", "https://app.example"),
            ("access-control-request-method", "POST"),
            ("authorization", &auth),
        ],
        true,
    ));
    assert_eq!(
        (a.via.name(), a.remove_headers),
        ("preflight", vec!["authorization".to_string()])
    );
}
