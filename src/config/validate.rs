//! Raw JSON → `Config`, refusing anything half-understood. Each error names
//! the key (as a JSON path) and the reason, so one log line is enough.

use super::json;
use super::raw::{RawConfig, RawEntra, RawMcp, RawRule, RawSubscriptionKeys};
use super::*;
use crate::headers;
use crate::url::parse_absolute;

const MAX_CONFIG_BYTES: usize = 1 << 20;
const DEFAULT_CLOCK_SKEW: u64 = 300;
const DEFAULT_REFRESH: u64 = 3600;
const DEFAULT_FETCH_TIMEOUT_MS: u64 = 5_000;
const DEFAULT_KEY_WAIT_MS: u64 = 5_000;
const DEFAULT_MAX_TOKEN_BYTES: usize = 16 * 1024;
const DEFAULT_KID_MISS_REFETCH: u64 = 10;
/// Below Envoy's default per-connection buffer limit (1 MiB), so the
/// filter's own 413 answers first.
const DEFAULT_MCP_MAX_BODY: usize = 512 << 10;
const DEFAULT_TOKEN_CACHE_SIZE: u64 = 1024;

type Result<T> = std::result::Result<T, ConfigError>;

/// Parses and validates the filter configuration.
pub fn parse(json: &[u8]) -> Result<Config> {
    if json.len() > MAX_CONFIG_BYTES {
        return Err(ConfigError::new(
            "(root)",
            "configuration larger than 1 MiB",
        ));
    }
    let value = json::parse_unique(json)?;
    let raw = RawConfig::read(&json::Obj::root(&value)?)?;
    from_raw(raw)
}

fn from_raw(raw: RawConfig) -> Result<Config> {
    let entra = entra(raw.entra)?;
    let subscription = raw.subscription_keys.map(subscription).transpose()?;
    let mcp = raw.mcp.map(mcp).transpose()?;
    let rules = raw
        .rules
        .into_iter()
        .enumerate()
        .map(|(i, r)| rule(i, r, subscription.is_some()))
        .collect::<Result<Vec<_>>>()?;
    let mut claims_to_headers: Vec<(String, String)> = Vec::new();
    for (claim, header) in raw.claims_to_headers {
        let key = format!("claims_to_headers.{claim}");
        if claim.is_empty() {
            return Err(ConfigError::new(key, "claim name must not be empty"));
        }
        let header = claim_header(&key, &header, subscription.as_ref())?;
        if claims_to_headers
            .iter()
            .any(|(_, h)| headers::same_name(h, &header))
        {
            return Err(ConfigError::new(
                key,
                "header is already used by another claim",
            ));
        }
        claims_to_headers.push((claim, header));
    }
    let mcp_max_body_bytes = mcp
        .as_ref()
        .map_or(DEFAULT_MCP_MAX_BODY, |m| m.max_body_bytes);
    Ok(Config {
        entra,
        subscription,
        mcp,
        rules,
        claims_to_headers,
        mcp_max_body_bytes,
    })
}

