//! The bearer-token half of a decision: cache (of verified tokens and of
//! forged ones), cheap checks, keys, then the signature.

use super::{Env, KeyWait};
use crate::authorize::DenyReason;
use crate::credentials::{bearer_fast_path, find_bearer, Bearer};
use crate::headers::Header;
use crate::replies::challenge::{
    BearerFailure, MALFORMED_BEARER_CREDENTIAL, MULTIPLE_BEARER_TOKENS,
};
use crate::token::{
    check_audience, check_claims, verify, TokenError, UntrustedToken, VerifiedToken,
};
use std::rc::Rc;

pub(super) enum JwtOutcome {
    Absent,
    Valid {
        token: Rc<VerifiedToken>,
        cache_hit: bool,
    },
    Invalid {
        failure: BearerFailure,
        reason: DenyReason,
    },
    Wait(KeyWait),
    KeysUnavailable,
}

pub(super) fn evaluate(headers: &[Header<'_>], env: &mut Env<'_>) -> JwtOutcome {
    let entra = &env.policy.config.entra;
    let now = env.now_ms / 1000;
    if let Some(raw) = bearer_fast_path(headers) {
        if let Some(hit) = env.cache.get(raw, now, entra.clock_skew_seconds) {
            // The cache is shared by every protected resource: a token
            // verified for one must still be for this one's app.
            if let Err(e) = check_audience(hit.claims(), entra) {
                return invalid(e);
            }
            return JwtOutcome::Valid {
                token: hit,
                cache_hit: true,
            };
        }
        // These bytes failed their signature check with these keys: they
        // fail it again, and everything checked before it still passes
        // while the entry lives (the same policy judged them, same keys,
        // `exp`) and the keys are young enough to use. The answer is the
        // verification's.
        if env
            .cache
            .is_rejected(raw, now, entra.clock_skew_seconds, env.policy.id)
            && env.keys.is_usable(env.now_ms)
        {
            return invalid(TokenError::BadSignature);
        }
    }
    let raw = match find_bearer(headers) {
        Bearer::Absent => return JwtOutcome::Absent,
        Bearer::Multiple => {
            return JwtOutcome::Invalid {
                failure: MULTIPLE_BEARER_TOKENS,
                reason: DenyReason::InvalidRequest,
            }
        }
        Bearer::Malformed => {
            return JwtOutcome::Invalid {
                failure: MALFORMED_BEARER_CREDENTIAL,
                reason: DenyReason::InvalidRequest,
            }
        }
        Bearer::Token(raw) => raw,
    };
    let untrusted = match UntrustedToken::parse(raw, entra.max_token_bytes) {
        Ok(t) => t,
        Err(e) => return invalid(e),
    };
    if let Err(e) = check_claims(untrusted.unverified_claims(), entra, now) {
        return invalid(e);
    }
    if !env.keys.is_usable(env.now_ms) {
        return if env.may_wait {
            JwtOutcome::Wait(KeyWait::NoKeys)
        } else {
            JwtOutcome::KeysUnavailable
        };
    }
    let Some(key) = env.keys.find(untrusted.kid()) else {
        return if env.may_wait {
            JwtOutcome::Wait(KeyWait::UnknownKid)
        } else {
            invalid(TokenError::UnknownKey)
        };
    };
    let exp = untrusted.unverified_claims().exp;
    match verify(untrusted, key, env.verifier) {
        Ok(verified) => {
            let verified = Rc::new(verified);
            env.cache
                .insert(raw, Rc::clone(&verified), now, entra.clock_skew_seconds);
            JwtOutcome::Valid {
                token: verified,
                cache_hit: false,
            }
        }
        Err(TokenError::BadSignature) => {
            // Only a signature that failed: other failures are cheap to
            // find again or may change (an unknown kid, a key's issuer).
            if let Some(exp) = exp {
                let skew = entra.clock_skew_seconds;
                env.cache.reject(raw, exp, now, skew, env.policy.id);
            }
            invalid(TokenError::BadSignature)
        }
        Err(e) => invalid(e),
    }
}

fn invalid(e: TokenError) -> JwtOutcome {
    JwtOutcome::Invalid {
        failure: BearerFailure::InvalidToken(e.description()),
        reason: e.reason(),
    }
}
