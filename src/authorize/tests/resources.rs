//! `protected_resources`: each resource decides with its own app, rules
//! and challenges, and a token of one never passes at another, whether the
//! shared token cache has seen it or not.

use super::*;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

const WEATHER: &str = "api://weather";
const CRM: &str = "api://crm";
const CRM_PRM: &str = "https://gw.example/.well-known/oauth-protected-resource/crm/mcp";

fn two_resources() -> serde_json::Value {
    let resource = |name: &str, aud: &str, scope: &str| {
        json!({
            "path_prefix": format!("/{name}"),
            "audiences": [aud],
            "mcp": {"resource": format!("https://gw.example/{name}/mcp"),
                    "resource_metadata_url": format!("https://gw.example/.well-known/oauth-protected-resource/{name}/mcp"),
                    "scopes_supported": [format!("{aud}/{scope}")]},
            "rules": [{"path_prefix": format!("/{name}/mcp"), "require": "jwt", "required_scopes": [scope]}]
        })
    };
    json!({
        "entra": {"tenant_id": TENANT, "audiences": [AUDIENCE]},
        "rules": [{"path_prefix": "/health", "require": "none"}],
        "protected_resources": [
            resource("weather", WEATHER, "forecast.read"),
            resource("crm", CRM, "contacts.read")
        ]
    })
}

fn harness() -> Harness {
    let mut h = Harness::new();
    h.config = config::parse(two_resources().to_string().as_bytes()).unwrap();
    h
}

fn token_for(aud: &str, scp: &str) -> String {
    let mut claims = v2_claims();
    claims["aud"] = json!(aud);
    claims["scp"] = json!(scp);
    sign(&header("key-a"), &claims)
}

