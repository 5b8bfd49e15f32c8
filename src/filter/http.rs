//! Per-request glue: gather headers, call `authorize`, apply the decision;
//! pause for keys and resume from the root when they arrive.

use super::abi::{self, now_ms};
use super::metrics::{subscription_metric, Counter};
use super::state::SharedState;
use super::waiters::{self, BODY_ARRIVAL_MS};
use crate::authorize::{ambiguous_path, authorize, Decision, Env, Request};
use crate::headers::{parse_map, serialize_map, PseudoHeaders};
use crate::keys::RefreshPolicy;
use crate::response::Response;
use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::{Action, MapType};

pub struct Http {
    context_id: u32,
    state: SharedState,
    /// Headers were held back until the body shows the MCP call.
    awaiting_body: bool,
}

impl Http {
    pub fn new(context_id: u32, state: SharedState) -> Http {
        Http {
            context_id,
            state,
            awaiting_body: false,
        }
    }

    /// Decides with the body, pausing for keys when needed.
    fn run(&mut self, now: u64, body: Option<&[u8]>) -> Action {
        let decision = decide(&self.state, now, true, body);
        self.finish(now, decision, body)
    }

    /// Applies a decision; `Pause` after a local reply or while waiting.
    fn finish(&mut self, now: u64, decision: Option<Decision>, body: Option<&[u8]>) -> Action {
        match decision {
            Some(Decision::WaitForKeys(wait)) => {
                if waiters::enqueue(&self.state, self.context_id, wait, now, body.is_some()) {
                    return Action::Pause;
                }
                apply(decide(&self.state, now, false, body))
            }
            decision => apply(decision),
        }
    }

    /// Whether this stream is paused until the key set changes (fail closed
    /// when the state cannot be read).
    fn waiting_for_keys(&self) -> bool {
        self.state.try_borrow().map_or(true, |s| {
            s.waiters.iter().any(|w| w.context_id == self.context_id)
        })
    }
}

impl Context for Http {}

impl HttpContext for Http {
    fn on_http_request_headers(&mut self, _headers: usize, end_of_stream: bool) -> Action {
        let now = now_ms();
        match decide(&self.state, now, true, None) {
            Some(Decision::NeedBody) if end_of_stream => self.run(now, Some(&[])),
            Some(Decision::NeedBody) => {
                self.awaiting_body = true;
                if let Ok(mut s) = self.state.try_borrow_mut() {
                    s.body_waiters
                        .push((self.context_id, now + BODY_ARRIVAL_MS));
                }
                Action::Pause
            }
            decision => self.finish(now, decision, None),
        }
    }

    fn on_http_request_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        if let Ok(mut s) = self.state.try_borrow_mut() {
            s.body_waiters.retain(|(id, _)| *id != self.context_id);
        }
        if !self.awaiting_body {
            // With Envoy's `allow_on_headers_stop_iteration` the body arrives while
            // the headers wait for keys: it must wait with them, not go upstream.
            return if self.waiting_for_keys() {
                Action::Pause
            } else {
                Action::Continue
            };
        }
        let limit = self
            .state
            .try_borrow()
            .map_or(0, |s| s.config.mcp_max_body_bytes);
        if body_size > limit {
            self.awaiting_body = false;
            return apply(Some(too_large()));
        }
        if !end_of_stream {
            return Action::Pause;
        }
        self.awaiting_body = false;
        let body = abi::request_body(body_size).unwrap_or_default();
        self.run(now_ms(), Some(&body))
    }
}

/// Stands in if Envoy ever creates a stream for a VM whose configuration
/// was refused: fail closed rather than panic in the SDK.
pub struct Unconfigured;

impl Context for Unconfigured {}

impl HttpContext for Unconfigured {
    fn on_http_request_headers(&mut self, _headers: usize, _end_of_stream: bool) -> Action {
        send_plain(500, b"entra-guard is not configured\n");
        Action::Pause
    }
}

impl Drop for Http {
    fn drop(&mut self) {
        if let Ok(mut s) = self.state.try_borrow_mut() {
            s.waiters.retain(|w| w.context_id != self.context_id);
            s.body_waiters.retain(|(id, _)| *id != self.context_id);
        }
    }
}

