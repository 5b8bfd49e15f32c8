//! The storage under both token caches: entries keyed by a token's exact
//! bytes, in buckets of a cheap hash, with bounds on entries, bytes and
//! entries per bucket.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// The map's keys are already hashes (`key_hash`): hashing them again
/// with SipHash cost more than the rest of a lookup. A client can make
/// tokens that share a hash; `Limits::per_bucket` bounds what that costs
/// where clients choose what is inserted.
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

#[derive(Debug, Clone, Copy)]
pub(super) struct Limits {
    pub entries: usize,
    /// Token bytes held at most.
    pub bytes: usize,
    /// Tokens sharing a hash; an insert into a full bucket is dropped.
    pub per_bucket: usize,
}

#[derive(Debug)]
struct Entry<V> {
    token: Box<[u8]>,
    value: V,
}

#[derive(Debug)]
pub(super) struct Table<V> {
    buckets: HashMap<u64, Vec<Entry<V>>, BuildHasherDefault<AlreadyHashed>>,
    len: usize,
    bytes: usize,
    limits: Limits,
}

impl<V> Table<V> {
    pub fn new(limits: Limits) -> Self {
        Self {
            buckets: HashMap::default(),
            len: 0,
            bytes: 0,
            limits,
        }
    }

    pub fn clear(&mut self) {
        self.buckets.clear();
        self.len = 0;
        self.bytes = 0;
    }

    pub fn len(&self) -> usize {
        self.len
    }

    /// The value stored for exactly `token` while `live` keeps it; an
    /// entry `live` refuses is removed rather than returned.
    pub fn get(&mut self, token: &[u8], live: impl Fn(&V) -> bool) -> Option<&V> {
        let bucket = self.buckets.get_mut(&key_hash(token))?;
        let i = bucket.iter().position(|e| same_bytes(&e.token, token))?;
        if !live(&bucket[i].value) {
            bucket.swap_remove(i);
            self.len -= 1;
            self.bytes -= token.len();
            return None;
        }
        Some(&bucket[i].value)
    }

    pub fn insert(&mut self, token: &[u8], value: V, live: impl Fn(&V) -> bool) {
        if self.limits.entries == 0 || token.len() > self.limits.bytes {
            return;
        }
        if self.len >= self.limits.entries || self.bytes + token.len() > self.limits.bytes {
            self.evict(&live, token.len());
        }
        let bucket = self.buckets.entry(key_hash(token)).or_default();
        if bucket.len() >= self.limits.per_bucket {
            return;
        }
        bucket.push(Entry {
            token: token.into(),
            value,
        });
        self.len += 1;
        self.bytes += token.len();
    }

    /// Entries `live` refuses first; if that did not make room for
    /// `incoming` bytes, forget about half rather than track recency on
    /// the hot path.
    fn evict(&mut self, live: &impl Fn(&V) -> bool, incoming: usize) {
        for bucket in self.buckets.values_mut() {
            bucket.retain(|e| live(&e.value));
        }
        self.recount();
        if self.len >= self.limits.entries || self.bytes + incoming > self.limits.bytes {
            let mut keep = self.len / 2;
            self.buckets.retain(|_, _| {
                keep = keep.saturating_sub(1);
                keep > 0
            });
        }
        self.buckets.retain(|_, b| !b.is_empty());
        self.recount();
    }

    fn recount(&mut self) {
        let entries = self.buckets.values().flatten();
        self.len = entries.clone().count();
        self.bytes = entries.map(|e| e.token.len()).sum();
    }
}

/// Reads only the length and the token's last 32 bytes (its signature's
/// tail: random for real tokens; a crafted collision costs a comparison,
/// never a false hit).
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

pub(super) fn same_bytes(a: &[u8], b: &[u8]) -> bool {
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
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn limits(entries: usize, bytes: usize, per_bucket: usize) -> Limits {
        Limits {
            entries,
            bytes,
            per_bucket,
        }
    }

    #[test]
    fn entries_bytes_and_buckets_stay_bounded() {
        let mut t = Table::new(limits(8, 64, 2));
        for i in 0..100u8 {
            t.insert(&[i, i, i, i], (), |_| true);
            assert!(t.len() <= 8 && t.bytes <= 64, "{i}");
        }
        let mut t = Table::new(limits(100, 40, 100));
        for i in 0..100u8 {
            t.insert(&[i; 10], (), |_| true);
            assert!(t.bytes <= 40, "{i}");
        }
        assert!(t.get(&[99; 10], |_| true).is_some(), "the latest fits");
        t.insert(&[0; 41], (), |_| true);
        assert!(
            t.get(&[0; 41], |_| true).is_none(),
            "larger than the budget"
        );
        // Same length and same last 32 bytes: one bucket, at most two kept.
        let mut t = Table::new(limits(100, 10_000, 2));
        let tail = [7u8; 32];
        for i in 0..10u8 {
            t.insert(&[&[i][..], &tail].concat(), (), |_| true);
        }
        assert_eq!((t.len(), t.buckets.len()), (2, 1));
        assert!(t.get(&[&[0u8][..], &tail].concat(), |_| true).is_some());
        assert!(t.get(&[&[2u8][..], &tail].concat(), |_| true).is_none());
    }
}
