//! Every order of events × every reason a request is held: the stream is
//! forwarded only by the decision, exactly once, after everything the
//! decision depends on; everything before it holds the stream.

use super::*;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    HeadersOnly,
    OneChunk,
    Chunks,
    ChunksThenTrailers,
    TrailersOnly,
}

const SHAPES: [Shape; 5] = [
    Shape::HeadersOnly,
    Shape::OneChunk,
    Shape::Chunks,
    Shape::ChunksThenTrailers,
    Shape::TrailersOnly,
];

#[derive(Debug, Clone)]
enum Event {
    Headers { end: bool },
    Body { chunk: Vec<u8>, end: bool },
    Trailers,
}

fn events(shape: Shape, body: &[u8]) -> Vec<Event> {
    let half = body.len() / 2;
    let (a, b) = (body[..half].to_vec(), body[half..].to_vec());
    match shape {
        Shape::HeadersOnly => vec![Event::Headers { end: true }],
        Shape::OneChunk => vec![
            Event::Headers { end: false },
            Event::Body {
                chunk: body.to_vec(),
                end: true,
            },
        ],
        Shape::Chunks => vec![
            Event::Headers { end: false },
            Event::Body {
                chunk: a,
                end: false,
            },
            Event::Body {
                chunk: b,
                end: true,
            },
        ],
        Shape::ChunksThenTrailers => vec![
            Event::Headers { end: false },
            Event::Body {
                chunk: a,
                end: false,
            },
            Event::Body {
                chunk: b,
                end: false,
            },
            Event::Trailers,
        ],
        Shape::TrailersOnly => vec![Event::Headers { end: false }, Event::Trailers],
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Forward,
    Status(u32),
}

/// How the key fetch the request waits for ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fetched {
    /// Discovery and JWKS answer with keys A and B.
    NewKeys,
    /// The JWKS holds the same key A as before.
    SameKeys,
    /// Discovery answers 500.
    Fails,
    /// Nothing answers before the request's wait is over.
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Held {
    /// A per-tool rule: the decision reads the MCP call in the body.
    Body,
    /// No keys were ever fetched.
    Keys,
    /// The token's `kid` is not among the keys: a re-fetch.
    KidMiss,
}

struct Case {
    name: &'static str,
    held: Held,
    path: &'static str,
    authorization: Option<String>,
    body: Vec<u8>,
    expect: fn(Shape, Fetched) -> Expect,
}

fn tool_call(name: &str) -> Vec<u8> {
    json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": name}})
        .to_string()
        .into_bytes()
}

fn forged() -> String {
    let t = token();
    let (rest, _) = t.rsplit_once('.').unwrap();
    format!("{rest}.{}", "A".repeat(342))
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "public tool without credentials",
            held: Held::Body,
            path: "/mcp",
            authorization: None,
            body: tool_call("add"),
            expect: |shape, _| match shape {
                // No body: no call, so the per-tool rule cannot apply.
                Shape::HeadersOnly => Expect::Status(401),
                Shape::TrailersOnly => Expect::Status(400),
                _ => Expect::Forward,
            },
        },
        Case {
            name: "protected tool without credentials",
            held: Held::Body,
            path: "/mcp",
            authorization: None,
            body: tool_call("divide"),
            expect: |shape, _| match shape {
                Shape::TrailersOnly => Expect::Status(400),
                _ => Expect::Status(401),
            },
        },
        Case {
            name: "protected tool with a valid token",
            held: Held::Body,
            path: "/mcp",
            authorization: Some(token()),
            body: tool_call("divide"),
            expect: |shape, _| match shape {
                Shape::TrailersOnly => Expect::Status(400),
                _ => Expect::Forward,
            },
        },
        Case {
            name: "valid token before any key",
            held: Held::Keys,
            path: "/api",
            authorization: Some(token()),
            body: b"{\"any\": \"payload\"}".to_vec(),
            expect: |_, fetched| match fetched {
                Fetched::NewKeys | Fetched::SameKeys => Expect::Forward,
                Fetched::Fails | Fetched::Never => Expect::Status(503),
            },
        },
        Case {
            name: "forged token before any key",
            held: Held::Keys,
            path: "/api",
            authorization: Some(forged()),
            body: b"{\"any\": \"payload\"}".to_vec(),
            expect: |_, fetched| match fetched {
                Fetched::NewKeys | Fetched::SameKeys => Expect::Status(401),
                Fetched::Fails | Fetched::Never => Expect::Status(503),
            },
        },
        Case {
            name: "token signed by a key not yet known",
            held: Held::KidMiss,
            path: "/api",
            authorization: Some(token_b()),
            body: b"{\"any\": \"payload\"}".to_vec(),
            expect: |_, fetched| match fetched {
                Fetched::NewKeys => Expect::Forward,
                _ => Expect::Status(401),
            },
        },
    ]
}

/// What one run saw: the decisive step, and whether the body had ended then.
struct Run {
    decided: Option<(Expect, bool)>,
    trace: Vec<String>,
}

