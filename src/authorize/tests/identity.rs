//! What an allowed decision says about the caller and the rule, for
//! Envoy's filter state: only what a verified token or a valid key says.

use super::*;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

/// The harness with every filter-state entry configured.
fn harness() -> Harness {
    let mut h = Harness::new();
    h.config.filter_state = crate::config::StateEntries::all();
    h
}

fn identity(oid: &str, client: &str) -> Option<Box<Identity>> {
    Some(Box::new(Identity {
        oid: Some(oid.into()),
        tid: Some(TENANT.into()),
        client_id: Some(client.into()),
    }))
}

#[test]
fn a_token_and_a_key_name_the_caller_the_subscription_and_the_rule() {
    let mut h = harness();
    let auth = bearer(&token());
    let headers = [
        ("authorization", auth.as_str()),
        ("ocp-apim-subscription-key", KEY),
        // A client's copies of the identity headers say nothing here.
        ("x-entra-oid", "spoofed"),
        ("x-apim-subscription-name", "spoofed"),
    ];
    let a = allowed(h.get("/both", &headers));
    assert_eq!(a.identity, identity("o-1", CLIENT));
    assert_eq!(a.subscription.as_deref(), Some("contoso"));
    assert_eq!(a.rule, Some(MatchedRule::Listed(6)));
    // From the cache, the same identity.
    let a = allowed(h.get("/both", &headers));
    assert!(a.cache_hit);
    assert_eq!(a.identity, identity("o-1", CLIENT));
}

#[test]
fn a_v1_token_names_its_client_by_appid() {
    let mut h = harness();
    let mut claims = v1_claims();
    claims["appid"] = json!("v1-client");
    let auth = bearer(&sign(&header("key-a"), &claims));
    let a = allowed(h.get("/mcp", &[("authorization", &auth)]));
    assert_eq!(a.identity, identity("o-1", "v1-client"));
    assert_eq!(a.rule, Some(MatchedRule::Listed(4)));
}

#[test]
fn without_a_token_there_is_no_identity() {
    let mut h = harness();
    let a = allowed(h.get("/health", &[("x-entra-oid", "spoofed")]));
    assert_eq!(a.identity, None);
    assert_eq!(a.rule, Some(MatchedRule::Listed(0)));
    let a = allowed(h.get("/either", &[("ocp-apim-subscription-key", KEY)]));
    assert_eq!((a.via, &a.identity), (Via::SubscriptionKey, &None));
    assert_eq!(a.subscription.as_deref(), Some("contoso"));
    let preflight = [
        ("origin", "https://app.example"),
        ("access-control-request-method", "POST"),
    ];
    let a = allowed(h.run("OPTIONS", "/mcp", &preflight, true));
    assert_eq!((a.via, a.rule), (Via::Preflight, None));
}

#[test]
fn a_path_no_rule_names_is_decided_by_the_default_rule() {
    let mut h = harness();
    let auth = bearer(&token());
    let a = allowed(h.get("/elsewhere", &[("authorization", &auth)]));
    assert_eq!(a.rule, Some(MatchedRule::Default));
    assert_eq!(a.identity, identity("o-1", CLIENT));
}

#[test]
fn without_filter_state_naming_the_caller_no_identity_is_kept() {
    let mut h = Harness::new();
    let auth = bearer(&token());
    let a = allowed(h.get("/elsewhere", &[("authorization", &auth)]));
    assert_eq!((a.via, &a.identity), (Via::Jwt, &None));
    h.config.filter_state =
        crate::config::StateEntries::default().with(crate::config::StateEntry::Rule);
    let a = allowed(h.get("/elsewhere", &[("authorization", &auth)]));
    assert_eq!(a.identity, None);
    h.config.filter_state = h.config.filter_state.with(crate::config::StateEntry::Tid);
    let a = allowed(h.get("/elsewhere", &[("authorization", &auth)]));
    assert_eq!(a.identity, identity("o-1", CLIENT));
}
