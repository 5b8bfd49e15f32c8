//! A large deployment's configuration (bench/large_config.py's shape):
//! 10,000 subscriptions of two keys, 1,000 rules, 200 tenants. It loads,
//! and the base configuration's answers are unchanged at the end of it.
use super::*;
use serde_json::Value;
use sha2::{Digest, Sha256};
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

const REQUIRES: [&str; 5] = [
    "none",
    "jwt",
    "subscription_key",
    "jwt_or_subscription_key",
    "jwt_and_subscription_key",
];

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `base` grown as `large_config(base)` grows it: generated rules first
/// (base's last), generated keys first, base's tenant last.
fn large_config(mut base: Value, subscriptions: usize, rules: usize, tenants: usize) -> Value {
    let base_rules = base["rules"].as_array().cloned().unwrap_or_default();
    let mut all: Vec<Value> = (0..rules.saturating_sub(base_rules.len()))
        .map(|i| {
            let prefix: String = format!("/large-config-{i}")
                + &(1..=i % 3).map(|d| format!("/s{d}")).collect::<String>();
            let mut rule = json!({"path_prefix": prefix, "require": REQUIRES[i % 5]});
            if i % 4 == 3 {
                rule["mcp_methods"] = json!(["tools/call"]);
                rule["mcp_tools"] = json!([format!("tool{i}")]);
            }
            rule
        })
        .collect();
    all.extend(base_rules);
    base["rules"] = Value::Array(all);
    let keys: Vec<Value> = (0..subscriptions)
        .flat_map(|i| {
            ["primary", "secondary"].map(|which| {
                let key = format!("key-{i}-{which}");
                json!({"name": format!("large-sub-{i}"), "sha256": hex(&Sha256::digest(key))})
            })
        })
        .collect();
    base["subscription_keys"] = json!({ "keys": keys });
    let home = base["entra"]["tenant_id"].clone();
    let mut listed: Vec<Value> = (0..tenants - 1)
        .map(|i| json!(format!("{i:08x}-0000-4000-8000-1a2c0e5f0000")))
        .collect();
    listed.push(home);
    base["entra"]["allowed_tenants"] = Value::Array(listed);
    base
}

#[test]
fn a_large_configuration_loads_and_decides_as_its_base() {
    let json = large_config(config_json(), 10_000, 1_000, 200);
    let text = json.to_string();
    assert!(text.len() > 1 << 20, "over the old 1 MiB limit");
    assert!(text.len() < config::MAX_CONFIG_BYTES);
    let mut world = World::with_config(json);
    let config = world.engine.config();
    assert_eq!(config.rules.len(), 1_000);
    assert_eq!(config.subscription.as_ref().unwrap().keys.len(), 20_000);
    assert!(matches!(&config.entra.tenancy, config::Tenancy::Allowed(t) if t.len() == 200));
    world.fetch(Ok(jwks_a()));
    let send = |world: &mut World, id: u32, path: &str, headers: &[(&str, &[u8])]| {
        let request = MemoryRequest::new("GET", path, headers);
        world
            .engine
            .on_request_headers(id, &request, true, world.now)
    };
    // The base's own rules, reached at the end of the list.
    let auth = bearer(&token());
    let step = send(&mut world, 1, "/mcp/x", &[("authorization", &auth)]);
    assert!(matches!(step, Step::Forward(_)), "{step:?}");
    assert_eq!(status(&send(&mut world, 2, "/mcp/x", &[])), Some(401));
    assert!(matches!(
        send(&mut world, 3, "/health", &[]),
        Step::Forward(_)
    ));
    // A generated subscription_key rule (i = 992 of 0..997: i % 5 == 2,
    // three segments deep) with the last subscription's secondary key.
    let key = b"key-9999-secondary".as_slice();
    let header = [("ocp-apim-subscription-key", key)];
    let step = send(&mut world, 4, "/large-config-992/s1/s2/x", &header);
    let Step::Forward(allowed) = step else {
        panic!("the last key was refused: {step:?}");
    };
    assert_eq!(allowed.subscription.as_deref(), Some("large-sub-9999"));
    let wrong = [("ocp-apim-subscription-key", b"key-10000-primary".as_slice())];
    assert_eq!(
        status(&send(&mut world, 5, "/large-config-992/s1/s2", &wrong)),
        Some(401)
    );
}
