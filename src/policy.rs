//! The configuration compiled once, when it loads: the validated settings,
//! every reply that depends only on them, the key refresh policy and the
//! shared-data namespace. One object, so a decision never joins pieces
//! built from different configurations.

use crate::config::{Config, Rule};
use crate::keys::RefreshPolicy;
use crate::replies::metadata;
use crate::replies::prepared::PreparedResponses;
use crate::replies::Response;
use crate::rules::{AmbiguousPath, RuleIndex};
use crate::subscription::KeyIndex;
use std::rc::Rc;

pub struct Policy {
    pub config: Config,
    /// Unique among the policies of this VM: protected resources share the
    /// token cache, and a token rejected by one resource's checks is
    /// answered from it only for that resource (`TokenCache::reject`).
    pub id: u64,
    pub(crate) replies: PreparedResponses,
    /// `config.rules` by prefix: selection does not scan them.
    pub rule_index: RuleIndex,
    /// The subscription keys by digest (empty without a `subscription_keys` block).
    pub key_index: KeyIndex,
    pub refresh: RefreshPolicy,
    /// Prefix of this identity provider's shared-data keys.
    pub namespace: String,
    /// `protected_resources`, each compiled from its scoped configuration.
    pub(crate) resources: Vec<ResourcePolicy>,
    /// One rule per resource, standing for its path prefix: a resource is
    /// chosen the way a rule is (whole segments, dot segments, letter case).
    resource_prefixes: Vec<Rule>,
    resource_index: RuleIndex,
    /// The root metadata path's answer when only resources describe
    /// themselves (no top-level `mcp`).
    pub(crate) per_resource_root: Option<Rc<Response>>,
}

pub(crate) struct ResourcePolicy {
    pub policy: Policy,
    /// See `ProtectedResource::well_known_path`.
    pub well_known_path: String,
}

impl Policy {
    pub fn compile(config: Config) -> Policy {
        let e = &config.entra;
        let refresh = RefreshPolicy {
            interval_ms: e.jwks_refresh_seconds * 1000,
            kid_miss_cooldown_ms: e.kid_miss_refetch_seconds * 1000,
            fetch_timeout_ms: e.fetch_timeout_ms,
        };
        let resources = config
            .protected_resources
            .iter()
            .map(|r| ResourcePolicy {
                policy: Policy::compile(r.scoped(&config)),
                well_known_path: r.well_known_path.clone(),
            })
            .collect();
        let resource_prefixes: Vec<Rule> = config
            .protected_resources
            .iter()
            .map(|r| Rule {
                prefix_has_uppercase: r.path_prefix.bytes().any(|b| b.is_ascii_uppercase()),
                path_prefix: r.path_prefix.clone(),
                ..Rule::DEFAULT_JWT
            })
            .collect();
        let resource_index = RuleIndex::new(&resource_prefixes);
        let per_resource_root = (config.mcp.is_none() && !config.protected_resources.is_empty())
            .then(|| Rc::new(metadata::per_resource_response()));
        Policy {
            id: next_id(),
            replies: PreparedResponses::new(&config),
            rule_index: RuleIndex::new(&config.rules),
            key_index: config
                .subscription
                .as_ref()
                .map(KeyIndex::new)
                .unwrap_or_default(),
            namespace: namespace(&config),
            refresh,
            resources,
            resource_prefixes,
            resource_index,
            per_resource_root,
            config,
        }
    }

    /// The policy that decides a request for `raw_path`: the protected
    /// resource's whose prefix covers it, else this one. A path that its
    /// readings (see `rules::select`) put under different resources, or
    /// under one and outside all, is ambiguous.
    pub fn for_path(&self, raw_path: &str) -> Result<&Policy, AmbiguousPath> {
        match self
            .resource_index
            .select(&self.resource_prefixes, raw_path, None)?
        {
            None => Ok(self),
            Some((i, _)) => self
                .resources
                .get(i)
                .map(|r| &r.policy)
                .ok_or(AmbiguousPath),
        }
    }
}

fn next_id() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
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
