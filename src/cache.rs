//! Tokens by their exact bytes, so a repeated token costs a hash lookup
//! instead of an RSA check: the verified ones, and the ones whose signature
//! failed. Bounded; cleared whenever the key set changes, so no entry
//! outlives the keys that judged it.
//!
//! Tokens are about a kilobyte: hashing and comparing them byte by byte
//! dominated the hot path in wasm. The hash reads only the length and the
//! signature's tail, and equality compares 8 bytes a step (`table`).
//!
//! Rejected tokens are kept as their bytes too, not as a digest: a lookup
//! then costs what a verified token's does (a SHA-256 of the whole token
//! would cost more than the rest of the request), and a false hit is
//! impossible, so no valid token can ever be answered as a forged one.
//! What a flood of distinct forged tokens can hold is bounded in entries,
//! bytes and tokens per hash (`REJECTED_LIMITS`).

mod table;

use crate::token::VerifiedToken;
use std::rc::Rc;
use table::{Limits, Table};

/// Forged tokens remembered: enough for a flood of a few tokens replayed,
/// small enough to hold whatever clients send (1 MiB of tokens at most).
const REJECTED_LIMITS: Limits = Limits {
    entries: 1024,
    bytes: 1 << 20,
    per_bucket: 4,
};

/// A token whose signature failed with the current keys. `exp` and `since`
/// bound when the checks that run before the signature (the token's
/// lifetime) are known to pass, so that a hit answers what a verification
/// would.
#[derive(Debug)]
struct Rejected {
    exp: u64,
    since: u64,
    /// The policy whose checks the token passed (`Policy::id`).
    judge: u64,
}

#[derive(Debug)]
pub struct TokenCache {
    verified: Table<Rc<VerifiedToken>>,
    rejected: Table<Rejected>,
    generation: u64,
    rejected_hits: u64,
}

impl TokenCache {
    /// `capacity` verified tokens; 0 disables both caches.
    pub fn new(capacity: usize) -> Self {
        let rejected = if capacity == 0 {
            Limits {
                entries: 0,
                ..REJECTED_LIMITS
            }
        } else {
            REJECTED_LIMITS
        };
        Self {
            // Only verified tokens are inserted: nobody fills a bucket on purpose.
            verified: Table::new(Limits {
                entries: capacity,
                bytes: usize::MAX,
                per_bucket: usize::MAX,
            }),
            rejected: Table::new(rejected),
            generation: 0,
            rejected_hits: 0,
        }
    }

    /// Drops everything judged with an older key set.
    pub fn sync_generation(&mut self, generation: u64) {
        if generation != self.generation {
            self.verified.clear();
            self.rejected.clear();
            self.generation = generation;
        }
    }

    /// Entries past `exp` plus skew are removed rather than returned.
    pub fn get(&mut self, token: &[u8], now: u64, skew: u64) -> Option<Rc<VerifiedToken>> {
        let live = |v: &Rc<VerifiedToken>| live(v.claims().exp, now, skew);
        self.verified.get(token, live).map(Rc::clone)
    }

    pub fn insert(&mut self, token: &[u8], verified: Rc<VerifiedToken>, now: u64, skew: u64) {
        let live = |v: &Rc<VerifiedToken>| live(v.claims().exp, now, skew);
        self.verified.insert(token, verified, live);
    }

    /// Whether exactly these bytes failed their signature check with the
    /// current keys after passing the checks of `judge`, and their
    /// lifetime check would still pass at `now`.
    pub fn is_rejected(&mut self, token: &[u8], now: u64, skew: u64, judge: u64) -> bool {
        let live = |r: &Rejected| r.since <= now && live(Some(r.exp), now, skew);
        let hit = self
            .rejected
            .get(token, live)
            .is_some_and(|r| r.judge == judge);
        self.rejected_hits += u64::from(hit);
        hit
    }

    /// Remembers a token whose signature failed at `now`; `exp` is its
    /// `exp` claim, which passed the lifetime check. `judge` names the
    /// checks that passed before the signature's (a policy's own): only a
    /// lookup by the same judge hits.
    pub fn reject(&mut self, token: &[u8], exp: u64, now: u64, skew: u64, judge: u64) {
        let live = |r: &Rejected| live(Some(r.exp), now, skew);
        let entry = Rejected {
            exp,
            since: now,
            judge,
        };
        self.rejected.insert(token, entry, live);
    }

    /// Rejected tokens answered from the cache since the last call.
    pub fn take_rejected_hits(&mut self) -> u64 {
        std::mem::take(&mut self.rejected_hits)
    }

    pub fn len(&self) -> usize {
        self.verified.len()
    }

    pub fn is_empty(&self) -> bool {
        self.verified.len() == 0
    }

    pub fn rejected_len(&self) -> usize {
        self.rejected.len()
    }
}

fn live(exp: Option<u64>, now: u64, skew: u64) -> bool {
    exp.is_some_and(|exp| now <= exp.saturating_add(skew))
}

