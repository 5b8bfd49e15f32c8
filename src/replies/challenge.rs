//! RFC 6750 challenges (with RFC 9728's `resource_metadata`) and the
//! bodies that go with them.

use crate::config::McpConfig;
use crate::replies::{to_json, Response};
use serde::Serialize;

/// The kind of bearer failure; decides status and `error` (RFC 6750 §3.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BearerFailure {
    /// No credentials: 401 without an `error` parameter.
    NoCredentials,
    InvalidToken(&'static str),
    InvalidRequest(&'static str),
    InsufficientScope(&'static str),
}

/// Two bearer credentials: never a guess at which one counts.
pub const MULTIPLE_BEARER_TOKENS: BearerFailure =
    BearerFailure::InvalidRequest("send exactly one bearer token");

/// `Authorization: Bearer` followed by something other than spaces and one
/// `b64token` (RFC 6750 §2.1).
pub const MALFORMED_BEARER_CREDENTIAL: BearerFailure = BearerFailure::InvalidRequest(
    "the bearer credential is malformed: send Bearer, a space and the token",
);

/// A token in the `access_token` query parameter (RFC 6750 §2.3): the
/// filter reads tokens from the `Authorization` header only.
pub const ACCESS_TOKEN_IN_QUERY: BearerFailure = BearerFailure::InvalidRequest(
    "send the access token in the Authorization header, not in the query",
);

/// Every failure without a scope hint that is not a `TokenError`: the
/// prepared replies cover these too.
pub const REQUEST_FAILURES: [BearerFailure; 3] = [
    MULTIPLE_BEARER_TOKENS,
    MALFORMED_BEARER_CREDENTIAL,
    ACCESS_TOKEN_IN_QUERY,
];

impl BearerFailure {
    pub fn status(&self) -> u32 {
        match self {
            BearerFailure::NoCredentials | BearerFailure::InvalidToken(_) => 401,
            BearerFailure::InvalidRequest(_) => 400,
            BearerFailure::InsufficientScope(_) => 403,
        }
    }

    fn error_code(&self) -> Option<(&'static str, &'static str)> {
        match self {
            BearerFailure::NoCredentials => None,
            BearerFailure::InvalidToken(d) => Some(("invalid_token", d)),
            BearerFailure::InvalidRequest(d) => Some(("invalid_request", d)),
            BearerFailure::InsufficientScope(d) => Some(("insufficient_scope", d)),
        }
    }
}

/// `Bearer error="...", error_description="...", scope="...", resource_metadata="..."`
pub fn bearer_challenge(
    failure: &BearerFailure,
    scopes: &[String],
    mcp: Option<&McpConfig>,
) -> String {
    let mut params: Vec<(&str, String)> = Vec::new();
    if let Some((code, description)) = failure.error_code() {
        params.push(("error", code.to_string()));
        params.push(("error_description", description.to_string()));
    }
    if !scopes.is_empty() {
        params.push(("scope", scopes.join(" ")));
    }
    if let Some(mcp) = mcp {
        params.push(("resource_metadata", mcp.resource_metadata_url.clone()));
    }
    let rendered: Vec<String> = params
        .iter()
        .map(|(name, value)| format!("{name}=\"{}\"", quote(value)))
        .collect();
    if rendered.is_empty() {
        "Bearer".to_string()
    } else {
        format!("Bearer {}", rendered.join(", "))
    }
}

/// The full denial: status from the failure, the challenge, a JSON body
/// repeating it for humans, and CORS so browser clients can read it.
pub fn bearer_response(
    failure: &BearerFailure,
    scopes: &[String],
    mcp: Option<&McpConfig>,
) -> Response {
    let (error, description) = failure
        .error_code()
        .unwrap_or(("unauthorized", "a bearer token is required"));
    Response::json(failure.status(), error_body(error, description))
        .with_header("www-authenticate", bearer_challenge(failure, scopes, mcp))
        .with_header("access-control-allow-origin", "*")
        .with_header("access-control-expose-headers", "WWW-Authenticate")
}

/// 503 while no signing keys could be had: fail closed, say when to retry.
pub fn keys_unavailable_response(retry_after_seconds: u64) -> Response {
    let body = error_body(
        "temporarily_unavailable",
        "the signing keys of the identity provider are not available yet",
    );
    Response::json(503, body).with_header("retry-after", retry_after_seconds.to_string())
}

/// 400 for a request the filter cannot read one way only.
pub fn bad_request_response(description: &'static str) -> Response {
    Response::json(400, error_body("invalid_request", description))
}

/// `{"error": ..., "error_description": ...}` (RFC 6750 §3 in a body).
fn error_body(error: &str, description: &str) -> Vec<u8> {
    #[derive(Serialize)]
    struct ErrorBody<'a> {
        error: &'a str,
        error_description: &'a str,
    }
    to_json(&ErrorBody {
        error,
        error_description: description,
    })
}

/// RFC 7230 quoted-string content: `"` and `\` escaped, controls dropped.
pub(crate) fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn mcp() -> McpConfig {
        McpConfig {
            resource: "https://mcp.example/mcp".into(),
            resource_metadata_url: "https://mcp.example/.well-known/oauth-protected-resource/mcp"
                .into(),
            resource_metadata_path: "/.well-known/oauth-protected-resource/mcp".into(),
            scopes_supported: vec![],
            resource_name: None,
            resource_documentation: None,
            resource_policy_uri: None,
            resource_tos_uri: None,
            max_body_bytes: 1024,
            authorization_server: None,
        }
    }

    #[test]
    fn challenges_follow_rfc6750() {
        let m = mcp();
        let scopes = vec!["a".to_string(), "b".to_string()];
        assert_eq!(
            bearer_challenge(&BearerFailure::NoCredentials, &[], Some(&m)),
            "Bearer resource_metadata=\"https://mcp.example/.well-known/oauth-protected-resource/mcp\""
        );
        assert_eq!(
            bearer_challenge(&BearerFailure::NoCredentials, &scopes, None),
            "Bearer scope=\"a b\""
        );
        assert_eq!(
            bearer_challenge(&BearerFailure::NoCredentials, &[], None),
            "Bearer"
        );
        let c = bearer_challenge(&BearerFailure::InsufficientScope("x"), &scopes, Some(&m));
        assert!(c.starts_with("Bearer error=\"insufficient_scope\", error_description=\"x\", scope=\"a b\", resource_metadata="), "{c}");
        let r = bearer_response(
            &BearerFailure::InvalidToken("the token has expired"),
            &[],
            None,
        );
        assert_eq!(r.status, 401);
        assert_eq!(
            r.header("www-authenticate"),
            Some("Bearer error=\"invalid_token\", error_description=\"the token has expired\"")
        );
        assert_eq!(
            bearer_response(&BearerFailure::InvalidRequest("x"), &[], None).status,
            400
        );
        assert_eq!(quote("a\"b\\c\r\n"), "a\\\"b\\\\c");
    }

    #[test]
    fn unavailable_says_when_to_retry() {
        let r = keys_unavailable_response(7);
        assert_eq!((r.status, r.header("retry-after")), (503, Some("7")));
    }
}
