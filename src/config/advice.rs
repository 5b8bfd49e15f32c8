//! What `entra-guard check` warns about: configurations the filter loads
//! but that Entra or strict MCP clients will refuse at sign-in. Warnings,
//! not errors: each may be deliberate (a v1-only app, say), and the fix is
//! often in the Entra app registration rather than here.

use super::{Config, McpConfig, ProtectedResource};
use crate::replies::metadata::requestable_scopes;
use crate::rules::prefix_matches_folded;
use crate::url::parse_absolute;

/// One finding: the key it concerns, what goes wrong, and the fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub key: String,
    pub problem: String,
    pub fix: String,
}

/// Scopes of OpenID Connect itself: never in an access token's `scp`.
const OPENID_SCOPES: &[&str] = &["openid", "profile", "email", "offline_access"];

pub fn advice(config: &Config) -> Vec<Warning> {
    let mut out = Vec::new();
    let mut warn = |key: String, problem: String, fix: String| {
        out.push(Warning { key, problem, fix });
    };
    let audiences = &config.entra.audiences;
    if !audiences.iter().any(|a| is_guid(a)) {
        warn(
            "entra.audiences".into(),
            "no audience is a GUID: v2 access tokens carry the API app's client id (a GUID) as aud"
                .into(),
            "add the API app's Application (client) ID to entra.audiences".into(),
        );
    }
    for (i, rule) in config.rules.iter().enumerate() {
        for (j, scope) in rule.required_scopes.iter().enumerate() {
            if OPENID_SCOPES.contains(&scope.as_str()) {
                warn(
                    format!("rules[{i}].required_scopes[{j}]"),
                    format!("{scope} is never in an access token's scp, so the rule cannot be met and its challenge asks for it"),
                    format!("remove {scope} from required_scopes (clients add offline_access themselves)"),
                );
            }
        }
    }
    if let Some(mcp) = &config.mcp {
        mcp_advice(config, mcp, &mut warn);
    }
    for (i, resource) in config.protected_resources.iter().enumerate() {
        resource_advice(config, i, resource, &mut warn);
    }
    out
}

/// A resource is checked as the configuration it is decided with, its
/// findings named by the resource's keys; plus what it shadows or drops.
fn resource_advice(
    config: &Config,
    i: usize,
    resource: &ProtectedResource,
    warn: &mut impl FnMut(String, String, String),
) {
    let at = format!("protected_resources[{i}]");
    for w in advice(&resource.scoped(config)) {
        let key = match w.key.strip_prefix("entra.") {
            Some(rest) => format!("{at}.{rest}"),
            None => format!("{at}.{}", w.key),
        };
        warn(key, w.problem, w.fix);
    }
    let prefix = &resource.path_prefix;
    for (j, rule) in config.rules.iter().enumerate() {
        if prefix_matches_folded(&rule.path_prefix, prefix)
            || prefix_matches_folded(prefix, &rule.path_prefix)
        {
            warn(
                format!("rules[{j}].path_prefix"),
                format!("covers paths under {at}.path_prefix ({prefix}), where the resource's own rules apply instead"),
                format!("move the rule into {at}.rules, or narrow it so that it stays outside {prefix}"),
            );
        }
    }
    let dropped = [
        (
            "client_application_ids",
            !config.entra.client_application_ids.is_empty()
                && resource.client_application_ids.is_empty(),
        ),
        (
            "required_claims",
            !config.entra.required_claims.is_empty() && resource.required_claims.is_empty(),
        ),
    ];
    for (key, _) in dropped.into_iter().filter(|(_, d)| *d) {
        warn(
            format!("{at}.{key}"),
            format!("is empty while entra.{key} is not: a resource does not inherit entra's, so this resource does not check it"),
            format!("set {at}.{key} for this resource's app"),
        );
    }
}

