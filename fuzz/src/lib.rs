//! Shared fixtures, the seed request format and the invariants the fuzz
//! targets assert.
//!
//! Fixed key material: `fixtures/jwks.json` holds only public keys; their
//! private halves were discarded by `gen_fixtures.py` after signing the
//! tokens in `fixtures/tokens.json`. The fuzzer cannot sign anything, so
//! every token the filter accepts must be one of those tokens, verbatim.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use entra_guard::authorize::{Allowed, Via};
use entra_guard::config::{self, Config};
use entra_guard::engine::memory::{load_keys, MemoryHost, MemoryRequest};
use entra_guard::engine::{Engine, Step};
use entra_guard::credentials::{find_bearer, Bearer};
use entra_guard::headers::Header;
use entra_guard::keys::{parse_jwks, KeySet, RsaKey};
use entra_guard::replies::Response;
use entra_guard::signature::{RustVerifier, SignatureVerifier};
use entra_guard::subscription::{find_key, strip_query_param, KeyPresence};
use entra_guard::token::{check_claims, verify, TokenError, UntrustedToken, VerifiedToken};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// The fixed clock (seconds): every fixture token is judged at this time.
pub const NOW: u64 = 1_800_000_000;
pub const NOW_MS: u64 = NOW * 1000;

pub const JWKS_JSON: &str = include_str!("../fixtures/jwks.json");
pub const CONFIG_SINGLE_JSON: &str = include_str!("../fixtures/config-single.json");
pub const CONFIG_MULTI_JSON: &str = include_str!("../fixtures/config-multi.json");
const TOKENS_JSON: &str = include_str!("../fixtures/tokens.json");
const SUB_KEYS_JSON: &str = include_str!("../fixtures/subscription-keys.json");

/// Which fixture configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    /// One tenant, client ids, subscription keys (header + query), MCP, rules.
    Single,
    /// `allowed_tenants`, header-only keys, a token cache of 4.
    Multi,
}

pub struct FixtureToken {
    pub name: String,
    pub token: String,
    /// "ok" or the `TokenError` variant name, per configuration.
    pub single: String,
    pub multi: String,
}

pub struct Fixtures {
    pub single: Config,
    pub multi: Config,
    pub keys: KeySet,
    pub tokens: Vec<FixtureToken>,
    /// Subscription key plaintext -> subscription name.
    pub sub_keys: BTreeMap<String, String>,
}

impl Fixtures {
    pub fn config(&self, which: Which) -> &Config {
        match which {
            Which::Single => &self.single,
            Which::Multi => &self.multi,
        }
    }

    /// Whether `token` is, byte for byte, a fixture token valid under `which`.
    pub fn is_valid_token(&self, which: Which, token: &[u8]) -> bool {
        self.tokens.iter().any(|t| {
            t.token.as_bytes() == token
                && match which {
                    Which::Single => t.single == "ok",
                    Which::Multi => t.multi == "ok",
                }
        })
    }
}

/// Parsed once; checks on first use that every fixture token still gets
/// the outcome `gen_fixtures.py` recorded (so the fixtures cannot rot).
pub fn fixtures() -> &'static Fixtures {
    static FIXTURES: OnceLock<Fixtures> = OnceLock::new();
    FIXTURES.get_or_init(|| {
        let tokens: Vec<serde_json::Value> = serde_json::from_str(TOKENS_JSON).unwrap();
        let tokens = tokens
            .iter()
            .map(|t| FixtureToken {
                name: t["name"].as_str().unwrap().to_string(),
                token: t["token"].as_str().unwrap().to_string(),
                single: t["single"].as_str().unwrap().to_string(),
                multi: t["multi"].as_str().unwrap().to_string(),
            })
            .collect();
        let fx = Fixtures {
            single: config::parse(CONFIG_SINGLE_JSON.as_bytes()).unwrap(),
            multi: config::parse(CONFIG_MULTI_JSON.as_bytes()).unwrap(),
            keys: fixture_keys(),
            tokens,
            sub_keys: serde_json::from_str(SUB_KEYS_JSON).unwrap(),
        };
        for t in &fx.tokens {
            for (which, want) in [(Which::Single, &t.single), (Which::Multi, &t.multi)] {
                let got = match validate(t.token.as_bytes(), fx.config(which), &fx.keys) {
                    Ok(_) => "ok".to_string(),
                    Err(e) => format!("{e:?}"),
                };
                assert_eq!(&got, want, "fixture token {} under {which:?}", t.name);
            }
        }
        fx
    })
}

pub fn fixture_keys() -> KeySet {
    KeySet::new(parse_jwks(JWKS_JSON.as_bytes()).unwrap().keys, NOW_MS, 1)
}

