//! Claim checks: lifetime, issuer, tenant, audience, client (401 on failure)
//! and the permissions a rule asks for (403 on failure).

use super::{Claims, TokenError};
use crate::config::{holds, ClaimMatch, EntraConfig, RequiredClaim, Rule, Tenancy};
use chrono::{DateTime, TimeDelta};
use jwt_compact::{TimeOptions, ValidationError};

/// Identity checks that make a token acceptable at all. Cheap: they run on
/// untrusted claims before the signature check, and again on cache hits
/// (for `exp`).
pub fn check_claims(claims: &Claims, entra: &EntraConfig, now: u64) -> Result<(), TokenError> {
    check_times(claims, entra.clock_skew_seconds, now)?;
    let tenant = match &entra.tenancy {
        Tenancy::Single(tenant) => {
            if claims.tid.as_deref().is_some_and(|tid| tid != tenant) {
                return Err(TokenError::Tenant);
            }
            tenant.as_str()
        }
        Tenancy::Allowed(tenants) => {
            let tid = claims.tid.as_deref().ok_or(TokenError::Tenant)?;
            if !holds(tenants, tid) {
                return Err(TokenError::Tenant);
            }
            tid
        }
    };
    let iss = claims.iss.as_deref().ok_or(TokenError::Issuer)?;
    if !issuer_matches(iss, tenant, entra) {
        return Err(TokenError::Issuer);
    }
    check_audience(claims, entra)
}

/// The checks that belong to the API's app registration (`aud`, client
/// app): they differ between protected resources, which share the token
/// cache, so they run on cache hits too.
pub fn check_audience(claims: &Claims, entra: &EntraConfig) -> Result<(), TokenError> {
    if !claims.aud.iter().any(|a| holds(&entra.audiences, a)) {
        return Err(TokenError::Audience);
    }
    if !entra.client_application_ids.is_empty() {
        let client = claims.client_id().ok_or(TokenError::ClientApplication)?;
        if !holds(&entra.client_application_ids, client) {
            return Err(TokenError::ClientApplication);
        }
    }
    Ok(())
}

/// Most skew honoured: chrono's `DateTime - TimeDelta` (jwt-compact's
/// maturity check) panics on overflow; the configuration allows an hour.
const MAX_SKEW_SECONDS: u64 = 24 * 3600;

/// `exp` (required) and `nbf` (when present) by jwt-compact's
/// `TimeOptions`, with the host's clock and the configured skew.
fn check_times(claims: &Claims, skew: u64, now: u64) -> Result<(), TokenError> {
    let skew = i64::try_from(skew.min(MAX_SKEW_SECONDS)).unwrap_or(0);
    let leeway = TimeDelta::try_seconds(skew).unwrap_or_default();
    // A clock chrono cannot hold is later than any NumericDate we accept.
    let Some(now) = i64::try_from(now)
        .ok()
        .and_then(|now| DateTime::from_timestamp(now, 0))
    else {
        return Err(TokenError::Expired);
    };
    let options = TimeOptions::new(leeway, move || now);
    claims
        .times
        .validate_expiration(&options)
        .map_err(|e| match e {
            ValidationError::NoClaim(_) => TokenError::MissingExpiry,
            _ => TokenError::Expired,
        })?;
    // jwt-compact's maturity check fails without `nbf`, which is optional.
    if claims.times.not_before.is_some() {
        claims
            .times
            .validate_maturity(&options)
            .map_err(|_| TokenError::NotYetValid)?;
    }
    Ok(())
}

/// v2 `<authority>/<tid>/v2.0` or v1 `<sts authority>/<tid>/`, exactly.
fn issuer_matches(iss: &str, tenant: &str, entra: &EntraConfig) -> bool {
    let v2 = iss
        .strip_prefix(entra.authority.as_str())
        .and_then(|rest| rest.strip_prefix('/'))
        .and_then(|rest| rest.strip_prefix(tenant))
        .is_some_and(|rest| rest == "/v2.0");
    let v1 = iss
        .strip_prefix(entra.v1_issuer_authority.as_str())
        .and_then(|rest| rest.strip_prefix('/'))
        .and_then(|rest| rest.strip_prefix(tenant))
        .is_some_and(|rest| rest == "/");
    v2 || v1
}

/// What a token lacks for a rule; becomes 403 `insufficient_scope`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permissions {
    /// Everything the operation needs, for the challenge's `scope`.
    pub needed: Vec<String>,
}

/// `required_claims` (APIM semantics), then the rule's scopes and roles:
/// every listed scope must be in `scp`, every listed role in `roles`.
pub fn check_permissions(
    claims: &Claims,
    required_claims: &[RequiredClaim],
    rule: &Rule,
) -> Result<(), Permissions> {
    let claims_ok = required_claims.iter().all(|rc| {
        let have = claims.values(&rc.name, rc.separator.as_deref());
        let present = |v: &String| have.iter().any(|h| h == v);
        match rc.match_mode {
            ClaimMatch::All => rc.values.iter().all(present),
            ClaimMatch::Any => rc.values.iter().any(present),
        }
    });
    let scopes_ok = rule
        .required_scopes
        .iter()
        .all(|s| claims.scopes().any(|have| have == s));
    let roles_ok = rule.required_roles.iter().all(|r| claims.roles.contains(r));
    if claims_ok && scopes_ok && roles_ok {
        return Ok(());
    }
    // App roles cannot be requested as scopes: only scopes are named, the
    // rule's and those `required_claims` demands of `scp`.
    let mut needed = rule.required_scopes.clone();
    for rc in required_claims.iter().filter(|rc| rc.name == "scp") {
        for v in &rc.values {
            if !needed.contains(v) {
                needed.push(v.clone());
            }
        }
    }
    Err(Permissions { needed })
}
