//! The RFC 8414 authorization-server metadata the filter serves in Entra's
//! place (`mcp.authorization_server`): Entra's endpoints, plus what strict
//! MCP clients need and Entra's own document lacks (S256, the API's
//! scopes, a registration endpoint).

use crate::config::{AuthorizationServerConfig, Config, McpConfig};
use crate::replies::metadata::supported_scopes;
use crate::replies::{to_json, Response};
use serde::Serialize;

const OAUTH_WELL_KNOWN: &str = "/.well-known/oauth-authorization-server";
const OPENID_WELL_KNOWN: &str = "/.well-known/openid-configuration";
const REGISTER: &str = "/register";

/// What the filter answers itself under the issuer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Served {
    Document,
    Register,
}

/// Which of the issuer's paths `path` (without its query) is: the three
/// places clients look for the document (RFC 8414 §3.1, OpenID Discovery
/// with the issuer's path inserted and appended), and the registration
/// endpoint when a client id is configured.
pub fn served_path(server: &AuthorizationServerConfig, path: &str) -> Option<Served> {
    let issuer_path = server.issuer_path.as_str();
    let inserted = |prefix: &str| path.strip_prefix(prefix) == Some(issuer_path);
    let appended = |suffix: &str| {
        path.strip_prefix(issuer_path)
            .is_some_and(|rest| rest == suffix)
    };
    if inserted(OAUTH_WELL_KNOWN) || inserted(OPENID_WELL_KNOWN) || appended(OPENID_WELL_KNOWN) {
        Some(Served::Document)
    } else if server.client_id.is_some() && appended(REGISTER) {
        Some(Served::Register)
    } else {
        None
    }
}

/// The members the contract lists, in this order; nothing else.
#[derive(Serialize)]
struct Document<'a> {
    issuer: &'a str,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
    response_types_supported: [&'static str; 1],
    grant_types_supported: [&'static str; 3],
    code_challenge_methods_supported: [&'static str; 1],
    token_endpoint_auth_methods_supported: [&'static str; 4],
    scopes_supported: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    registration_endpoint: Option<String>,
}

pub fn document(config: &Config, mcp: &McpConfig, server: &AuthorizationServerConfig) -> Vec<u8> {
    // `organizations` for multi-tenant apps: any allowed tenant signs in.
    let tenant = format!(
        "{}/{}",
        config.entra.authority, config.entra.discovery_tenant
    );
    let mut scopes = supported_scopes(config, mcp);
    if !scopes.iter().any(|s| s == "offline_access") {
        scopes.push("offline_access".into());
    }
    to_json(&Document {
        issuer: &server.issuer,
        authorization_endpoint: format!("{tenant}/oauth2/v2.0/authorize"),
        token_endpoint: format!("{tenant}/oauth2/v2.0/token"),
        jwks_uri: format!("{tenant}/discovery/v2.0/keys"),
        response_types_supported: ["code"],
        grant_types_supported: ["authorization_code", "refresh_token", "client_credentials"],
        code_challenge_methods_supported: ["S256"],
        token_endpoint_auth_methods_supported: [
            "none",
            "client_secret_post",
            "client_secret_basic",
            "private_key_jwt",
        ],
        scopes_supported: scopes,
        registration_endpoint: server
            .client_id
            .as_ref()
            .map(|_| format!("{}{REGISTER}", server.issuer)),
    })
}

pub fn response(config: &Config, mcp: &McpConfig, server: &AuthorizationServerConfig) -> Response {
    super::public_document(document(config, mcp, server))
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn server(issuer_path: &str, client_id: Option<&str>) -> AuthorizationServerConfig {
        AuthorizationServerConfig {
            issuer: format!("https://mcp.example{issuer_path}"),
            issuer_path: issuer_path.into(),
            client_id: client_id.map(str::to_string),
            redirect_uris: vec!["http://127.0.0.1/cb".into()],
        }
    }

    #[test]
    fn paths_follow_rfc8414_and_openid_discovery() {
        let root = server("", Some("c"));
        let doc = Some(Served::Document);
        assert_eq!(
            served_path(&root, "/.well-known/oauth-authorization-server"),
            doc
        );
        assert_eq!(served_path(&root, "/.well-known/openid-configuration"), doc);
        assert_eq!(served_path(&root, "/register"), Some(Served::Register));
        for other in [
            "/.well-known/oauth-authorization-server/",
            "/.well-known/oauth-authorization-server/x",
            "/.well-known/OAUTH-authorization-server",
            "/register/",
            "/registerx",
            "/x/register",
            "/",
        ] {
            assert_eq!(served_path(&root, other), None, "{other}");
        }
        let tenant = server("/t1/v2", None);
        for path in [
            "/.well-known/oauth-authorization-server/t1/v2",
            "/.well-known/openid-configuration/t1/v2",
            "/t1/v2/.well-known/openid-configuration",
        ] {
            assert_eq!(served_path(&tenant, path), doc, "{path}");
        }
        for other in [
            "/.well-known/oauth-authorization-server",
            "/.well-known/openid-configuration",
            "/t1/v2/.well-known/oauth-authorization-server",
            "/t1/v2/register",
        ] {
            assert_eq!(served_path(&tenant, other), None, "{other}");
        }
        let with_client = server("/t1", Some("c"));
        assert_eq!(
            served_path(&with_client, "/t1/register"),
            Some(Served::Register)
        );
        assert_eq!(served_path(&with_client, "/register"), None);
    }
}
