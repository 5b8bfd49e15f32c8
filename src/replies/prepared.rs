//! Local replies that depend only on the configuration, built once when it
//! loads: a request without a token, with a bad one or without its
//! subscription key then costs a reference count, not JSON and challenge
//! formatting. Denials are what an attacker can make a filter send at
//! line rate, so they must be the cheap path.

use crate::config::{Config, McpConfig, Requirement, Rule, SubscriptionConfig};
use crate::policy::Policy;
use crate::replies::challenge::{bearer_response, BearerFailure, REQUEST_FAILURES};
use crate::replies::registration::{refusal_response, Refusal};
use crate::replies::Response;
use crate::replies::{authorization_server, metadata};
use crate::subscription::{invalid_key_response, missing_key_response};
use crate::token::TokenError;
use std::rc::Rc;

pub struct PreparedResponses {
    /// 401 without credentials, per rule (by index), then for requests
    /// that match no rule.
    missing: Vec<Rc<Response>>,
    /// `jwt_or_subscription_key` rules: neither credential, both challenges.
    missing_either: Vec<Option<Rc<Response>>>,
    /// Bearer failures that carry no scope hint.
    bearer: Vec<(BearerFailure, Rc<Response>)>,
    subscription_missing: Option<Rc<Response>>,
    subscription_invalid: Option<Rc<Response>>,
    metadata: Option<Rc<Response>>,
    /// The RFC 8414 document (`mcp.authorization_server`).
    server_metadata: Option<Rc<Response>>,
    /// Registration refusals, by `Refusal` (`registration::REFUSALS` order).
    refusals: [Rc<Response>; 2],
}

impl PreparedResponses {
    pub fn new(config: &Config) -> PreparedResponses {
        let default_rule = Rule::DEFAULT_JWT;
        let rules = config.rules.iter().chain([&default_rule]);
        let failures = TokenError::ALL
            .iter()
            .map(|e| BearerFailure::InvalidToken(e.description()))
            .chain(REQUEST_FAILURES);
        let sub = config.subscription.as_ref();
        PreparedResponses {
            missing: rules.clone().map(|r| Rc::new(missing(config, r))).collect(),
            missing_either: rules
                .map(|r| {
                    (r.require == Requirement::JwtOrSubscriptionKey)
                        .then(|| Rc::new(missing_either(config, r)))
                })
                .collect(),
            bearer: failures
                .map(|f| {
                    let response = bearer_response(&f, &[], config.mcp.as_ref());
                    (f, Rc::new(response))
                })
                .collect(),
            subscription_missing: sub.map(|s| Rc::new(missing_key_response(s))),
            subscription_invalid: sub.map(|s| Rc::new(invalid_key_response(s))),
            metadata: config
                .mcp
                .as_ref()
                .map(|m| Rc::new(metadata::response(config, m))),
            server_metadata: config.mcp.as_ref().and_then(|m| {
                let server = m.authorization_server.as_ref()?;
                Some(Rc::new(authorization_server::response(config, m, server)))
            }),
            refusals: REFUSALS.map(|r| Rc::new(refusal_response(r))),
        }
    }
}

// The getters live on the compiled `Policy`: what was prepared and the
// configuration it was prepared from are one object. A reply that was not
// prepared (none is missing by construction) is built from that same
// configuration rather than refused.
impl Policy {
    /// No credentials under the rule at `index` of `config.rules`
    /// (`None`: no rule matched, the default rule applies).
    pub fn missing(&self, rule: &Rule, index: Option<usize>) -> Rc<Response> {
        let slot = index.unwrap_or(self.config.rules.len());
        stored(self.replies.missing.get(slot), || {
            missing(&self.config, rule)
        })
    }

    /// Neither credential under a `jwt_or_subscription_key` rule.
    pub fn missing_either(&self, rule: &Rule, index: Option<usize>) -> Rc<Response> {
        let slot = index.unwrap_or(self.config.rules.len());
        let prepared = self
            .replies
            .missing_either
            .get(slot)
            .and_then(Option::as_ref);
        stored(prepared, || missing_either(&self.config, rule))
    }

