//! `protected_resources`: several MCP servers behind one filter, each its
//! own Entra app registration (audiences, client apps, claims), metadata,
//! scopes and rules under its own path prefix. The `entra` block (tenant,
//! authority, keys) stays shared: one key set per tenant.
//!
//! Whatever two resources could both claim is refused here, so a request
//! or a metadata path never has two owners: prefixes that overlap (read
//! case-insensitively, as an upstream router may), a `resource` URI twice,
//! a metadata or authorization-server path twice.

use super::authorization_server::AuthorizationServerConfig;
use super::claims::{RawRequiredClaim, RequiredClaim};
use super::entra::sorted;
use super::error::{ConfigError, Result};
use super::mcp::{McpConfig, RawMcp};
use super::rules::{PathPrefix, RawRule, Rule};
use super::values::{or_default, strings, NonEmpty, NonEmptyList};
use super::Config;
use crate::replies::metadata::ROOT_METADATA_PATH;
use crate::rules::{prefix_matches, prefix_matches_folded};
use crate::url::parse_absolute;
use serde::Deserialize;

/// Most resources one filter fronts: each is compiled into replies of its
/// own, and each request is matched against every prefix.
pub const MAX_PROTECTED_RESOURCES: usize = 64;

#[derive(Debug, Clone)]
pub struct ProtectedResource {
    /// Normalised like a rule's; never `/`.
    pub path_prefix: String,
    /// Sorted and without repeats, like `EntraConfig::audiences`.
    pub audiences: Vec<String>,
    /// Sorted and without repeats (binary search).
    pub client_application_ids: Vec<String>,
    pub required_claims: Vec<RequiredClaim>,
    pub mcp: McpConfig,
    /// Each under `path_prefix`.
    pub rules: Vec<Rule>,
    /// RFC 9728 §3.1: `/.well-known/oauth-protected-resource` followed by
    /// the path of `mcp.resource`; served like `resource_metadata_url`.
    pub well_known_path: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawResource {
    path_prefix: PathPrefix,
    audiences: NonEmptyList<NonEmpty>,
    #[serde(default, deserialize_with = "or_default")]
    client_application_ids: Vec<NonEmpty>,
    #[serde(default, deserialize_with = "or_default")]
    required_claims: Vec<RawRequiredClaim>,
    mcp: RawMcp,
    #[serde(default, deserialize_with = "or_default")]
    rules: Vec<RawRule>,
}

impl RawResource {
    fn validate(self, at: &str, have_keys: bool) -> Result<ProtectedResource> {
        let path_prefix = self.path_prefix.0;
        if path_prefix == "/" {
            return Err(ConfigError::new(
                format!("{at}.path_prefix"),
                "must not be / (the top-level mcp and rules cover the whole host)",
            ));
        }
        let mcp = self.mcp.validate(&format!("{at}.mcp"))?;
        let resource_path = parse_absolute(&mcp.resource).map_or("/", |u| u.path);
        if resource_path == "/" {
            return Err(ConfigError::new(
                format!("{at}.mcp.resource"),
                "must have a path: its RFC 9728 metadata would take the root metadata path",
            ));
        }
        let mut rules = Vec::with_capacity(self.rules.len());
        for (j, raw) in self.rules.into_iter().enumerate() {
            let rule_at = format!("{at}.rules[{j}]");
            let rule = raw.validate(&rule_at, have_keys)?;
            if !prefix_matches(&path_prefix, &rule.path_prefix) {
                return Err(ConfigError::new(
                    format!("{rule_at}.path_prefix"),
                    format!("must be under the resource's path_prefix ({path_prefix})"),
                ));
            }
            rules.push(rule);
        }
        Ok(ProtectedResource {
            well_known_path: format!("{ROOT_METADATA_PATH}{resource_path}"),
            path_prefix,
            audiences: sorted(strings(self.audiences.0)),
            client_application_ids: sorted(strings(self.client_application_ids)),
            required_claims: RawRequiredClaim::validate_all(self.required_claims),
            mcp,
            rules,
        })
    }
}

/// Validates every resource, then what they could both claim. `top`: the
/// top-level `mcp` block, which owns the root metadata path when present.
pub fn validate(
    raw: Vec<RawResource>,
    have_keys: bool,
    top: Option<&McpConfig>,
) -> Result<Vec<ProtectedResource>> {
    if raw.len() > MAX_PROTECTED_RESOURCES {
        return Err(ConfigError::new(
            "protected_resources",
            format!("at most {MAX_PROTECTED_RESOURCES} resources"),
        ));
    }
    let mut out: Vec<ProtectedResource> = Vec::with_capacity(raw.len());
    // Paths the filter answers itself, with their owner. The root metadata
    // path is the top-level block's, or (without one) the per-resource 404.
    let root_owner = if top.is_some() {
        "mcp"
    } else {
        "the per-resource 404"
    };
    let mut served: Vec<(String, String)> = vec![(ROOT_METADATA_PATH.into(), root_owner.into())];
    if let Some(top) = top {
        served.push((top.resource_metadata_path.clone(), "mcp".into()));
        let issuers = issuer_paths(top.authorization_server.as_ref());
        served.extend(issuers.into_iter().map(|p| (p, "mcp".into())));
    }
    for (i, raw) in raw.into_iter().enumerate() {
        let at = format!("protected_resources[{i}]");
        let r = raw.validate(&at, have_keys)?;
        let refuse =
            |key: &str, reason: String| Err(ConfigError::new(format!("{at}.{key}"), reason));
        if let Some((j, _)) = out.iter().enumerate().find(|(_, o)| {
            prefix_matches_folded(&o.path_prefix, &r.path_prefix)
                || prefix_matches_folded(&r.path_prefix, &o.path_prefix)
        }) {
            return refuse(
                "path_prefix",
                format!("overlaps protected_resources[{j}].path_prefix (letter case ignored)"),
            );
        }
        if let Some(owner) = top
            .filter(|t| t.resource == r.mcp.resource)
            .map(|_| "mcp".to_string())
            .or_else(|| {
                out.iter()
                    .position(|o| o.mcp.resource == r.mcp.resource)
                    .map(|j| format!("protected_resources[{j}].mcp"))
            })
        {
            return refuse("mcp.resource", format!("is also {owner}.resource"));
        }
        let owned = [
            (
                "mcp.resource_metadata_url",
                r.mcp.resource_metadata_path.clone(),
            ),
            ("mcp.resource", r.well_known_path.clone()),
        ];
        let issuers = issuer_paths(r.mcp.authorization_server.as_ref());
        let owned = owned.into_iter().chain(
            issuers
                .into_iter()
                .map(|p| ("mcp.authorization_server.issuer", p)),
        );
        let mut mine: Vec<(String, String)> = Vec::new();
        for (key, path) in owned {
            if let Some((_, owner)) = served.iter().find(|(p, _)| *p == path) {
                return refuse(
                    key,
                    format!("its path {path} is already served for {owner}"),
                );
            }
            mine.push((path, format!("{at}.mcp")));
        }
        served.extend(mine);
        out.push(r);
    }
    Ok(out)
}

/// The paths of an authorization server's metadata: the RFC 8414 and
/// OpenID Connect forms the filter answers (see replies/authorization_server.rs).
fn issuer_paths(server: Option<&AuthorizationServerConfig>) -> Vec<String> {
    let Some(server) = server else {
        return Vec::new();
    };
    let p = &server.issuer_path;
    vec![
        format!("/.well-known/oauth-authorization-server{p}"),
        format!("/.well-known/openid-configuration{p}"),
        format!("{p}/.well-known/openid-configuration"),
    ]
}

impl ProtectedResource {
    /// The configuration a request under this resource is decided with: the
    /// shared blocks as configured, this resource's Entra app, `mcp` and
    /// rules in place of the top-level ones.
    pub fn scoped(&self, root: &Config) -> Config {
        let mut entra = root.entra.clone();
        entra.audiences = self.audiences.clone();
        entra.client_application_ids = self.client_application_ids.clone();
        entra.required_claims = self.required_claims.clone();
        Config {
            entra,
            subscription: root.subscription.clone(),
            mcp: Some(self.mcp.clone()),
            rules: self.rules.clone(),
            claims_to_headers: root.claims_to_headers.clone(),
            mcp_max_body_bytes: root.mcp_max_body_bytes,
            protected_resources: Vec::new(),
            filter_state: root.filter_state,
        }
    }
}
