//! `protected_resources`: what each resource holds, and every way two of
//! them (or one and the top-level `mcp`) could claim the same request or
//! path, refused by key.

use super::*;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

fn resource(name: &str) -> Value {
    json!({
        "path_prefix": format!("/{name}"),
        "audiences": [format!("api://{name}")],
        "mcp": {"resource": format!("https://gw.example/{name}/mcp"),
                "resource_metadata_url": format!("https://gw.example/.well-known/oauth-protected-resource/{name}/mcp"),
                "scopes_supported": [format!("api://{name}/read")]},
        "rules": [{"path_prefix": format!("/{name}/mcp"), "require": "jwt", "required_scopes": ["read"]}]
    })
}

fn with_resources(resources: Vec<Value>) -> Value {
    json!({"entra": {"tenant_id": TID, "audiences": ["api://gw"]}, "protected_resources": resources})
}

#[test]
fn resources_parse_with_their_own_app_and_paths() {
    let mut weather = resource("weather");
    weather["client_application_ids"] = json!(["c1"]);
    weather["required_claims"] = json!([{"name": "roles", "values": ["Reader"]}]);
    weather["mcp"]["max_body_bytes"] = json!(2_000_000);
    let c = parse_value(&with_resources(vec![weather, resource("crm")])).unwrap();
    assert_eq!(c.protected_resources.len(), 2);
    let w = &c.protected_resources[0];
    assert_eq!(w.path_prefix, "/weather");
    assert_eq!(w.audiences, ["api://weather"]);
    assert_eq!(w.client_application_ids, ["c1"]);
    assert_eq!(w.required_claims[0].values, ["Reader"]);
    assert_eq!(w.rules[0].path_prefix, "/weather/mcp");
    assert_eq!(
        w.well_known_path,
        "/.well-known/oauth-protected-resource/weather/mcp"
    );
    assert_eq!(c.mcp_max_body_bytes, 2_000_000, "the largest mcp block's");
    let scoped = w.scoped(&c);
    assert_eq!(scoped.entra.audiences, ["api://weather"]);
    assert_eq!(scoped.entra.tenancy, c.entra.tenancy);
    assert_eq!(scoped.rules, w.rules);
    assert!(scoped.protected_resources.is_empty());
    // The single-mcp form has none.
    assert!(parse_value(&full()).unwrap().protected_resources.is_empty());
    let mut nulled = full();
    nulled["protected_resources"] = Value::Null;
    assert!(parse_value(&nulled).unwrap().protected_resources.is_empty());
}

#[test]
fn ambiguous_resources_are_refused_by_key() {
    let edit = |i: usize, f: &dyn Fn(&mut Value)| {
        let mut list = vec![resource("weather"), resource("crm")];
        f(&mut list[i]);
        with_resources(list)
    };
    let same_meta = "https://gw.example/.well-known/oauth-protected-resource/weather/mcp";
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            edit(1, &|r| {
                r["path_prefix"] = json!("/Weather/x");
                r["rules"] = json!([]);
            }),
            "protected_resources[1].path_prefix",
            "overlaps protected_resources[0].path_prefix",
        ),
        (
            edit(1, &|r| {
                r["path_prefix"] = json!("/weather");
                r["rules"] = json!([]);
            }),
            "protected_resources[1].path_prefix",
            "overlaps",
        ),
        (
            edit(1, &|r| {
                r["mcp"]["resource"] = json!("https://gw.example/weather/mcp")
            }),
            "protected_resources[1].mcp.resource",
            "is also protected_resources[0].mcp.resource",
        ),
        (
            edit(1, &|r| r["mcp"]["resource_metadata_url"] = json!(same_meta)),
            "protected_resources[1].mcp.resource_metadata_url",
            "already served for protected_resources[0].mcp",
        ),
        (
            edit(0, &|r| r["rules"][0]["path_prefix"] = json!("/crm/mcp")),
            "protected_resources[0].rules[0].path_prefix",
            "must be under the resource's path_prefix (/weather)",
        ),
        (
            edit(0, &|r| r["rules"][0]["path_prefix"] = json!("/weatherx")),
            "protected_resources[0].rules[0].path_prefix",
            "must be under",
        ),
        (
            edit(0, &|r| r["path_prefix"] = json!("/")),
            "protected_resources[0].path_prefix",
            "must not be /",
        ),
        (
            edit(0, &|r| r["mcp"]["resource"] = json!("https://gw.example")),
            "protected_resources[0].mcp.resource",
            "must have a path",
        ),
        (
            edit(0, &|r| {
                r["mcp"]["resource_metadata_url"] =
                    json!("https://gw.example/.well-known/oauth-protected-resource")
            }),
            "protected_resources[0].mcp.resource_metadata_url",
            "already served for the per-resource 404",
        ),
        (
            edit(1, &|r| {
                r["mcp"]["authorization_server"] = json!({"issuer": "https://gw.example/as"})
            }),
            "",
            "",
        ),
        (
            edit(0, &|r| r["audiences"] = json!([])),
            "protected_resources[0].audiences",
            "must not be empty",
        ),
        (
            edit(0, &|r| r["tenant_id"] = json!(TID)),
            "protected_resources[0].tenant_id",
            "unknown key",
        ),
        (
            edit(0, &|r| r["rules"][0]["require"] = json!("subscription_key")),
            "protected_resources[0].rules[0].require",
            "needs a subscription_keys block",
        ),
        (
            edit(1, &|r| {
                r["mcp"]["authorization_server"] = json!({"issuer": "http://gw"})
            }),
            "protected_resources[1].mcp.authorization_server.issuer",
            "must be https",
        ),
    ];
    for (v, key, reason) in cases {
        let result = parse_value(&v);
        if key.is_empty() {
            assert!(result.is_ok(), "{v}: {result:?}");
            continue;
        }
        let err = result.unwrap_err();
        assert_eq!(err.key, key, "{err}");
        assert!(err.reason.contains(reason), "{err}");
    }
}

