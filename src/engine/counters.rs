//! What the engine counted since the glue last flushed to the host's
//! metrics (`wasmcustom.entra_guard.*`): fixed counters first, in the
//! order of `Counter`, then one per denial reason, then one per
//! subscription. The hot path counts by index, never by name.

use crate::authorize::DenyReason;
use foldhash::fast::FixedState;
use std::collections::HashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counter {
    Allowed,
    AllowedJwt,
    TokenCacheHit,
    TokenCacheMiss,
    /// A token answered 401 because the same bytes failed their signature
    /// check before (with the same keys): no verification spent.
    TokenCacheRejectedHit,
    AllowedSubscriptionKey,
    AllowedJwtAndSubscriptionKey,
    AllowedPublic,
    AllowedPreflight,
    MetadataServed,
    RegistrationAccepted,
    RegistrationRefused,
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
    "token_cache.rejected_hit",
    "allowed.subscription_key",
    "allowed.jwt_and_subscription_key",
    "allowed.public",
    "allowed.preflight",
    "metadata_served",
    "registration.accepted",
    "registration.refused",
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
    subscriptions: HashMap<String, usize, FixedState>,
}

impl Counts {
    /// One counter per fixed `Counter`, per `DenyReason` (defined up front
    /// so dashboards see zeros rather than missing series) and per
    /// configured subscription name.
    pub fn new<'a>(subscriptions: impl IntoIterator<Item = &'a str>) -> Counts {
        let mut names: Vec<String> = FIXED.iter().map(|n| n.to_string()).collect();
        names.extend(
            DenyReason::ALL
                .iter()
                .map(|r| format!("denied.{}", r.name())),
        );
        let mut by_name = HashMap::with_hasher(FixedState::default());
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

    pub fn denied(&mut self, reason: DenyReason) {
        self.count(Counter::Denied);
        self.add(FIXED.len() + reason as usize);
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

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn every_outcome_counts_under_its_own_name() {
        let mut counts = Counts::new(["contoso", "fabrikam"]);
        for (i, reason) in DenyReason::ALL.iter().enumerate() {
            assert_eq!(*reason as usize, i, "ALL is in declaration order");
            counts.denied(*reason);
            assert_eq!(counts.pending(&format!("denied.{}", reason.name())), 1);
        }
        assert_eq!(counts.pending("denied"), DenyReason::ALL.len() as u64);
        counts.subscription("fabrikam");
        counts.subscription("unknown");
        assert_eq!(counts.pending("subscription.fabrikam.allowed"), 1);
        let mut flushed = 0;
        counts.drain(|_, n| flushed += n);
        assert_eq!(flushed, 2 * DenyReason::ALL.len() as u64 + 1);
        assert_eq!(counts.pending("denied"), 0);
    }
}
