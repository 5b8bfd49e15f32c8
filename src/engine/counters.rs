//! What the engine counted since the glue last flushed to the host's
//! metrics (`wasmcustom.entra_guard.*`): fixed counters first, in the
//! order of `Counter`, then one per denial reason, then one per
//! subscription. The hot path counts by index, never by name.

use std::collections::HashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counter {
    Allowed,
    AllowedJwt,
    TokenCacheHit,
    TokenCacheMiss,
    AllowedSubscriptionKey,
    AllowedJwtAndSubscriptionKey,
    AllowedPublic,
    AllowedPreflight,
    MetadataServed,
    JwksFetchOk,
    JwksFetchFailed,
    JwksFetchKidMiss,
    RequestsWaitedForKeys,
    Denied,
}

/// Names of the `Counter`s, in declaration order.
const FIXED: &[&str] = &[
    "allowed",
    "allowed.jwt",
    "token_cache.hit",
    "token_cache.miss",
    "allowed.subscription_key",
    "allowed.jwt_and_subscription_key",
    "allowed.public",
    "allowed.preflight",
    "metadata_served",
    "jwks_fetch.ok",
    "jwks_fetch.failed",
    "jwks_fetch.kid_miss",
    "requests_waited_for_keys",
    "denied",
];

const _: () = assert!(FIXED.len() == Counter::Denied as usize + 1);

pub struct Counts {
    names: Vec<String>,
    pending: Vec<u64>,
    /// Subscription name -> slot.
    subscriptions: HashMap<String, usize>,
}

impl Counts {
    /// `denial_reasons` are the metric suffixes of every denial
    /// (`denied.<reason>`), `subscriptions` the configured names.
    pub fn new<'a>(
        denial_reasons: impl IntoIterator<Item = &'a str>,
        subscriptions: impl IntoIterator<Item = &'a str>,
    ) -> Counts {
        let mut names: Vec<String> = FIXED.iter().map(|n| n.to_string()).collect();
        names.extend(denial_reasons.into_iter().map(|r| format!("denied.{r}")));
        let mut by_name = HashMap::new();
        for name in subscriptions {
            by_name.entry(name.to_string()).or_insert_with(|| {
                names.push(subscription_metric(name));
                names.len() - 1
            });
        }
        Counts {
            pending: vec![0; names.len()],
            names,
            subscriptions: by_name,
        }
    }

    /// Every metric name, by slot (without the `entra_guard.` prefix).
    pub fn names(&self) -> &[String] {
        &self.names
    }

    pub fn count(&mut self, counter: Counter) {
        self.add(counter as usize);
    }

    /// `slot` of a denial reason: its index among `new`'s reasons.
    pub fn denied(&mut self, reason_index: usize) {
        self.count(Counter::Denied);
        self.add(FIXED.len() + reason_index);
    }

    pub fn subscription(&mut self, name: &str) {
        if let Some(&slot) = self.subscriptions.get(name) {
            self.add(slot);
        }
    }

    /// Hands each non-zero count to `flush` (slot, count) and zeroes it.
    pub fn drain(&mut self, mut flush: impl FnMut(usize, u64)) {
        for (slot, pending) in self.pending.iter_mut().enumerate() {
            if *pending > 0 {
                flush(slot, *pending);
                *pending = 0;
            }
        }
    }

    /// The count not yet flushed under `name` (tests).
    pub fn pending(&self, name: &str) -> u64 {
        self.names
            .iter()
            .position(|n| n == name)
            .map_or(0, |slot| self.pending[slot])
    }

    fn add(&mut self, slot: usize) {
        if let Some(pending) = self.pending.get_mut(slot) {
            *pending += 1;
        }
    }
}

/// Subscription names are operator text: keep them to characters Envoy's
/// stat names and Prometheus tolerate.
pub fn subscription_metric(name: &str) -> String {
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("subscription.{clean}.allowed")
}
