//! The filter's JSON exactly as written by the operator, read key by key.
//!
//! Every object refuses keys it does not know: a misspelt key must stop the
//! filter, not silently weaken a policy. Nothing here is trusted yet;
//! `validate` turns it into the runtime `Config`.

use super::json::Obj;
use super::ConfigError;

type Result<T> = std::result::Result<T, ConfigError>;

pub struct RawConfig {
    pub entra: RawEntra,
    pub subscription_keys: Option<RawSubscriptionKeys>,
    pub mcp: Option<RawMcp>,
    pub rules: Vec<RawRule>,
    pub claims_to_headers: Vec<(String, String)>,
}

pub struct RawEntra {
    pub tenant_id: Option<String>,
    pub allowed_tenants: Option<Vec<String>>,
    pub authority: Option<String>,
    pub v1_issuer_authority: Option<String>,
    pub cluster: Option<String>,
    pub audiences: Vec<String>,
    pub client_application_ids: Vec<String>,
    pub required_claims: Vec<RawRequiredClaim>,
    pub clock_skew_seconds: Option<u64>,
    pub jwks_refresh_seconds: Option<u64>,
    pub jwks_hosts: Option<Vec<String>>,
    pub fetch_timeout_ms: Option<u64>,
    pub key_wait_ms: Option<u64>,
    pub max_token_bytes: Option<u64>,
    pub kid_miss_refetch_seconds: Option<u64>,
    pub token_cache_size: Option<u64>,
    pub signature_backend: Option<String>,
}

pub struct RawRequiredClaim {
    pub name: String,
    pub match_mode: Option<String>,
    pub values: Vec<String>,
    pub separator: Option<String>,
}

pub struct RawSubscriptionKeys {
    pub header: Option<String>,
    /// `None`: key absent (default name); `Some(None)`: explicitly `null`,
    /// which disables the query form.
    pub query: Option<Option<String>>,
    pub keys: Vec<RawSubscriptionKey>,
    pub name_header: Option<String>,
    pub realm: Option<String>,
}

pub struct RawSubscriptionKey {
    pub name: String,
    pub sha256: String,
}

pub struct RawMcp {
    pub resource: String,
    pub resource_metadata_url: String,
    pub scopes_supported: Vec<String>,
    pub resource_name: Option<String>,
    pub resource_documentation: Option<String>,
    pub resource_policy_uri: Option<String>,
    pub resource_tos_uri: Option<String>,
    pub max_body_bytes: Option<u64>,
}

pub struct RawRule {
    pub path_prefix: String,
    pub require: String,
    pub required_scopes: Vec<String>,
    pub required_roles: Vec<String>,
    pub mcp_methods: Vec<String>,
    pub mcp_tools: Vec<String>,
    pub upstream_authorization: Option<String>,
}

impl RawConfig {
    pub fn read(o: &Obj<'_>) -> Result<RawConfig> {
        o.only(&[
            "entra",
            "subscription_keys",
            "mcp",
            "rules",
            "claims_to_headers",
        ])?;
        let entra = o.required("entra", o.object("entra"))?;
        Ok(RawConfig {
            entra: RawEntra::read(&entra)?,
            subscription_keys: o
                .object("subscription_keys")?
                .map(|s| RawSubscriptionKeys::read(&s))
                .transpose()?,
            mcp: o.object("mcp")?.map(|m| RawMcp::read(&m)).transpose()?,
            rules: o
                .objects("rules")?
                .unwrap_or_default()
                .iter()
                .map(RawRule::read)
                .collect::<Result<_>>()?,
            claims_to_headers: o.string_map("claims_to_headers")?.unwrap_or_default(),
        })
    }
}

