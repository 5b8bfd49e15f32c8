//! Every response a client can get from the filter itself, built here and
//! nowhere else: RFC 6750 challenges, APIM's subscription-key answers, the
//! RFC 9728 and RFC 8414 documents, static client registration, CORS
//! preflights of those, the replies prepared when the configuration loads,
//! and the filter's own failures (400, 413, 500, 503).

pub mod apim;
pub mod authorization_server;
pub mod challenge;
pub mod cors;
pub mod failures;
pub mod metadata;
pub mod prepared;
pub mod registration;
mod response;

pub use response::{Response, WireHeaders};

/// `value` as JSON. serde_json fails only on a map with non-string keys or
/// a `Serialize` that errs; the documents written here have neither, so
/// the empty fallback is never taken.
pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}

/// A public JSON document the filter serves itself (protected resource and
/// authorization server metadata): cacheable, readable from any origin.
pub(crate) fn public_document(body: Vec<u8>) -> Response {
    Response::new(
        200,
        vec![
            ("content-type".into(), "application/json".into()),
            ("cache-control".into(), "public, max-age=3600".into()),
            ("access-control-allow-origin".into(), "*".into()),
        ],
        body,
    )
}
