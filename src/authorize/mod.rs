//! The one decision function: plain request data, configuration, keys and
//! a clock in; allow (with header edits), respond, or wait for keys out.

mod jwt;
mod outcome;
mod request;
mod served;

#[cfg(test)]
mod tests;

use crate::cache::TokenCache;
use crate::config::{Config, Requirement, Rule};
use crate::headers::{self, Header};
use crate::keys::KeySet;
use crate::policy::Policy;
use crate::replies::challenge::{
    bad_request_response, bearer_response, keys_unavailable_response, BearerFailure,
    ACCESS_TOKEN_IN_QUERY,
};
use crate::replies::metadata;
use crate::replies::Response;
use crate::rules;
use crate::signature::SignatureVerifier;
use crate::subscription::{self, KeyCheck, KeyPresence};
use crate::token::{check_permissions, VerifiedToken};
use jwt::JwtOutcome;
pub use outcome::{DenyReason, Identity, MatchedRule, Reason, Via};
use request::{is_preflight, mcp_call};
use std::rc::Rc;

/// What the glue read from the request. `headers` are all request headers
/// with lowercase names and raw values, duplicates kept.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub headers: &'a [Header<'a>],
    /// The headers did not end the stream: body data or trailers follow
    /// (HTTP/2 and HTTP/1.1 alike, whatever the method).
    pub has_body: bool,
    /// The buffered body, once `Decision::NeedBody` asked for it (empty
    /// when the stream ended with trailers only).
    pub body: Option<&'a [u8]>,
}