impl RawEntra {
    fn read(o: &Obj<'_>) -> Result<RawEntra> {
        o.only(&[
            "tenant_id",
            "allowed_tenants",
            "authority",
            "v1_issuer_authority",
            "cluster",
            "audiences",
            "client_application_ids",
            "required_claims",
            "clock_skew_seconds",
            "jwks_refresh_seconds",
            "jwks_hosts",
            "fetch_timeout_ms",
            "key_wait_ms",
            "max_token_bytes",
            "kid_miss_refetch_seconds",
            "token_cache_size",
            "signature_backend",
        ])?;
        Ok(RawEntra {
            tenant_id: o.string("tenant_id")?,
            allowed_tenants: o.strings("allowed_tenants")?,
            authority: o.string("authority")?,
            v1_issuer_authority: o.string("v1_issuer_authority")?,
            cluster: o.string("cluster")?,
            audiences: o.required("audiences", o.strings("audiences"))?,
            client_application_ids: o.strings("client_application_ids")?.unwrap_or_default(),
            required_claims: o
                .objects("required_claims")?
                .unwrap_or_default()
                .iter()
                .map(RawRequiredClaim::read)
                .collect::<Result<_>>()?,
            clock_skew_seconds: o.unsigned("clock_skew_seconds")?,
            jwks_refresh_seconds: o.unsigned("jwks_refresh_seconds")?,
            jwks_hosts: o.strings("jwks_hosts")?,
            fetch_timeout_ms: o.unsigned("fetch_timeout_ms")?,
            key_wait_ms: o.unsigned("key_wait_ms")?,
            max_token_bytes: o.unsigned("max_token_bytes")?,
            kid_miss_refetch_seconds: o.unsigned("kid_miss_refetch_seconds")?,
            token_cache_size: o.unsigned("token_cache_size")?,
            signature_backend: o.string("signature_backend")?,
        })
    }
}

impl RawRequiredClaim {
    fn read(o: &Obj<'_>) -> Result<RawRequiredClaim> {
        o.only(&["name", "match", "values", "separator"])?;
        Ok(RawRequiredClaim {
            name: o.required("name", o.string("name"))?,
            match_mode: o.string("match")?,
            values: o.required("values", o.strings("values"))?,
            separator: o.string("separator")?,
        })
    }
}

impl RawSubscriptionKeys {
    fn read(o: &Obj<'_>) -> Result<RawSubscriptionKeys> {
        o.only(&["header", "query", "keys", "name_header", "realm"])?;
        Ok(RawSubscriptionKeys {
            header: o.string("header")?,
            query: o.string_or_null("query")?,
            keys: o
                .required("keys", o.objects("keys"))?
                .iter()
                .map(|k| {
                    k.only(&["name", "sha256"])?;
                    Ok(RawSubscriptionKey {
                        name: k.required("name", k.string("name"))?,
                        sha256: k.required("sha256", k.string("sha256"))?,
                    })
                })
                .collect::<Result<_>>()?,
            name_header: o.string("name_header")?,
            realm: o.string("realm")?,
        })
    }
}

impl RawMcp {
    fn read(o: &Obj<'_>) -> Result<RawMcp> {
        o.only(&[
            "resource",
            "resource_metadata_url",
            "scopes_supported",
            "resource_name",
            "resource_documentation",
            "resource_policy_uri",
            "resource_tos_uri",
            "max_body_bytes",
        ])?;
        Ok(RawMcp {
            resource: o.required("resource", o.string("resource"))?,
            resource_metadata_url: o
                .required("resource_metadata_url", o.string("resource_metadata_url"))?,
            scopes_supported: o.strings("scopes_supported")?.unwrap_or_default(),
            resource_name: o.string("resource_name")?,
            resource_documentation: o.string("resource_documentation")?,
            resource_policy_uri: o.string("resource_policy_uri")?,
            resource_tos_uri: o.string("resource_tos_uri")?,
            max_body_bytes: o.unsigned("max_body_bytes")?,
        })
    }
}

impl RawRule {
    fn read(o: &Obj<'_>) -> Result<RawRule> {
        o.only(&[
            "path_prefix",
            "require",
            "required_scopes",
            "required_roles",
            "mcp_methods",
            "mcp_tools",
            "upstream_authorization",
        ])?;
        Ok(RawRule {
            path_prefix: o.required("path_prefix", o.string("path_prefix"))?,
            require: o.required("require", o.string("require"))?,
            required_scopes: o.strings("required_scopes")?.unwrap_or_default(),
            required_roles: o.strings("required_roles")?.unwrap_or_default(),
            mcp_methods: o.strings("mcp_methods")?.unwrap_or_default(),
            mcp_tools: o.strings("mcp_tools")?.unwrap_or_default(),
            upstream_authorization: o.string("upstream_authorization")?,
        })
    }
}
