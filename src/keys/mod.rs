//! Signing keys: discovery and JWKS documents (parsed with bounds), the
//! key set used to verify tokens, and the pure refresh policy that decides
//! when to fetch.

mod discovery;
mod jwks;
mod keyset;
mod refresh;
mod rsa_key;
mod shared;

#[cfg(test)]
mod tests;
pub use keyset::MAX_KEY_AGE_MS;

pub use discovery::{parse_discovery, Discovery, DiscoveryError};
pub use jwks::{parse_jwks, JwksError, ParsedJwks};
pub use keyset::KeySet;
pub use refresh::{FetchReason, RefreshPolicy, RefreshState};
pub use rsa_key::RsaKey;
pub use shared::{SharedKeys, SharedStatus};

/// Largest discovery or JWKS body accepted from the authority.
pub const MAX_DOCUMENT_BYTES: usize = 256 * 1024;

/// A JSON object read into `T`. serde's derived structs also read a JSON
/// array (fields by position): every document and record here is an
/// object, so anything else is refused before serde sees it.
fn from_object<T: serde::de::DeserializeOwned>(body: &[u8]) -> Option<T> {
    let first = body
        .iter()
        .find(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'));
    if first != Some(&b'{') {
        return None;
    }
    serde_json::from_slice(body).ok()
}
