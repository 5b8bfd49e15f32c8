//! What a decision tells the rest of Envoy: filter state entries that the
//! access log (`%FILTER_STATE(wasm.entra_guard.oid:PLAIN)%`), the RBAC
//! filter and rate-limit descriptors read instead of a header a client
//! could have sent. Envoy stores a Proxy-Wasm property `<name>` under the
//! filter state key `wasm.<name>`.

use super::Step;
use crate::authorize::{Allowed, MatchedRule, Reason};
use crate::config::{StateEntries, StateEntry};

/// `allowed`, `denied`, `served` (a document or registration the filter
/// answers itself) or `error` (it could not decide and failed closed).
pub const OUTCOME: &str = "entra_guard.outcome";
/// Allowed: what admitted the request (`jwt`, `subscription_key`, ...);
/// denied: the `denied.<reason>` metric suffix; served: what was served.
pub const REASON: &str = "entra_guard.reason";
pub const OID: &str = "entra_guard.oid";
pub const TID: &str = "entra_guard.tid";
/// `azp` (v2 tokens) or `appid` (v1 tokens).
pub const CLIENT_ID: &str = "entra_guard.client_id";
/// The name of the subscription whose key admitted the request.
pub const SUBSCRIPTION: &str = "entra_guard.subscription";
/// The index in `rules` of the rule that allowed, or `default`.
pub const RULE: &str = "entra_guard.rule";

/// Longest value set: a claim beyond it is left out rather than cut (a
/// cut identifier could name someone else).
pub const MAX_VALUE_BYTES: usize = 256;

/// Sets the configured entries (`wanted`) of a step through `set(property
/// name, value)`, in a fixed order, stopping at the first one `set`
/// refuses (returns whether all were set). Nothing for a step that decides
/// nothing. Values are printable ASCII of at most `MAX_VALUE_BYTES`; any
/// other value is left out. Nothing is allocated: this runs for every
/// request.
pub fn set_all(
    step: &Step,
    wanted: StateEntries,
    mut set: impl FnMut(&'static str, &[u8]) -> bool,
) -> bool {
    if wanted.is_empty() {
        return true;
    }
    // An entry not wanted counts as set.
    let mut put = |entry: StateEntry, value: &[u8]| -> bool {
        !wanted.contains(entry) || set(property(entry), value)
    };
    match step {
        Step::Forward(allowed) => put_allowed(allowed, &mut put),
        Step::Reply(_, reason) => {
            let (outcome, why) = match reason {
                Some(Reason::Denied(why)) => ("denied", Some(why.name())),
                Some(Reason::Served) => ("served", Some("metadata")),
                Some(Reason::Registration { accepted: true }) => {
                    ("served", Some("registration_accepted"))
                }
                Some(Reason::Registration { accepted: false }) => {
                    ("served", Some("registration_refused"))
                }
                None => ("error", None),
            };
            put(StateEntry::Outcome, outcome.as_bytes())
                && why.is_none_or(|why| put(StateEntry::Reason, why.as_bytes()))
        }
        Step::Pass | Step::Pause => true,
    }
}

/// The Proxy-Wasm property an entry is set as.
pub fn property(entry: StateEntry) -> &'static str {
    match entry {
        StateEntry::Outcome => OUTCOME,
        StateEntry::Reason => REASON,
        StateEntry::Oid => OID,
        StateEntry::Tid => TID,
        StateEntry::ClientId => CLIENT_ID,
        StateEntry::Subscription => SUBSCRIPTION,
        StateEntry::Rule => RULE,
    }
}

fn put_allowed(allowed: &Allowed, put: &mut impl FnMut(StateEntry, &[u8]) -> bool) -> bool {
    let identity = allowed.identity.as_deref();
    let optional = [
        (StateEntry::Oid, identity.and_then(|i| i.oid.as_deref())),
        (StateEntry::Tid, identity.and_then(|i| i.tid.as_deref())),
        (
            StateEntry::ClientId,
            identity.and_then(|i| i.client_id.as_deref()),
        ),
        (StateEntry::Subscription, allowed.subscription.as_deref()),
    ];
    let mut number = itoa::Buffer::new();
    let rule = match allowed.rule {
        Some(MatchedRule::Listed(index)) => Some(number.format(index)),
        Some(MatchedRule::Default) => Some("default"),
        None => None,
    };
    put(StateEntry::Outcome, b"allowed")
        && put(StateEntry::Reason, allowed.via.name().as_bytes())
        && optional
            .into_iter()
            .filter_map(|(entry, value)| Some((entry, value.filter(|v| fits(v))?)))
            .all(|(entry, value)| put(entry, value.as_bytes()))
        && rule.is_none_or(|rule| put(StateEntry::Rule, rule.as_bytes()))
}

/// The entries `set_all` sets, collected (for tests).
#[cfg(test)]
pub fn entries(step: &Step) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    set_all(step, StateEntries::all(), |name, value| {
        out.push((name, String::from_utf8_lossy(value).into_owned()));
        true
    });
    out
}

