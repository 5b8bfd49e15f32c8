//! The configuration compiled once, when it loads: the validated settings,
//! every reply that depends only on them, the key refresh policy and the
//! shared-data namespace. One object, so a decision never joins pieces
//! built from different configurations.

use crate::config::{Config, Rule};
use crate::keys::RefreshPolicy;
use crate::replies::metadata;
use crate::replies::prepared::PreparedResponses;
use crate::replies::Response;
use crate::rules::{self, AmbiguousPath};
use std::rc::Rc;

pub struct Policy {
    pub config: Config,
    pub(crate) replies: PreparedResponses,
    pub refresh: RefreshPolicy,
    /// Prefix of this identity provider's shared-data keys.
    pub namespace: String,
    /// `protected_resources`, each compiled from its scoped configuration.
    pub(crate) resources: Vec<ResourcePolicy>,
    /// One rule per resource, standing for its path prefix: a resource is
    /// chosen the way a rule is (whole segments, dot segments, letter case).
    resource_prefixes: Vec<Rule>,
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
        let resource_prefixes = config
            .protected_resources
            .iter()
            .map(|r| Rule {
                prefix_has_uppercase: r.path_prefix.bytes().any(|b| b.is_ascii_uppercase()),
                path_prefix: r.path_prefix.clone(),
                ..Rule::DEFAULT_JWT
            })
            .collect();
        let per_resource_root = (config.mcp.is_none() && !config.protected_resources.is_empty())
            .then(|| Rc::new(metadata::per_resource_response()));
        Policy {
            replies: PreparedResponses::new(&config),
            namespace: namespace(&config),
            refresh,
            resources,
            resource_prefixes,
            per_resource_root,
            config,
        }
    }

    /// The policy that decides a request for `raw_path`: the protected
    /// resource's whose prefix covers it, else this one. A path that its
    /// readings (see `rules::select`) put under different resources, or
    /// under one and outside all, is ambiguous.
    pub fn for_path(&self, raw_path: &str) -> Result<&Policy, AmbiguousPath> {
        match rules::select(&self.resource_prefixes, raw_path, None)? {
            None => Ok(self),
            Some((i, _)) => self
                .resources
                .get(i)
                .map(|r| &r.policy)
                .ok_or(AmbiguousPath),
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
