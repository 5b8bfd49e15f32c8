//! The one decision loop: read the request, decide, and when the decision
//! asks for more (the body, signing keys) either read it at once or hold
//! the stream. Every outcome is counted here.

use super::counters::Counter;
use super::host::RequestSource;
use super::stream::{BodyState, Phase, Step};
use super::{Engine, MAX_WAITERS};
use crate::authorize::{ambiguous_path, authorize, Decision, Env, Reason, Request, Via};
use crate::headers::{parse_map, PseudoHeaders};
use crate::replies::failures;
use crate::replies::Response;
use std::rc::Rc;

impl Engine {
    /// Decides with what the stream has so far. `may_wait` is false once
    /// the stream has waited for keys: no keys is then a 503, an unknown
    /// `kid` a 401.
    pub(super) fn decide(
        &mut self,
        id: u32,
        source: &dyn RequestSource,
        body_state: BodyState,
        mut may_wait: bool,
        now: u64,
    ) -> Step {
        let Some(map) = source.header_map() else {
            return self.finish_reply(id, failures::unreadable_request(), None, body_state);
        };
        let Some(headers) = parse_map(&map) else {
            return self.finish_reply(id, failures::unreadable_request(), None, body_state);
        };
        let pseudo = PseudoHeaders::read(&headers);
        let mut body: Option<Vec<u8>> = None;
        loop {
            let request = Request {
                method: pseudo.method,
                path: pseudo.path,
                headers: &headers,
                body: body.as_deref(),
                has_body: body_state != BodyState::Absent,
            };
            let decision = if pseudo.unreadable_path {
                ambiguous_path()
            } else {
                let retry_after_seconds = self.refresher.retry_after_seconds(now);
                let mut env = Env {
                    policy: &self.policy,
                    keys: &self.keys,
                    verifier: self.verifier.as_ref(),
                    cache: &mut self.cache,
                    now_ms: now,
                    may_wait,
                    retry_after_seconds,
                };
                authorize(&request, &mut env)
            };
            if self.cache.take_rejected_hits() > 0 {
                self.counts.count(Counter::TokenCacheRejectedHit);
            }
            match decision {
                Decision::NeedBody => match body_state {
                    BodyState::Ended if body.is_none() => {
                        // Bounded: the glue refused larger bodies as they came.
                        let limit = self.policy.config.mcp_max_body_bytes;
                        body = Some(source.body(limit).unwrap_or_default());
                    }
                    BodyState::Open => {
                        let first_bytes_by = Some(now.saturating_add(super::BODY_ARRIVAL_MS));
                        self.streams.set(id, Phase::AwaitBody { first_bytes_by });
                        return Step::Pause;
                    }
                    // The decision asked again for a body it was given, or
                    // for one the request does not have: fail closed.
                    _ => {
                        return self.finish_reply(
                            id,
                            failures::unreadable_request(),
                            None,
                            body_state,
                        )
                    }
                },
                Decision::WaitForKeys(wait)
                    if may_wait
                        && self.policy.config.entra.key_wait_ms > 0
                        && self.streams.waiting_for_keys() < MAX_WAITERS =>
                {
                    let deadline_ms = now.saturating_add(self.policy.config.entra.key_wait_ms);
                    if wait == crate::authorize::KeyWait::UnknownKid {
                        self.refresher.request_kid_miss_refetch(deadline_ms);
                    }
                    let generation = self.keys.generation();
                    self.streams.set(
                        id,
                        Phase::AwaitKeys {
                            wait,
                            deadline_ms,
                            generation,
                            body: body_state,
                        },
                    );
                    self.counts.count(Counter::RequestsWaitedForKeys);
                    return Step::Pause;
                }
                Decision::WaitForKeys(_) => may_wait = false,
                Decision::Allow(allowed) => {
                    self.count_allowed(&allowed);
                    self.record(id, Phase::Forwarded, body_state);
                    return Step::Forward(allowed);
                }
                Decision::Respond { response, reason } => {
                    self.count_response(reason);
                    return self.finish_reply(id, response, Some(reason), body_state);
                }
            }
        }
    }

    /// Answers the stream; kept in the table only if events may follow.
    /// `reason`: `None` when the filter could not decide (it failed closed).
    pub(super) fn finish_reply(
        &mut self,
        id: u32,
        response: Rc<Response>,
        reason: Option<Reason>,
        body_state: BodyState,
    ) -> Step {
        self.record(id, Phase::Answered, body_state);
        Step::Reply(response, reason)
    }

    fn record(&mut self, id: u32, phase: Phase, body_state: BodyState) {
        if body_state == BodyState::Open {
            self.streams.set(id, phase);
        } else {
            self.streams.remove(id);
        }
    }

    fn count_allowed(&mut self, allowed: &crate::authorize::Allowed) {
        let counts = &mut self.counts;
        counts.count(Counter::Allowed);
        counts.count(match allowed.via {
            Via::Jwt => Counter::AllowedJwt,
            Via::SubscriptionKey => Counter::AllowedSubscriptionKey,
            Via::JwtAndSubscriptionKey => Counter::AllowedJwtAndSubscriptionKey,
            Via::Public => Counter::AllowedPublic,
            Via::Preflight => Counter::AllowedPreflight,
        });
        if let Some(name) = &allowed.subscription {
            counts.subscription(name);
        }
        if allowed.via.has_token() {
            counts.count(if allowed.cache_hit {
                Counter::TokenCacheHit
            } else {
                Counter::TokenCacheMiss
            });
        }
    }

    fn count_response(&mut self, reason: Reason) {
        match reason {
            Reason::Served => self.counts.count(Counter::MetadataServed),
            Reason::Registration { accepted: true } => {
                self.counts.count(Counter::RegistrationAccepted)
            }
            Reason::Registration { accepted: false } => {
                self.counts.count(Counter::RegistrationRefused)
            }
            Reason::Denied(why) => self.counts.denied(why),
        }
    }
}
