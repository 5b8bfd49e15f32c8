//! The `entra` block: which tokens are accepted and how keys are fetched.

use super::claims::{RawRequiredClaim, RequiredClaim};
use super::error::{ConfigError, Result};
use super::values::{
    checked_string, or_default, strings, Bounded, Guid, NonEmpty, NonEmptyList, Origin,
};
use crate::url::parse_absolute;
use serde::Deserialize;

pub const DEFAULT_AUTHORITY: &str = "https://login.microsoftonline.com";
pub const DEFAULT_V1_ISSUER_AUTHORITY: &str = "https://sts.windows.net";
pub const DEFAULT_CLUSTER: &str = "entra";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tenancy {
    /// Tokens of one tenant only.
    Single(String),
    /// Multi-tenant app: any of these `tid`s, issuer built from the `tid`.
    /// Sorted and without repeats, so membership is a binary search.
    Allowed(Vec<String>),
}

#[derive(Debug, Clone)]
pub struct EntraConfig {
    pub tenancy: Tenancy,
    /// Tenant segment used for discovery (`<authority>/<segment>/v2.0/...`).
    pub discovery_tenant: String,
    /// The `issuer` the discovery document must publish: the tenant's v2
    /// issuer, or Entra's `{tenantid}` template for `organizations`.
    pub discovery_issuer: String,
    /// `scheme://host[:port]`, no trailing slash.
    pub authority: String,
    /// Host (and port) of `authority`, sent as `:authority` on callouts.
    pub authority_host: String,
    pub v1_issuer_authority: String,
    pub cluster: String,
    /// Sorted and without repeats (binary search; the order never mattered).
    pub audiences: Vec<String>,
    /// Sorted and without repeats, like `audiences`.
    pub client_application_ids: Vec<String>,
    pub required_claims: Vec<RequiredClaim>,
    pub clock_skew_seconds: u64,
    pub jwks_refresh_seconds: u64,
    /// Hosts a discovered `jwks_uri` may point at (always includes the authority's).
    pub jwks_hosts: Vec<String>,
    pub fetch_timeout_ms: u64,
    pub key_wait_ms: u64,
    pub max_token_bytes: usize,
    /// Minimum time between two fetches caused by tokens with unknown kids.
    pub kid_miss_refetch_seconds: u64,
    /// Verified tokens remembered per worker; 0 disables the cache.
    pub token_cache_size: usize,
    pub signature_backend: SignatureBackend,
}

/// Which RS256 implementation verifies signatures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(try_from = "String")]
pub enum SignatureBackend {
    /// The host's when its self-test passes, else pure Rust.
    #[default]
    Auto,
    /// Envoy's `verify_signature` (BoringSSL); refuse to start without it.
    Host,
    /// Pure Rust inside the VM.
    Rust,
}

impl TryFrom<String> for SignatureBackend {
    type Error = String;
    fn try_from(s: String) -> std::result::Result<Self, String> {
        match s.as_str() {
            "auto" => Ok(Self::Auto),
            "host" => Ok(Self::Host),
            "rust" => Ok(Self::Rust),
            other => Err(format!(
                "must be \"auto\", \"host\" or \"rust\", not \"{other}\""
            )),
        }
    }
}

