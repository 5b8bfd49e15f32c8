//! Root context: configuration, the tick that keeps keys fresh across
//! workers, and the callouts that fetch them.

use super::abi::now_ms;
use super::fetch::{self, Dispatch};
use super::host::{log, shared_get, shared_set, Backend};
use super::http::{self, Http};
use super::metrics::Counter;
use super::state::{SharedState, VmState};
use super::waiters;
use crate::authorize::KeyWait;
use crate::config;
use crate::keys::{parse_jwks, KeySet, RefreshState, SharedKeys, SharedStatus};
use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{BufferType, ContextType, LogLevel, Status};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

const TICK: Duration = Duration::from_millis(100);

pub struct Root {
    context_id: u32,
    state: Option<SharedState>,
}

impl Root {
    pub fn new(context_id: u32) -> Root {
        Root {
            context_id,
            state: None,
        }
    }
}

impl Dispatch for Root {
    fn get(
        &self,
        cluster: &str,
        authority: &str,
        path: &str,
        timeout: Duration,
    ) -> Result<u32, Status> {
        let headers = vec![
            (":method", "GET"),
            (":path", path),
            (":authority", authority),
            ("accept", "application/json"),
            ("user-agent", "entra-guard"),
        ];
        self.dispatch_http_call(cluster, headers, None, vec![], timeout)
    }
}

impl Context for Root {
    fn on_http_call_response(
        &mut self,
        token_id: u32,
        num_headers: usize,
        body_size: usize,
        _trailers: usize,
    ) {
        let Some(state) = self.state.clone() else {
            return;
        };
        {
            let Ok(mut s) = state.try_borrow_mut() else {
                return;
            };
            fetch::on_response(&mut s, token_id, num_headers, body_size, self);
        }
        waiters::resolve_waiters(&state, now_ms());
    }
}

impl RootContext for Root {
    fn on_configure(&mut self, _size: usize) -> bool {
        let bytes = hostcalls::get_buffer(BufferType::PluginConfiguration, 0, usize::MAX)
            .ok()
            .flatten()
            .unwrap_or_default();
        let config = match config::parse(&bytes) {
            Ok(c) => c,
            Err(e) => {
                log(LogLevel::Error, &e.to_string());
                return false;
            }
        };
        let Some(backend) = Backend::select(config.entra.signature_backend) else {
            log(
                LogLevel::Error,
                "invalid configuration: entra.signature_backend: \"host\" but this host has no verify_signature foreign function",
            );
            return false;
        };
        log(
            LogLevel::Info,
            &format!(
                "configured: authority {}, {} rule(s), signature backend {}",
                config.entra.authority,
                config.rules.len(),
                backend.name()
            ),
        );
        let subscription_names: Vec<String> = config
            .subscription
            .iter()
            .flat_map(|s| s.keys.iter().map(|k| k.name.clone()))
            .collect();
        let mut state = VmState::new(config, backend, self.context_id);
        state.metrics.define_all(&subscription_names);
        let (existing, _) = shared_get(&state.status_key);
        if existing.is_none() {
            let _ = shared_set(&state.status_key, &SharedStatus::default().encode(), None);
        }
        self.state = Some(Rc::new(RefCell::new(state)));
        let _ = hostcalls::set_tick_period(TICK);
        true
    }

    fn on_tick(&mut self) {
        let Some(state) = self.state.clone() else {
            return;
        };
        let now = now_ms();
        {
            let Ok(mut s) = state.try_borrow_mut() else {
                return;
            };
            let (bytes, cas) = shared_get(&s.status_key);
            let status = SharedStatus::decode(bytes.as_deref());
            // What this VM writes below (a lease, a failure) replaces it.
            s.last_status = status.clone();
            if status.generation != s.keys.generation() && status.generation > 0 {
                load_shared_keys(&mut s);
            }
            fetch::expire_if_stale(&mut s, now);
            if matches!(s.fetch, super::state::Fetch::Idle) {
                let jitter = (now / 7) ^ u64::from(self.context_id);
                if let RefreshState::Fetch { reason, lease } =
                    s.policy.plan(&status, now, s.kid_miss, jitter)
                {
                    if shared_set(&s.status_key, &lease.encode(), cas).is_ok() {
                        s.last_status = lease.clone();
                        s.kid_miss = false;
                        if reason == crate::keys::FetchReason::KidMiss {
                            s.metrics.count(Counter::JwksFetchKidMiss);
                        }
                        fetch::start(&mut s, lease, reason, self);
                    }
                } else if s.kid_miss {
                    // Rate-limited: keep the re-fetch pending only if a
                    // waiting request would still be there when it may start.
                    let allowed_at = s.policy.kid_miss_allowed_at(&status);
                    s.kid_miss = s
                        .waiters
                        .iter()
                        .any(|w| w.kind == KeyWait::UnknownKid && w.deadline_ms >= allowed_at);
                }
            }
            s.metrics.flush();
        }
        waiters::resolve_waiters(&state, now);
        waiters::expire_body_waiters(&state, now);
    }

    fn create_http_context(&self, context_id: u32) -> Option<Box<dyn HttpContext>> {
        match &self.state {
            Some(state) => Some(Box::new(Http::new(context_id, state.clone()))),
            None => Some(Box::new(http::Unconfigured)),
        }
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

/// Another worker fetched: adopt its keys.
fn load_shared_keys(s: &mut VmState) {
    let (bytes, _) = shared_get(&s.keys_key);
    let Some(record) = bytes.as_deref().and_then(SharedKeys::decode) else {
        return;
    };
    match parse_jwks(record.jwks.as_bytes()) {
        Ok(parsed) => {
            s.keys = Rc::new(KeySet::new(
                parsed.keys,
                record.fetched_at,
                record.generation,
            ));
        }
        Err(e) => log(LogLevel::Warn, &format!("shared keys unreadable: {e}")),
    }
}
