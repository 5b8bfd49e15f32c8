//! The configuration compiled once, when it loads: the validated settings,
//! every reply that depends only on them, the key refresh policy and the
//! shared-data namespace. One object, so a decision never joins pieces
//! built from different configurations.

use crate::config::Config;
use crate::keys::RefreshPolicy;
use crate::replies::prepared::PreparedResponses;
use crate::rules::RuleIndex;
use crate::subscription::KeyIndex;

pub struct Policy {
    pub config: Config,
    pub(crate) replies: PreparedResponses,
    /// `config.rules` by prefix: selection does not scan them.
    pub rule_index: RuleIndex,
    /// The subscription keys by digest (empty without a `subscription_keys` block).
    pub key_index: KeyIndex,
    pub refresh: RefreshPolicy,
    /// Prefix of this identity provider's shared-data keys.
    pub namespace: String,
}

impl Policy {
    pub fn compile(config: Config) -> Policy {
        let e = &config.entra;
        let refresh = RefreshPolicy {
            interval_ms: e.jwks_refresh_seconds * 1000,
            kid_miss_cooldown_ms: e.kid_miss_refetch_seconds * 1000,
            fetch_timeout_ms: e.fetch_timeout_ms,
        };
        Policy {
            replies: PreparedResponses::new(&config),
            rule_index: RuleIndex::new(&config.rules),
            key_index: config
                .subscription
                .as_ref()
                .map(KeyIndex::new)
                .unwrap_or_default(),
            namespace: namespace(&config),
            refresh,
            config,
        }
    }
}

/// Shared-data keys are per identity provider, so two filter instances
/// with the same authority and tenant share one fetch; others don't mix.
fn namespace(config: &Config) -> String {
    use sha2::{Digest, Sha256};
    let e = &config.entra;
    let digest = Sha256::digest(format!(
        "{}|{}|{}",
        e.cluster, e.authority, e.discovery_tenant
    ));
    let short: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("entra_guard/{short}")
}
