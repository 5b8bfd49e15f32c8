//! The keys one VM verifies with, rebuilt whenever the shared copy changes.

use super::RsaKey;

/// Keys older than this (counted from their last successful fetch) are no
/// longer trusted, however long the authority stays down: Entra tokens live
/// about an hour, so nothing valid can still need them.
pub const MAX_KEY_AGE_MS: u64 = 24 * 3600 * 1000;

#[derive(Debug, Clone, Default)]
pub struct KeySet {
    keys: Vec<RsaKey>,
    /// Host time (ms) of the fetch that produced these keys.
    fetched_at_ms: u64,
    /// `SharedStatus::generation` these keys came from.
    generation: u64,
}

impl KeySet {
    pub fn new(keys: Vec<RsaKey>, fetched_at_ms: u64, generation: u64) -> Self {
        Self {
            keys,
            fetched_at_ms,
            generation,
        }
    }

    /// Whether there are keys young enough to verify with.
    pub fn is_usable(&self, now_ms: u64) -> bool {
        !self.keys.is_empty() && now_ms.saturating_sub(self.fetched_at_ms) <= MAX_KEY_AGE_MS
    }

    pub fn find(&self, kid: &str) -> Option<&RsaKey> {
        self.keys.iter().find(|k| k.kid == kid)
    }

    pub fn fetched_at(&self) -> u64 {
        self.fetched_at_ms
    }

    /// The same keys, confirmed by a fetch at `fetched_at_ms`.
    pub fn refreshed_at(&self, fetched_at_ms: u64) -> KeySet {
        KeySet {
            fetched_at_ms,
            ..self.clone()
        }
    }

    /// Whether `keys` are exactly these (same ids, key material and
    /// issuers, in any order): a re-fetch that finds them changes nothing.
    pub fn same_keys(&self, keys: &[RsaKey]) -> bool {
        let same = |a: &RsaKey, b: &RsaKey| {
            a.kid == b.kid && a.spki_der == b.spki_der && a.issuer == b.issuer
        };
        self.keys.len() == keys.len()
            && keys
                .iter()
                .all(|k| self.keys.iter().any(|mine| same(mine, k)))
            && self
                .keys
                .iter()
                .all(|mine| keys.iter().any(|k| same(mine, k)))
    }

    pub fn generation(&self) -> u64 {
        self.generation
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}