    /// A bearer failure without a scope hint.
    pub fn bearer(&self, failure: &BearerFailure) -> Rc<Response> {
        let prepared = self
            .replies
            .bearer
            .iter()
            .find(|(f, _)| f == failure)
            .map(|(_, r)| r);
        stored(prepared, || {
            bearer_response(failure, &[], self.config.mcp.as_ref())
        })
    }

    pub fn subscription_missing(&self, sub: &SubscriptionConfig) -> Rc<Response> {
        stored(self.replies.subscription_missing.as_ref(), || {
            missing_key_response(sub)
        })
    }

    pub fn subscription_invalid(&self, sub: &SubscriptionConfig) -> Rc<Response> {
        stored(self.replies.subscription_invalid.as_ref(), || {
            invalid_key_response(sub)
        })
    }

    pub fn metadata(&self, mcp: &McpConfig) -> Rc<Response> {
        stored(self.replies.metadata.as_ref(), || {
            metadata::response(&self.config, mcp)
        })
    }

    /// The authorization-server metadata; `None` without the block.
    pub fn server_metadata(&self) -> Option<Rc<Response>> {
        let mcp = self.config.mcp.as_ref()?;
        let server = mcp.authorization_server.as_ref()?;
        Some(stored(self.replies.server_metadata.as_ref(), || {
            authorization_server::response(&self.config, mcp, server)
        }))
    }

    pub fn registration_refused(&self, refusal: Refusal) -> Rc<Response> {
        let slot = REFUSALS.iter().position(|r| *r == refusal);
        stored(slot.and_then(|i| self.replies.refusals.get(i)), || {
            refusal_response(refusal)
        })
    }
}

const REFUSALS: [Refusal; 2] = [Refusal::InvalidRedirectUri, Refusal::InvalidClientMetadata];

fn stored(prepared: Option<&Rc<Response>>, build: impl FnOnce() -> Response) -> Rc<Response> {
    prepared.map_or_else(|| Rc::new(build()), Rc::clone)
}

/// 401 without an `error`, naming the scopes the rule needs as a client
/// must request them.
pub fn missing(config: &Config, rule: &Rule) -> Response {
    bearer_response(
        &BearerFailure::NoCredentials,
        &metadata::requestable_scopes(config, &rule.required_scopes),
        config.mcp.as_ref(),
    )
}