fn mcp_advice(config: &Config, mcp: &McpConfig, warn: &mut impl FnMut(String, String, String)) {
    let resource = mcp.resource.as_str();
    let origin = origin_of(resource);
    if resource.ends_with('/') {
        warn(
            "mcp.resource".into(),
            "ends with /: clients send it as the RFC 8707 resource and Entra answers AADSTS9010010 unless it is exactly an Application ID URI".into(),
            format!("use {} here and as the API app's Application ID URI", resource.trim_end_matches('/')),
        );
    }
    if parse_absolute(resource).is_some_and(|u| u.query.is_some()) {
        warn(
            "mcp.resource".into(),
            "has a query: Entra's Application ID URIs cannot carry one".into(),
            "use the MCP endpoint's URL without a query".into(),
        );
    }
    if resource.starts_with("http://") && !is_loopback_url(resource) {
        warn(
            "mcp.resource".into(),
            "is http: the MCP specification requires https, and Entra's Application ID URIs are https or api://".into(),
            "serve the MCP endpoint over https and use that URL".into(),
        );
    }
    if !config.entra.audiences.iter().any(|a| a == resource) {
        warn(
            "entra.audiences".into(),
            format!("does not list mcp.resource ({resource}): a v1 token requested for it carries it as aud"),
            "add mcp.resource to entra.audiences, or set accessTokenAcceptedVersion to 2 in the API app's manifest".into(),
        );
    }
    if origin_of(&mcp.resource_metadata_url) != origin {
        warn(
            "mcp.resource_metadata_url".into(),
            "is not on mcp.resource's origin: clients that build the metadata URL from the resource (RFC 9728 §3.1) look there".into(),
            format!("serve it under {}", origin.unwrap_or("mcp.resource's origin")),
        );
    } else {
        let path = parse_absolute(resource).map_or("/", |u| u.path);
        let expected = format!(
            "/.well-known/oauth-protected-resource{}",
            if path == "/" { "" } else { path }
        );
        if mcp.resource_metadata_path != expected {
            warn(
                "mcp.resource_metadata_url".into(),
                format!("its path is not {expected}, where RFC 9728 §3.1 puts the metadata of mcp.resource"),
                format!("use {}{expected}", origin.unwrap_or("")),
            );
        }
    }
    scopes_advice(mcp, warn);
    for (i, rule) in config.rules.iter().enumerate() {
        for (j, scope) in rule.required_scopes.iter().enumerate() {
            let asked = requestable_scopes(config, std::slice::from_ref(scope));
            if !OPENID_SCOPES.contains(&scope.as_str()) && !asked.iter().any(|s| s.contains("://"))
            {
                let resource = resource.trim_end_matches('/');
                warn(
                    format!("rules[{i}].required_scopes[{j}]"),
                    format!("no mcp.scopes_supported entry ends in /{scope}, so the challenge asks for the short scope, which Entra reads as a Microsoft Graph scope"),
                    format!("add {resource}/{scope} to mcp.scopes_supported"),
                );
            }
        }
    }
    if let Some(server) = &mcp.authorization_server {
        if origin_of(&server.issuer) != origin {
            warn(
                "mcp.authorization_server.issuer".into(),
                "is not on mcp.resource's origin: the filter serves the metadata only on hosts routed through it".into(),
                format!("use {} (or a path under it)", origin.unwrap_or("mcp.resource's origin")),
            );
        }
        if let Some(client) = &server.client_id {
            if !is_guid(client) {
                warn(
                    "mcp.authorization_server.client_id".into(),
                    "is not a GUID: Entra client ids are the Application (client) ID of an app registration".into(),
                    "use the public client app's Application (client) ID".into(),
                );
            }
        }
    }
}

fn scopes_advice(mcp: &McpConfig, warn: &mut impl FnMut(String, String, String)) {
    let resource = mcp.resource.trim_end_matches('/');
    if mcp.scopes_supported.is_empty() {
        warn(
            "mcp.scopes_supported".into(),
            "is empty: clients then ask Entra for no scope of the API and get a Microsoft Graph token".into(),
            format!("list the API's delegated scopes, fully qualified: [\"{resource}/<scope>\"]"),
        );
    }
    let mut prefixes: Vec<&str> = Vec::new();
    for (i, scope) in mcp.scopes_supported.iter().enumerate() {
        let key = format!("mcp.scopes_supported[{i}]");
        if OPENID_SCOPES.contains(&scope.as_str()) {
            continue;
        }
        let Some((prefix, name)) = scope.rsplit_once('/').filter(|(p, _)| p.contains("://")) else {
            warn(
                key,
                format!("{scope} is a short scope: Entra reads it as a Microsoft Graph scope"),
                format!("write it fully qualified: {resource}/{scope}"),
            );
            continue;
        };
        if prefix != resource && !prefix.starts_with("api://") {
            warn(
                key,
                format!("{scope} is not under mcp.resource or an api:// Application ID URI"),
                format!("use {resource}/{name} and make {resource} an Application ID URI of the API app"),
            );
        }
        if !prefixes.contains(&prefix) {
            prefixes.push(prefix);
        }
    }
    if prefixes.len() > 1 {
        warn(
            "mcp.scopes_supported".into(),
            format!("names scopes of {} resources ({}): Entra issues a token for one resource at a time (AADSTS28000)", prefixes.len(), prefixes.join(", ")),
            "qualify every scope with the same Application ID URI, preferably mcp.resource".into(),
        );
    }
}

fn origin_of(url: &str) -> Option<&str> {
    let parsed = parse_absolute(url)?;
    let end = parsed.scheme.len() + 3 + parsed.authority.len();
    url.get(..end)
}

fn is_loopback_url(url: &str) -> bool {
    parse_absolute(url).is_some_and(|u| super::is_loopback(u.authority))
}

fn is_guid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}
