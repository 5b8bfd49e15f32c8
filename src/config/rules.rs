//! The `rules` list: what each path prefix (and MCP call) requires.

use super::error::{ConfigError, Result};
use super::values::{checked_string, or_default, strings, NonEmpty};
use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum Requirement {
    None,
    Jwt,
    SubscriptionKey,
    JwtAndSubscriptionKey,
    JwtOrSubscriptionKey,
}

impl TryFrom<String> for Requirement {
    type Error = String;
    fn try_from(s: String) -> std::result::Result<Self, String> {
        match s.as_str() {
            "none" => Ok(Self::None),
            "jwt" => Ok(Self::Jwt),
            "subscription_key" => Ok(Self::SubscriptionKey),
            "jwt_and_subscription_key" => Ok(Self::JwtAndSubscriptionKey),
            "jwt_or_subscription_key" => Ok(Self::JwtOrSubscriptionKey),
            other => Err(format!(
                "unknown value \"{other}\" (expected none, jwt, subscription_key, \
                 jwt_and_subscription_key or jwt_or_subscription_key)"
            )),
        }
    }
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(try_from = "String")]
pub enum UpstreamAuthorization {
    #[default]
    Forward,
    Remove,
}

impl TryFrom<String> for UpstreamAuthorization {
    type Error = String;
    fn try_from(s: String) -> std::result::Result<Self, String> {
        match s.as_str() {
            "forward" => Ok(Self::Forward),
            "remove" => Ok(Self::Remove),
            other => Err(format!(
                "must be \"forward\" or \"remove\", not \"{other}\""
            )),
        }
    }
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

checked_string!(
    /// Starts with `/`, no query, fragment or spaces; trailing `/` dropped.
    PathPrefix,
    |s| {
        if !s.starts_with('/') || s.contains(['?', '#']) || s.bytes().any(|b| b <= b' ') {
            return Err("must start with / and hold no query, fragment or spaces");
        }
        let trimmed = s.trim_end_matches('/');
        Ok(if trimmed.is_empty() { "/".into() } else { trimmed.to_string() })
    }
);

checked_string!(
    /// A scope or role, written into a quoted `scope=` auth-param.
    ScopeOrRole,
    |s| {
        if s.is_empty()
            || s.bytes()
                .any(|b| !(b'!'..0x7f).contains(&b) || b == b'"' || b == b'\\')
        {
            Err("must be non-empty visible ASCII without quotes or backslashes")
        } else {
            Ok(s)
        }
    }
);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRule {
    path_prefix: PathPrefix,
    require: Requirement,
    #[serde(default, deserialize_with = "or_default")]
    required_scopes: Vec<ScopeOrRole>,
    #[serde(default, deserialize_with = "or_default")]
    required_roles: Vec<ScopeOrRole>,
    #[serde(default, deserialize_with = "or_default")]
    mcp_methods: Vec<NonEmpty>,
    #[serde(default, deserialize_with = "or_default")]
    mcp_tools: Vec<NonEmpty>,
    #[serde(default, deserialize_with = "or_default")]
    upstream_authorization: UpstreamAuthorization,
}

impl RawRule {
    /// `at` names the rule in errors (`rules[0]`); `have_keys`: a
    /// `subscription_keys` block is configured.
    pub fn validate(self, at: &str, have_keys: bool) -> Result<Rule> {
        let require_key = || format!("{at}.require");
        if self.require.needs_subscription_keys() && !have_keys {
            return Err(ConfigError::new(
                require_key(),
                "needs a subscription_keys block",
            ));
        }
        let scopes_or_roles = !self.required_scopes.is_empty() || !self.required_roles.is_empty();
        if scopes_or_roles
            && matches!(
                self.require,
                Requirement::None | Requirement::SubscriptionKey
            )
        {
            return Err(ConfigError::new(
                require_key(),
                "required_scopes/required_roles need a rule that checks a JWT",
            ));
        }
        let mcp_tools = strings(self.mcp_tools);
        let mcp_methods = if self.mcp_methods.is_empty() && !mcp_tools.is_empty() {
            vec!["tools/call".to_string()]
        } else {
            strings(self.mcp_methods)
        };
        let path_prefix = self.path_prefix.0;
        Ok(Rule {
            prefix_has_uppercase: path_prefix.bytes().any(|b| b.is_ascii_uppercase()),
            path_prefix,
            require: self.require,
            required_scopes: strings(self.required_scopes),
            required_roles: strings(self.required_roles),
            mcp_methods,
            mcp_tools,
            upstream_authorization: self.upstream_authorization,
        })
    }
}
