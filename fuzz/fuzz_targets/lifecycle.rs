//! The request lifecycle: random sequences of host events (headers, body
//! chunks, trailers, ticks, callout answers, stream ends) for a few
//! concurrent streams, into the engine exactly as the glue delivers them.
//!
//! Asserted, besides "no panic": a stream is decided at most once; data
//! passes only after a `Forward`; a `Forward` comes only from an allowing
//! decision that holds for the request as the engine saw it (a per-tool
//! rule's body whole), and that `check_decision` accepts (only fixture
//! tokens, only the filter's own identity headers); a finished stream is
//! never resumed, and the engine forgets every stream that ended.

#![no_main]

use arbitrary::Arbitrary;
use entra_guard::engine::memory::MemoryRequest;
use entra_guard::engine::{CalloutFailure, Step};
use entra_guard::rules::needs_mcp_call;
use entra_guard_fuzz::*;
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
enum Answer {
    Keys,
    EmptyKeySet,
    Status500,
    NoResponse,
    Garbage,
}

#[derive(Arbitrary, Debug)]
enum Op {
    Headers { stream: u8, end: bool },
    Body { stream: u8, bytes: u16, end: bool },
    Trailers { stream: u8 },
    Tick { advance_ms: u16 },
    Answer(Answer),
    Done { stream: u8 },
}

#[derive(Arbitrary, Debug)]
struct Input {
    multi: bool,
    keys_at_start: bool,
    requests: [Vec<u8>; 3],
    ops: Vec<Op>,
}

#[derive(Default, PartialEq, Eq, Clone, Copy, Debug)]
enum Life {
    #[default]
    New,
    Open,
    Ended,
    Gone,
}

#[derive(Default, PartialEq, Eq, Clone, Copy, Debug)]
enum Verdict {
    #[default]
    Undecided,
    Forwarded,
    Answered,
}

struct Stream {
    req: Req,
    source: MemoryRequest,
    life: Life,
    verdict: Verdict,
    per_tool: bool,
}

