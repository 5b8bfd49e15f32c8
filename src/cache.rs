//! Verified tokens by their exact bytes, so a repeated token costs a hash
//! lookup instead of an RSA check. Bounded; cleared whenever the key set
//! changes, so no entry outlives the key that verified it.
//!
//! Tokens are about a kilobyte: hashing and comparing them byte by byte
//! dominated the hot path in wasm. The hash reads only the length and the
//! signature's tail (random for real tokens; a crafted collision costs a
//! comparison, never a false hit), and equality compares 8 bytes a step.

use crate::token::VerifiedToken;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::rc::Rc;

/// The map's keys are already hashes (`key_hash`): hashing them again
/// with SipHash cost more than the rest of a lookup. Only verified
/// tokens are ever inserted, so nobody can fill a bucket on purpose.
#[derive(Default)]
struct AlreadyHashed(u64);

impl Hasher for AlreadyHashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

#[derive(Debug)]
struct Entry {
    token: Box<[u8]>,
    verified: Rc<VerifiedToken>,
}

#[derive(Debug)]
pub struct TokenCache {
    buckets: HashMap<u64, Vec<Entry>, BuildHasherDefault<AlreadyHashed>>,
    len: usize,
    capacity: usize,
    generation: u64,
}

impl TokenCache {
    pub fn new(capacity: usize) -> Self {
        Self {
            buckets: HashMap::default(),
            len: 0,
            capacity,
            generation: 0,
        }
    }

    /// Drops everything verified with an older key set.
    pub fn sync_generation(&mut self, generation: u64) {
        if generation != self.generation {
            self.buckets.clear();
            self.len = 0;
            self.generation = generation;
        }
    }

    /// Entries past `exp` plus skew are removed rather than returned.
    pub fn get(&mut self, token: &[u8], now: u64, skew: u64) -> Option<Rc<VerifiedToken>> {
        let key = key_hash(token);
        let bucket = self.buckets.get_mut(&key)?;
        let i = bucket.iter().position(|e| same_bytes(&e.token, token))?;
        if live(&bucket[i].verified, now, skew) {
            return Some(Rc::clone(&bucket[i].verified));
        }
        bucket.swap_remove(i);
        self.len -= 1;
        None
    }

    pub fn insert(&mut self, token: &[u8], verified: Rc<VerifiedToken>, now: u64, skew: u64) {
        if self.capacity == 0 {
            return;
        }
        if self.len >= self.capacity {
            self.evict(now, skew);
        }
        self.buckets
            .entry(key_hash(token))
            .or_default()
            .push(Entry {
                token: token.into(),
                verified,
            });
        self.len += 1;
    }

    /// Expired entries first; if the cache is still full of live tokens,
    /// forget about half rather than track recency on the hot path.
    fn evict(&mut self, now: u64, skew: u64) {
        for bucket in self.buckets.values_mut() {
            bucket.retain(|e| live(&e.verified, now, skew));
        }
        if self.buckets.values().map(Vec::len).sum::<usize>() >= self.capacity {
            let mut keep = self.capacity / 2;
            self.buckets.retain(|_, _| {
                keep = keep.saturating_sub(1);
                keep > 0
            });
        }
        self.buckets.retain(|_, b| !b.is_empty());
        self.len = self.buckets.values().map(Vec::len).sum();
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

fn live(verified: &VerifiedToken, now: u64, skew: u64) -> bool {
    verified
        .claims()
        .exp
        .is_some_and(|exp| now <= exp.saturating_add(skew))
}

fn key_hash(token: &[u8]) -> u64 {
    let tail = &token[token.len().saturating_sub(32)..];
    let (words, rest) = tail.as_chunks::<8>();
    let mut last = [0u8; 8];
    last[..rest.len()].copy_from_slice(rest);
    let mut h = (token.len() as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    for word in words.iter().chain((!rest.is_empty()).then_some(&last)) {
        h = (h ^ u64::from_le_bytes(*word)).wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 29;
    }
    h
}

fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    // Four words a step, every step (no early exit: a cache probe takes the
    // same time however many leading bytes a forged token gets right). The
    // unrolled loop halves the wasm instructions of a word-by-word one.
    let (a32, a_tail) = a.as_chunks::<32>();
    let (b32, b_tail) = b.as_chunks::<32>();
    let mut diff = 0u64;
    for (x, y) in a32.iter().zip(b32) {
        let (x, y) = (x.as_chunks::<8>().0, y.as_chunks::<8>().0);
        let w = |p: &[u8; 8], q: &[u8; 8]| u64::from_ne_bytes(*p) ^ u64::from_ne_bytes(*q);
        match (x, y) {
            ([x0, x1, x2, x3], [y0, y1, y2, y3]) => {
                diff |= w(x0, y0) | w(x1, y1) | w(x2, y2) | w(x3, y3);
            }
            // 32 bytes are always four words; never read anything else as equal.
            _ => return false,
        }
    }
    let (a8, a_rest) = a_tail.as_chunks::<8>();
    let (b8, b_rest) = b_tail.as_chunks::<8>();
    for (x, y) in a8.iter().zip(b8) {
        diff |= u64::from_ne_bytes(*x) ^ u64::from_ne_bytes(*y);
    }
    diff == 0 && a_rest == b_rest
}

#[cfg(test)]
mod tests {
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
}