impl Run {
    fn observe(&mut self, what: &str, step: &Step, body_ended: bool) {
        self.trace.push(format!("{what} -> {step:?}"));
        let verdict = match step {
            Step::Forward(allowed) => {
                assert!(
                    allowed.set_headers.iter().all(|(h, _)| h != "x-entra-oid")
                        || allowed.via.has_token(),
                    "identity header without a token: {:#?}",
                    self.trace
                );
                Some(Expect::Forward)
            }
            Step::Reply(response, _) => Some(Expect::Status(response.status)),
            Step::Pass => {
                assert!(
                    matches!(self.decided, Some((Expect::Forward, _))),
                    "data passed before the stream was forwarded: {:#?}",
                    self.trace
                );
                None
            }
            Step::Pause => {
                assert!(
                    !matches!(self.decided, Some((Expect::Forward, _))),
                    "a forwarded stream was held again: {:#?}",
                    self.trace
                );
                None
            }
        };
        if let Some(verdict) = verdict {
            assert!(self.decided.is_none(), "decided twice: {:#?}", self.trace);
            self.decided = Some((verdict, body_ended));
        }
    }
}

fn world_for(held: Held) -> World {
    match held {
        Held::Body => World::with_keys(),
        Held::Keys => World::new(),
        Held::KidMiss => {
            let mut world = World::with_keys();
            // Past the kid-miss cooldown since the first fetch.
            world.advance(1_100);
            world
        }
    }
}

fn resolve(world: &mut World, fetched: Fetched) -> Vec<u32> {
    match fetched {
        Fetched::NewKeys => world.fetch(Ok(jwks_ab())),
        Fetched::SameKeys => world.fetch(Ok(jwks_a())),
        Fetched::Fails => world.fetch(Err(CalloutFailure::Status("500".into()))),
        Fetched::Never => world.tick(),
    }
}

fn run_case(case: &Case, shape: Shape, fetched: Fetched, resolve_at: usize) -> Run {
    const ID: u32 = 42;
    let mut world = world_for(case.held);
    let auth = case.authorization.as_ref().map(|t| bearer(t));
    let mut headers: Vec<(&str, &[u8])> = vec![("content-type", b"application/json")];
    if let Some(auth) = &auth {
        headers.push(("authorization", auth));
    }
    let mut request = MemoryRequest::new("POST", case.path, &headers);
    let mut run = Run {
        decided: None,
        trace: Vec::new(),
    };
    let mut body_ended = false;
    let events = events(shape, &case.body);
    let count = events.len();
    for (i, event) in events.into_iter().enumerate() {
        if i == resolve_at && case.held != Held::Body {
            let due = resolve(&mut world, fetched);
            for (id, step) in world.resume(&due, &request) {
                assert_eq!(id, ID);
                run.observe("resume", &step, body_ended);
            }
        }
        world.advance(10);
        let step = match &event {
            Event::Headers { end } => {
                body_ended = *end;
                world
                    .engine
                    .on_request_headers(ID, &request, *end, world.now)
            }
            Event::Body { chunk, end } => {
                request.body.extend_from_slice(chunk);
                body_ended = *end;
                let size = request.body.len();
                world
                    .engine
                    .on_request_body(ID, &request, size, *end, world.now)
            }
            Event::Trailers => {
                body_ended = true;
                world.engine.on_request_trailers(ID, &request, world.now)
            }
        };
        run.observe(&format!("{event:?}"), &step, body_ended);
        // The root's tick runs between any two callbacks.
        let due = world.tick();
        for (_, step) in world.resume(&due, &request) {
            run.observe("tick", &step, body_ended);
        }
    }
    if run.decided.is_none() && case.held != Held::Body && resolve_at >= count {
        let due = resolve(&mut world, fetched);
        for (_, step) in world.resume(&due, &request) {
            run.observe("late resume", &step, body_ended);
        }
    }
    if run.decided.is_none() {
        world.advance(KEY_WAIT_MS + 1);
        let due = world.tick();
        for (_, step) in world.resume(&due, &request) {
            run.observe("deadline", &step, body_ended);
        }
    }
    world.engine.on_stream_done(ID);
    assert_eq!(world.engine.streams_in_flight(), 0, "{:#?}", run.trace);
    run
}

#[test]
fn nothing_is_forwarded_before_the_decision_in_any_order_of_events() {
    let mut runs = 0;
    for case in cases() {
        let fetches: &[Fetched] = match case.held {
            Held::Body => &[Fetched::NewKeys],
            _ => &[
                Fetched::NewKeys,
                Fetched::SameKeys,
                Fetched::Fails,
                Fetched::Never,
            ],
        };
        for shape in SHAPES {
            let gaps = events(shape, &case.body).len();
            for &fetched in fetches {
                // The fetch ends after event 1, 2, ... up to after the last one.
                for resolve_at in 1..=gaps {
                    let run = run_case(&case, shape, fetched, resolve_at);
                    let want = (case.expect)(shape, fetched);
                    let context = format!(
                        "{} / {shape:?} / {fetched:?} / fetch ends at {resolve_at}: {:#?}",
                        case.name, run.trace
                    );
                    let (got, body_ended) = run.decided.expect(&context);
                    assert_eq!(got, want, "{context}");
                    if case.held == Held::Body && got == Expect::Forward {
                        assert!(body_ended, "forwarded before the body ended: {context}");
                    }
                    runs += 1;
                }
            }
        }
    }
    assert_eq!(runs, 180);
}
