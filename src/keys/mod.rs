//! Signing keys: discovery and JWKS documents (parsed with bounds), the
//! key set used to verify tokens, and the pure refresh policy that decides
//! when to fetch.

mod der;
mod discovery;
mod jwks;
mod keyset;
mod refresh;
mod shared;

#[cfg(test)]
mod tests;
pub use keyset::MAX_KEY_AGE_MS;

pub use discovery::{parse_discovery, Discovery, DiscoveryError};
pub use jwks::{parse_jwks, JwksError, ParsedJwks, RsaKey};
pub use keyset::KeySet;
pub use refresh::{FetchReason, RefreshPolicy, RefreshState};
pub use shared::{SharedKeys, SharedStatus};

/// Largest discovery or JWKS body accepted from the authority.
pub const MAX_DOCUMENT_BYTES: usize = 256 * 1024;
