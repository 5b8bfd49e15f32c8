//! Forged tokens replayed: the signature is checked once per key set, and
//! the answer is the one a verification gives.
use super::*;
use crate::keys::RsaKey;
use std::cell::Cell;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

/// `RustVerifier`, counting its calls.
struct Counting(Rc<Cell<usize>>);

impl SignatureVerifier for Counting {
    fn verify_rs256(&self, key: &RsaKey, message: &[u8], signature: &[u8]) -> bool {
        self.0.set(self.0.get() + 1);
        RustVerifier.verify_rs256(key, message, signature)
    }
}

/// `token()` with one signature character changed (still canonical base64url).
fn forged() -> String {
    let t = token();
    let at = t.rfind('.').unwrap() + 10;
    let swap = if &t[at..=at] == "A" { "B" } else { "A" };
    format!("{}{swap}{}", &t[..at], &t[at + 1..])
}

fn world(token_cache_size: usize) -> (World, Rc<Cell<usize>>) {
    let calls = Rc::new(Cell::new(0));
    let mut json = config_json();
    json["entra"]["token_cache_size"] = json!(token_cache_size);
    let mut world = World::with_verifier(json, Box::new(Counting(Rc::clone(&calls))));
    world.fetch(Ok(jwks_a()));
    (world, calls)
}

fn send(world: &mut World, id: u32, token: &str) -> Step {
    let auth = bearer(token);
    let request = MemoryRequest::new("GET", "/api", &[("authorization", &auth)]);
    world
        .engine
        .on_request_headers(id, &request, true, world.now)
}

#[test]
fn a_repeated_forged_token_is_verified_once_and_answered_the_same() {
    let (mut uncached, _) = world(0);
    let reference = send(&mut uncached, 1, &forged());
    assert_eq!(status(&reference), Some(401));
    let (mut w, calls) = world(16);
    for id in 1..=5 {
        assert_eq!(send(&mut w, id, &forged()), reference, "request {id}");
    }
    assert_eq!(calls.get(), 1);
    let counts = w.engine.counts();
    assert_eq!(counts.pending("token_cache.rejected_hit"), 4);
    assert_eq!(counts.pending("denied.signature"), 5);
    // Without the cache every one is verified, and none counts as a hit.
    for id in 2..=3 {
        assert_eq!(send(&mut uncached, id, &forged()), reference);
    }
    assert_eq!(
        uncached.engine.counts().pending("token_cache.rejected_hit"),
        0
    );
}

#[test]
fn a_valid_token_with_the_same_kid_is_unaffected() {
    let (mut w, calls) = world(16);
    send(&mut w, 1, &forged());
    send(&mut w, 2, &forged());
    assert_eq!(calls.get(), 1);
    for id in 3..=4 {
        assert!(matches!(send(&mut w, id, &token()), Step::Forward(_)));
    }
    assert_eq!(calls.get(), 2, "verified once, then from the cache");
    assert_eq!(status(&send(&mut w, 5, &forged())), Some(401));
    assert_eq!(calls.get(), 2);
}

#[test]
fn new_keys_judge_a_forged_token_again() {
    let (mut w, calls) = world(16);
    send(&mut w, 1, &forged());
    send(&mut w, 2, &forged());
    assert_eq!(calls.get(), 1);
    let generation = w.engine.keys().generation();
    w.advance(3_600_000);
    w.fetch(Ok(jwks_ab()));
    assert_eq!(w.engine.keys().generation(), generation + 1);
    assert_eq!(status(&send(&mut w, 3, &forged())), Some(401));
    assert_eq!(calls.get(), 2, "the new key set verified it again");
    send(&mut w, 4, &forged());
    assert_eq!(calls.get(), 2);
}

#[test]
fn an_expired_forged_token_is_answered_as_expired() {
    let (mut w, _) = world(16);
    let cached = send(&mut w, 1, &forged());
    // Past exp plus the default skew: the lifetime check answers first.
    w.advance((3600 + 301) * 1000);
    w.fetch(Ok(jwks_a()));
    let later = send(&mut w, 2, &forged());
    assert_eq!(status(&later), Some(401));
    assert_ne!(later, cached, "not the signature's answer");
}

#[test]
fn a_forged_token_rejected_by_one_resource_is_judged_by_another_as_uncached() {
    let resource = |name: &str, aud: &str| {
        json!({"path_prefix": format!("/{name}"), "audiences": [aud],
               "mcp": {"resource": format!("https://gw.example/{name}/mcp"),
                       "resource_metadata_url": format!("https://gw.example/.well-known/oauth-protected-resource/{name}/mcp")},
               "rules": [{"path_prefix": format!("/{name}"), "require": "jwt"}]})
    };
    let mut json = config_json();
    json["protected_resources"] =
        json!([resource("weather", AUDIENCE), resource("crm", "api://crm")]);
    let world_with = |size: usize| {
        let mut json = json.clone();
        json["entra"]["token_cache_size"] = json!(size);
        let mut world = World::with_config(json);
        world.fetch(Ok(jwks_a()));
        world
    };
    let send = |world: &mut World, id: u32, path: &str| {
        let auth = bearer(&forged());
        let request = MemoryRequest::new("GET", path, &[("authorization", &auth)]);
        world
            .engine
            .on_request_headers(id, &request, true, world.now)
    };
    let mut uncached = world_with(0);
    let at_crm = send(&mut uncached, 1, "/crm/x");
    assert_ne!(
        at_crm,
        send(&mut uncached, 2, "/weather/x"),
        "the audience answers first"
    );
    let mut w = world_with(16);
    send(&mut w, 1, "/weather/x");
    send(&mut w, 2, "/weather/x");
    assert_eq!(w.engine.counts().pending("token_cache.rejected_hit"), 1);
    assert_eq!(send(&mut w, 3, "/crm/x"), at_crm);
    assert_eq!(w.engine.counts().pending("token_cache.rejected_hit"), 1);
}