/// Everything else a decision depends on.
pub struct Env<'a> {
    /// The configuration and what was compiled from it.
    pub policy: &'a Policy,
    pub keys: &'a KeySet,
    pub verifier: &'a dyn SignatureVerifier,
    pub cache: &'a mut TokenCache,
    pub now_ms: u64,
    /// False once a request has waited for keys: then no keys means 503
    /// and an unknown kid means 401.
    pub may_wait: bool,
    pub retry_after_seconds: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyWait {
    NoKeys,
    UnknownKid,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Allow(Allowed),
    /// Answer locally: a denial (`reason` is the metric suffix) or a
    /// document the filter serves.
    Respond {
        response: Rc<Response>,
        reason: Reason,
    },
    /// Pause the request until the key set changes, then decide again.
    WaitForKeys(KeyWait),
    /// The rule depends on the MCP call in the body: buffer it (up to
    /// `Config::mcp_max_body_bytes`) and decide again with it.
    NeedBody,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Allowed {
    /// Headers to remove before forwarding (client copies of ours, keys).
    pub remove_headers: Vec<String>,
    pub set_headers: Vec<(String, String)>,
    /// A new `:path` when the subscription key left the query.
    pub new_path: Option<String>,
    /// What admitted the request, for metrics: `public`, `jwt`, `subscription_key`, `preflight`.
    pub via: Via,
    pub cache_hit: bool,
    pub subscription: Option<String>,
    /// Who the token names, when a token admitted the request (boxed:
    /// `Allowed` travels in `Result`s by value).
    pub identity: Option<Box<Identity>>,
    /// `None` for a preflight (forwarded before any rule is chosen).
    pub rule: Option<MatchedRule>,
}

pub fn authorize(req: &Request<'_>, env: &mut Env<'_>) -> Decision {
    env.cache.sync_generation(env.keys.generation());
    let literal_path = req.path.split('?').next().unwrap_or("");
    if let Some(decision) = served::served(req, env.policy, literal_path) {
        return decision;
    }
    match env.policy.for_path(req.path) {
        Err(rules::AmbiguousPath) => ambiguous_path(),
        // A protected resource's own audiences, rules and challenges (or
        // the top-level ones); the token cache is shared, so its entries
        // are checked against them again on every hit (see `jwt::evaluate`).
        Ok(policy) => decide(
            req,
            &mut Env {
                policy,
                keys: env.keys,
                verifier: env.verifier,
                cache: env.cache,
                now_ms: env.now_ms,
                may_wait: env.may_wait,
                retry_after_seconds: env.retry_after_seconds,
            },
        ),
    }
}

/// The decision under one policy: the top-level one or a resource's.
fn decide(req: &Request<'_>, env: &mut Env<'_>) -> Decision {
    let policy = env.policy;
    let config = &policy.config;
    let mut allowed = Allowed {
        remove_headers: headers_to_remove(config, req),
        ..Allowed::default()
    };
    if let Some(sub) = &config.subscription {
        // Keys never travel upstream, whichever credential admitted the request.
        if let Some(param) = &sub.query {
            allowed.new_path = subscription::strip_query_param(req.path, param);
        }
    }
    if is_preflight(req) {
        // Forwarded before any rule is chosen: no credential a rule keeps
        // from the upstream may ride along on it.
        if policy.rule_index.any_removes_authorization() {
            allowed
                .remove_headers
                .extend(sent_as(req, &["authorization"]));
        }
        allowed.via = Via::Preflight;
        return Decision::Allow(allowed);
    }
    let call = match mcp_call(req, policy) {
        Ok(call) => call,
        Err(decision) => return decision,
    };
    static DEFAULT_RULE: Rule = Rule::DEFAULT_JWT;
    let selected = policy
        .rule_index
        .select(&config.rules, req.path, call.as_ref());
    let (rule, rule_index) = match selected {
        Ok(Some((index, rule))) => (rule, Some(index)),
        Ok(None) => (&DEFAULT_RULE, None),
        Err(rules::AmbiguousPath) => return ambiguous_path(),
    };
    allowed.rule = Some(MatchedRule::of(rule_index));
    if rule.require != Requirement::None
        && subscription::has_query_param(req.path, ACCESS_TOKEN_PARAM)
    {
        // RFC 6750 §2.3: a token in the URL ends up in logs; the filter
        // never reads it there, so it must not ride along unverified.
        let response = policy.bearer(&ACCESS_TOKEN_IN_QUERY);
        return respond_with(response, Reason::Denied(DenyReason::InvalidRequest));
    }
    if rule.removes_authorization() {
        allowed
            .remove_headers
            .extend(sent_as(req, &["authorization"]));
    }
    let needs_key = rule.require.needs_subscription_keys();
    let mut key_failure = None;
    if let (true, Some(sub)) = (needs_key, &config.subscription) {
        match subscription::find_key(sub, req.headers, req.path) {
            KeyPresence::Absent => {
                let response = policy.subscription_missing(sub);
                key_failure = Some((response, DenyReason::SubscriptionMissing))
            }
            KeyPresence::Ambiguous => {
                // Never a guess at which key counts, whatever else was sent.
                return respond(
                    bad_request_response("send exactly one subscription key"),
                    Reason::Denied(DenyReason::InvalidRequest),
                );
            }
            KeyPresence::Present(candidate) => {
                match subscription::check_key(sub, &policy.key_index, candidate) {
                    KeyCheck::Valid { name } => {
                        allowed.subscription = Some(name.to_string());
                        allowed
                            .set_headers
                            .push((sub.name_header.clone(), name.to_string()));
                    }
                    KeyCheck::Invalid => {
                        let response = policy.subscription_invalid(sub);
                        key_failure = Some((response, DenyReason::SubscriptionInvalid))
                    }
                }
            }
        }
    }
    match rule.require {
        Requirement::None => {
            allowed.via = Via::Public;
            Decision::Allow(allowed)
        }
        Requirement::SubscriptionKey => match key_failure {
            Some((response, reason)) => respond_with(response, Reason::Denied(reason)),
            None => {
                allowed.via = Via::SubscriptionKey;
                Decision::Allow(allowed)
            }
        },
        Requirement::JwtAndSubscriptionKey => match key_failure {
            Some((response, reason)) => respond_with(response, Reason::Denied(reason)),
            None => with_jwt(req, env, rule, rule_index, allowed),
        },
        Requirement::Jwt => with_jwt(req, env, rule, rule_index, allowed),
        Requirement::JwtOrSubscriptionKey => match key_failure {
            // A valid key does not make a bearer token sent with it
            // trustworthy: the upstream may read the token, so it is
            // verified (or refused) like any other.
            None => match jwt::evaluate(req.headers, env) {
                JwtOutcome::Absent => {
                    allowed.via = Via::SubscriptionKey;
                    Decision::Allow(allowed)
                }
                outcome => finish_jwt(outcome, env, rule, rule_index, allowed),
            },
            Some((key_response, key_reason)) => match jwt::evaluate(req.headers, env) {
                JwtOutcome::Absent if key_reason == DenyReason::SubscriptionMissing => {
                    // Neither credential: challenge for both.
                    let response = policy.missing_either(rule, rule_index);
                    respond_with(response, Reason::Denied(DenyReason::Missing))
                }
                JwtOutcome::Absent => respond_with(key_response, Reason::Denied(key_reason)),
                outcome => finish_jwt(outcome, env, rule, rule_index, allowed),
            },
        },
    }
}

fn with_jwt(
    req: &Request<'_>,
    env: &mut Env<'_>,
    rule: &Rule,
    rule_index: Option<usize>,
    allowed: Allowed,
) -> Decision {
    let outcome = jwt::evaluate(req.headers, env);
    finish_jwt(outcome, env, rule, rule_index, allowed)
}

fn finish_jwt(
    outcome: JwtOutcome,
    env: &Env<'_>,
    rule: &Rule,
    rule_index: Option<usize>,
    mut allowed: Allowed,
) -> Decision {
    let policy = env.policy;
    let mcp = policy.config.mcp.as_ref();
    match outcome {
        JwtOutcome::Absent => respond_with(
            policy.missing(rule, rule_index),
            Reason::Denied(DenyReason::Missing),
        ),
        JwtOutcome::Invalid { failure, reason } => {
            respond_with(policy.bearer(&failure), Reason::Denied(reason))
        }
        JwtOutcome::Wait(wait) => Decision::WaitForKeys(wait),
        JwtOutcome::KeysUnavailable => respond(
            keys_unavailable_response(env.retry_after_seconds),
            Reason::Denied(DenyReason::KeysUnavailable),
        ),
        JwtOutcome::Valid { token, cache_hit } => {
            if let Err(lack) =
                check_permissions(token.claims(), &policy.config.entra.required_claims, rule)
            {
                let failure = BearerFailure::InsufficientScope(
                    "the token lacks a scope, role or claim this operation requires",
                );
                let scopes = metadata::requestable_scopes(&policy.config, &lack.needed);
                return respond(
                    bearer_response(&failure, &scopes, mcp),
                    Reason::Denied(DenyReason::Scope),
                );
            }
            allowed
                .set_headers
                .extend(claim_headers(&policy.config, &token));
            allowed.via = if allowed.subscription.is_some() {
                Via::JwtAndSubscriptionKey
            } else {
                Via::Jwt
            };
            allowed.cache_hit = cache_hit;
            // Copied out of the claims only for filter state that asks for
            // it: this runs for every allowed token.
            if policy.config.filter_state.names_the_caller() {
                allowed.identity = Some(Box::new(Identity::of(token.claims())));
            }
            Decision::Allow(allowed)
        }
    }
}

fn claim_headers(config: &Config, token: &VerifiedToken) -> Vec<(String, String)> {
    config
        .claims_to_headers
        .iter()
        .filter_map(|(claim, header)| {
            token
                .claims()
                .header_value(claim)
                .map(|v| (header.clone(), v))
        })
        .collect()
}

/// The `access_token` query parameter of RFC 6750 §2.3.
const ACCESS_TOKEN_PARAM: &str = "access_token";

/// Headers only the filter may set, plus the subscription key: removed
/// from every forwarded request, in every spelling an upstream may read as
/// one of them (see `headers::same_name`), named as the client sent them
/// (the glue removes by name). Only those present are listed, so the
/// common request costs no host call.
fn headers_to_remove(config: &Config, req: &Request<'_>) -> Vec<String> {
    let claim_headers = config.claims_to_headers.iter().map(|(_, h)| h.as_str());
    let subscription = config
        .subscription
        .iter()
        .flat_map(|s| [s.name_header.as_str(), s.header.as_str()]);
    let protected: Vec<&str> = claim_headers.chain(subscription).collect();
    sent_as(req, &protected)
}

/// The names of the request's headers that an upstream may read as one of
/// `names`, each once, spelt as sent.
fn sent_as(req: &Request<'_>, names: &[&str]) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for (sent, _) in req.headers {
        if names.iter().any(|n| headers::same_name(sent, n)) && !found.iter().any(|f| f == sent) {
            found.push(sent.to_string());
        }
    }
    found
}

/// 400 for a path that matches the rules more than one way, or that the
/// glue could not read as text (bytes >= 0x80 in an HTTP/2 `:path`).
pub fn ambiguous_path() -> Decision {
    respond(
        bad_request_response("the request path is ambiguous"),
        Reason::Denied(DenyReason::InvalidRequest),
    )
}

fn respond(response: Response, reason: Reason) -> Decision {
    respond_with(Rc::new(response), reason)
}

fn respond_with(response: Rc<Response>, reason: Reason) -> Decision {
    Decision::Respond { response, reason }
}
