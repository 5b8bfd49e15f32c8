//! Static registration through the engine: the body is held and read by
//! the one decision loop, answered once it ends, and counted.

use super::*;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

fn world() -> World {
    let mut json = config_json();
    json["mcp"] = json!({
        "resource": "https://api.example/mcp",
        "resource_metadata_url": "https://api.example/.well-known/oauth-protected-resource/mcp",
        "authorization_server": {"issuer": "https://api.example", "client_id": CLIENT,
                                 "redirect_uris": ["http://127.0.0.1/callback"]}
    });
    World::with_config(json)
}

fn register(world: &mut World, id: u32, body: &[u8]) -> Step {
    let mut req = MemoryRequest::new(
        "POST",
        "/register",
        &[("content-type", b"application/json")],
    );
    let step = world.engine.on_request_headers(id, &req, false, world.now);
    assert_eq!(step, Step::Pause, "held until the body is there");
    let (first, rest) = body.split_at(body.len() / 2);
    req.body.extend_from_slice(first);
    let step = world
        .engine
        .on_request_body(id, &req, req.body.len(), false, world.now);
    assert_eq!(step, Step::Pause);
    req.body.extend_from_slice(rest);
    world
        .engine
        .on_request_body(id, &req, req.body.len(), true, world.now)
}

#[test]
fn a_registration_body_is_read_whole_then_answered_and_counted() {
    let mut world = world();
    let step = register(
        &mut world,
        1,
        br#"{"redirect_uris":["http://127.0.0.1:9999/callback"]}"#,
    );
    let Step::Reply(response, _) = step else {
        panic!("expected a reply, got {step:?}")
    };
    assert_eq!(response.status, 201);
    let doc: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
    assert_eq!(doc["client_id"], CLIENT);
    let step = register(
        &mut world,
        3,
        br#"{"redirect_uris":["http://127.0.0.1:9999/other"]}"#,
    );
    assert_eq!(status(&step), Some(400));
    let counts = world.engine.counts();
    assert_eq!(counts.pending("registration.accepted"), 1);
    assert_eq!(counts.pending("registration.refused"), 1);
    assert_eq!(counts.pending("denied"), 0);
    assert_eq!(world.engine.streams_in_flight(), 0);
}

#[test]
fn a_registration_body_larger_than_the_bound_is_refused_with_413() {
    let mut world = world();
    let mut req = MemoryRequest::new("POST", "/register", &[]);
    assert_eq!(
        world.engine.on_request_headers(5, &req, false, world.now),
        Step::Pause
    );
    req.body = vec![b' '; world.engine.config().mcp_max_body_bytes + 1];
    let step = world
        .engine
        .on_request_body(5, &req, req.body.len(), false, world.now);
    assert_eq!(status(&step), Some(413));
}
