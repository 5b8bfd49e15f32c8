//! The request lifecycle as one pure state machine. The glue turns each
//! host callback into one call here and applies the `Step` it gets back;
//! the host tests and the `lifecycle` fuzz target drive the same calls
//! through every order of events.
//!
//! The invariant: a stream is forwarded only by a `Step::Forward` that an
//! allowing decision produced over everything the upstream will receive
//! that the decision depends on (headers, and the whole body when the
//! rule reads the MCP call). Until then every event holds the stream.

mod counters;
mod decide;
pub mod filter_state;
mod host;
pub mod memory;
mod refresher;
mod stream;

#[cfg(test)]
mod tests;

pub use counters::{subscription_metric, Counter, Counts};
pub use host::{CalloutFailure, CalloutResult, KeyHost, Level, RequestSource};
pub use stream::{BodyState, Phase, Step};

use crate::cache::TokenCache;
use crate::config::Config;
use crate::keys::KeySet;
use crate::policy::Policy;
use crate::replies::failures;
use crate::signature::SignatureVerifier;
use refresher::Refresher;
use std::rc::Rc;
use stream::StreamTable;

/// Requests held for keys per VM; beyond this they are decided at once
/// (503 or 401), so a flood cannot grow the VM's memory.
pub const MAX_WAITERS: usize = 1024;

/// How long the first body bytes may take after the headers were held.
pub const BODY_ARRIVAL_MS: u64 = 10_000;

/// One VM's filter: the compiled configuration, the keys, the token cache,
/// the key refresher and every stream still in flight.
pub struct Engine {
    policy: Rc<Policy>,
    keys: Rc<KeySet>,
    cache: TokenCache,
    verifier: Box<dyn SignatureVerifier>,
    refresher: Refresher,
    streams: StreamTable,
    counts: Counts,
    warned_missing_body: bool,
}

impl Engine {
    /// `jitter_seed` spreads the periodic refreshes of many Envoys (the
    /// root context id will do).
    pub fn new(config: Config, verifier: Box<dyn SignatureVerifier>, jitter_seed: u64) -> Engine {
        let policy = Rc::new(Policy::compile(config));
        let config = &policy.config;
        let subscriptions: Vec<&str> = config
            .subscription
            .iter()
            .flat_map(|s| s.keys.iter().map(|k| k.name.as_str()))
            .collect();
        Engine {
            counts: Counts::new(subscriptions),
            cache: TokenCache::new(config.entra.token_cache_size),
            refresher: Refresher::new(Rc::clone(&policy), jitter_seed),
            keys: Rc::new(KeySet::default()),
            verifier,
            streams: StreamTable::default(),
            warned_missing_body: false,
            policy,
        }
    }

    pub fn config(&self) -> &Config {
        &self.policy.config
    }

    pub fn keys(&self) -> &KeySet {
        &self.keys
    }

    pub fn counts(&mut self) -> &mut Counts {
        &mut self.counts
    }

    /// Streams still recorded (held, or decided with more events to come).
    pub fn streams_in_flight(&self) -> usize {
        self.streams.len()
    }

    pub fn phase(&self, id: u32) -> Option<Phase> {
        self.streams.get(id)
    }

    pub fn on_configure(&mut self, host: &mut dyn KeyHost) {
        let mut io = refresher::Io {
            host,
            keys: &mut self.keys,
            counts: &mut self.counts,
        };
        self.refresher.on_configure(&mut io);
        self.cache.sync_generation(self.keys.generation());
    }

    /// What the glue leaves in Envoy's filter state after a decision.
    pub fn filter_state(&self) -> crate::config::StateEntries {
        self.policy.config.filter_state
    }

    pub fn on_request_headers(
        &mut self,
        id: u32,
        request: &dyn RequestSource,
        end_of_stream: bool,
        now: u64,
    ) -> Step {
        let body = if end_of_stream {
            BodyState::Absent
        } else {
            BodyState::Open
        };
        self.decide(id, request, body, true, now)
    }

