//! Envoy counters (`wasmcustom.entra_guard.*` in Envoy's stats). Envoy
//! merges same-named metrics of all worker VMs into one.

use proxy_wasm::hostcalls;
use proxy_wasm::types::MetricType;
use std::collections::HashMap;

const PREFIX: &str = "entra_guard";

/// Every denial reason the core can return, defined up front so
/// dashboards see zeros rather than missing series.
const DENIAL_REASONS: &[&str] = &[
    "missing",
    "malformed",
    "signature",
    "expired",
    "issuer",
    "audience",
    "tenant",
    "client",
    "scope",
    "keys_unavailable",
    "invalid_request",
    "subscription_missing",
    "subscription_invalid",
];

/// Counts are kept in the VM and flushed on the root's tick: one host call
/// per counter per tick instead of several per request.
#[derive(Default)]
pub struct Metrics {
    slots: HashMap<String, usize>,
    /// (Envoy metric id, count not yet flushed)
    counts: Vec<(u32, u64)>,
}

/// The counters the filter always has. Defined first, in this order, so a
/// counter's slot is its index: the hot path counts without comparing names.
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

impl Metrics {
    pub fn define_all(&mut self, subscription_names: &[String]) {
        for name in FIXED {
            self.slot(name);
        }
        for reason in DENIAL_REASONS {
            self.slot(&format!("denied.{reason}"));
        }
        for name in subscription_names {
            self.slot(&subscription_metric(name));
        }
    }

    /// `denied` and `denied.<reason>`, from the fixed slots: a denial is
    /// what an attacker can repeat at line rate.
    pub fn denied(&mut self, reason: &str) {
        self.count(Counter::Denied);
        match DENIAL_REASONS.iter().position(|r| *r == reason) {
            Some(i) if FIXED.len() + i < self.counts.len() => self.counts[FIXED.len() + i].1 += 1,
            _ => self.inc(&format!("denied.{reason}")),
        }
    }

    pub fn count(&mut self, counter: Counter) {
        if let Some((_, pending)) = self.counts.get_mut(counter as usize) {
            *pending += 1;
        }
    }

    /// A counter known only by name (a subscription's).
    pub fn inc(&mut self, name: &str) {
        if let Some(slot) = self.slot(name) {
            self.counts[slot].1 += 1;
        }
    }

    pub fn flush(&mut self) {
        for (id, pending) in &mut self.counts {
            if *pending > 0 {
                let _ = hostcalls::increment_metric(*id, *pending as i64);
                *pending = 0;
            }
        }
    }

    fn slot(&mut self, name: &str) -> Option<usize> {
        if let Some(slot) = self.slots.get(name) {
            return Some(*slot);
        }
        let full = format!("{PREFIX}.{name}");
        // A metric the host refused still takes its slot (counted into the
        // void) so the fixed slots keep their indices.
        let id = hostcalls::define_metric(MetricType::Counter, &full).unwrap_or(u32::MAX);
        self.counts.push((id, 0));
        self.slots.insert(name.to_string(), self.counts.len() - 1);
        Some(self.counts.len() - 1)
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
