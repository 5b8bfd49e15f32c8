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

#[derive(Default)]
pub struct Metrics {
    ids: HashMap<String, u32>,
}

impl Metrics {
    pub fn define_all(&mut self, subscription_names: &[String]) {
        for name in [
            "allowed",
            "allowed.jwt",
            "allowed.subscription_key",
            "allowed.jwt_and_subscription_key",
            "allowed.public",
            "allowed.preflight",
            "metadata_served",
            "token_cache.hit",
            "token_cache.miss",
            "jwks_fetch.ok",
            "jwks_fetch.failed",
            "jwks_fetch.kid_miss",
            "requests_waited_for_keys",
        ] {
            self.id(name);
        }
        for reason in DENIAL_REASONS {
            self.id(&format!("denied.{reason}"));
        }
        self.id("denied");
        for name in subscription_names {
            self.id(&format!("subscription.{name}.allowed"));
        }
    }

    pub fn inc(&mut self, name: &str) {
        if let Some(id) = self.id(name) {
            let _ = hostcalls::increment_metric(id, 1);
        }
    }

    fn id(&mut self, name: &str) -> Option<u32> {
        if let Some(id) = self.ids.get(name) {
            return Some(*id);
        }
        let full = format!("{PREFIX}.{name}");
        let id = hostcalls::define_metric(MetricType::Counter, &full).ok()?;
        self.ids.insert(name.to_string(), id);
        Some(id)
    }
}