checked_string!(
    /// A host name, optionally with `:port`, that a `jwks_uri` may name.
    JwksHost,
    |s| match parse_absolute(&format!("https://{s}/")) {
        Some(u) if u.authority == s => Ok(s.to_ascii_lowercase()),
        _ => Err("must be a host name, optionally with :port"),
    }
);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEntra {
    tenant_id: Option<Guid>,
    allowed_tenants: Option<NonEmptyList<Guid>>,
    authority: Option<Origin>,
    v1_issuer_authority: Option<Origin>,
    cluster: Option<NonEmpty>,
    audiences: NonEmptyList<NonEmpty>,
    #[serde(default, deserialize_with = "or_default")]
    client_application_ids: Vec<NonEmpty>,
    #[serde(default, deserialize_with = "or_default")]
    required_claims: Vec<RawRequiredClaim>,
    #[serde(default)]
    clock_skew_seconds: Bounded<0, 3600, 300>,
    #[serde(default)]
    jwks_refresh_seconds: Bounded<60, 86_400, 3600>,
    #[serde(default, deserialize_with = "or_default")]
    jwks_hosts: Vec<JwksHost>,
    #[serde(default)]
    fetch_timeout_ms: Bounded<100, 60_000, 5_000>,
    #[serde(default)]
    key_wait_ms: Bounded<0, 60_000, 5_000>,
    #[serde(default)]
    max_token_bytes: Bounded<1024, 65_536, { 16 * 1024 }>,
    #[serde(default)]
    kid_miss_refetch_seconds: Bounded<1, 3600, 10>,
    #[serde(default)]
    token_cache_size: Bounded<0, 100_000, 1024>,
    #[serde(default, deserialize_with = "or_default")]
    signature_backend: SignatureBackend,
}

impl RawEntra {
    pub fn validate(self) -> Result<EntraConfig> {
        let home = self.tenant_id.map(String::from);
        let (tenancy, discovery_tenant) = match (self.allowed_tenants, home) {
            (Some(list), home) => {
                let segment = home.unwrap_or_else(|| "organizations".into());
                (Tenancy::Allowed(sorted(strings(list.0))), segment)
            }
            (None, Some(t)) => (Tenancy::Single(t.clone()), t),
            (None, None) => {
                return Err(ConfigError::new(
                    "entra.tenant_id",
                    "required unless entra.allowed_tenants is set",
                ))
            }
        };
        let authority = self
            .authority
            .map_or_else(|| DEFAULT_AUTHORITY.into(), String::from);
        let authority_host = authority
            .split_once("://")
            .map(|(_, h)| h.to_string())
            .unwrap_or_default();
        let mut jwks_hosts = vec![authority_host.to_ascii_lowercase()];
        jwks_hosts.extend(strings(self.jwks_hosts));
        let issuer_tenant = match discovery_tenant.as_str() {
            "organizations" | "common" => "{tenantid}",
            tenant => tenant,
        };
        let discovery_issuer = format!("{authority}/{issuer_tenant}/v2.0");
        Ok(EntraConfig {
            tenancy,
            discovery_tenant,
            discovery_issuer,
            authority,
            authority_host,
            v1_issuer_authority: self
                .v1_issuer_authority
                .map_or_else(|| DEFAULT_V1_ISSUER_AUTHORITY.into(), String::from),
            cluster: self
                .cluster
                .map_or_else(|| DEFAULT_CLUSTER.into(), String::from),
            audiences: sorted(strings(self.audiences.0)),
            client_application_ids: sorted(strings(self.client_application_ids)),
            required_claims: RawRequiredClaim::validate_all(self.required_claims),
            clock_skew_seconds: self.clock_skew_seconds.0,
            jwks_refresh_seconds: self.jwks_refresh_seconds.0,
            jwks_hosts,
            fetch_timeout_ms: self.fetch_timeout_ms.0,
            key_wait_ms: self.key_wait_ms.0,
            max_token_bytes: self.max_token_bytes.usize(),
            kid_miss_refetch_seconds: self.kid_miss_refetch_seconds.0,
            token_cache_size: self.token_cache_size.usize(),
            signature_backend: self.signature_backend,
        })
    }
}

/// A list whose members are only ever looked up: sorted, repeats dropped.
pub(super) fn sorted(mut list: Vec<String>) -> Vec<String> {
    list.sort_unstable();
    list.dedup();
    list
}

/// Whether `sorted` (from `sorted`) holds `item`.
pub fn holds(sorted: &[String], item: &str) -> bool {
    sorted.binary_search_by(|s| s.as_str().cmp(item)).is_ok()
}
