//! APIM-style subscription keys: where a request carries one, whether it is
//! a configured key, and the answers APIM clients expect when it is not.
//!
//! Keys exist here only as SHA-256 digests. A candidate is hashed once and
//! looked up by that digest in an index built when the configuration loads,
//! so the cost of a check does not grow with the number of keys. The lookup's
//! timing depends only on the digest of the guess (docs/threat-model.md says
//! why that reveals nothing about configured keys); the entry it finds is
//! then compared with the candidate's digest in constant time.

mod query;

use crate::config::SubscriptionConfig;
use crate::headers::Header;
use foldhash::fast::FixedState;
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::ops::Deref;
use subtle::ConstantTimeEq;

use crate::authorize::DenyReason;
pub use crate::replies::apim::{challenge, invalid_key_response, missing_key_response};
pub use query::{has_query_param, strip_query_param};

/// Longest key accepted; longer candidates are refused before hashing, so
/// the work spent on a request's key is bounded whatever the client sends.
pub const MAX_KEY_BYTES: usize = 256;

/// Key bytes as the client sent them (decoded once when they came from the
/// query). `Debug` shows only the length: a key must never reach a log.
#[derive(Clone, PartialEq, Eq)]
pub struct Candidate<'a>(Cow<'a, [u8]>);

impl fmt::Debug for Candidate<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Candidate(<{} bytes>)", self.0.len())
    }
}

impl AsRef<[u8]> for Candidate<'_> {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Deref for Candidate<'_> {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyPresence<'a> {
    Absent,
    /// Exactly one key, possibly empty or garbage: `check_key` judges it.
    Present(Candidate<'a>),
    /// Two key headers, or the query parameter twice (when no header wins).
    /// Which one the upstream or a later proxy would read is unknowable, so
    /// the request is answered 400 `invalid_request`, like two
    /// `Authorization` headers, rather than 401 as if one key were wrong.
    Ambiguous,
}

impl KeyPresence<'_> {
    /// The denial when the request stops here; `None` for `Present`. More
    /// than one key is the same `invalid_request` as more than one credential
    /// of any kind (the contract's 400 row).
    pub fn reason(&self) -> Option<DenyReason> {
        match self {
            KeyPresence::Absent => Some(DenyReason::SubscriptionMissing),
            KeyPresence::Present(_) => None,
            KeyPresence::Ambiguous => Some(DenyReason::InvalidRequest),
        }
    }
}

/// Finds the subscription key of a request. `headers` are all request
/// headers (lowercase names, raw values, duplicates kept); `raw_path` is the
/// `:path` with its query. A key header, even an empty one, wins over the
/// query parameter, which is then not looked at (APIM's rule); the glue
/// strips both before forwarding anyway.
pub fn find_key<'a>(
    cfg: &SubscriptionConfig,
    headers: &'a [Header<'a>],
    raw_path: &'a str,
) -> KeyPresence<'a> {
    let mut in_headers = headers
        .iter()
        .filter(|(name, _)| name.eq_ignore_ascii_case(&cfg.header))
        .map(|(_, value)| *value);
    if let Some(value) = in_headers.next() {
        return match in_headers.next() {
            Some(_) => KeyPresence::Ambiguous,
            None => KeyPresence::Present(Candidate(Cow::Borrowed(value))),
        };
    }
    let (Some(param), Some(query)) = (cfg.query.as_deref(), query::query(raw_path)) else {
        return KeyPresence::Absent;
    };
    match query::single_value(query, param) {
        Ok(None) => KeyPresence::Absent,
        Ok(Some(raw)) => KeyPresence::Present(Candidate(query::decode_bounded(raw, MAX_KEY_BYTES))),
        Err(query::Repeated) => KeyPresence::Ambiguous,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyCheck<'c> {
    /// `name` is the subscription the key belongs to.
    Valid {
        name: &'c str,
    },
    Invalid,
}

impl KeyCheck<'_> {
    /// The denial when the request stops here; `None` for `Valid`.
    pub fn reason(&self) -> Option<DenyReason> {
        match self {
            KeyCheck::Valid { .. } => None,
            KeyCheck::Invalid => Some(DenyReason::SubscriptionInvalid),
        }
    }
}

/// Whether `key` can be a subscription key at all: 1 to 256 visible ASCII
/// characters. Spaces are excluded as well as controls: HTTP trims them
/// from header values, so such a key could not travel in the header. The
/// `hash-key` command applies the same rule, so every key an operator can
/// hash is one the filter can accept.
pub fn is_acceptable_key(key: &[u8]) -> bool {
    !key.is_empty() && key.len() <= MAX_KEY_BYTES && key.iter().all(u8::is_ascii_graphic)
}

/// The lowercase hex SHA-256 of a key, as written in the configuration.
pub fn key_digest_hex(key: &[u8]) -> String {
    Sha256::digest(key)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Position of each configured digest in `SubscriptionConfig::keys`, built
/// once when the configuration loads. When several entries share a digest
/// the first one is indexed (its name is the one a match reports).
#[derive(Debug, Clone, Default)]
pub struct KeyIndex {
    by_digest: HashMap<[u8; 32], usize, FixedState>,
}

impl KeyIndex {
    pub fn new(cfg: &SubscriptionConfig) -> KeyIndex {
        let mut by_digest =
            HashMap::with_capacity_and_hasher(cfg.keys.len(), FixedState::default());
        for (i, key) in cfg.keys.iter().enumerate() {
            by_digest.entry(key.sha256).or_insert(i);
        }
        KeyIndex { by_digest }
    }
}

/// Checks a candidate against the configured digests, through `index`
/// (built from `cfg`). When several entries share a digest the first one's
/// name is returned.
pub fn check_key<'c>(
    cfg: &'c SubscriptionConfig,
    index: &KeyIndex,
    candidate: impl AsRef<[u8]>,
) -> KeyCheck<'c> {
    let candidate = candidate.as_ref();
    if !is_acceptable_key(candidate) {
        return KeyCheck::Invalid;
    }
    let digest: [u8; 32] = Sha256::digest(candidate).into();
    let Some(key) = index.by_digest.get(&digest).and_then(|&i| cfg.keys.get(i)) else {
        return KeyCheck::Invalid;
    };
    // The map found it by equality already; the entry is compared again in
    // constant time so that a match never rests on the map's own compare
    // (nor on an index built from another configuration). Both sides are
    // [u8; 32]: slice ct_eq only short-cuts on length.
    if bool::from(digest[..].ct_eq(&key.sha256[..])) {
        KeyCheck::Valid { name: &key.name }
    } else {
        KeyCheck::Invalid
    }
}

#[cfg(test)]
mod tests;
