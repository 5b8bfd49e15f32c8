//! The index against the linear scan it replaces, on random rule sets and
//! paths: every answer must be the same.

use super::*;
use crate::config::{Requirement, UpstreamAuthorization};
use crate::rules::{needs_mcp_call, select};
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// Segments of prefixes and paths: case variants, escapes, dot segments,
/// empty segments, path parameters, non-ASCII.
const SEGMENTS: &[&str] = &[
    "a",
    "A",
    "b",
    "mcp",
    "MCP",
    "Mcp",
    "health",
    "x",
    "%2e",
    "%2E%2e",
    "%61",
    "%",
    "%2f",
    "%5c",
    "..",
    ".",
    "",
    "a;x",
    "caf\u{e9}",
    "CAF\u{c9}",
    "ab",
    "aB",
];

fn prefix(rng: &mut Rng) -> String {
    let depth = rng.below(4);
    let segs: Vec<&str> = (0..depth)
        .map(|_| rng.pick(SEGMENTS))
        .filter(|s| !s.contains(['?', '#']))
        .collect();
    // As `PathPrefix` stores it: leading `/`, trailing `/` trimmed.
    let joined = format!("/{}", segs.join("/"));
    let trimmed = joined.trim_end_matches('/');
    if trimmed.is_empty() {
        "/".into()
    } else {
        trimmed.into()
    }
}

fn rule(rng: &mut Rng) -> Rule {
    let path_prefix = prefix(rng);
    let (mcp_methods, mcp_tools) = match rng.below(5) {
        0 => (vec!["tools/call".to_string()], vec!["add".to_string()]),
        1 => (vec!["tools/list".to_string()], vec![]),
        _ => (vec![], vec![]),
    };
    Rule {
        prefix_has_uppercase: path_prefix.bytes().any(|b| b.is_ascii_uppercase()),
        path_prefix,
        require: [Requirement::None, Requirement::Jwt][rng.below(2)],
        mcp_methods,
        mcp_tools,
        upstream_authorization: [
            UpstreamAuthorization::Forward,
            UpstreamAuthorization::Remove,
        ][rng.below(2)],
        ..Rule::DEFAULT_JWT
    }
}

fn path(rng: &mut Rng) -> String {
    match rng.below(12) {
        0 => String::new(),
        1 => "/".into(),
        2 => "//".into(),
        _ => {
            let depth = rng.below(5);
            let mut p = String::new();
            for _ in 0..depth {
                p.push(if rng.below(10) == 0 { '\\' } else { '/' });
                p.push_str(rng.pick(SEGMENTS));
            }
            match rng.below(6) {
                0 => p.push('/'),
                1 => p.push_str("?q=/a/../MCP"),
                2 => p.push_str("#frag"),
                _ => {}
            }
            if rng.below(8) == 0 {
                p = p.trim_start_matches('/').to_string();
            }
            p
        }
    }
}

fn calls() -> Vec<Option<McpCall>> {
    let call = |m: &str, n: Option<&str>| {
        Some(McpCall {
            method: Some(m.into()),
            name: n.map(str::to_string),
        })
    };
    vec![
        None,
        call("tools/call", Some("add")),
        call("tools/call", Some("other")),
        call("tools/list", None),
    ]
}

fn positions<'a>(
    r: Result<Option<Selected<'a>>, AmbiguousPath>,
) -> Result<Option<usize>, AmbiguousPath> {
    r.map(|s| s.map(|(i, _)| i))
}

#[test]
fn the_index_answers_what_the_linear_scan_does() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let calls = calls();
    let (mut chosen, mut refused) = (0, 0);
    for round in 0..600 {
        let rules: Vec<Rule> = (0..rng.below(12)).map(|_| rule(&mut rng)).collect();
        let index = RuleIndex::new(&rules);
        assert_eq!(
            index.any_removes_authorization(),
            rules.iter().any(Rule::removes_authorization)
        );
        for _ in 0..40 {
            let raw = path(&mut rng);
            assert_eq!(
                index.needs_mcp_call(&raw),
                needs_mcp_call(&rules, &raw),
                "round {round} {raw:?} {rules:?}"
            );
            for call in &calls {
                let want = positions(select(&rules, &raw, call.as_ref()));
                let got = positions(index.select(&rules, &raw, call.as_ref()));
                assert_eq!(got, want, "round {round} {raw:?} {call:?} {rules:?}");
                match want {
                    Ok(Some(_)) => chosen += 1,
                    Err(_) => refused += 1,
                    Ok(None) => {}
                }
            }
        }
    }
    // The generator reaches every kind of answer, often.
    assert!(chosen > 10_000 && refused > 1_000, "{chosen} {refused}");
}

#[test]
fn a_thousand_rules_pick_the_last_one_as_the_scan_does() {
    let mut rules: Vec<Rule> = (0..999)
        .map(|i| Rule {
            path_prefix: format!("/large-config-{i}/s1"),
            ..Rule::DEFAULT_JWT
        })
        .collect();
    rules.push(Rule {
        path_prefix: "/".into(),
        require: Requirement::None,
        ..Rule::DEFAULT_JWT
    });
    let index = RuleIndex::new(&rules);
    for raw in [
        "/api",
        "/large-config-5",
        "/large-config-5/s1/x",
        "/Large-Config-7/S1",
    ] {
        assert_eq!(
            positions(index.select(&rules, raw, None)),
            positions(select(&rules, raw, None)),
            "{raw}"
        );
    }
    assert_eq!(positions(index.select(&rules, "/api", None)), Ok(Some(999)));
    assert_eq!(
        positions(index.select(&rules, "/large-config-5/s1", None)),
        Ok(Some(5))
    );
    // Many segments cost no more lookups than the longest prefix has bytes.
    let deep = "/a".repeat(10_000);
    assert_eq!(positions(index.select(&rules, &deep, None)), Ok(Some(999)));
}
