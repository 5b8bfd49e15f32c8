//! `mcp.authorization_server`: the RFC 8414 metadata the filter serves in
//! Entra's place (S256, the API's scopes, an optional static registration).
//!
//! The issuer is compared as a string by clients and its path becomes part
//! of the paths the filter answers, so it is kept to one spelling: https
//! (http only on a loopback host), no query, fragment, userinfo or
//! trailing `/`, and path segments of unreserved characters only.

use super::error::{ConfigError, Result};
use super::values::{or_default, NonEmptyList, Printable};
use crate::url::parse_absolute;
use serde::Deserialize;

/// Longest redirect URI in the allowlist (and in a registration request).
pub const MAX_REDIRECT_URI_BYTES: usize = 2048;
/// Most entries of the allowlist.
pub const MAX_REDIRECT_URIS: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationServerConfig {
    /// Exactly as configured; the document's `issuer`.
    pub issuer: String,
    /// The issuer's path, empty for an issuer without one (`/tenant1`).
    pub issuer_path: String,
    /// The public client a registration hands out; `None`: no registration.
    pub client_id: Option<String>,
    /// The redirect URIs a registration may ask for (RFC 8252 loopback
    /// entries without a port match any port).
    pub redirect_uris: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAuthorizationServer {
    issuer: String,
    client_id: Option<Printable>,
    #[serde(default, deserialize_with = "or_default")]
    redirect_uris: Option<NonEmptyList<String>>,
}

impl RawAuthorizationServer {
    /// `at`: the key path of this block, for error messages.
    pub fn validate(self, at: &str) -> Result<AuthorizationServerConfig> {
        let key = |k: &str| format!("{at}.{k}");
        let issuer_path =
            issuer_path(&self.issuer).map_err(|r| ConfigError::new(key("issuer"), r))?;
        let client_id = self.client_id.map(String::from);
        if client_id
            .as_deref()
            .is_some_and(|c| c.trim().is_empty() || c.contains(' '))
        {
            return Err(ConfigError::new(
                key("client_id"),
                "must be non-empty, without spaces",
            ));
        }
        let redirect_uris = match (&client_id, self.redirect_uris) {
            (Some(_), Some(list)) => list.0,
            (Some(_), None) => {
                return Err(ConfigError::new(
                    key("redirect_uris"),
                    "is required when client_id is set",
                ))
            }
            (None, Some(_)) => {
                return Err(ConfigError::new(
                    key("redirect_uris"),
                    "only allowed with client_id",
                ))
            }
            (None, None) => Vec::new(),
        };
        if redirect_uris.len() > MAX_REDIRECT_URIS {
            return Err(ConfigError::new(
                key("redirect_uris"),
                format!("at most {MAX_REDIRECT_URIS} entries"),
            ));
        }
        for (i, uri) in redirect_uris.iter().enumerate() {
            redirect_uri(uri)
                .map_err(|r| ConfigError::new(format!("{}[{i}]", key("redirect_uris")), r))?;
        }
        Ok(AuthorizationServerConfig {
            issuer: self.issuer,
            issuer_path,
            client_id,
            redirect_uris,
        })
    }
}

/// The issuer's path ("" for none), or why the issuer is refused.
fn issuer_path(issuer: &str) -> std::result::Result<String, &'static str> {
    let Some(url) = parse_absolute(issuer) else {
        return Err("must be an absolute https URL");
    };
    if url.query.is_some() || issuer.contains('?') {
        return Err("must not have a query (RFC 8414 §2)");
    }
    if !url.scheme.eq_ignore_ascii_case("https") && !is_loopback(url.authority) {
        return Err("must be https (http only on a loopback host)");
    }
    if issuer.ends_with('/') {
        return Err("must not end with /");
    }
    let path = if url.path == "/" { "" } else { url.path };
    let unreserved = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
            && s != "."
            && s != ".."
    };
    if !path.is_empty() && !path[1..].split('/').all(unreserved) {
        return Err("path segments must be letters, digits, -, ., _ or ~");
    }
    Ok(path.to_string())
}

/// `localhost`, `127.x.y.z` or `[::1]`, with or without a port.
pub fn is_loopback(authority: &str) -> bool {
    let host = match authority.strip_prefix('[') {
        Some(rest) => return rest.split_once(']').is_some_and(|(h, _)| h == "::1"),
        None => authority.split(':').next().unwrap_or(""),
    };
    host.eq_ignore_ascii_case("localhost")
        || host.strip_prefix("127.").is_some_and(|rest| {
            rest.split('.').count() == 3 && rest.split('.').all(|o| o.parse::<u8>().is_ok())
        })
}

/// A redirect URI an allowlist may hold: a scheme, no fragment (RFC 6749
/// §3.1.2), visible ASCII, bounded; `http` only on a loopback host (Entra
/// refuses other http redirect URIs).
pub fn redirect_uri(uri: &str) -> std::result::Result<(), &'static str> {
    if uri.len() > MAX_REDIRECT_URI_BYTES {
        return Err("longer than 2048 bytes");
    }
    if uri.bytes().any(|b| !(b'!'..0x7f).contains(&b)) {
        return Err("must be visible ASCII without spaces");
    }
    if uri.contains('#') {
        return Err("must not have a fragment");
    }
    let scheme_ok = uri.split_once(':').is_some_and(|(s, rest)| {
        !rest.is_empty()
            && s.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
    });
    if !scheme_ok {
        return Err("must be an absolute URI");
    }
    if uri
        .get(..7)
        .is_some_and(|s| s.eq_ignore_ascii_case("http://"))
    {
        match parse_absolute(uri) {
            Some(u) if is_loopback(u.authority) => {}
            _ => return Err("http only on a loopback host (localhost, 127.0.0.1, [::1])"),
        }
    }
    if uri
        .get(..8)
        .is_some_and(|s| s.eq_ignore_ascii_case("https://"))
        && parse_absolute(uri).is_none()
    {
        return Err("must be an absolute URI");
    }
    Ok(())
}
