//! The filter's JSON exactly as written by the operator.
//!
//! Every struct denies unknown fields: a misspelt key must stop the filter,
//! not silently weaken a policy. Nothing here is trusted yet; `validate`
//! turns it into the runtime `Config`.

use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    pub entra: RawEntra,
    pub subscription_keys: Option<RawSubscriptionKeys>,
    pub mcp: Option<RawMcp>,
    #[serde(default)]
    pub rules: Vec<RawRule>,
    #[serde(default)]
    pub claims_to_headers: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEntra {
    pub tenant_id: Option<String>,
    pub allowed_tenants: Option<Vec<String>>,
    pub authority: Option<String>,
    pub v1_issuer_authority: Option<String>,
    pub cluster: Option<String>,
    pub audiences: Vec<String>,
    #[serde(default)]
    pub client_application_ids: Vec<String>,
    #[serde(default)]
    pub required_claims: Vec<RawRequiredClaim>,
    pub clock_skew_seconds: Option<u64>,
    pub jwks_refresh_seconds: Option<u64>,
    pub jwks_hosts: Option<Vec<String>>,
    pub fetch_timeout_ms: Option<u64>,
    pub key_wait_ms: Option<u64>,
    pub max_token_bytes: Option<usize>,
    pub kid_miss_refetch_seconds: Option<u64>,
    pub token_cache_size: Option<u64>,
    pub signature_backend: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRequiredClaim {
    pub name: String,
    #[serde(rename = "match")]
    pub match_mode: Option<String>,
    pub values: Vec<String>,
    pub separator: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSubscriptionKeys {
    pub header: Option<String>,
    /// `None`: key absent (default name); `Some(None)`: explicitly `null`,
    /// which disables the query form.
    #[serde(default, deserialize_with = "present_or_null")]
    pub query: Option<Option<String>>,
    pub keys: Vec<RawSubscriptionKey>,
    pub name_header: Option<String>,
    pub realm: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSubscriptionKey {
    pub name: String,
    pub sha256: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMcp {
    pub resource: String,
    pub resource_metadata_url: String,
    #[serde(default)]
    pub scopes_supported: Vec<String>,
    pub resource_name: Option<String>,
    pub resource_documentation: Option<String>,
    pub resource_policy_uri: Option<String>,
    pub resource_tos_uri: Option<String>,
    pub max_body_bytes: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRule {
    pub path_prefix: String,
    pub require: String,
    #[serde(default)]
    pub required_scopes: Vec<String>,
    #[serde(default)]
    pub required_roles: Vec<String>,
    #[serde(default)]
    pub mcp_methods: Vec<String>,
    #[serde(default)]
    pub mcp_tools: Vec<String>,
}

fn present_or_null<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}