/// Printable ASCII, bounded: nothing that could split an access log line
/// or grow Envoy's per-stream memory.
fn fits(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= MAX_VALUE_BYTES
        && value.bytes().all(|b| (b' '..0x7f).contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authorize::{DenyReason, Identity, Via};
    use crate::replies::Response;
    use std::rc::Rc;

    fn reply(reason: Option<Reason>) -> Step {
        Step::Reply(Rc::new(Response::plain(401, "")), reason)
    }

    fn allowed_by_token() -> Allowed {
        Allowed {
            via: Via::JwtAndSubscriptionKey,
            subscription: Some("contoso-mobile".into()),
            identity: Some(Box::new(Identity {
                oid: Some("00000000-0000-0000-0000-0000000000aa".into()),
                tid: Some("11111111-1111-1111-1111-111111111111".into()),
                client_id: Some("22222222-2222-2222-2222-222222222222".into()),
            })),
            rule: Some(MatchedRule::Listed(2)),
            ..Allowed::default()
        }
    }

    #[test]
    fn an_allowed_request_names_the_caller_the_subscription_and_the_rule() {
        let got = entries(&Step::Forward(allowed_by_token()));
        let want = [
            ("entra_guard.outcome", "allowed"),
            ("entra_guard.reason", "jwt_and_subscription_key"),
            ("entra_guard.oid", "00000000-0000-0000-0000-0000000000aa"),
            ("entra_guard.tid", "11111111-1111-1111-1111-111111111111"),
            (
                "entra_guard.client_id",
                "22222222-2222-2222-2222-222222222222",
            ),
            ("entra_guard.subscription", "contoso-mobile"),
            ("entra_guard.rule", "2"),
        ];
        let want: Vec<(&str, String)> = want.iter().map(|(n, v)| (*n, v.to_string())).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn a_public_request_has_no_identity_and_the_default_rule_is_named() {
        let allowed = Allowed {
            via: Via::Jwt,
            rule: Some(MatchedRule::Default),
            ..Allowed::default()
        };
        let got = entries(&Step::Forward(allowed));
        assert_eq!(
            got,
            vec![
                (OUTCOME, "allowed".to_string()),
                (REASON, "jwt".to_string()),
                (RULE, "default".to_string()),
            ]
        );
        let preflight = Allowed {
            via: Via::Preflight,
            ..Allowed::default()
        };
        let got = entries(&Step::Forward(preflight));
        assert_eq!(got.len(), 2, "{got:?}");
    }

    #[test]
    fn a_denial_says_why_and_names_nobody() {
        let got = entries(&reply(Some(Reason::Denied(DenyReason::Audience))));
        assert_eq!(
            got,
            vec![
                (OUTCOME, "denied".to_string()),
                (REASON, "audience".to_string())
            ]
        );
        let got = entries(&reply(Some(Reason::Registration { accepted: false })));
        assert_eq!(got[0].1, "served");
        assert_eq!(got[1].1, "registration_refused");
        let got = entries(&reply(None));
        assert_eq!(got, vec![(OUTCOME, "error".to_string())]);
    }

    #[test]
    fn a_refused_entry_stops_the_rest_and_is_reported() {
        let mut tried = Vec::new();
        let all_set = set_all(
            &Step::Forward(allowed_by_token()),
            StateEntries::all(),
            |name, _| {
                tried.push(name);
                name != REASON
            },
        );
        assert!(!all_set);
        assert_eq!(tried, [OUTCOME, REASON]);
        assert!(
            set_all(&Step::Pass, StateEntries::all(), |_, _| false),
            "nothing to set"
        );
    }

    #[test]
    fn each_entry_is_set_as_its_configured_name() {
        for entry in StateEntry::ALL {
            assert_eq!(property(entry), format!("entra_guard.{}", entry.name()));
        }
    }

    #[test]
    fn only_the_configured_entries_are_set() {
        let step = Step::Forward(allowed_by_token());
        let mut names = Vec::new();
        assert!(
            set_all(&step, StateEntries::default(), |_, _| false),
            "none wanted"
        );
        let wanted = StateEntries::default()
            .with(StateEntry::ClientId)
            .with(StateEntry::Outcome);
        set_all(&step, wanted, |name, _| {
            names.push(name);
            true
        });
        assert_eq!(names, [OUTCOME, CLIENT_ID]);
    }

    #[test]
    fn undecided_steps_set_nothing() {
        assert!(entries(&Step::Pass).is_empty());
        assert!(entries(&Step::Pause).is_empty());
    }

    #[test]
    fn values_that_are_too_long_or_not_printable_are_left_out() {
        let mut allowed = allowed_by_token();
        allowed.identity = Some(Box::new(Identity {
            oid: Some("a".repeat(MAX_VALUE_BYTES + 1)),
            tid: Some("t\nforged=1".into()),
            client_id: Some("c".repeat(MAX_VALUE_BYTES)),
        }));
        allowed.subscription = Some(String::new());
        let got = entries(&Step::Forward(allowed));
        let names: Vec<&str> = got.iter().map(|(n, _)| *n).collect();
        assert_eq!(names, [OUTCOME, REASON, CLIENT_ID, RULE]);
    }
}
