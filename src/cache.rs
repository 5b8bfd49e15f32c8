//! Verified tokens by their exact bytes, so a repeated token costs a hash
//! lookup instead of an RSA check. Bounded; cleared whenever the key set
//! changes, so no entry outlives the key that verified it.

use crate::token::VerifiedToken;
use std::collections::HashMap;
use std::rc::Rc;

#[derive(Debug)]
pub struct TokenCache {
    entries: HashMap<Box<[u8]>, Rc<VerifiedToken>>,
    capacity: usize,
    generation: u64,
}

impl TokenCache {
    pub fn new(capacity: usize) -> Self {
        Self {
            entries: HashMap::new(),
            capacity,
            generation: 0,
        }
    }

    /// Drops everything verified with an older key set.
    pub fn sync_generation(&mut self, generation: u64) {
        if generation != self.generation {
            self.entries.clear();
            self.generation = generation;
        }
    }

    /// Entries past `exp` plus skew are removed rather than returned.
    pub fn get(&mut self, token: &[u8], now: u64, skew: u64) -> Option<Rc<VerifiedToken>> {
        let hit = self.entries.get(token)?;
        if hit
            .claims()
            .exp
            .is_some_and(|exp| now <= exp.saturating_add(skew))
        {
            return Some(Rc::clone(hit));
        }
        self.entries.remove(token);
        None
    }

    pub fn insert(&mut self, token: &[u8], verified: Rc<VerifiedToken>, now: u64, skew: u64) {
        if self.capacity == 0 {
            return;
        }
        if self.entries.len() >= self.capacity {
            self.entries.retain(|_, v| {
                v.claims()
                    .exp
                    .is_some_and(|exp| now <= exp.saturating_add(skew))
            });
        }
        if self.entries.len() >= self.capacity {
            // Still full of live tokens: forget half rather than track
            // recency on the hot path.
            let mut keep = self.capacity / 2;
            self.entries.retain(|_, _| {
                keep = keep.saturating_sub(1);
                keep > 0
            });
        }
        self.entries.insert(token.into(), verified);
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}
