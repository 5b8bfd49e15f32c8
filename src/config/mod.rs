//! The runtime configuration: parsed once, validated once, immutable after.
//!
//! Invalid states cannot be represented here; `parse` is the only way in and
//! it refuses anything it does not fully understand.

mod json;
mod raw;
mod validate;

#[cfg(test)]
mod tests;

use std::fmt;

pub use validate::parse;

pub const DEFAULT_AUTHORITY: &str = "https://login.microsoftonline.com";
pub const DEFAULT_V1_ISSUER_AUTHORITY: &str = "https://sts.windows.net";
pub const DEFAULT_CLUSTER: &str = "entra";
pub const DEFAULT_SUBSCRIPTION_HEADER: &str = "ocp-apim-subscription-key";
pub const DEFAULT_SUBSCRIPTION_QUERY: &str = "subscription-key";
pub const DEFAULT_SUBSCRIPTION_NAME_HEADER: &str = "x-apim-subscription-name";

/// Why a configuration was refused: the key (a JSON path) and the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub key: String,
    pub reason: String,
}

impl ConfigError {
    pub(crate) fn new(key: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid configuration: {}: {}", self.key, self.reason)
    }
}

impl std::error::Error for ConfigError {}

#[derive(Debug, Clone)]
pub struct Config {
    pub entra: EntraConfig,
    pub subscription: Option<SubscriptionConfig>,
    pub mcp: Option<McpConfig>,
    pub rules: Vec<Rule>,
    /// (claim name, lowercase header name), in a stable order.
    pub claims_to_headers: Vec<(String, String)>,
    /// Largest request body buffered to read an MCP call.
    pub mcp_max_body_bytes: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tenancy {
    /// Tokens of one tenant only.
    Single(String),
    /// Multi-tenant app: any of these `tid`s, issuer built from the `tid`.
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
    pub audiences: Vec<String>,
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureBackend {
    /// The host's when its self-test passes, else pure Rust.
    Auto,
    /// Envoy's `verify_signature` (BoringSSL); refuse to start without it.
    Host,
    /// Pure Rust inside the VM.
    Rust,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimMatch {
    Any,
    All,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequiredClaim {
    pub name: String,
    pub match_mode: ClaimMatch,
    pub values: Vec<String>,
    /// Splits a string claim into values (`scp` is space separated).
    pub separator: Option<String>,
}

#[derive(Debug, Clone)]
pub struct SubscriptionConfig {
    /// Lowercase header name.
    pub header: String,
    pub query: Option<String>,
    pub keys: Vec<SubscriptionKey>,
    /// Lowercase header that carries the subscription name upstream.
    pub name_header: String,
    pub realm: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionKey {
    pub name: String,
    pub sha256: [u8; 32],
}

#[derive(Debug, Clone)]
pub struct McpConfig {
    pub resource: String,
    pub resource_metadata_url: String,
    /// Path of `resource_metadata_url`, where the document is served.
    pub resource_metadata_path: String,
    pub scopes_supported: Vec<String>,
    pub resource_name: Option<String>,
    pub resource_documentation: Option<String>,
    pub resource_policy_uri: Option<String>,
    pub resource_tos_uri: Option<String>,
    pub max_body_bytes: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requirement {
    None,
    Jwt,
    SubscriptionKey,
    JwtAndSubscriptionKey,
    JwtOrSubscriptionKey,
}

impl Requirement {
    pub fn needs_subscription_keys(self) -> bool {
        !matches!(self, Requirement::None | Requirement::Jwt)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// Normalised: starts with `/`, no trailing `/` (except the root itself).
    pub path_prefix: String,
    pub require: Requirement,
    pub required_scopes: Vec<String>,
    pub required_roles: Vec<String>,
    /// JSON-RPC methods this rule is limited to (empty: any request).
    pub mcp_methods: Vec<String>,
    /// Tool (or prompt/resource) names this rule is limited to.
    pub mcp_tools: Vec<String>,
    /// Whether the request's `Authorization` header reaches the upstream.
    pub upstream_authorization: UpstreamAuthorization,
    /// `path_prefix` has an ASCII uppercase letter: only then can a
    /// lowercase path match it case-insensitively but not exactly.
    pub prefix_has_uppercase: bool,
}

/// `rules[].upstream_authorization`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpstreamAuthorization {
    Forward,
    Remove,
}

impl Rule {
    /// Whether the rule depends on the MCP call inside the body.
    pub fn inspects_mcp(&self) -> bool {
        !self.mcp_methods.is_empty() || !self.mcp_tools.is_empty()
    }

    /// Whether the `Authorization` header must not reach the upstream.
    pub fn removes_authorization(&self) -> bool {
        self.upstream_authorization == UpstreamAuthorization::Remove
    }

    /// Whether an MCP call (`None`: not an MCP request) meets the rule's
    /// method and tool conditions.
    pub fn matches_call(&self, call: Option<&crate::mcp::McpCall>) -> bool {
        if !self.inspects_mcp() {
            return true;
        }
        let Some(call) = call else {
            return false;
        };
        let method_ok = call
            .method
            .as_ref()
            .is_some_and(|m| self.mcp_methods.contains(m));
        let tool_ok = self.mcp_tools.is_empty()
            || call
                .name
                .as_ref()
                .is_some_and(|n| self.mcp_tools.contains(n));
        method_ok && tool_ok
    }

    /// What applies to a request that matches no rule.
    pub const DEFAULT_JWT: Rule = Rule {
        path_prefix: String::new(),
        require: Requirement::Jwt,
        required_scopes: Vec::new(),
        required_roles: Vec::new(),
        mcp_methods: Vec::new(),
        mcp_tools: Vec::new(),
        upstream_authorization: UpstreamAuthorization::Forward,
        prefix_has_uppercase: false,
    };
}
