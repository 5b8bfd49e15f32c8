//! Request-line and header parsing: `find_bearer`, subscription
//! `find_key` / `check_key`, `strip_query_param`, `normalize_path` and rule
//! selection, each against a reference model or an invariant.
//!
//! Input: the seed request format (`METHOD PATH`, header lines). Lines the
//! target reads itself, besides the headers under test:
//!   x-fuzz-param: NAME                    another query parameter to strip
//!   x-fuzz-rule: PREFIX REQUIRE [METHOD [TOOL]]   a rule (validated by
//!                                          config::parse; refused ones dropped)
//!   x-fuzz-call: METHOD [NAME]            the MCP call rules are matched with

#![no_main]

use entra_guard::config::{self, Rule, SubscriptionConfig, SubscriptionKey};
use entra_guard::credentials::{find_bearer, Bearer};
use entra_guard::headers::{parse_map, serialize_map};
use entra_guard::mcp::McpCall;
use entra_guard::rules::{
    find, needs_mcp_call, normalize_path, prefix_matches, select, RuleIndex,
};
use entra_guard::subscription::{
    check_key, find_key, is_acceptable_key, strip_query_param, KeyCheck, KeyIndex, KeyPresence,
    MAX_KEY_BYTES,
};
use entra_guard_fuzz::*;
use libfuzzer_sys::fuzz_target;
use sha2::{Digest, Sha256};

fuzz_target!(|data: &[u8]| {
    let fx = fixtures();
    let req = parse_request(data);

    // -- Authorization
    // The glue's parser of the proxy's header map: total, and exact.
    if let Some(map) = parse_map(data) {
        assert_eq!(parse_map(&serialize_map(map.iter().copied())), Some(map));
    }
    let view = req.view();
    let bearer = find_bearer(&view);
    assert_eq!(bearer, model_bearer(&req.headers));
    if let Bearer::Token(t) = bearer {
        let within = req.headers.iter().any(|(_, v)| {
            v.as_ptr_range().start <= t.as_ptr() && t.as_ptr_range().end <= v.as_ptr_range().end
        });
        assert!(within, "token is not a slice of the header");
    }

    // -- subscription keys, with each fixture configuration and one whose
    // query parameter comes from the input.
    let extra = req
        .header("x-fuzz-param")
        .map(|p| String::from_utf8_lossy(p).into_owned());
    let mut subs: Vec<SubscriptionConfig> = [&fx.single, &fx.multi]
        .iter()
        .filter_map(|c| c.subscription.clone())
        .collect();
    if let Some(p) = &extra {
        let mut s = subs[0].clone();
        s.header = "x-fuzz-key".into();
        s.query = Some(p.clone());
        subs.push(s);
    }
    for sub in &subs {
        check_subscription(sub, &req);
    }
    if let Some(p) = &extra {
        check_strip(&req.path, p);
    }
    check_strip(&req.path, "subscription-key");

    // -- paths and rules
    let n = normalize_path(&req.path);
    assert!(n.starts_with('/'), "{n}");
    // Idempotent, except where its single decoding pass (unreserved
    // escapes, `%2F`, `%5C`) leaves a new escape behind (`%4%41` -> `%4A`):
    // decoding once is what upstreams do.
    if !n.contains('%') {
        assert_eq!(normalize_path(&n), n, "normalize_path is not idempotent");
    }
    assert!(
        !n.contains("//") && !n.contains(['\\', '?', '#', ';']),
        "{n}"
    );
    assert!(n == "/" || !n.ends_with('/'), "{n}");
    for seg in n.split('/').skip(1) {
        assert!(
            seg != "." && seg != ".." && (n == "/" || !seg.is_empty()),
            "{n}"
        );
        assert!(
            !seg.eq_ignore_ascii_case("%2e%2e") && !seg.eq_ignore_ascii_case("%2e"),
            "{n}"
        );
    }

    let mut rules: Vec<Rule> = fx.single.rules.clone();
    let mut own = Vec::new();
    for line in req.headers_named("x-fuzz-rule") {
        if let Some(r) = rule_from(line) {
            own.push(r);
        }
    }
    let call = req.header("x-fuzz-call").map(|c| {
        let text = String::from_utf8_lossy(c);
        let mut words = text.split(' ');
        McpCall {
            method: words.next().map(str::to_string),
            name: words.next().map(str::to_string),
        }
    });
    for ruleset in [&rules, &own, &fx.multi.rules] {
        check_select(ruleset, &req.path, call.as_ref());
    }
    rules.splice(0..0, own);
    check_select(&rules, &req.path, call.as_ref());
});

fn check_subscription(sub: &SubscriptionConfig, req: &Req) {
    let view = req.view();
    let found = find_key(sub, &view, &req.path);
    // Reference: a header (any copy, even empty) wins over the query.
    let in_headers: Vec<&[u8]> = req
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(&sub.header))
        .map(|(_, v)| v.as_slice())
        .collect();
    let want: KeyPresence = match in_headers.len() {
        0 => match (sub.query.as_deref(), req.path.split_once('?')) {
            (Some(param), Some((_, q))) => {
                let hits: Vec<&str> = q.split('&').filter(|p| param_is(p, param)).collect();
                match hits.len() {
                    0 => KeyPresence::Absent,
                    1 => {
                        let raw = hits[0].split_once('=').map_or("", |(_, v)| v);
                        let decoded = if raw.len() <= 3 * MAX_KEY_BYTES {
                            percent_decode(raw.as_bytes())
                        } else {
                            raw.as_bytes().to_vec()
                        };
                        return compare_present(sub, found, &decoded);
                    }
                    _ => KeyPresence::Ambiguous,
                }
            }
            _ => KeyPresence::Absent,
        },
        1 => return compare_present(sub, found, in_headers[0]),
        _ => KeyPresence::Ambiguous,
    };
    assert_eq!(found, want);
    // When the query holds the key, stripping removes it (and only then).
    if let (KeyPresence::Absent, Some(p)) = (&found, sub.query.as_deref()) {
        if in_headers.is_empty() {
            assert_eq!(strip_query_param(&req.path, p), None);
        }
    }
}

