//! The `mcp` block: the protected resource the filter describes (RFC 9728)
//! and the largest body it reads to find an MCP call.

use super::authorization_server::{AuthorizationServerConfig, RawAuthorizationServer};
use super::error::ConfigError;
use super::values::{or_default, quotable, AbsoluteUrl, Bounded, NonEmpty};
use serde::de::{Deserializer, Error};
use serde::Deserialize;

/// Below Envoy's default per-connection buffer limit (1 MiB), so the
/// filter's own 413 answers first.
pub const DEFAULT_MCP_MAX_BODY: u64 = 512 << 10;

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
    /// RFC 8414 metadata (and registration) the filter serves for Entra.
    pub authorization_server: Option<AuthorizationServerConfig>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMcp {
    resource: AbsoluteUrl,
    resource_metadata_url: QuotedUrl,
    #[serde(default, deserialize_with = "or_default")]
    scopes_supported: QuotedList,
    resource_name: Option<String>,
    resource_documentation: Option<AbsoluteUrl>,
    resource_policy_uri: Option<AbsoluteUrl>,
    resource_tos_uri: Option<AbsoluteUrl>,
    #[serde(default)]
    max_body_bytes: Bounded<1024, { 16 << 20 }, DEFAULT_MCP_MAX_BODY>,
    authorization_server: Option<RawAuthorizationServer>,
}

/// An absolute URL that is written inside a quoted auth-param.
struct QuotedUrl(AbsoluteUrl);

impl<'de> Deserialize<'de> for QuotedUrl {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let url = AbsoluteUrl::deserialize(d)?;
        quotable(&url.0).map_err(D::Error::custom)?;
        Ok(Self(url))
    }
}

/// Non-empty items that are joined inside a quoted auth-param.
#[derive(Default)]
struct QuotedList(Vec<NonEmpty>);

impl<'de> Deserialize<'de> for QuotedList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let items = Vec::<NonEmpty>::deserialize(d)?;
        for item in &items {
            quotable(&item.0).map_err(D::Error::custom)?;
        }
        Ok(Self(items))
    }
}

impl RawMcp {
    /// `at` names the block in errors (`mcp`).
    pub fn validate(self, at: &str) -> Result<McpConfig, ConfigError> {
        let authorization_server = self
            .authorization_server
            .map(|a| a.validate(&format!("{at}.authorization_server")))
            .transpose()?;
        Ok(McpConfig {
            resource_metadata_path: self.resource_metadata_url.0.path(),
            resource: self.resource.0,
            resource_metadata_url: self.resource_metadata_url.0 .0,
            scopes_supported: self.scopes_supported.0.into_iter().map(|s| s.0).collect(),
            resource_name: self.resource_name,
            resource_documentation: self.resource_documentation.map(String::from),
            resource_policy_uri: self.resource_policy_uri.map(String::from),
            resource_tos_uri: self.resource_tos_uri.map(String::from),
            max_body_bytes: self.max_body_bytes.usize(),
            authorization_server,
        })
    }
}
