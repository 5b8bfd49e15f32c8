//! What the engine needs from the proxy, as two small traits: the glue
//! implements them over proxy-wasm host calls, the tests and the fuzz
//! harness over plain memory. Nothing here knows it runs in a proxy.

use std::fmt;

/// The request of the stream an event is about.
pub trait RequestSource {
    /// The request headers in the host's serialized map form
    /// (`crate::headers::parse_map`); `None` when the host has none.
    fn header_map(&self) -> Option<Vec<u8>>;
    /// The body buffered so far, at most `max` bytes.
    fn body(&self, max: usize) -> Option<Vec<u8>>;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Info,
    Warn,
    Error,
}

/// Shared data (every worker VM of one Envoy), callouts and logging, for
/// the key refresher on the root context.
pub trait KeyHost {
    /// A value and its CAS token.
    fn shared_get(&self, key: &str) -> (Option<Vec<u8>>, Option<u32>);
    /// `false` when another VM wrote since `cas` (or the host refused).
    fn shared_set(&mut self, key: &str, value: &[u8], cas: Option<u32>) -> bool;
    /// Starts a GET on `cluster`; the answer comes back as
    /// `Engine::on_callout` with the returned token.
    fn dispatch_get(
        &mut self,
        cluster: &str,
        authority: &str,
        path: &str,
        timeout_ms: u64,
    ) -> Result<u32, String>;
    fn log(&mut self, level: Level, message: &str);
}

/// Why a discovery or JWKS callout brought no document. The glue reads
/// the response (size bound included) and says which.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CalloutFailure {
    /// Reset, timeout or connection failure: Envoy gave no headers.
    NoResponse,
    /// Any status but 200 (its three digits, when readable).
    Status(String),
    TooLarge(usize),
    EmptyBody,
}

impl fmt::Display for CalloutFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CalloutFailure::NoResponse => {
                f.write_str("no response (timeout, reset or connection failure)")
            }
            CalloutFailure::Status(code) => write!(f, "status {code}"),
            CalloutFailure::TooLarge(size) => write!(
                f,
                "response of {size} bytes exceeds {}",
                crate::keys::MAX_DOCUMENT_BYTES
            ),
            CalloutFailure::EmptyBody => f.write_str("empty body"),
        }
    }
}

pub type CalloutResult = Result<Vec<u8>, CalloutFailure>;
