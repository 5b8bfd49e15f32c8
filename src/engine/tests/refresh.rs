//! Keys across the lifecycle: waiting, bounds, and a refresh that finds
//! the same keys.
use super::*;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

#[test]
fn a_refresh_with_the_same_keys_keeps_verified_tokens_cached() {
    let mut json = config_json();
    json["entra"]["jwks_refresh_seconds"] = json!(60);
    let mut world = World::with_config(json);
    world.fetch(Ok(jwks_a()));
    let auth = bearer(&token());
    let request = MemoryRequest::new("GET", "/api", &[("authorization", &auth)]);
    for _ in 0..2 {
        let step = world
            .engine
            .on_request_headers(1, &request, true, world.now);
        assert!(matches!(step, Step::Forward(_)), "{step:?}");
    }
    assert_eq!(world.engine.counts().pending("token_cache.miss"), 1);
    // The periodic refresh finds key A again.
    world.advance(61_000);
    let generation = world.engine.keys().generation();
    world.fetch(Ok(jwks_a()));
    assert_eq!(world.engine.keys().generation(), generation);
    assert!(world.engine.keys().is_usable(world.now));
    let step = world
        .engine
        .on_request_headers(2, &request, true, world.now);
    assert!(matches!(step, Step::Forward(_)), "{step:?}");
    assert_eq!(world.engine.counts().pending("token_cache.miss"), 1);
    // A new key set does empty the cache.
    world.advance(61_000);
    world.fetch(Ok(jwks_ab()));
    assert_eq!(world.engine.keys().generation(), generation + 1);
    world
        .engine
        .on_request_headers(3, &request, true, world.now);
    assert_eq!(world.engine.counts().pending("token_cache.miss"), 2);
}

#[test]
fn a_worker_that_did_not_fetch_sees_the_same_keys_refreshed() {
    let mut fetcher = World::with_keys();
    let mut other = World::new();
    // The second worker shares the first one's shared data.
    std::mem::swap(&mut other.host, &mut fetcher.host);
    other.tick();
    std::mem::swap(&mut other.host, &mut fetcher.host);
    assert_eq!(other.engine.keys().len(), 1);
    let generation = other.engine.keys().generation();
    fetcher.advance(25 * 3600 * 1000);
    fetcher.fetch(Ok(jwks_a()));
    other.now = fetcher.now;
    std::mem::swap(&mut other.host, &mut fetcher.host);
    other.tick();
    assert_eq!(other.engine.keys().generation(), generation);
    assert!(other.engine.keys().is_usable(other.now), "keys aged out");
}

#[test]
fn waiting_requests_are_bounded() {
    let mut world = World::new();
    let auth = bearer(&token());
    let request = MemoryRequest::new("GET", "/api", &[("authorization", &auth)]);
    world.tick(); // the first fetch is in flight
    for id in 0..MAX_WAITERS as u32 {
        let step = world
            .engine
            .on_request_headers(id, &request, true, world.now);
        assert_eq!(step, Step::Pause);
    }
    let step = world
        .engine
        .on_request_headers(MAX_WAITERS as u32, &request, true, world.now);
    assert_eq!(status(&step), Some(503));
    let due = world.fetch(Ok(jwks_a()));
    assert_eq!(due.len(), MAX_WAITERS);
    for (_, step) in world.resume(&due, &request) {
        assert!(matches!(step, Step::Forward(_)), "{step:?}");
    }
}

#[test]
fn one_kid_miss_refetch_per_cooldown() {
    let mut world = World::with_keys();
    world.advance(1_100);
    let auth = bearer(&token_b());
    let request = MemoryRequest::new("GET", "/api", &[("authorization", &auth)]);
    let fetches = world.host.dispatched.len();
    for id in [1, 2] {
        let step = world
            .engine
            .on_request_headers(id, &request, true, world.now);
        assert_eq!(step, Step::Pause);
    }
    let due = world.fetch(Ok(jwks_a()));
    assert_eq!(
        world.host.dispatched.len(),
        fetches + 2,
        "one discovery + one JWKS"
    );
    for (_, step) in world.resume(&due, &request) {
        assert_eq!(status(&step), Some(401));
    }
    // Within the cooldown (1 s) the next unknown kid waits for the re-fetch
    // that the cooldown allows before its deadline (2 s), and only one.
    world.advance(100);
    assert_eq!(
        world
            .engine
            .on_request_headers(3, &request, true, world.now),
        Step::Pause
    );
    assert_eq!(
        world
            .engine
            .on_request_headers(4, &request, true, world.now),
        Step::Pause
    );
    assert!(world.tick().is_empty());
    assert_eq!(world.host.dispatched.len(), fetches + 2);
    world.advance(1_000);
    let due = world.fetch(Ok(jwks_ab()));
    assert_eq!(world.host.dispatched.len(), fetches + 4);
    assert_eq!(due, vec![3, 4]);
    for (_, step) in world.resume(&due, &request) {
        assert!(matches!(step, Step::Forward(_)), "{step:?}");
    }
}