    /// `buffered` is the size of the body held so far.
    pub fn on_request_body(
        &mut self,
        id: u32,
        request: &dyn RequestSource,
        buffered: usize,
        end_of_stream: bool,
        now: u64,
    ) -> Step {
        let ended = if end_of_stream {
            BodyState::Ended
        } else {
            BodyState::Open
        };
        match self.streams.get(id) {
            Some(Phase::Forwarded) => Step::Pass,
            // Unknown streams (no headers were ever readable) and answered
            // ones: nothing of them goes upstream.
            None | Some(Phase::Answered) => Step::Pause,
            Some(Phase::AwaitBody { .. }) if buffered > self.policy.config.mcp_max_body_bytes => {
                let response = failures::body_too_large();
                self.finish_reply(id, response, None, ended)
            }
            Some(Phase::AwaitBody { .. }) if !end_of_stream => {
                self.streams.set(
                    id,
                    Phase::AwaitBody {
                        first_bytes_by: None,
                    },
                );
                Step::Pause
            }
            Some(Phase::AwaitBody { .. }) => self.decide(id, request, BodyState::Ended, true, now),
            Some(Phase::AwaitKeys { .. }) => {
                self.streams.body_reached(id, ended);
                Step::Pause
            }
        }
    }

    /// Trailers end the stream exactly as a last data frame does.
    pub fn on_request_trailers(&mut self, id: u32, request: &dyn RequestSource, now: u64) -> Step {
        match self.streams.get(id) {
            Some(Phase::Forwarded) => Step::Pass,
            None | Some(Phase::Answered) => Step::Pause,
            Some(Phase::AwaitBody { .. }) => self.decide(id, request, BodyState::Ended, true, now),
            Some(Phase::AwaitKeys { .. }) => {
                self.streams.body_reached(id, BodyState::Ended);
                Step::Pause
            }
        }
    }

    /// The stream is gone (completed, reset or destroyed).
    pub fn on_stream_done(&mut self, id: u32) {
        self.streams.remove(id);
    }

    /// Every tick: adopt or fetch keys, then the held streams whose wait is
    /// over. The glue calls `on_resume` for each, as that stream.
    pub fn on_tick(&mut self, now: u64, host: &mut dyn KeyHost) -> Vec<u32> {
        let mut io = refresher::Io {
            host,
            keys: &mut self.keys,
            counts: &mut self.counts,
        };
        self.refresher.on_tick(now, &mut io);
        self.cache.sync_generation(self.keys.generation());
        let due = self.due_streams(now);
        if !self.warned_missing_body && self.body_wait_expired(&due, now) {
            self.warned_missing_body = true;
            host.log(
                Level::Error,
                "a request body never reached the filter: per-tool rules (mcp_methods, mcp_tools) \
                 need allow_on_headers_stop_iteration: true in the Wasm filter config",
            );
        }
        due
    }

    /// A discovery or JWKS callout answered; returns the streams now due.
    pub fn on_callout(
        &mut self,
        token: u32,
        response: CalloutResult,
        now: u64,
        host: &mut dyn KeyHost,
    ) -> Vec<u32> {
        let mut io = refresher::Io {
            host,
            keys: &mut self.keys,
            counts: &mut self.counts,
        };
        self.refresher.on_callout(token, response, now, &mut io);
        self.cache.sync_generation(self.keys.generation());
        self.due_streams(now)
    }

    /// Decides a held stream whose wait is over (from `on_tick` or
    /// `on_callout`). A stream that is not held, or not due, stays as it is.
    pub fn on_resume(&mut self, id: u32, request: &dyn RequestSource, now: u64) -> Step {
        match self.streams.get(id) {
            Some(Phase::AwaitKeys { body, .. }) => self.decide(id, request, body, false, now),
            Some(Phase::AwaitBody {
                first_bytes_by: Some(by),
            }) if now >= by => {
                let response = failures::body_never_arrived();
                self.finish_reply(id, response, None, BodyState::Open)
            }
            Some(Phase::Forwarded) => Step::Pass,
            _ => Step::Pause,
        }
    }

    fn due_streams(&self, now: u64) -> Vec<u32> {
        let generation = self.keys.generation();
        let fetching = self.refresher.fetching(now);
        let refetch_at = self.refresher.kid_miss_refetch_at();
        self.streams.due(|phase| match *phase {
            Phase::AwaitKeys {
                wait,
                deadline_ms,
                generation: waited_on,
                ..
            } => {
                // A rate-limited kid-miss re-fetch that starts in time keeps
                // its requests waiting.
                let scheduled = wait == crate::authorize::KeyWait::UnknownKid
                    && refetch_at.is_some_and(|at| at <= deadline_ms);
                waited_on != generation || now >= deadline_ms || !(fetching || scheduled)
            }
            Phase::AwaitBody { first_bytes_by } => first_bytes_by.is_some_and(|by| now >= by),
            Phase::Forwarded | Phase::Answered => false,
        })
    }

    fn body_wait_expired(&self, due: &[u32], now: u64) -> bool {
        due.iter().any(|id| {
            matches!(
                self.streams.get(*id),
                Some(Phase::AwaitBody { first_bytes_by: Some(by) }) if now >= by
            )
        })
    }
}