fn allowed_metric(via: &str) -> Counter {
    match via {
        "jwt" => Counter::AllowedJwt,
        "subscription_key" => Counter::AllowedSubscriptionKey,
        "jwt_and_subscription_key" => Counter::AllowedJwtAndSubscriptionKey,
        "public" => Counter::AllowedPublic,
        _ => Counter::AllowedPreflight,
    }
}

fn too_large() -> Decision {
    let response =
        crate::challenge::bad_request_response("the request body is too large to authorize");
    Decision::Respond {
        response: std::rc::Rc::new(Response {
            status: 413,
            ..response
        }),
        reason: "invalid_request",
    }
}

/// Reads the request and decides; `None` when the host gave no headers.
pub(super) fn decide(
    state: &SharedState,
    now: u64,
    may_wait: bool,
    body: Option<&[u8]>,
) -> Option<Decision> {
    let map = abi::request_header_map()?;
    let headers = parse_map(&map)?;
    let pseudo = PseudoHeaders::read(&headers);
    let request = Request {
        method: pseudo.method,
        path: pseudo.path,
        headers: &headers,
        has_body: body.is_some() || pseudo.method == "POST",
        body,
    };
    let mut s = state.try_borrow_mut().ok()?;
    let s = &mut *s;
    let retry_after_seconds = RefreshPolicy::retry_after_seconds(&s.last_status, now);
    let keys = s.keys.clone();
    let config = s.config.clone();
    let prepared = s.prepared.clone();
    let mut env = Env {
        config: &config,
        prepared: &prepared,
        keys: &keys,
        verifier: s.backend.verifier(),
        cache: &mut s.cache,
        now_ms: now,
        may_wait,
        retry_after_seconds,
    };
    let decision = if pseudo.unreadable_path {
        ambiguous_path()
    } else {
        authorize(&request, &mut env)
    };
    let metrics = &mut s.metrics;
    match &decision {
        Decision::Allow(a) => {
            metrics.count(Counter::Allowed);
            metrics.count(allowed_metric(a.via));
            if let Some(name) = &a.subscription {
                metrics.inc(&subscription_metric(name));
            }
            if a.via.starts_with("jwt") {
                metrics.count(if a.cache_hit {
                    Counter::TokenCacheHit
                } else {
                    Counter::TokenCacheMiss
                });
            }
        }
        Decision::Respond {
            reason: "metadata", ..
        } => metrics.count(Counter::MetadataServed),
        Decision::Respond { reason, .. } => {
            metrics.denied(reason);
        }
        Decision::WaitForKeys(_) | Decision::NeedBody => {}
    }
    Some(decision)
}

/// Applies a final decision to the current (effective) stream.
pub(super) fn apply(decision: Option<Decision>) -> Action {
    match decision {
        Some(Decision::Allow(allowed)) => {
            for name in &allowed.remove_headers {
                let _ = hostcalls::remove_map_value(MapType::HttpRequestHeaders, name);
            }
            for (name, value) in &allowed.set_headers {
                let _ = hostcalls::set_map_value(MapType::HttpRequestHeaders, name, Some(value));
            }
            if let Some(path) = &allowed.new_path {
                let _ = hostcalls::set_map_value(MapType::HttpRequestHeaders, ":path", Some(path));
            }
            Action::Continue
        }
        Some(Decision::Respond { response, .. }) => {
            send(&response);
            Action::Pause
        }
        Some(Decision::WaitForKeys(_) | Decision::NeedBody) | None => {
            // Fail closed: a request we cannot read or decide is refused.
            send_plain(500, b"authorization failed\n");
            Action::Pause
        }
    }
}

fn send(response: &Response) {
    abi::send_local_response(response.status, response.header_map(), &response.body);
}

pub(super) fn send_plain(status: u32, body: &[u8]) {
    let headers = serialize_map([("content-type", &b"text/plain"[..])]);
    abi::send_local_response(status, &headers, body);
}