#[test]
fn what_the_top_level_mcp_or_another_server_owns_is_refused() {
    let server = json!({"issuer": "https://gw.example/as"});
    let mut a = resource("weather");
    a["mcp"]["authorization_server"] = server.clone();
    let mut b = resource("crm");
    b["mcp"]["authorization_server"] = server.clone();
    let err = parse_value(&with_resources(vec![a.clone(), b])).unwrap_err();
    assert_eq!(
        err.key,
        "protected_resources[1].mcp.authorization_server.issuer"
    );
    assert!(
        err.reason
            .contains("/.well-known/oauth-authorization-server/as"),
        "{err}"
    );

    let mut v = with_resources(vec![a]);
    v["mcp"] = json!({"resource": "https://gw.example/mcp",
                      "resource_metadata_url": "https://gw.example/.well-known/oauth-protected-resource/mcp",
                      "authorization_server": server});
    let err = parse_value(&v).unwrap_err();
    assert_eq!(
        err.key,
        "protected_resources[0].mcp.authorization_server.issuer"
    );
    assert!(err.reason.contains("already served for mcp"), "{err}");

    let mut v = with_resources(vec![resource("weather")]);
    v["mcp"] = json!({"resource": "https://gw.example/weather/mcp",
                      "resource_metadata_url": "https://gw.example/.well-known/oauth-protected-resource/top"});
    let err = parse_value(&v).unwrap_err();
    assert_eq!(err.key, "protected_resources[0].mcp.resource");
    assert!(err.reason.contains("is also mcp.resource"), "{err}");

    let too_many: Vec<Value> = (0..=MAX_PROTECTED_RESOURCES)
        .map(|i| resource(&format!("r{i}")))
        .collect();
    let err = parse_value(&with_resources(too_many)).unwrap_err();
    assert_eq!(err.key, "protected_resources");
}

/// A resource as `docs/mcp.md` recommends it: the MCP URL is the
/// Application ID URI, the app's GUID is an audience too.
fn good_resource(name: &str, app: &str) -> Value {
    let url = format!("https://gw.example/{name}/mcp");
    json!({
        "path_prefix": format!("/{name}"),
        "audiences": [app, url],
        "mcp": {"resource": url,
                "resource_metadata_url": format!("https://gw.example/.well-known/oauth-protected-resource/{name}/mcp"),
                "scopes_supported": [format!("{url}/read")]},
        "rules": [{"path_prefix": format!("/{name}/mcp"), "require": "jwt", "required_scopes": ["read"]}]
    })
}

fn warned(v: &Value) -> Vec<String> {
    advice(&parse_value(v).unwrap())
        .into_iter()
        .map(|w| w.key)
        .collect()
}

#[test]
fn check_advises_on_each_resource_by_its_keys() {
    const APP_A: &str = "00000000-0000-0000-0000-00000000000a";
    const APP_B: &str = "00000000-0000-0000-0000-00000000000b";
    let mut v = with_resources(vec![
        good_resource("weather", APP_A),
        good_resource("crm", APP_B),
    ]);
    v["entra"]["audiences"] = json!([APP_A]);
    assert_eq!(warned(&v), Vec::<String>::new());

    let mut shadowed = v.clone();
    shadowed["rules"] = json!([{"path_prefix": "/health", "require": "none"},
                               {"path_prefix": "/CRM/mcp", "require": "none"}]);
    assert_eq!(warned(&shadowed), ["rules[1].path_prefix"]);

    let mut weak = v.clone();
    weak["protected_resources"][1]["mcp"]["scopes_supported"] = json!([]);
    weak["protected_resources"][1]["audiences"] = json!([APP_B]);
    assert_eq!(
        warned(&weak),
        [
            "protected_resources[1].audiences",
            "protected_resources[1].mcp.scopes_supported",
            "protected_resources[1].rules[0].required_scopes[0]"
        ]
    );

    let mut dropped = v;
    dropped["entra"]["client_application_ids"] = json!(["c1"]);
    dropped["protected_resources"][0]["client_application_ids"] = json!(["c1"]);
    assert_eq!(
        warned(&dropped),
        ["protected_resources[1].client_application_ids"]
    );
}
