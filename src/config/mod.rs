//! The runtime configuration: parsed once, validated once, immutable after.
//!
//! Invalid states cannot be represented here; `parse` is the only way in and
//! it refuses anything it does not fully understand. Each block's file holds
//! its keys as written (a serde struct that denies unknown fields), the
//! types they become, and the rules that join them; each key is written
//! once, and a value's own rule lives with its type (`values`).

mod advice;
mod authorization_server;
mod claims;
mod entra;
mod error;
mod filter_state;
mod mcp;
mod resources;
mod rules;
mod subscription;
mod values;

#[cfg(test)]
mod tests;

pub use advice::{advice, Warning};
pub use authorization_server::{is_loopback, AuthorizationServerConfig};
pub use claims::{ClaimMatch, RequiredClaim};
pub use entra::{
    holds, EntraConfig, SignatureBackend, Tenancy, DEFAULT_AUTHORITY, DEFAULT_CLUSTER,
    DEFAULT_V1_ISSUER_AUTHORITY,
};
pub use error::ConfigError;
pub use filter_state::{StateEntries, StateEntry};
pub use mcp::McpConfig;
pub use resources::{ProtectedResource, MAX_PROTECTED_RESOURCES};
pub use rules::{Requirement, Rule, UpstreamAuthorization};
pub use subscription::{
    SubscriptionConfig, SubscriptionKey, DEFAULT_SUBSCRIPTION_HEADER,
    DEFAULT_SUBSCRIPTION_NAME_HEADER, DEFAULT_SUBSCRIPTION_QUERY,
};

use serde::Deserialize;

/// Room for a large deployment: 20,000 subscription keys (about 2 MiB as
/// JSON), 1,000 rules, 200 tenants: the scale `make bench` measures.
pub const MAX_CONFIG_BYTES: usize = 4 << 20;

#[derive(Debug, Clone)]
pub struct Config {
    pub entra: EntraConfig,
    pub subscription: Option<SubscriptionConfig>,
    pub mcp: Option<McpConfig>,
    pub rules: Vec<Rule>,
    /// (claim name, lowercase header name), in a stable order.
    pub claims_to_headers: Vec<(String, String)>,
    /// Largest request body buffered to read an MCP call (the largest of
    /// every `mcp` block's: the body is read before a resource is known).
    pub mcp_max_body_bytes: usize,
    /// MCP servers under their own path prefixes; empty in the single-`mcp` form.
    pub protected_resources: Vec<ProtectedResource>,
    /// What a decision leaves in Envoy's filter state (none by default).
    pub filter_state: StateEntries,
}

/// The document as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    entra: entra::RawEntra,
    subscription_keys: Option<subscription::RawSubscriptionKeys>,
    mcp: Option<mcp::RawMcp>,
    #[serde(default, deserialize_with = "values::or_default")]
    rules: Vec<rules::RawRule>,
    #[serde(default)]
    claims_to_headers: claims::RawClaimsToHeaders,
    #[serde(default, deserialize_with = "values::or_default")]
    protected_resources: Vec<resources::RawResource>,
    #[serde(default)]
    filter_state: filter_state::RawFilterState,
}

/// Parses and validates the filter configuration. Errors name the key as a
/// JSON path (`rules[0].require`); syntax errors give line and column.
pub fn parse(json: &[u8]) -> Result<Config, ConfigError> {
    if json.len() > MAX_CONFIG_BYTES {
        return Err(ConfigError::new(
            "(root)",
            "configuration larger than 4 MiB",
        ));
    }
    let mut de = serde_json::Deserializer::from_slice(json);
    let raw: RawConfig = serde_path_to_error::deserialize(&mut de)?;
    // Trailing bytes after the document (`{...} x`).
    de.end().map_err(|e| error::from_json(String::new(), e))?;
    let entra = raw.entra.validate()?;
    let subscription = raw
        .subscription_keys
        .map(subscription::RawSubscriptionKeys::validate)
        .transpose()?;
    let mcp = raw.mcp.map(|m| m.validate("mcp")).transpose()?;
    let rules = raw
        .rules
        .into_iter()
        .enumerate()
        .map(|(i, r)| r.validate(&format!("rules[{i}]"), subscription.is_some()))
        .collect::<Result<Vec<_>, _>>()?;
    let claims_to_headers = raw.claims_to_headers.validate(subscription.as_ref())?;
    let protected_resources = resources::validate(
        raw.protected_resources,
        subscription.is_some(),
        mcp.as_ref(),
    )?;
    let mcp_max_body_bytes = mcp
        .iter()
        .chain(protected_resources.iter().map(|r| &r.mcp))
        .map(|m| m.max_body_bytes)
        .max()
        .unwrap_or(usize::try_from(mcp::DEFAULT_MCP_MAX_BODY).unwrap_or(usize::MAX));
    let filter_state = raw.filter_state.validate()?;
    Ok(Config {
        entra,
        subscription,
        mcp,
        rules,
        claims_to_headers,
        mcp_max_body_bytes,
        protected_resources,
        filter_state,
    })
}