fn compare_present(sub: &SubscriptionConfig, found: KeyPresence<'_>, want: &[u8]) {
    let KeyPresence::Present(c) = found else {
        panic!("expected one key, got {found:?}")
    };
    assert_eq!(&*c, want);
    // check_key against a reference: acceptable, then first digest match.
    let got = check_key(sub, &KeyIndex::new(sub), &*c);
    let acceptable = !want.is_empty()
        && want.len() <= MAX_KEY_BYTES
        && want.iter().all(|b| (0x21..0x7f).contains(b));
    assert_eq!(is_acceptable_key(want), acceptable);
    let digest: [u8; 32] = Sha256::digest(want).into();
    let first: Option<&SubscriptionKey> = sub.keys.iter().find(|k| k.sha256 == digest);
    match (acceptable, first) {
        (true, Some(k)) => assert_eq!(got, KeyCheck::Valid { name: &k.name }),
        _ => assert_eq!(got, KeyCheck::Invalid),
    }
    if let KeyCheck::Valid { .. } = got {
        let plain = std::str::from_utf8(want).unwrap();
        assert!(
            fixtures().sub_keys.contains_key(plain),
            "unknown key accepted"
        );
    }
}

/// Stripping removes exactly the parameters named `param` (once decoded)
/// and changes no other byte.
fn check_strip(path: &str, param: &str) {
    let got = strip_query_param(path, param);
    assert_eq!(got, model_strip(path, param), "strip {param:?}");
    if let Some(out) = &got {
        assert_eq!(
            strip_query_param(out, param),
            None,
            "strip left some {param:?}"
        );
        let before = path.split_once('?').map_or(path, |(p, _)| p);
        assert!(out.starts_with(before));
        let others = |p: &str| -> Vec<String> {
            p.split_once('?')
                .map(|(_, q)| {
                    q.split('&')
                        .filter(|x| !param_is(x, param))
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default()
        };
        let kept = others(out);
        let want = others(path);
        // Every other parameter survives verbatim and in order (an empty
        // query vanishes with its `?`).
        if kept != want {
            assert!(
                want.iter().all(String::is_empty) && kept.len() <= 1,
                "{path} -> {out}"
            );
        }
    }
}

fn check_select(rules: &[Rule], path: &str, call: Option<&McpCall>) {
    let literal = path.split(['?', '#']).next().unwrap_or("");
    let normalized = normalize_path(path);
    // The index requests use answers exactly what the linear scan does.
    let index = RuleIndex::new(rules);
    assert_eq!(index.select(rules, path, call), select(rules, path, call));
    assert_eq!(index.needs_mcp_call(path), needs_mcp_call(rules, path));
    match select(rules, path, call) {
        Ok(Some((i, r))) => {
            assert!(prefix_matches(&r.path_prefix, &normalized) && r.matches_call(call));
            assert_eq!(find(rules, &normalized, call).map(|(j, _)| j), Some(i));
            assert_eq!(
                find(rules, literal, call).map(|(j, _)| j),
                Some(i),
                "literal reads another rule"
            );
        }
        Ok(None) => {
            assert!(find(rules, &normalized, call).is_none());
            assert!(find(rules, literal, call).is_none());
        }
        Err(_) => {
            // Two readings differ: literal and normalised, or letter case.
            let folds = |p: &str| p.bytes().any(|b| b.is_ascii_uppercase());
            assert!(
                literal != normalized
                    || folds(literal)
                    || rules.iter().any(|r| folds(&r.path_prefix)),
                "refused a path that reads one way only"
            );
        }
    }
    // Without a body to read, the rule must not depend on one: when
    // needs_mcp_call is false, every call selects what no call selects.
    if !needs_mcp_call(rules, path) {
        let a = select(rules, path, None);
        let b = select(rules, path, call);
        assert_eq!(a, b, "rule depends on an MCP call the filter will not read");
        let any = McpCall {
            method: Some("tools/call".into()),
            name: Some("add".into()),
        };
        assert_eq!(a, select(rules, path, Some(&any)));
    }
}

fn rule_from(line: &[u8]) -> Option<Rule> {
    let text = std::str::from_utf8(line).ok()?;
    let mut words = text.split(' ');
    let prefix = words.next()?;
    let require = words.next().unwrap_or("jwt");
    let mut rule = serde_json::json!({"path_prefix": prefix, "require": require});
    if let Some(m) = words.next() {
        rule["mcp_methods"] = serde_json::json!([m]);
    }
    if let Some(t) = words.next() {
        rule["mcp_tools"] = serde_json::json!([t]);
    }
    let cfg = serde_json::json!({
        "entra": {"tenant_id": "11111111-2222-3333-4444-555555555555", "audiences": ["a"]},
        "subscription_keys": {"keys": [{"name": "n", "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}]},
        "rules": [rule],
    });
    config::parse(cfg.to_string().as_bytes()).ok()?.rules.pop()
}