/// `RustVerifier` with a memory: a fixture token checked for several
/// routes and configurations costs one RSA operation per input, not ten
/// (cargo-fuzz instruments the big-number loops, which makes each
/// verification slow). RSA verification is a pure function, so this
/// changes no answer.
#[derive(Debug, Default)]
pub struct MemoVerifier;

type MemoKey = (Vec<u8>, Vec<u8>, Vec<u8>);

thread_local! {
    static MEMO: std::cell::RefCell<std::collections::HashMap<MemoKey, bool>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

impl SignatureVerifier for MemoVerifier {
    fn verify_rs256(&self, key: &RsaKey, message: &[u8], signature: &[u8]) -> bool {
        let k = (key.spki_der.clone(), message.to_vec(), signature.to_vec());
        if let Some(hit) = MEMO.with(|m| m.borrow().get(&k).copied()) {
            return hit;
        }
        let ok = RustVerifier.verify_rs256(key, message, signature);
        MEMO.with(|m| {
            let mut m = m.borrow_mut();
            if m.len() >= 256 {
                m.clear();
            }
            m.insert(k, ok);
        });
        ok
    }
}

/// Full validation as the filter does it: parse, cheap claim checks, key
/// lookup, signature (pure Rust), the key's issuer.
pub fn validate(token: &[u8], cfg: &Config, keys: &KeySet) -> Result<VerifiedToken, TokenError> {
    let untrusted = UntrustedToken::parse(token, cfg.entra.max_token_bytes)?;
    check_claims(untrusted.unverified_claims(), &cfg.entra, NOW)?;
    let key = keys.find(untrusted.kid()).ok_or(TokenError::UnknownKey)?;
    verify(untrusted, key, &MemoVerifier)
}

// ------------------------------------------------------------------ requests

/// A request in the seed format:
///
/// ```text
/// METHOD PATH\n          (no space: the whole line is the path, method GET)
/// name: value\n          (zero or more; names lowercased as Envoy does;
///                          one space after the colon is dropped)
/// \n                     (optional: what follows is the body)
/// body
/// ```
#[derive(Debug, Clone)]
pub struct Req {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Option<Vec<u8>>,
}

impl Req {
    /// The request as the proxy holds it once every byte has arrived.
    pub fn source(&self) -> MemoryRequest {
        let mut headers = vec![
            (":method".to_string(), self.method.as_bytes().to_vec()),
            (":path".to_string(), self.path.as_bytes().to_vec()),
        ];
        headers.extend(self.headers.iter().cloned());
        MemoryRequest {
            headers,
            body: self.body.clone().unwrap_or_default(),
        }
    }

    /// The headers as the core takes them (borrowed, like the glue's).
    pub fn view(&self) -> Vec<Header<'_>> {
        view(&self.headers)
    }

    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
    }

    pub fn headers_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
    }
}

pub fn parse_request(data: &[u8]) -> Req {
    let (first, rest) = split_line(data);
    let first = String::from_utf8_lossy(first);
    let (method, path) = match first.split_once(' ') {
        Some((m, p)) => (m.to_string(), p.to_string()),
        None => ("GET".to_string(), first.to_string()),
    };
    let (headers, body) = parse_header_block(rest.unwrap_or(b""));
    Req {
        method,
        path,
        headers,
        body,
    }
}

/// Request headers as the glue hands them over: (lowercase name, raw value).
pub type Headers = Vec<(String, Vec<u8>)>;

/// Owned headers borrowed the way the core takes them.
pub fn view(headers: &Headers) -> Vec<Header<'_>> {
    headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_slice()))
        .collect()
}

/// Header lines up to an empty line; the rest (if there was an empty line)
/// is the body.
pub fn parse_header_block(mut data: &[u8]) -> (Headers, Option<Vec<u8>>) {
    let mut headers = Vec::new();
    loop {
        if data.is_empty() {
            return (headers, None);
        }
        let (line, rest) = split_line(data);
        if line.is_empty() {
            return (headers, Some(rest.unwrap_or(b"").to_vec()));
        }
        let (name, value) = match line.iter().position(|b| *b == b':') {
            Some(i) => (&line[..i], &line[i + 1..]),
            None => (line, &b""[..]),
        };
        let value = value.strip_prefix(b" ").unwrap_or(value);
        let name = String::from_utf8_lossy(name).trim().to_ascii_lowercase();
        headers.push((name, value.to_vec()));
        data = rest.unwrap_or(b"");
    }
}