#[test]
fn an_unknown_kid_within_a_long_cooldown_is_refused_at_once() {
    let mut json = config_json();
    json["entra"]["kid_miss_refetch_seconds"] = json!(60);
    let mut world = World::with_config(json);
    world.fetch(Ok(jwks_a()));
    world.advance(1_000);
    let auth = bearer(&token_b());
    let request = MemoryRequest::new("GET", "/api", &[("authorization", &auth)]);
    let fetches = world.host.dispatched.len();
    assert_eq!(
        world
            .engine
            .on_request_headers(1, &request, true, world.now),
        Step::Pause
    );
    let due = world.tick();
    assert_eq!(due, vec![1]);
    assert_eq!(
        world.host.dispatched.len(),
        fetches,
        "no re-fetch within the cooldown"
    );
    let steps = world.resume(&due, &request);
    assert_eq!(status(&steps[0].1), Some(401));
}

#[test]
fn a_body_that_never_comes_is_answered_and_said_once() {
    let mut world = World::with_keys();
    let request = MemoryRequest::new("POST", "/mcp", &[("content-type", b"application/json")]);
    for id in [1, 2] {
        assert_eq!(
            world
                .engine
                .on_request_headers(id, &request, false, world.now),
            Step::Pause
        );
    }
    world.advance(BODY_ARRIVAL_MS);
    let due = world.tick();
    assert_eq!(due, vec![1, 2]);
    for (_, step) in world.resume(&due, &request) {
        assert_eq!(status(&step), Some(500));
    }
    let warnings = world
        .host
        .logs
        .iter()
        .filter(|(l, _)| *l == Level::Error)
        .count();
    assert_eq!(warnings, 1);
    // Answered: whatever still arrives is held, never forwarded.
    let step = world
        .engine
        .on_request_body(1, &request, 10, true, world.now);
    assert_eq!(step, Step::Pause);
    let step = world.engine.on_request_trailers(2, &request, world.now);
    assert_eq!(step, Step::Pause);
}

#[test]
fn a_body_over_the_limit_is_refused_while_it_arrives() {
    let mut world = World::with_keys();
    let request = MemoryRequest::new("POST", "/mcp", &[("content-type", b"application/json")]);
    assert_eq!(
        world
            .engine
            .on_request_headers(1, &request, false, world.now),
        Step::Pause
    );
    let limit = world.engine.config().mcp_max_body_bytes;
    let step = world
        .engine
        .on_request_body(1, &request, limit + 1, false, world.now);
    assert_eq!(status(&step), Some(413));
    assert_eq!(
        world.engine.on_request_trailers(1, &request, world.now),
        Step::Pause
    );
}

#[test]
fn streams_that_end_are_forgotten() {
    let mut world = World::new();
    let auth = bearer(&token());
    let request = MemoryRequest::new("POST", "/api", &[("authorization", &auth)]);
    world.tick();
    assert_eq!(
        world
            .engine
            .on_request_headers(1, &request, false, world.now),
        Step::Pause
    );
    world.engine.on_stream_done(1);
    assert_eq!(world.engine.streams_in_flight(), 0);
    let due = world.fetch(Ok(jwks_a()));
    assert!(due.is_empty(), "{due:?}");
    // Events of a stream the engine never saw are held, never forwarded.
    assert_eq!(
        world
            .engine
            .on_request_body(9, &request, 1, true, world.now),
        Step::Pause
    );
    assert_eq!(
        world.engine.on_request_trailers(9, &request, world.now),
        Step::Pause
    );
}

#[test]
fn a_reconfigured_filter_uses_the_shared_keys_at_once() {
    // A configuration change (an LDS update) starts a new root context
    // with the shared data of the old one: its first requests must neither
    // wait for a tick nor, when they may not wait, be answered 503.
    let mut old = World::with_keys();
    let mut json = config_json();
    json["entra"]["key_wait_ms"] = json!(0);
    let config = config::parse(json.to_string().as_bytes()).unwrap();
    let mut engine = Engine::new(config, Box::new(RustVerifier), 8);
    engine.on_configure(&mut old.host);
    let auth = bearer(&token());
    let request = MemoryRequest::new("GET", "/api", &[("authorization", &auth)]);
    let step = engine.on_request_headers(1, &request, true, old.now);
    assert!(matches!(step, Step::Forward(_)), "{step:?}");
    engine.on_tick(old.now, &mut old.host);
    assert_eq!(old.host.dispatched.len(), 2, "fetched again");
}
