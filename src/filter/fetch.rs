//! Discovery then JWKS through `dispatch_http_call` on the root context.
//! Only the VM holding the shared lease fetches; the result goes to shared
//! data for every worker.

use super::abi::now_ms;
use super::host::{log, shared_get, shared_set};
use super::metrics::Counter;
use super::state::{Fetch, VmState};
use crate::keys::{
    parse_discovery, parse_jwks, FetchReason, KeySet, RefreshPolicy, SharedKeys, SharedStatus,
    MAX_DOCUMENT_BYTES,
};
use proxy_wasm::hostcalls;
use proxy_wasm::types::{BufferType, LogLevel, MapType, Status};
use std::rc::Rc;
use std::time::Duration;

/// Sends a GET to the authority's cluster; the root context implements it
/// so the response comes back to the root.
pub trait Dispatch {
    fn get(
        &self,
        cluster: &str,
        authority: &str,
        path: &str,
        timeout: Duration,
    ) -> Result<u32, Status>;
}

pub fn start(
    state: &mut VmState,
    lease: SharedStatus,
    reason: FetchReason,
    dispatch: &dyn Dispatch,
) {
    let entra = &state.config.entra;
    let path = format!(
        "/{}/v2.0/.well-known/openid-configuration",
        entra.discovery_tenant
    );
    log(
        LogLevel::Info,
        &format!("fetching signing keys ({reason:?}): discovery {path}"),
    );
    match dispatch.get(&entra.cluster, &entra.authority_host, &path, timeout(state)) {
        Ok(token) => state.fetch = Fetch::Discovery { token, lease },
        Err(status) => {
            let why = format!(
                "cannot call cluster \"{}\" ({status:?}); is it defined?",
                entra.cluster
            );
            fail(state, &lease, &why);
        }
    }
}

/// `num_headers` is 0 when Envoy reports a failed callout (a reset, also after
/// the response headers arrived, or a body over Envoy's buffer limit): there is
/// no response header map then, and reading it would panic in the SDK.
pub fn on_response(
    state: &mut VmState,
    token: u32,
    num_headers: usize,
    body_size: usize,
    dispatch: &dyn Dispatch,
) {
    match std::mem::replace(&mut state.fetch, Fetch::Idle) {
        Fetch::Discovery { token: t, lease } if t == token => {
            let body = match read_response(num_headers, body_size) {
                Ok(body) => body,
                Err(why) => return fail(state, &lease, &format!("discovery: {why}")),
            };
            let entra = &state.config.entra;
            let discovery = match parse_discovery(&body, &entra.discovery_issuer, &entra.jwks_hosts)
            {
                Ok(d) => d,
                Err(e) => return fail(state, &lease, &e.to_string()),
            };
            match dispatch.get(
                &state.config.entra.cluster,
                &discovery.jwks_host,
                &discovery.jwks_path,
                timeout(state),
            ) {
                Ok(token) => state.fetch = Fetch::Jwks { token, lease },
                Err(status) => fail(state, &lease, &format!("jwks call failed ({status:?})")),
            }
        }
        Fetch::Jwks { token: t, lease } if t == token => {
            let body = match read_response(num_headers, body_size) {
                Ok(body) => body,
                Err(why) => return fail(state, &lease, &format!("jwks: {why}")),
            };
            match parse_jwks(&body) {
                Ok(parsed) => {
                    for skipped in &parsed.skipped {
                        log(LogLevel::Info, &format!("jwks: ignored {skipped}"));
                    }
                    let jwks = String::from_utf8_lossy(&body).into_owned();
                    succeed(state, &lease, jwks, parsed.keys);
                }
                Err(e) => fail(state, &lease, &e.to_string()),
            }
        }
        other => state.fetch = other,
    }
}

/// Our lease expired without an answer (Envoy enforces the timeout, so this
/// only happens if a response was lost).
pub fn expire_if_stale(state: &mut VmState, now: u64) {
    let stale = match &state.fetch {
        Fetch::Discovery { lease, .. } | Fetch::Jwks { lease, .. } => now > lease.lease_until,
        Fetch::Idle => false,
    };
    if stale {
        if let Fetch::Discovery { lease, .. } | Fetch::Jwks { lease, .. } =
            std::mem::replace(&mut state.fetch, Fetch::Idle)
        {
            fail(state, &lease, "no response before the lease expired");
        }
    }
}

const NO_RESPONSE: &str = "no response (timeout, reset or connection failure)";

fn timeout(state: &VmState) -> Duration {
    Duration::from_millis(state.config.entra.fetch_timeout_ms)
}

/// The callout's body if it answered 200 within the size bound. A failed
/// callout arrives with no headers at all: Envoy then has no response header
/// map, and `get_map_value_bytes` panics on the `BadArgument` it answers
/// (Envoy itself answers a timeout with a 504 and a connection failure or a
/// reset before any header with a 503).
fn read_response(num_headers: usize, body_size: usize) -> Result<Vec<u8>, String> {
    if num_headers == 0 {
        return Err(NO_RESPONSE.into());
    }
    let status = hostcalls::get_map_value_bytes(MapType::HttpCallResponseHeaders, ":status")
        .ok()
        .flatten();
    match status.as_deref() {
        Some(b"200") => {}
        Some(other) => {
            let shown: String = String::from_utf8_lossy(other).chars().take(3).collect();
            return Err(format!("status {shown}"));
        }
        None => return Err(NO_RESPONSE.into()),
    }
    if body_size > MAX_DOCUMENT_BYTES {
        return Err(format!(
            "response of {body_size} bytes exceeds {MAX_DOCUMENT_BYTES}"
        ));
    }
    match hostcalls::get_buffer(BufferType::HttpCallResponseBody, 0, body_size) {
        Ok(Some(body)) => Ok(body),
        _ => Err("empty body".into()),
    }
}

fn succeed(
    state: &mut VmState,
    lease: &SharedStatus,
    jwks: String,
    keys: Vec<crate::keys::RsaKey>,
) {
    let now = now_ms();
    let status = RefreshPolicy::succeeded(lease, now);
    let record = SharedKeys {
        generation: status.generation,
        fetched_at: now,
        jwks,
    };
    // Keys first: a reader that sees the new generation must find them.
    if shared_set(&state.keys_key, &record.encode(), None).is_err()
        || !write_status(state, lease, &status)
    {
        log(
            LogLevel::Warn,
            "could not publish fetched keys to shared data",
        );
    }
    log(
        LogLevel::Info,
        &format!(
            "signing keys updated: {} key(s), generation {}",
            keys.len(),
            status.generation
        ),
    );
    state.keys = Rc::new(KeySet::new(keys, now, status.generation));
    state.last_status = status;
    state.metrics.count(Counter::JwksFetchOk);
}

fn fail(state: &mut VmState, lease: &SharedStatus, why: &str) {
    let status = RefreshPolicy::failed(lease);
    write_status(state, lease, &status);
    log(
        LogLevel::Warn,
        &format!(
            "signing key fetch failed ({} in a row): {why}; keeping {} cached key(s)",
            status.failures,
            state.keys.len()
        ),
    );
    state.last_status = status;
    state.metrics.count(Counter::JwksFetchFailed);
}

/// Writes only while our lease is still the current one.
fn write_status(state: &VmState, lease: &SharedStatus, status: &SharedStatus) -> bool {
    let (bytes, cas) = shared_get(&state.status_key);
    let current = SharedStatus::decode(bytes.as_deref());
    if current.attempted_at != lease.attempted_at || current.lease_until != lease.lease_until {
        return false;
    }
    shared_set(&state.status_key, &status.encode(), cas).is_ok()
}