/// Neither a token nor a key where either would do: APIM's 401 with the
/// bearer challenge first, so both kinds of client learn what to send.
pub fn missing_either(config: &Config, rule: &Rule) -> Response {
    let bearer = missing(config, rule);
    let Some(sub) = &config.subscription else {
        return bearer;
    };
    let mut response = missing_key_response(sub);
    let challenges = bearer
        .headers
        .into_iter()
        .filter(|(n, _)| n == "www-authenticate");
    response.headers.splice(0..0, challenges);
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config;
    use crate::replies::challenge::MULTIPLE_BEARER_TOKENS;
    use crate::testing::*;
    use serde_json::json;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn config() -> Config {
        let json = json!({
            "entra": {"tenant_id": TENANT, "audiences": [AUDIENCE]},
            "subscription_keys": {"keys": [{"name": "a", "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}]},
            "mcp": {"resource": "https://mcp.example/mcp",
                    "resource_metadata_url": "https://mcp.example/.well-known/oauth-protected-resource/mcp",
                    "scopes_supported": ["api://calculator/calculator.add"]},
            "rules": [
                {"path_prefix": "/mcp", "require": "jwt", "required_scopes": ["calculator.add"]},
                {"path_prefix": "/either", "require": "jwt_or_subscription_key", "required_scopes": ["x.y"]},
                {"path_prefix": "/open", "require": "none"}
            ]
        });
        config::parse(json.to_string().as_bytes()).unwrap()
    }

    /// What is prepared must be exactly what would be built per request,
    /// and the getters must hand out the prepared copy, not a new one.
    #[test]
    fn prepared_equals_built() {
        let c = config();
        let p = Policy::compile(c.clone());
        let same = |a: Rc<Response>, b: Rc<Response>| Rc::ptr_eq(&a, &b);
        for (i, rule) in c.rules.iter().enumerate() {
            assert_eq!(*p.missing(rule, Some(i)), missing(&c, rule), "rule {i}");
            assert!(same(p.missing(rule, Some(i)), p.missing(rule, Some(i))));
            if rule.require == Requirement::JwtOrSubscriptionKey {
                assert_eq!(*p.missing_either(rule, Some(i)), missing_either(&c, rule));
                assert!(same(
                    p.missing_either(rule, Some(i)),
                    p.missing_either(rule, Some(i))
                ));
            } else {
                assert!(p.replies.missing_either[i].is_none());
            }
        }
        let default = Rule::DEFAULT_JWT;
        assert_eq!(*p.missing(&default, None), missing(&c, &default));
        assert!(same(p.missing(&default, None), p.missing(&default, None)));
        let hint = p.missing(&c.rules[0], Some(0));
        assert!(hint
            .header("www-authenticate")
            .unwrap()
            .contains("scope=\"api://calculator/calculator.add\""));
        for e in TokenError::ALL {
            let f = BearerFailure::InvalidToken(e.description());
            assert_eq!(*p.bearer(&f), bearer_response(&f, &[], c.mcp.as_ref()));
            assert!(same(p.bearer(&f), p.bearer(&f)));
        }
        assert_eq!(p.bearer(&MULTIPLE_BEARER_TOKENS).status, 400);
        for f in REQUEST_FAILURES {
            assert_eq!(*p.bearer(&f), bearer_response(&f, &[], c.mcp.as_ref()));
            assert!(same(p.bearer(&f), p.bearer(&f)), "{f:?}");
        }
        let scope = BearerFailure::InsufficientScope("x");
        assert!(!p.replies.bearer.iter().any(|(f, _)| *f == scope));
        assert_eq!(p.bearer(&scope).status, 403, "built when not prepared");
        let sub = c.subscription.as_ref().unwrap();
        assert_eq!(*p.subscription_missing(sub), missing_key_response(sub));
        assert_eq!(*p.subscription_invalid(sub), invalid_key_response(sub));
        assert!(same(
            p.subscription_missing(sub),
            p.subscription_missing(sub)
        ));
        let mcp = c.mcp.as_ref().unwrap();
        assert_eq!(*p.metadata(mcp), metadata::response(&c, mcp));
        assert!(same(p.metadata(mcp), p.metadata(mcp)));
        assert!(p.server_metadata().is_none());
        for r in REFUSALS {
            assert_eq!(*p.registration_refused(r), refusal_response(r));
            assert!(same(p.registration_refused(r), p.registration_refused(r)));
        }
    }

    #[test]
    fn without_optional_blocks_nothing_is_prepared_for_them() {
        let mut c = config();
        c.subscription = None;
        c.mcp = None;
        let p = Policy::compile(c.clone());
        assert!(p.replies.subscription_missing.is_none() && p.replies.metadata.is_none());
        let either = p.missing_either(&c.rules[1], Some(1));
        assert_eq!(
            either.header("www-authenticate"),
            Some("Bearer scope=\"x.y\"")
        );
    }

    #[test]
    fn the_authorization_server_document_is_prepared() {
        let mut c = config();
        let mut v = json!({
            "entra": {"tenant_id": TENANT, "audiences": [AUDIENCE]},
            "mcp": {"resource": "https://mcp.example/mcp",
                    "resource_metadata_url": "https://mcp.example/.well-known/oauth-protected-resource/mcp"}
        });
        v["mcp"]["authorization_server"] = json!({"issuer": "https://mcp.example"});
        c.mcp = config::parse(v.to_string().as_bytes()).unwrap().mcp;
        let p = Policy::compile(c.clone());
        let mcp = c.mcp.as_ref().unwrap();
        let server = mcp.authorization_server.as_ref().unwrap();
        let prepared = p.server_metadata().unwrap();
        assert_eq!(*prepared, authorization_server::response(&c, mcp, server));
        assert!(Rc::ptr_eq(&prepared, &p.server_metadata().unwrap()));
    }
}