fn split_line(data: &[u8]) -> (&[u8], Option<&[u8]>) {
    match data.iter().position(|b| *b == b'\n') {
        Some(i) => (&data[..i], Some(&data[i + 1..])),
        None => (data, None),
    }
}

// ------------------------------------------------------------- invariants

/// Header values the filter emits: no control characters (CR, LF, NUL...),
/// so nothing can split or smuggle a header.
pub fn assert_header_safe(name: &str, value: &str) {
    const TCHAR: &[u8] = b"!#$%&'*+-.^_`|~";
    assert!(
        !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || TCHAR.contains(&b)),
        "bad header name {name:?}"
    );
    assert!(
        value
            .bytes()
            .all(|b| b == b'\t' || (b >= 0x20 && b != 0x7f)),
        "control character in header {name}: {value:?}"
    );
}

pub fn assert_response_sane(r: &Response) {
    for (n, v) in &r.headers {
        assert_header_safe(n, v);
    }
    if r.header("content-type") == Some("application/json") {
        serde_json::from_slice::<serde_json::Value>(&r.body).expect("JSON body");
    }
    match r.status {
        200 | 204 | 400 | 401 | 403 | 503 => {}
        s => panic!("unexpected status {s}"),
    }
    if matches!(r.status, 401 | 403) {
        let c = r
            .header("www-authenticate")
            .expect("401/403 need a challenge");
        assert!(
            c.starts_with("Bearer") || c.starts_with("AzureApiManagementKey"),
            "{c}"
        );
    }
    if r.status == 403 {
        assert!(r
            .header("www-authenticate")
            .is_some_and(|c| c.contains("error=\"insufficient_scope\"")));
    }
    if r.status == 503 {
        assert!(r.header("retry-after").is_some());
    }
}

/// One worker VM as Envoy runs it: the engine (the same decision loop as
/// the filter's), an in-memory host, a clock frozen at `NOW`.
pub struct Gateway {
    pub engine: Engine,
    pub host: MemoryHost,
    pub now: u64,
    next_id: u32,
}

impl Gateway {
    /// With the fixture keys fetched (`keys_known`) or none at all.
    pub fn new(fx: &Fixtures, which: Which, keys_known: bool) -> Gateway {
        let config = fx.config(which).clone();
        let mut engine = Engine::new(config, Box::new(MemoVerifier), 1);
        let mut host = MemoryHost::new();
        engine.on_configure(&mut host);
        if keys_known {
            assert!(load_keys(&mut engine, &mut host, JWKS_JSON.as_bytes(), NOW_MS));
        }
        Gateway {
            engine,
            host,
            now: NOW_MS,
            next_id: 0,
        }
    }

    /// Sends `req` as one stream (headers, then its body if it has one)
    /// and returns the decisive step, waiting out a key wait if needed.
    pub fn send(&mut self, req: &Req) -> Step {
        self.next_id += 1;
        let id = self.next_id;
        let mut source = req.source();
        let body = source.body.split_off(0);
        let mut step = self
            .engine
            .on_request_headers(id, &source, body.is_empty() && req.body.is_none(), self.now);
        if step == Step::Pause && req.body.is_some() {
            source.body = body;
            let size = source.body.len();
            step = self.engine.on_request_body(id, &source, size, true, self.now);
        }
        if step == Step::Pause {
            // Held for keys: the wait runs out (nobody answers the fetch).
            let later = self.now + self.engine.config().entra.key_wait_ms + 1;
            for id in self.engine.on_tick(later, &mut self.host) {
                if id == self.next_id {
                    step = self.engine.on_resume(id, &source, later);
                }
            }
        }
        self.engine.on_stream_done(id);
        step
    }
}

/// Whether serde_json's `Value` refuses what serde's typed readers accept
/// in members they skip (serde_json ignores those without recursing, without
/// decoding `\u` escapes and without converting numbers, so deep nesting,
/// lone surrogates and `1e999` pass there): then there is nothing to compare.
pub fn value_stricter(e: &serde_json::Error) -> bool {
    let m = e.to_string();
    m.starts_with("recursion limit exceeded")
        || m.contains("unicode code point")
        || m.contains("surrogate")
        || m.contains("hex escape")
        || m.starts_with("number out of range")
}

/// Every invariant of one decision on one request under one configuration.
pub fn check_decision(fx: &Fixtures, which: Which, keys_known: bool, req: &Req, d: &Step) {
    let cfg = fx.config(which);
    let headers = req.view();
    let bearer = find_bearer(&headers);
    match d {
        Step::Forward(a) => check_allowed(fx, which, keys_known, req, a, bearer),
        Step::Reply(response, _) => {
            assert_response_sane(response);
            if response.status == 403 {
                // Permissions are checked only on a verified token.
                let Bearer::Token(t) = bearer else {
                    panic!("403 without one bearer token")
                };
                assert!(keys_known && fx.is_valid_token(which, t), "403 for {t:?}");
            }
            if response.status == 200 {
                assert!(cfg.mcp.is_some() && matches!(req.method.as_str(), "GET" | "HEAD"));
            }
        }
        Step::Pause | Step::Pass => panic!("{d:?}: the stream was never decided"),
    }
}