fuzz_target!(|input: Input| {
    let fx = fixtures();
    let which = if input.multi { Which::Multi } else { Which::Single };
    let mut gw = Gateway::new(fx, which, input.keys_at_start);
    let mut streams: Vec<Stream> = input
        .requests
        .iter()
        .map(|bytes| {
            let req = parse_request(bytes);
            let per_tool = needs_mcp_call(&fx.config(which).rules, &req.path);
            let mut source = req.source();
            source.body.clear();
            Stream { req, source, life: Life::New, verdict: Verdict::Undecided, per_tool }
        })
        .collect();
    let mut answered = gw.host.dispatched.len();
    for op in input.ops.iter().take(64) {
        match *op {
            Op::Headers { stream, end } => {
                let i = stream as usize % streams.len();
                let s = &mut streams[i];
                if s.life != Life::New {
                    continue;
                }
                let end = end || s.req.body.is_none();
                s.life = if end { Life::Ended } else { Life::Open };
                let step = gw.engine.on_request_headers(id(i), &s.source, end, gw.now);
                observe(fx, which, &gw, s, &step);
            }
            Op::Body { stream, bytes, end } => {
                let i = stream as usize % streams.len();
                let s = &mut streams[i];
                if s.life != Life::Open {
                    continue;
                }
                let full = s.req.body.as_deref().unwrap_or_default();
                let have = s.source.body.len();
                let take = if end { full.len() - have } else { (bytes as usize).min(full.len() - have) };
                s.source.body.extend_from_slice(&full[have..have + take]);
                if end {
                    s.life = Life::Ended;
                }
                let size = s.source.body.len();
                let step = gw.engine.on_request_body(id(i), &s.source, size, end, gw.now);
                observe(fx, which, &gw, s, &step);
            }
            Op::Trailers { stream } => {
                let i = stream as usize % streams.len();
                let s = &mut streams[i];
                if s.life != Life::Open {
                    continue;
                }
                // Trailers end the stream; whatever body was not sent never will be.
                s.life = Life::Ended;
                s.req.body = Some(s.source.body.clone());
                let step = gw.engine.on_request_trailers(id(i), &s.source, gw.now);
                observe(fx, which, &gw, s, &step);
            }
            Op::Tick { advance_ms } => {
                gw.now += u64::from(advance_ms);
                let due = gw.engine.on_tick(gw.now, &mut gw.host);
                resume(fx, which, &mut gw, &mut streams, &due);
            }
            Op::Answer(ref answer) => {
                let Some(call) = gw.host.dispatched.get(answered).cloned() else {
                    continue;
                };
                answered += 1;
                let discovery = call.path.contains("openid-configuration");
                let response = match answer {
                    Answer::Keys if discovery => Ok(entra_guard::engine::memory::discovery_for(
                        gw.engine.config(),
                    )),
                    Answer::Keys => Ok(JWKS_JSON.as_bytes().to_vec()),
                    Answer::EmptyKeySet => Ok(br#"{"keys":[]}"#.to_vec()),
                    Answer::Status500 => Err(CalloutFailure::Status("500".into())),
                    Answer::NoResponse => Err(CalloutFailure::NoResponse),
                    Answer::Garbage => Ok(b"{\"jwks_uri\": 5".to_vec()),
                };
                let due = gw.engine.on_callout(call.token, response, gw.now, &mut gw.host);
                resume(fx, which, &mut gw, &mut streams, &due);
            }
            Op::Done { stream } => {
                let i = stream as usize % streams.len();
                if streams[i].life != Life::New && streams[i].life != Life::Gone {
                    streams[i].life = Life::Gone;
                    gw.engine.on_stream_done(id(i));
                }
            }
        }
    }
    for (i, s) in streams.iter().enumerate() {
        if s.life != Life::New && s.life != Life::Gone {
            gw.engine.on_stream_done(id(i));
        }
    }
    assert_eq!(gw.engine.streams_in_flight(), 0, "the engine kept an ended stream");
});

fn id(i: usize) -> u32 {
    i as u32 + 1
}

fn resume(fx: &Fixtures, which: Which, gw: &mut Gateway, streams: &mut [Stream], due: &[u32]) {
    for &sid in due {
        let i = sid as usize - 1;
        let s = &mut streams[i];
        assert!(s.life != Life::Gone && s.life != Life::New, "resumed stream {sid} in {:?}", s.life);
        assert_eq!(s.verdict, Verdict::Undecided, "resumed a decided stream");
        let step = gw.engine.on_resume(sid, &s.source, gw.now);
        observe(fx, which, gw, s, &step);
    }
}

fn observe(fx: &Fixtures, which: Which, gw: &Gateway, s: &mut Stream, step: &Step) {
    match step {
        Step::Pass => assert_eq!(s.verdict, Verdict::Forwarded, "data passed undecided"),
        Step::Pause => assert_ne!(s.verdict, Verdict::Forwarded, "forwarded stream held"),
        Step::Forward(_) | Step::Reply(..) => {
            assert_eq!(s.verdict, Verdict::Undecided, "decided twice: {step:?}");
            if let Step::Reply(r, _) = step {
                assert!(matches!(r.status, 200 | 204 | 400 | 401 | 403 | 413 | 500 | 503), "{}", r.status);
                s.verdict = Verdict::Answered;
                return;
            }
            s.verdict = Verdict::Forwarded;
            let ended_with_body = s.life == Life::Ended && !s.source.body.is_empty();
            if s.per_tool && ended_with_body {
                // The decision read the call: it saw every byte that goes upstream.
                assert_eq!(Some(&s.source.body), s.req.body.as_ref(), "forwarded a partial body");
            }
            assert!(
                !(s.per_tool && s.life == Life::Open),
                "a per-tool request was forwarded before its body ended"
            );
            let mut seen = s.req.clone();
            seen.body = (s.life == Life::Ended).then(|| s.source.body.clone()).filter(|b| !b.is_empty());
            let keys_known = !gw.engine.keys().is_empty();
            check_decision(fx, which, keys_known, &seen, step);
        }
    }
}
