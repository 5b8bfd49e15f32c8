//! RFC 9728 protected resource metadata, so MCP clients discover the
//! authorization server (Entra) without being told.

use crate::config::{Config, McpConfig};
use crate::replies::{to_json, Response};
use serde::Serialize;

/// Where clients look first (RFC 9728 §3.1 without a path suffix).
pub const ROOT_METADATA_PATH: &str = "/.well-known/oauth-protected-resource";

/// Whether a request asks for the metadata document.
pub fn is_metadata_path(mcp: &McpConfig, path_without_query: &str) -> bool {
    path_without_query == mcp.resource_metadata_path || path_without_query == ROOT_METADATA_PATH
}

/// The issuer of the tenant tokens come from: the v2 issuer Entra's
/// discovery publishes (`organizations` for multi-tenant apps).
pub fn authorization_server(config: &Config) -> String {
    format!(
        "{}/{}/v2.0",
        config.entra.authority, config.entra.discovery_tenant
    )
}

/// Scopes as a client must request them from Entra: a short name from
/// `scp` (`calculator.add`) becomes the `scopes_supported` entry that ends
/// in it (`api://<app>/calculator.add`); others stay as written.
pub fn requestable_scopes(config: &Config, scopes: &[String]) -> Vec<String> {
    let supported = config
        .mcp
        .as_ref()
        .map_or(&[][..], |m| &m.scopes_supported[..]);
    scopes
        .iter()
        .map(|short| {
            supported
                .iter()
                .find(|full| {
                    *full == short
                        || full
                            .strip_suffix(short.as_str())
                            .is_some_and(|p| p.ends_with('/'))
                })
                .unwrap_or(short)
                .clone()
        })
        .collect()
}

/// The members RFC 9728 §2 defines that the filter fills, in this order;
/// the optional ones only when configured.
#[derive(Serialize)]
struct Document<'a> {
    resource: &'a str,
    authorization_servers: [String; 1],
    #[serde(skip_serializing_if = "Vec::is_empty")]
    scopes_supported: Vec<String>,
    bearer_methods_supported: [&'static str; 1],
    #[serde(skip_serializing_if = "Option::is_none")]
    resource_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource_documentation: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource_policy_uri: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource_tos_uri: Option<&'a str>,
}

/// `scopes_supported` of the documents: as configured, or the scopes the
/// rules require when none are.
pub fn supported_scopes(config: &Config, mcp: &McpConfig) -> Vec<String> {
    let mut scopes = mcp.scopes_supported.clone();
    if scopes.is_empty() {
        // Never advertise an empty list when rules name scopes (each once,
        // in order: a set, since a thousand rules may name as many).
        let mut seen = std::collections::HashSet::new();
        for rule in &config.rules {
            for s in &rule.required_scopes {
                if seen.insert(s.as_str()) {
                    scopes.push(s.clone());
                }
            }
        }
    }
    scopes
}

pub fn document(config: &Config, mcp: &McpConfig) -> Vec<u8> {
    // The filter's own issuer when it serves the metadata, else Entra's.
    let server = match &mcp.authorization_server {
        Some(own) => own.issuer.clone(),
        None => authorization_server(config),
    };
    to_json(&Document {
        resource: &mcp.resource,
        authorization_servers: [server],
        scopes_supported: supported_scopes(config, mcp),
        bearer_methods_supported: ["header"],
        resource_name: mcp.resource_name.as_deref(),
        resource_documentation: mcp.resource_documentation.as_deref(),
        resource_policy_uri: mcp.resource_policy_uri.as_deref(),
        resource_tos_uri: mcp.resource_tos_uri.as_deref(),
    })
}

pub fn response(config: &Config, mcp: &McpConfig) -> Response {
    super::public_document(document(config, mcp))
}

/// The root metadata path when several resources describe themselves:
/// 404, so that a client falls back to the URL its 401 named (or to the
/// RFC 9728 path-suffixed one). One resource's document here would send
/// the clients of another to Entra for the wrong audience.
pub fn per_resource_response() -> Response {
    #[derive(Serialize)]
    struct NotFound {
        error: &'static str,
        error_description: &'static str,
    }
    let body = to_json(&NotFound {
        error: "not_found",
        error_description: "protected resource metadata is per resource: use the \
                            resource_metadata URL of the 401, or \
                            /.well-known/oauth-protected-resource/<resource path>",
    });
    Response::json(404, body).with_header("access-control-allow-origin", "*")
}