fn check_allowed(
    fx: &Fixtures,
    which: Which,
    keys_known: bool,
    req: &Req,
    a: &Allowed,
    bearer: Bearer<'_>,
) {
    let cfg = fx.config(which);
    if a.via.has_token() {
        // THE invariant: only a fixture token, verbatim, can be accepted.
        let Bearer::Token(t) = bearer else {
            panic!("JWT allow ({:?}) without one bearer token", a.via)
        };
        assert!(
            keys_known && fx.is_valid_token(which, t),
            "accepted a token that is not a valid fixture token: {:?}",
            String::from_utf8_lossy(t)
        );
    } else {
        assert!(!a.cache_hit);
    }
    let sub = cfg.subscription.as_ref();
    if matches!(a.via, Via::SubscriptionKey | Via::JwtAndSubscriptionKey) {
        let sub = sub.expect("subscription allow without subscription config");
        let headers = req.view();
        let KeyPresence::Present(c) = find_key(sub, &headers, &req.path) else {
            panic!("subscription allow without one key")
        };
        let plain = std::str::from_utf8(&c).expect("a known key is ASCII");
        let name = fx
            .sub_keys
            .get(plain)
            .unwrap_or_else(|| panic!("accepted unknown subscription key {plain:?}"));
        let digest: [u8; 32] = Sha256::digest(plain.as_bytes()).into();
        assert!(sub.keys.iter().any(|k| k.sha256 == digest));
        assert_eq!(a.subscription.as_deref(), Some(name.as_str()));
    } else {
        assert_eq!(a.subscription, None);
    }
    // Headers the filter owns: client copies always removed, only ours set.
    let mut owned: Vec<&str> = cfg
        .claims_to_headers
        .iter()
        .map(|(_, h)| h.as_str())
        .collect();
    if let Some(sub) = sub {
        owned.push(&sub.name_header);
    }
    let mut removable = owned.clone();
    if let Some(sub) = sub {
        // Keys never travel upstream, whichever credential admitted the request.
        removable.push(&sub.header);
    }
    // Names as an upstream reads them: any case, `_` for `-`.
    let norm = |n: &str| n.to_ascii_lowercase().replace('_', "-");
    let is_removable = |n: &str| removable.iter().any(|h| norm(h) == norm(n));
    for (n, _) in &req.headers {
        if is_removable(n) {
            assert!(a.remove_headers.iter().any(|r| r == n), "{n} kept");
        }
    }
    for r in &a.remove_headers {
        // `authorization`: a rule with `upstream_authorization: remove`.
        assert!(
            is_removable(r) || r.eq_ignore_ascii_case("authorization"),
            "removes foreign header {r}"
        );
    }
    for (n, v) in &a.set_headers {
        assert!(owned.contains(&n.as_str()), "sets foreign header {n}");
        assert!(
            !v.is_empty() && v.bytes().all(|b| (b' '..0x7f).contains(&b)),
            "unsafe value for {n}: {v:?}"
        );
    }
    let want_path = sub
        .and_then(|s| s.query.as_deref())
        .and_then(|p| strip_query_param(&req.path, p));
    assert_eq!(a.new_path, want_path);
    if let Some(p) = &a.new_path {
        assert!(p.len() < req.path.len());
    }
    if a.via == Via::Preflight {
        // Fetch's definition: OPTIONS, Origin and Access-Control-Request-Method, no body.
        let has = |h: &str| req.headers.iter().any(|(n, _)| n == h);
        assert_eq!(req.method, "OPTIONS");
        assert!(has("origin") && has("access-control-request-method"));
        assert!(req.body.is_none(), "preflight with a body");
    }
}

/// A step with the cache flag cleared, to compare a cold and a warm run.
pub fn without_cache_flag(d: &Step) -> Step {
    match d {
        Step::Forward(a) => Step::Forward(Allowed {
            cache_hit: false,
            ..a.clone()
        }),
        other => other.clone(),
    }
}

/// Decides `req` under `which`: with the fixture keys (cold, then warm
/// cache: same answer) and with no keys at all (never a JWT allow).
pub fn check_request(fx: &Fixtures, which: Which, req: &Req) {
    let mut gateway = Gateway::new(fx, which, true);
    check_request_with(fx, which, req, &mut gateway);
}

