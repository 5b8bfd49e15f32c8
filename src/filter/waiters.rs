//! Requests held by the filter: waiting for signing keys (resumed from the
//! root context when keys change, a fetch ends, or their deadline passes)
//! and waiting for a body that Envoy may never deliver.

use super::abi;
use super::http::{apply, decide, send_plain};
use super::metrics::Counter;
use super::state::{SharedState, Waiter, MAX_WAITERS};
use crate::authorize::KeyWait;
use proxy_wasm::hostcalls;
use proxy_wasm::types::Action;

/// How long the first body bytes may take after the headers were held.
/// Without Envoy's `allow_on_headers_stop_iteration` they never come.
pub const BODY_ARRIVAL_MS: u64 = 10_000;

/// Answers requests whose body never reached the filter, and says why once.
pub fn expire_body_waiters(state: &SharedState, now: u64) {
    let (expired, warn) = {
        let Ok(mut s) = state.try_borrow_mut() else {
            return;
        };
        let mut expired = Vec::new();
        s.body_waiters.retain(|&(id, deadline)| {
            let waiting = deadline > now;
            if !waiting {
                expired.push((id, ()));
            }
            waiting
        });
        if expired.is_empty() {
            return;
        }
        let warn = !s.warned_missing_body;
        s.warned_missing_body = true;
        (expired, warn)
    };
    if warn {
        super::host::log(
            proxy_wasm::types::LogLevel::Error,
            "a request body never reached the filter: per-tool rules (mcp_methods, mcp_tools) \
             need allow_on_headers_stop_iteration: true in the Wasm filter config",
        );
    }
    on_streams(state, expired, |_| {
        send_plain(
            500,
            b"the request body did not reach the authorization filter\n",
        );
    });
}

/// Runs `act` as each stream that still exists (made the effective
/// context first), then makes the root context effective again.
fn on_streams<T>(state: &SharedState, streams: Vec<(u32, T)>, mut act: impl FnMut(T)) {
    let root = state.try_borrow().map(|s| s.root_context_id).unwrap_or(0);
    for (context_id, item) in streams {
        if hostcalls::set_effective_context(context_id).is_ok() {
            act(item);
        }
    }
    if root != 0 {
        let _ = hostcalls::set_effective_context(root);
    }
}

pub fn enqueue(
    state: &SharedState,
    context_id: u32,
    wait: KeyWait,
    now: u64,
    with_body: bool,
) -> bool {
    let Ok(mut s) = state.try_borrow_mut() else {
        return false;
    };
    if s.waiters.len() >= MAX_WAITERS || s.config.entra.key_wait_ms == 0 {
        return false;
    }
    if wait == KeyWait::UnknownKid {
        s.kid_miss = true;
    }
    let deadline_ms = now + s.config.entra.key_wait_ms;
    let generation = s.keys.generation();
    s.waiters.push(Waiter {
        kind: wait,
        context_id,
        deadline_ms,
        generation,
        with_body,
    });
    s.metrics.count(Counter::RequestsWaitedForKeys);
    true
}

/// Decides again for paused requests whose wait is over: keys changed,
/// no fetch is in flight anywhere, or their deadline passed.
pub fn resolve_waiters(state: &SharedState, now: u64) {
    let ready: Vec<(u32, bool)> = {
        let Ok(mut s) = state.try_borrow_mut() else {
            return;
        };
        if s.waiters.is_empty() {
            return;
        }
        let generation = s.keys.generation();
        let fetching =
            s.last_status.lease_until > now || !matches!(s.fetch, super::state::Fetch::Idle);
        // A rate-limited kid-miss re-fetch that will start in time keeps
        // its requests waiting.
        let refetch_at = s
            .kid_miss
            .then(|| s.policy.kid_miss_allowed_at(&s.last_status));
        let mut ready = Vec::new();
        s.waiters.retain(|w| {
            let scheduled =
                w.kind == KeyWait::UnknownKid && refetch_at.is_some_and(|at| at <= w.deadline_ms);
            let done =
                w.generation != generation || now >= w.deadline_ms || !(fetching || scheduled);
            if done {
                ready.push((w.context_id, w.with_body));
            }
            !done
        });
        ready
    };
    on_streams(state, ready, |with_body| {
        let body = with_body.then(|| abi::request_body(usize::MAX).unwrap_or_default());
        let decision = decide(state, now, false, body.as_deref());
        if let Action::Continue = apply(decision) {
            abi::resume_request();
        }
    });
}