fn entra(raw: RawEntra) -> Result<EntraConfig> {
    let tenant_id = raw
        .tenant_id
        .map(|t| guid("entra.tenant_id", &t))
        .transpose()?;
    let (tenancy, discovery_tenant) = match (raw.allowed_tenants, tenant_id) {
        (Some(list), home) => {
            if list.is_empty() {
                return Err(ConfigError::new(
                    "entra.allowed_tenants",
                    "must not be empty",
                ));
            }
            let list = list
                .iter()
                .enumerate()
                .map(|(i, t)| guid(&format!("entra.allowed_tenants[{i}]"), t))
                .collect::<Result<Vec<_>>>()?;
            let segment = home.unwrap_or_else(|| "organizations".into());
            (Tenancy::Allowed(list), segment)
        }
        (None, Some(t)) => (Tenancy::Single(t.clone()), t),
        (None, None) => {
            return Err(ConfigError::new(
                "entra.tenant_id",
                "required unless entra.allowed_tenants is set",
            ))
        }
    };
    let authority = origin(
        "entra.authority",
        raw.authority.as_deref().unwrap_or(DEFAULT_AUTHORITY),
    )?;
    let authority_host = authority
        .split_once("://")
        .map(|(_, h)| h.to_string())
        .unwrap_or_default();
    let v1_issuer_authority = origin(
        "entra.v1_issuer_authority",
        raw.v1_issuer_authority
            .as_deref()
            .unwrap_or(DEFAULT_V1_ISSUER_AUTHORITY),
    )?;
    let cluster = raw.cluster.unwrap_or_else(|| DEFAULT_CLUSTER.into());
    if cluster.is_empty() {
        return Err(ConfigError::new("entra.cluster", "must not be empty"));
    }
    if raw.audiences.is_empty() {
        return Err(ConfigError::new("entra.audiences", "must not be empty"));
    }
    non_empty_items("entra.audiences", &raw.audiences)?;
    non_empty_items("entra.client_application_ids", &raw.client_application_ids)?;
    let required_claims = raw
        .required_claims
        .into_iter()
        .enumerate()
        .map(|(i, c)| {
            let key = format!("entra.required_claims[{i}]");
            if c.name.is_empty() {
                return Err(ConfigError::new(format!("{key}.name"), "must not be empty"));
            }
            if c.values.is_empty() {
                return Err(ConfigError::new(
                    format!("{key}.values"),
                    "must not be empty",
                ));
            }
            non_empty_items(&format!("{key}.values"), &c.values)?;
            let match_mode = match c.match_mode.as_deref().unwrap_or("all") {
                "all" => ClaimMatch::All,
                "any" => ClaimMatch::Any,
                other => {
                    return Err(ConfigError::new(
                        format!("{key}.match"),
                        format!("must be \"any\" or \"all\", not \"{other}\""),
                    ))
                }
            };
            if c.separator.as_deref() == Some("") {
                return Err(ConfigError::new(
                    format!("{key}.separator"),
                    "must not be empty",
                ));
            }
            Ok(RequiredClaim {
                name: c.name,
                match_mode,
                values: c.values,
                separator: c.separator,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let mut jwks_hosts = vec![authority_host.to_ascii_lowercase()];
    for (i, host) in raw.jwks_hosts.unwrap_or_default().into_iter().enumerate() {
        let key = format!("entra.jwks_hosts[{i}]");
        if parse_absolute(&format!("https://{host}/")).map(|u| u.authority) != Some(host.as_str()) {
            return Err(ConfigError::new(
                key,
                "must be a host name, optionally with :port",
            ));
        }
        jwks_hosts.push(host.to_ascii_lowercase());
    }
    let issuer_tenant = match discovery_tenant.as_str() {
        "organizations" | "common" => "{tenantid}",
        tenant => tenant,
    };
    let discovery_issuer = format!("{authority}/{issuer_tenant}/v2.0");
    Ok(EntraConfig {
        tenancy,
        discovery_tenant,
        discovery_issuer,
        authority,
        authority_host,
        v1_issuer_authority,
        cluster,
        audiences: raw.audiences,
        client_application_ids: raw.client_application_ids,
        required_claims,
        clock_skew_seconds: bounded(
            "entra.clock_skew_seconds",
            raw.clock_skew_seconds,
            DEFAULT_CLOCK_SKEW,
            0..=3600,
        )?,
        jwks_refresh_seconds: bounded(
            "entra.jwks_refresh_seconds",
            raw.jwks_refresh_seconds,
            DEFAULT_REFRESH,
            60..=86_400,
        )?,
        jwks_hosts,
        fetch_timeout_ms: bounded(
            "entra.fetch_timeout_ms",
            raw.fetch_timeout_ms,
            DEFAULT_FETCH_TIMEOUT_MS,
            100..=60_000,
        )?,
        key_wait_ms: bounded(
            "entra.key_wait_ms",
            raw.key_wait_ms,
            DEFAULT_KEY_WAIT_MS,
            0..=60_000,
        )?,
        max_token_bytes: bounded(
            "entra.max_token_bytes",
            raw.max_token_bytes,
            DEFAULT_MAX_TOKEN_BYTES as u64,
            1024..=65_536,
        )? as usize,
        kid_miss_refetch_seconds: bounded(
            "entra.kid_miss_refetch_seconds",
            raw.kid_miss_refetch_seconds,
            DEFAULT_KID_MISS_REFETCH,
            1..=3600,
        )?,
        token_cache_size: bounded(
            "entra.token_cache_size",
            raw.token_cache_size,
            DEFAULT_TOKEN_CACHE_SIZE,
            0..=100_000,
        )? as usize,
        signature_backend: match raw.signature_backend.as_deref().unwrap_or("auto") {
            "auto" => SignatureBackend::Auto,
            "host" => SignatureBackend::Host,
            "rust" => SignatureBackend::Rust,
            other => {
                return Err(ConfigError::new(
                    "entra.signature_backend",
                    format!("must be \"auto\", \"host\" or \"rust\", not \"{other}\""),
                ))
            }
        },
    })
}

fn subscription(raw: RawSubscriptionKeys) -> Result<SubscriptionConfig> {
    let header = header_name(
        "subscription_keys.header",
        raw.header.as_deref().unwrap_or(DEFAULT_SUBSCRIPTION_HEADER),
    )?;
    let query = match raw.query {
        None => Some(DEFAULT_SUBSCRIPTION_QUERY.to_string()),
        Some(None) => None,
        Some(Some(q)) => {
            let ok = !q.is_empty()
                && q.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~'));
            if !ok {
                return Err(ConfigError::new(
                    "subscription_keys.query",
                    "must be a plain query parameter name (letters, digits, - _ . ~) or null",
                ));
            }
            Some(q)
        }
    };
    if raw.keys.is_empty() {
        return Err(ConfigError::new(
            "subscription_keys.keys",
            "must not be empty",
        ));
    }
    let keys = raw
        .keys
        .into_iter()
        .enumerate()
        .map(|(i, k)| {
            if k.name.is_empty() || k.name.bytes().any(|b| !(b' '..0x7f).contains(&b)) {
                return Err(ConfigError::new(
                    format!("subscription_keys.keys[{i}].name"),
                    "must be non-empty printable ASCII",
                ));
            }
            let sha256 = hex32(&k.sha256).ok_or_else(|| {
                ConfigError::new(
                    format!("subscription_keys.keys[{i}].sha256"),
                    "must be 64 hexadecimal digits (the SHA-256 of the key)",
                )
            })?;
            Ok(SubscriptionKey {
                name: k.name,
                sha256,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let name_header = header_name(
        "subscription_keys.name_header",
        raw.name_header
            .as_deref()
            .unwrap_or(DEFAULT_SUBSCRIPTION_NAME_HEADER),
    )?;
    if name_header == header {
        return Err(ConfigError::new(
            "subscription_keys.name_header",
            "must differ from subscription_keys.header",
        ));
    }
    let realm = raw.realm.unwrap_or_else(|| "entra-guard".into());
    if realm.bytes().any(|b| !(b' '..0x7f).contains(&b)) {
        return Err(ConfigError::new(
            "subscription_keys.realm",
            "must be printable ASCII",
        ));
    }
    Ok(SubscriptionConfig {
        header,
        query,
        keys,
        name_header,
        realm,
    })
}

fn mcp(raw: RawMcp) -> Result<McpConfig> {
    absolute("mcp.resource", &raw.resource)?;
    let resource_metadata_path = absolute("mcp.resource_metadata_url", &raw.resource_metadata_url)?;
    for (key, value) in [
        ("mcp.resource_documentation", &raw.resource_documentation),
        ("mcp.resource_policy_uri", &raw.resource_policy_uri),
        ("mcp.resource_tos_uri", &raw.resource_tos_uri),
    ] {
        if let Some(v) = value {
            absolute(key, v)?;
        }
    }
    non_empty_items("mcp.scopes_supported", &raw.scopes_supported)?;
    quotable("mcp.scopes_supported", &raw.scopes_supported.join(" "))?;
    quotable("mcp.resource_metadata_url", &raw.resource_metadata_url)?;
    let max_body_bytes = bounded(
        "mcp.max_body_bytes",
        raw.max_body_bytes,
        DEFAULT_MCP_MAX_BODY as u64,
        1024..=16 << 20,
    )? as usize;
    Ok(McpConfig {
        max_body_bytes,
        resource: raw.resource,
        resource_metadata_url: raw.resource_metadata_url,
        resource_metadata_path,
        scopes_supported: raw.scopes_supported,
        resource_name: raw.resource_name,
        resource_documentation: raw.resource_documentation,
        resource_policy_uri: raw.resource_policy_uri,
        resource_tos_uri: raw.resource_tos_uri,
    })
}

fn rule(index: usize, raw: RawRule, have_keys: bool) -> Result<Rule> {
    let key = |field: &str| format!("rules[{index}].{field}");
    let prefix = raw.path_prefix;
    if !prefix.starts_with('/') || prefix.contains(['?', '#']) || prefix.bytes().any(|b| b <= b' ')
    {
        return Err(ConfigError::new(
            key("path_prefix"),
            "must start with / and hold no query, fragment or spaces",
        ));
    }
    let trimmed = prefix.trim_end_matches('/');
    let path_prefix = if trimmed.is_empty() {
        "/".into()
    } else {
        trimmed.to_string()
    };
    let require = match raw.require.as_str() {
        "none" => Requirement::None,
        "jwt" => Requirement::Jwt,
        "subscription_key" => Requirement::SubscriptionKey,
        "jwt_and_subscription_key" => Requirement::JwtAndSubscriptionKey,
        "jwt_or_subscription_key" => Requirement::JwtOrSubscriptionKey,
        other => {
            return Err(ConfigError::new(
                key("require"),
                format!(
                    "unknown value \"{other}\" (expected none, jwt, subscription_key, \
                     jwt_and_subscription_key or jwt_or_subscription_key)"
                ),
            ))
        }
    };
    if require.needs_subscription_keys() && !have_keys {
        return Err(ConfigError::new(
            key("require"),
            "needs a subscription_keys block",
        ));
    }
    let scopes_or_roles = !raw.required_scopes.is_empty() || !raw.required_roles.is_empty();
    if scopes_or_roles && matches!(require, Requirement::None | Requirement::SubscriptionKey) {
        return Err(ConfigError::new(
            key("require"),
            "required_scopes/required_roles need a rule that checks a JWT",
        ));
    }
    for (field, list) in [
        ("required_scopes", &raw.required_scopes),
        ("required_roles", &raw.required_roles),
    ] {
        for (i, v) in list.iter().enumerate() {
            if v.is_empty()
                || v.bytes()
                    .any(|b| !(b'!'..0x7f).contains(&b) || b == b'"' || b == b'\\')
            {
                return Err(ConfigError::new(
                    format!("{}[{i}]", key(field)),
                    "must be non-empty visible ASCII without quotes or backslashes",
                ));
            }
        }
    }
    for (field, list) in [
        ("mcp_methods", &raw.mcp_methods),
        ("mcp_tools", &raw.mcp_tools),
    ] {
        non_empty_items(&key(field), list)?;
    }
    let mcp_methods = if raw.mcp_methods.is_empty() && !raw.mcp_tools.is_empty() {
        vec!["tools/call".to_string()]
    } else {
        raw.mcp_methods
    };
    let upstream_authorization = match raw.upstream_authorization.as_deref() {
        None | Some("forward") => UpstreamAuthorization::Forward,
        Some("remove") => UpstreamAuthorization::Remove,
        Some(other) => {
            return Err(ConfigError::new(
                key("upstream_authorization"),
                format!("must be \"forward\" or \"remove\", not \"{other}\""),
            ))
        }
    };
    Ok(Rule {
        prefix_has_uppercase: path_prefix.bytes().any(|b| b.is_ascii_uppercase()),
        path_prefix,
        require,
        required_scopes: raw.required_scopes,
        required_roles: raw.required_roles,
        mcp_methods,
        mcp_tools: raw.mcp_tools,
        upstream_authorization,
    })
}

fn guid(key: &str, value: &str) -> Result<String> {
    let b = value.as_bytes();
    let ok = b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        });
    if ok {
        Ok(value.to_ascii_lowercase())
    } else {
        Err(ConfigError::new(
            key,
            "must be a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)",
        ))
    }
}

/// `scheme://host[:port]` with no path; a trailing `/` is tolerated.
fn origin(key: &str, value: &str) -> Result<String> {
    let trimmed = value.trim_end_matches('/');
    match parse_absolute(trimmed) {
        Some(u) if u.path == "/" && u.query.is_none() && !trimmed.ends_with('?') => {
            Ok(trimmed.to_string())
        }
        _ => Err(ConfigError::new(
            key,
            "must be an http(s) origin like https://login.microsoftonline.com",
        )),
    }
}

/// An absolute http(s) URL; returns its path.
fn absolute(key: &str, value: &str) -> Result<String> {
    parse_absolute(value)
        .map(|u| u.path.to_string())
        .ok_or_else(|| ConfigError::new(key, "must be an absolute http(s) URL"))
}

fn header_name(key: &str, value: &str) -> Result<String> {
    const TCHAR: &[u8] = b"!#$%&'*+-.^_`|~";
    let ok = !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || TCHAR.contains(&b));
    let lower = value.to_ascii_lowercase();
    let reserved = [
        "authorization",
        "host",
        "content-length",
        "transfer-encoding",
        "connection",
        "te",
    ];
    if !ok {
        Err(ConfigError::new(key, "must be an HTTP header name"))
    } else if reserved.contains(&lower.as_str()) {
        Err(ConfigError::new(key, "must not be a reserved header"))
    } else {
        Ok(lower)
    }
}

/// Credentials: an upstream would take a claim written there for one.
const CREDENTIAL_HEADERS: &[&str] = &["authorization", "proxy-authorization", "cookie"];

/// Headers that steer routing in Envoy or in the upstream.
const ROUTING_HEADERS: &[&str] = &[
    "host",
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
    "x-forwarded-prefix",
    "x-original-url",
    "x-rewrite-url",
    "x-http-method-override",
];

/// A `claims_to_headers` header: a plain header name that is not a
/// pseudo-header, a credential, the subscription name header or a routing
/// header, compared as an upstream reads names (any case, `_` for `-`).
fn claim_header(key: &str, value: &str, sub: Option<&SubscriptionConfig>) -> Result<String> {
    let is = |h: &str| headers::same_name(h, value);
    let refused = if value.starts_with(':') {
        Some("must not be a pseudo-header (:path, :authority, ...)")
    } else if CREDENTIAL_HEADERS.iter().any(|h| is(h)) || sub.is_some_and(|s| is(&s.header)) {
        Some("must not be a credential header (Authorization, Cookie, the subscription key header)")
    } else if sub.is_some_and(|s| is(&s.name_header)) {
        Some("must not be subscription_keys.name_header (the filter sets it)")
    } else if ROUTING_HEADERS.iter().any(|h| is(h))
        || value
            .get(..8)
            .is_some_and(|p| headers::same_name(p, "x-envoy-"))
    {
        Some("must not be a header that steers routing (Host, Forwarded, X-Forwarded-*, X-Envoy-*, ...)")
    } else {
        None
    };
    match refused {
        Some(reason) => Err(ConfigError::new(key, reason)),
        None => header_name(key, value),
    }
}

fn non_empty_items(key: &str, items: &[String]) -> Result<()> {
    match items.iter().position(|s| s.is_empty()) {
        Some(i) => Err(ConfigError::new(format!("{key}[{i}]"), "must not be empty")),
        None => Ok(()),
    }
}

/// Values that end up inside a quoted auth-param: no quotes, backslashes or controls.
fn quotable(key: &str, value: &str) -> Result<()> {
    if value
        .bytes()
        .any(|b| b < b' ' || b == 0x7f || b == b'"' || b == b'\\')
    {
        Err(ConfigError::new(
            key,
            "must not contain quotes, backslashes or control characters",
        ))
    } else {
        Ok(())
    }
}

fn bounded(
    key: &str,
    value: Option<u64>,
    default: u64,
    range: std::ops::RangeInclusive<u64>,
) -> Result<u64> {
    let v = value.unwrap_or(default);
    if range.contains(&v) {
        Ok(v)
    } else {
        Err(ConfigError::new(
            key,
            format!("must be between {} and {}", range.start(), range.end()),
        ))
    }
}

fn hex32(s: &str) -> Option<[u8; 32]> {
    let b = s.as_bytes();
    if b.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in b.chunks_exact(2).enumerate() {
        let hi = (pair[0] as char).to_digit(16)?;
        let lo = (pair[1] as char).to_digit(16)?;
        out[i] = (hi * 16 + lo) as u8;
    }
    Some(out)
}