/// `check_request` on a gateway that may already have cached tokens (a
/// token verified for one route is a cache hit on the next).
pub fn check_request_with(fx: &Fixtures, which: Which, req: &Req, gateway: &mut Gateway) {
    let cold = gateway.send(req);
    check_decision(fx, which, true, req, &cold);
    let warm = gateway.send(req);
    check_decision(fx, which, true, req, &warm);
    assert_eq!(without_cache_flag(&cold), without_cache_flag(&warm));
    let d = Gateway::new(fx, which, false).send(req);
    check_decision(fx, which, false, req, &d);
}

// ------------------------------------------------------- reference models

/// Percent-decoding as documented in `subscription::query`: `%XY` with two
/// hex digits is one byte, anything else stays as it is.
pub fn percent_decode(raw: &[u8]) -> Vec<u8> {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'%' {
            if let (Some(h), Some(l)) = (
                raw.get(i + 1).copied().and_then(hex),
                raw.get(i + 2).copied().and_then(hex),
            ) {
                out.push(h * 16 + l);
                i += 3;
                continue;
            }
        }
        out.push(raw[i]);
        i += 1;
    }
    out
}

/// Whether a raw query parameter (`name[=value]`) is named `param`.
pub fn param_is(pair: &str, param: &str) -> bool {
    let name = match pair.find('=') {
        Some(i) => &pair[..i],
        None => pair,
    };
    !param.is_empty() && percent_decode(name.as_bytes()) == param.as_bytes()
}

/// Reference for `strip_query_param`.
pub fn model_strip(raw_path: &str, param: &str) -> Option<String> {
    let q = raw_path.find('?')?;
    let (path, query) = (&raw_path[..q], &raw_path[q + 1..]);
    let pairs: Vec<&str> = query.split('&').collect();
    let kept: Vec<&str> = pairs
        .iter()
        .copied()
        .filter(|p| !param_is(p, param))
        .collect();
    if kept.len() == pairs.len() {
        return None;
    }
    let joined = kept.join("&");
    Some(if joined.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{joined}")
    })
}

/// Reference for `find_bearer` (RFC 6750 §2.1, one credential only): a
/// value whose scheme is `bearer` is exactly `Bearer`, spaces and a
/// `b64token`, or it is malformed.
pub fn model_bearer(headers: &[(String, Vec<u8>)]) -> Bearer<'_> {
    let auth: Vec<&[u8]> = headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("authorization"))
        .map(|(_, v)| v.as_slice())
        .collect();
    match auth.len() {
        0 => return Bearer::Absent,
        1 => {}
        _ => return Bearer::Multiple,
    }
    let ows = |b: &u8| *b == b' ' || *b == b'\t';
    let loose = |b: &u8| *b <= b' ' || *b >= 0x7f;
    let trim = |v: &'_ [u8], f: &dyn Fn(&u8) -> bool| -> (usize, usize) {
        let start = v.iter().position(|b| !f(b)).unwrap_or(v.len());
        let end = v.iter().rposition(|b| !f(b)).map_or(start, |i| i + 1);
        (start, end)
    };
    let (s, e) = trim(auth[0], &ows);
    let v = &auth[0][s..e];
    let tchar = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    let is_bearer = |c: &[u8]| {
        let (s, e) = trim(c, &loose);
        let c = &c[s..e];
        c.len() >= 6
            && c[..6].eq_ignore_ascii_case(b"bearer")
            && c.get(6).is_none_or(|b| !tchar(*b))
    };
    // Envoy joins repeated lines with commas: a bearer credential in any
    // later element is a second credential, whatever the first one is.
    if v.split(|b| *b == b',').skip(1).any(is_bearer) {
        return Bearer::Multiple;
    }
    if !is_bearer(v) {
        return Bearer::Absent;
    }
    if v.first().is_some_and(loose) || v.last().is_some_and(loose) {
        return Bearer::Malformed;
    }
    let rest = &v[6..];
    let s = rest.iter().position(|b| *b != b' ').unwrap_or(rest.len());
    if s == 0 && !rest.is_empty() {
        return Bearer::Malformed;
    }
    let token = &rest[s..];
    if token.iter().any(|b| *b == b' ' || *b == b',') {
        return Bearer::Multiple;
    }
    let pad = token.iter().rev().take_while(|b| **b == b'=').count();
    let chars = &token[..token.len() - pad];
    let b64 = !chars.is_empty()
        && chars
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(b));
    if token.is_empty() || b64 {
        Bearer::Token(token)
    } else {
        Bearer::Malformed
    }
}
