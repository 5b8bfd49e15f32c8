//! What a decision says beyond its response: which credential admitted a
//! request, or why it was answered. Typed, so a new outcome cannot be
//! counted under the wrong name or fall into a catch-all.

/// What admitted a request (metric `allowed.<name>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Via {
    /// A rule that requires nothing.
    #[default]
    Public,
    /// A CORS preflight.
    Preflight,
    Jwt,
    SubscriptionKey,
    JwtAndSubscriptionKey,
}

impl Via {
    pub fn name(self) -> &'static str {
        match self {
            Via::Public => "public",
            Via::Preflight => "preflight",
            Via::Jwt => "jwt",
            Via::SubscriptionKey => "subscription_key",
            Via::JwtAndSubscriptionKey => "jwt_and_subscription_key",
        }
    }

    /// Whether a verified token admitted the request.
    pub fn has_token(self) -> bool {
        matches!(self, Via::Jwt | Via::JwtAndSubscriptionKey)
    }
}

/// Why a request was denied (metric `denied.<name>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DenyReason {
    Missing,
    Malformed,
    Signature,
    Expired,
    Issuer,
    Audience,
    Tenant,
    Client,
    Scope,
    KeysUnavailable,
    InvalidRequest,
    SubscriptionMissing,
    SubscriptionInvalid,
}

impl DenyReason {
    /// Every reason, in the order of their counters.
    pub const ALL: [DenyReason; 13] = [
        DenyReason::Missing,
        DenyReason::Malformed,
        DenyReason::Signature,
        DenyReason::Expired,
        DenyReason::Issuer,
        DenyReason::Audience,
        DenyReason::Tenant,
        DenyReason::Client,
        DenyReason::Scope,
        DenyReason::KeysUnavailable,
        DenyReason::InvalidRequest,
        DenyReason::SubscriptionMissing,
        DenyReason::SubscriptionInvalid,
    ];

    pub fn name(self) -> &'static str {
        match self {
            DenyReason::Missing => "missing",
            DenyReason::Malformed => "malformed",
            DenyReason::Signature => "signature",
            DenyReason::Expired => "expired",
            DenyReason::Issuer => "issuer",
            DenyReason::Audience => "audience",
            DenyReason::Tenant => "tenant",
            DenyReason::Client => "client",
            DenyReason::Scope => "scope",
            DenyReason::KeysUnavailable => "keys_unavailable",
            DenyReason::InvalidRequest => "invalid_request",
            DenyReason::SubscriptionMissing => "subscription_missing",
            DenyReason::SubscriptionInvalid => "subscription_invalid",
        }
    }
}

/// Why the filter answered a request itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// A document the filter serves (protected resource or authorization
    /// server metadata), or a CORS preflight of one of its own paths.
    Served,
    /// A static client registration (RFC 7591), granted or refused.
    Registration {
        accepted: bool,
    },
    Denied(DenyReason),
}

/// Who a verified token names, for Envoy's filter state (empty unless a
/// token admitted the request).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Identity {
    pub oid: Option<String>,
    pub tid: Option<String>,
    /// `azp` (v2) or `appid` (v1).
    pub client_id: Option<String>,
}

impl Identity {
    pub fn of(claims: &crate::token::Claims) -> Identity {
        Identity {
            oid: claims.header_value("oid"),
            tid: claims.tid.clone(),
            client_id: claims.client_id().map(str::to_string),
        }
    }
}

/// The rule that decided an allowed request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchedRule {
    /// `rules[index]` (a `u32` keeps `Allowed` small enough to pass by value).
    Listed(u32),
    /// No rule matched: the default (a valid token).
    Default,
}

impl MatchedRule {
    /// `None`: the default rule; a list longer than `u32::MAX` cannot be configured.
    pub fn of(index: Option<usize>) -> MatchedRule {
        index
            .and_then(|i| u32::try_from(i).ok())
            .map_or(MatchedRule::Default, MatchedRule::Listed)
    }
}