#[cfg(test)]
mod tests {
    use super::table::same_bytes;
    use super::*;
    use crate::config;
    use crate::keys::KeySet;
    use crate::signature::RustVerifier;
    use crate::testing::*;
    use crate::token::{verify, UntrustedToken};
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn verified(token: &str, keys: &KeySet) -> Rc<VerifiedToken> {
        let untrusted = UntrustedToken::parse(token.as_bytes(), 16_384).unwrap();
        let key = keys.find(untrusted.kid()).unwrap();
        Rc::new(verify(untrusted, key, &RustVerifier).unwrap())
    }

    #[test]
    fn same_bytes_sees_every_byte() {
        for len in 0..100 {
            let a: Vec<u8> = (0..len).map(|i| i as u8).collect();
            assert!(same_bytes(&a, &a.clone()), "{len}");
            for at in 0..len {
                let mut b = a.clone();
                b[at] ^= 0x80;
                assert!(!same_bytes(&a, &b), "{len} {at}");
            }
            assert!(!same_bytes(&a, &[a.as_slice(), &[0]].concat()), "{len}");
        }
    }

    #[test]
    fn hits_only_the_exact_bytes_while_live() {
        let _ = config::DEFAULT_AUTHORITY;
        let keys = keyset();
        let t = token();
        let mut cache = TokenCache::new(4);
        cache.insert(t.as_bytes(), verified(&t, &keys), NOW, 0);
        assert!(cache.get(t.as_bytes(), NOW, 0).is_some());
        let mut other = t.clone().into_bytes();
        other[10] ^= 1;
        assert!(
            cache.get(&other, NOW, 0).is_none(),
            "same tail, other bytes"
        );
        assert!(cache.get(&t.as_bytes()[1..], NOW, 0).is_none());
        assert!(
            cache.get(t.as_bytes(), NOW + 3600 + 1, 0).is_none(),
            "expired"
        );
        assert!(cache.is_empty(), "expired entries are dropped on lookup");
    }

    #[test]
    fn stays_bounded_and_clears_on_new_keys() {
        let keys = keyset();
        let t = token();
        let v = verified(&t, &keys);
        let mut cache = TokenCache::new(8);
        for i in 0..100u8 {
            let mut key = t.clone().into_bytes();
            key.push(b'a' + i % 26);
            key.push(i);
            cache.insert(&key, Rc::clone(&v), NOW, 0);
            assert!(cache.len() <= 8);
        }
        cache.sync_generation(7);
        assert!(cache.is_empty());
        assert!(same_bytes(b"0123456789abc", b"0123456789abc"));
        assert!(!same_bytes(b"0123456789abc", b"0123456789abd"));
        assert!(!same_bytes(b"0123456789abc", b"0123456789ab"));
    }

    #[test]
    fn rejected_tokens_hit_while_their_lifetime_holds_and_stay_bounded() {
        let t = token().into_bytes();
        let exp = NOW + 3600;
        let mut cache = TokenCache::new(16);
        assert!(!cache.is_rejected(&t, NOW, 0, 1));
        cache.reject(&t, exp, NOW, 300, 1);
        assert!(cache.is_rejected(&t, NOW, 300, 1));
        assert!(
            !cache.is_rejected(&t, NOW, 300, 2),
            "judged by another policy"
        );
        assert!(cache.is_rejected(&t, exp + 300, 300, 1), "exp plus skew");
        assert!(
            !cache.is_rejected(&t, NOW - 1, 300, 1),
            "before it was judged"
        );
        assert!(!cache.is_rejected(&t[1..], NOW, 300, 1));
        assert!(cache.get(&t, NOW, 300).is_none(), "never a verified token");
        assert_eq!(cache.take_rejected_hits(), 2);
        assert_eq!(cache.take_rejected_hits(), 0);
        assert!(!cache.is_rejected(&t, exp + 301, 300, 1), "expired");
        assert_eq!(cache.rejected_len(), 0, "expired entries are dropped");
        // A flood of distinct forged tokens: bounded in entries and bytes.
        for i in 0..5_000u32 {
            let mut forged = t.clone();
            forged.extend_from_slice(&i.to_le_bytes());
            cache.reject(&forged, exp, NOW, 0, 1);
            assert!(cache.rejected_len() <= REJECTED_LIMITS.entries);
        }
        assert!(cache.rejected_len() > 0);
        let mut big_tokens = TokenCache::new(16);
        for i in 0..200u32 {
            let mut forged = vec![b'a'; 16 * 1024];
            forged.extend_from_slice(&i.to_le_bytes());
            big_tokens.reject(&forged, exp, NOW, 0, 1);
            assert!(big_tokens.rejected_len() * (16 * 1024 + 4) <= REJECTED_LIMITS.bytes);
        }
        assert!(big_tokens.rejected_len() > 0);
        cache.reject(&t, exp, NOW, 0, 1);
        cache.sync_generation(3);
        assert!(!cache.is_rejected(&t, NOW, 0, 1), "new keys: judged again");
        let mut off = TokenCache::new(0);
        off.reject(&t, exp, NOW, 0, 1);
        assert!(
            !off.is_rejected(&t, NOW, 0, 1),
            "token_cache_size 0: no cache"
        );
    }
}