fn auth(t: &str) -> [(&'static str, String); 1] {
    [("authorization", format!("Bearer {t}"))]
}

fn run_with(h: &mut Harness, path: &str, t: &str) -> Decision {
    let [(n, v)] = auth(t);
    h.get(path, &[(n, v.as_str())])
}

const WRONG_AUDIENCE: &str = "Bearer error=\"invalid_token\", error_description=\"the token audience is not accepted\", resource_metadata=\"https://gw.example/.well-known/oauth-protected-resource/crm/mcp\"";

#[test]
fn a_token_for_one_resource_is_refused_at_another_cache_cold() {
    let weather = token_for(WEATHER, "forecast.read contacts.read");
    let mut h = harness();
    let (status, challenge, _) = response(run_with(&mut h, "/crm/mcp", &weather));
    assert_eq!(status, 401);
    assert_eq!(challenge.as_deref(), Some(WRONG_AUDIENCE));
    assert!(h.cache.is_empty(), "a refused token is not cached");
}

#[test]
fn a_token_for_one_resource_is_refused_at_another_cache_warm() {
    let weather = token_for(WEATHER, "forecast.read contacts.read");
    let mut h = harness();
    let first = allowed(run_with(&mut h, "/weather/mcp", &weather));
    assert!(!first.cache_hit);
    assert!(allowed(run_with(&mut h, "/weather/mcp", &weather)).cache_hit);
    assert_eq!(h.cache.len(), 1, "the token is cached");
    let (status, challenge, _) = response(run_with(&mut h, "/crm/mcp", &weather));
    assert_eq!(status, 401);
    assert_eq!(challenge.as_deref(), Some(WRONG_AUDIENCE));
    // Nor at a path outside every resource, whose audience is entra's.
    let (status, challenge, _) = response(run_with(&mut h, "/other", &weather));
    assert_eq!(status, 401);
    assert!(challenge.unwrap().contains("audience"));
    // And the resource's own token passes there.
    let crm = token_for(CRM, "contacts.read");
    assert!(matches!(
        run_with(&mut h, "/crm/mcp", &crm),
        Decision::Allow(_)
    ));
}

#[test]
fn a_resource_challenges_with_its_own_metadata_and_scopes() {
    let mut h = harness();
    let (status, challenge, _) = response(h.get("/crm/mcp", &[]));
    assert_eq!(status, 401);
    assert_eq!(
        challenge.as_deref(),
        Some(
            format!("Bearer scope=\"api://crm/contacts.read\", resource_metadata=\"{CRM_PRM}\"")
                .as_str()
        )
    );
    // Its scopes, not another resource's: 403 names the crm scope.
    let crm = token_for(CRM, "forecast.read");
    let (status, challenge, _) = response(run_with(&mut h, "/crm/mcp", &crm));
    assert_eq!(status, 403);
    assert!(challenge
        .unwrap()
        .contains("scope=\"api://crm/contacts.read\""));
    // A path under a resource but outside its rules needs a JWT (its default).
    let (status, challenge, _) = response(h.get("/crm/other", &[]));
    assert_eq!(status, 401);
    assert_eq!(
        challenge.unwrap(),
        format!("Bearer resource_metadata=\"{CRM_PRM}\"")
    );
    // Outside every resource: the top-level rules and plain challenges.
    assert!(matches!(h.get("/health", &[]), Decision::Allow(_)));
    let (_, challenge, _) = response(h.get("/other", &[]));
    assert_eq!(challenge.as_deref(), Some("Bearer"));
}

#[test]
fn each_resource_serves_its_metadata_and_the_root_answers_404() {
    let mut h = harness();
    for (path, resource) in [
        (
            "/.well-known/oauth-protected-resource/crm/mcp",
            "https://gw.example/crm/mcp",
        ),
        (
            "/.well-known/oauth-protected-resource/weather/mcp",
            "https://gw.example/weather/mcp",
        ),
    ] {
        let (status, _, body) = response(h.get(path, &[]));
        assert_eq!(status, 200, "{path}");
        let doc: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(doc["resource"], resource);
    }
    let (status, _, body) = response(h.get("/.well-known/oauth-protected-resource", &[]));
    assert_eq!(status, 404);
    assert!(body.contains("per resource"), "{body}");
    let preflight = h.run(
        "OPTIONS",
        "/.well-known/oauth-protected-resource",
        &[
            ("origin", "https://app.example"),
            ("access-control-request-method", "GET"),
        ],
        true,
    );
    assert_eq!(response(preflight).0, 204);
}

#[test]
fn a_path_whose_readings_name_different_resources_is_refused() {
    let mut h = harness();
    for path in [
        "/weather/../crm/mcp",
        "/CRM/mcp",
        "/%63rm/mcp",
        "/crm/..%2fweather/mcp",
    ] {
        let (status, _, _) = response(h.get(path, &[]));
        assert_eq!(status, 400, "{path}");
    }
}

#[test]
fn the_single_mcp_form_is_untouched_by_a_top_level_mcp_with_resources() {
    // With a top-level `mcp`, the root metadata path keeps serving it.
    let mut v = two_resources();
    v["mcp"] = json!({"resource": "https://gw.example/mcp", "resource_metadata_url": PRM});
    let mut h = Harness::new();
    h.config = config::parse(v.to_string().as_bytes()).unwrap();
    let (status, _, body) = response(h.get("/.well-known/oauth-protected-resource", &[]));
    assert_eq!(status, 200);
    assert!(
        body.contains("\"resource\":\"https://gw.example/mcp\""),
        "{body}"
    );
    let (_, challenge, _) = response(h.get("/other", &[]));
    assert_eq!(
        challenge.unwrap(),
        format!("Bearer resource_metadata=\"{PRM}\"")
    );
}

#[test]
fn a_resource_accepts_any_of_its_audiences_in_any_order() {
    let mut json = two_resources();
    json["protected_resources"][1]["audiences"] = json!(["api://zz", "api://yy", CRM]);
    json["protected_resources"][1]["client_application_ids"] = json!(["x2", "x1", CLIENT]);
    let mut h = Harness::new();
    h.config = config::parse(json.to_string().as_bytes()).unwrap();
    let crm = token_for(CRM, "contacts.read");
    assert!(!allowed(run_with(&mut h, "/crm/mcp", &crm)).cache_hit);
}
