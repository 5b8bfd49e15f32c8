//! Local replies that depend only on the configuration, built once when it
//! loads: a request without a token, with a bad one or without its
//! subscription key then costs a reference count, not JSON and challenge
//! formatting. Denials are what an attacker can make a filter send at
//! line rate, so they must be the cheap path.

use crate::challenge::{bearer_response, BearerFailure, MULTIPLE_BEARER_TOKENS};
use crate::config::{Config, Requirement, Rule};
use crate::metadata;
use crate::response::Response;
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
    metadata_preflight: Rc<Response>,
}

impl PreparedResponses {
    pub fn new(config: &Config) -> PreparedResponses {
        let default_rule = Rule::DEFAULT_JWT;
        let rules = config.rules.iter().chain([&default_rule]);
        let failures = TokenError::ALL
            .iter()
            .map(|e| BearerFailure::InvalidToken(e.description()))
            .chain([MULTIPLE_BEARER_TOKENS]);
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
            metadata_preflight: Rc::new(metadata::preflight_response()),
        }
    }

    /// No credentials for the rule at `index` (`None`: no rule matched).
    pub fn missing(&self, index: Option<usize>) -> Option<Rc<Response>> {
        let index = index.unwrap_or(self.missing.len().saturating_sub(1));
        self.missing.get(index).cloned()
    }

    pub fn missing_either(&self, index: Option<usize>) -> Option<Rc<Response>> {
        let index = index.unwrap_or(self.missing_either.len().saturating_sub(1));
        self.missing_either.get(index).cloned().flatten()
    }

    pub fn bearer(&self, failure: &BearerFailure) -> Option<Rc<Response>> {
        self.bearer
            .iter()
            .find(|(f, _)| f == failure)
            .map(|(_, r)| Rc::clone(r))
    }

    pub fn subscription_missing(&self) -> Option<Rc<Response>> {
        self.subscription_missing.clone()
    }

    pub fn subscription_invalid(&self) -> Option<Rc<Response>> {
        self.subscription_invalid.clone()
    }

    pub fn metadata(&self) -> Option<Rc<Response>> {
        self.metadata.clone()
    }

    pub fn metadata_preflight(&self) -> Rc<Response> {
        Rc::clone(&self.metadata_preflight)
    }
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

    /// What is prepared must be exactly what would be built per request.
    #[test]
    fn prepared_equals_built() {
        let c = config();
        let p = PreparedResponses::new(&c);
        for (i, rule) in c.rules.iter().enumerate() {
            assert_eq!(*p.missing(Some(i)).unwrap(), missing(&c, rule), "rule {i}");
            let either = p.missing_either(Some(i));
            if rule.require == Requirement::JwtOrSubscriptionKey {
                assert_eq!(*either.unwrap(), missing_either(&c, rule));
            } else {
                assert!(either.is_none());
            }
        }
        assert_eq!(*p.missing(None).unwrap(), missing(&c, &Rule::DEFAULT_JWT));
        let hint = p.missing(Some(0)).unwrap();
        assert!(hint
            .header("www-authenticate")
            .unwrap()
            .contains("scope=\"api://calculator/calculator.add\""));
        for e in TokenError::ALL {
            let f = BearerFailure::InvalidToken(e.description());
            assert_eq!(
                *p.bearer(&f).unwrap(),
                bearer_response(&f, &[], c.mcp.as_ref())
            );
        }
        assert_eq!(p.bearer(&MULTIPLE_BEARER_TOKENS).unwrap().status, 400);
        assert!(p.bearer(&BearerFailure::InsufficientScope("x")).is_none());
        let sub = c.subscription.as_ref().unwrap();
        assert_eq!(
            *p.subscription_missing().unwrap(),
            missing_key_response(sub)
        );
        assert_eq!(
            *p.subscription_invalid().unwrap(),
            invalid_key_response(sub)
        );
        let mcp = c.mcp.as_ref().unwrap();
        assert_eq!(*p.metadata().unwrap(), metadata::response(&c, mcp));
        assert_eq!(*p.metadata_preflight(), metadata::preflight_response());
    }

    #[test]
    fn without_optional_blocks_nothing_is_prepared_for_them() {
        let mut c = config();
        c.subscription = None;
        c.mcp = None;
        let p = PreparedResponses::new(&c);
        assert!(p.subscription_missing().is_none() && p.metadata().is_none());
        let either = p.missing_either(Some(1)).unwrap();
        assert_eq!(
            either.header("www-authenticate"),
            Some("Bearer scope=\"x.y\"")
        );
    }
}
