//! OpenID discovery: only `issuer` and `jwks_uri` matter. The document must
//! be the tenant's (its `issuer`), and the JWKS must stay on a host we
//! trust (no SSRF through a tampered document).

use super::{from_object, MAX_DOCUMENT_BYTES};
use crate::url::parse_absolute;
use serde::Deserialize;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discovery {
    pub issuer: String,
    /// Host the JWKS lives on, sent as `:authority`.
    pub jwks_host: String,
    /// Path and query of the JWKS, sent as `:path`.
    pub jwks_path: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiscoveryError {
    TooLarge,
    NotJson,
    BadJwksUri,
    ForeignJwksHost(String),
    /// The document is not the configured tenant's: its keys are not
    /// the ones that sign our tokens.
    ForeignIssuer,
}

impl fmt::Display for DiscoveryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DiscoveryError::TooLarge => f.write_str("discovery document too large"),
            DiscoveryError::NotJson => f.write_str("discovery document is not valid JSON"),
            DiscoveryError::BadJwksUri => f.write_str("discovery jwks_uri is not an http(s) URL"),
            DiscoveryError::ForeignJwksHost(host) => write!(
                f,
                "discovery jwks_uri host {host} is not the authority (add it to entra.jwks_hosts)"
            ),
            DiscoveryError::ForeignIssuer => {
                f.write_str("discovery issuer is not the configured tenant's")
            }
        }
    }
}

/// Only the two members read; a member named twice is refused, others are
/// skipped.
#[derive(Deserialize)]
struct RawDiscovery {
    issuer: String,
    jwks_uri: String,
}

/// `expected_issuer` is `EntraConfig::discovery_issuer`, compared exactly;
/// `allowed_hosts` are lowercase `host[:port]` values.
pub fn parse_discovery(
    body: &[u8],
    expected_issuer: &str,
    allowed_hosts: &[String],
) -> Result<Discovery, DiscoveryError> {
    if body.len() > MAX_DOCUMENT_BYTES {
        return Err(DiscoveryError::TooLarge);
    }
    let raw: RawDiscovery = from_object(body).ok_or(DiscoveryError::NotJson)?;
    if raw.issuer != expected_issuer {
        return Err(DiscoveryError::ForeignIssuer);
    }
    let url = parse_absolute(&raw.jwks_uri).ok_or(DiscoveryError::BadJwksUri)?;
    let host = url.authority.to_ascii_lowercase();
    if !allowed_hosts.contains(&host) {
        let shown: String = host.chars().take(100).collect();
        return Err(DiscoveryError::ForeignJwksHost(shown));
    }
    let jwks_path = match url.query {
        Some(q) => format!("{}?{q}", url.path),
        None => url.path.to_string(),
    };
    Ok(Discovery {
        issuer: raw.issuer,
        jwks_host: host,
        jwks_path,
    })
}
