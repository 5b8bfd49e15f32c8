//! Which rule governs a request: first match wins, prefixes match whole
//! path segments, and the path is normalised first so that `/health/../mcp`
//! cannot borrow the policy of `/health`.

mod index;

use crate::config::Rule;
use crate::mcp::McpCall;
use std::borrow::Cow;

pub use index::RuleIndex;

/// The path of a `:path` value without its query, with `.`/`..` segments
/// resolved, escapes that upstreams decode before routing decoded, path
/// parameters (`;x`) dropped and repeated slashes merged: the way upstreams
/// are likely to see it. `select` only ever uses it to refuse a path whose
/// readings disagree, so reading more into a path can only turn an answer
/// into a 400, never into an accept.
pub fn normalize_path(raw: &str) -> Cow<'_, str> {
    let path = raw.split(['?', '#']).next().unwrap_or("");
    if is_plain(path) {
        return Cow::Borrowed(path);
    }
    let decoded = decode_path_escapes(path);
    let mut segments: Vec<&str> = Vec::new();
    for segment in decoded.split(['/', '\\']) {
        // Tomcat and Jetty drop `;params` from each segment: `..;x` is `..` to them.
        match segment.split(';').next().unwrap_or("") {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    let mut out = String::with_capacity(decoded.len() + 1);
    for s in &segments {
        out.push('/');
        out.push_str(s);
    }
    if out.is_empty() {
        out.push('/');
    }
    Cow::Owned(out)
}

/// Decodes once the `%XX` escapes of unreserved characters (RFC 3986 §2.3:
/// `%61` is `a` to every upstream) and of `/` and `\` (nginx, among others,
/// decodes `%2F` before resolving `..`); every other escape stays as it is.
fn decode_path_escapes(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(hi), Some(lo)) => match (hex_digit(*hi), hex_digit(*lo)) {
                (Some(hi), Some(lo)) => Some(hi << 4 | lo),
                _ => None,
            },
            _ => None,
        };
        match escaped {
            Some(b) if b.is_ascii_alphanumeric() || b"-._~/\\".contains(&b) => {
                out.push(b);
                i += 3;
            }
            _ => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    // Only ASCII escapes were replaced by ASCII bytes: still valid UTF-8.
    String::from_utf8(out).unwrap_or_else(|_| path.to_string())
}

fn hex_digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Already normal: starts with `/`, no empty, `.` or `..` segment, no
/// backslash, no escape, no path parameter, no trailing slash (the common
/// case, checked without allocating).
fn is_plain(path: &str) -> bool {
    let b = path.as_bytes();
    if b.first() != Some(&b'/') || path.contains(['\\', '%', ';']) {
        return path == "/";
    }
    if b.len() > 1 && b.ends_with(b"/") {
        return false;
    }
    !path[1..]
        .split('/')
        .any(|seg| seg.is_empty() || seg == "." || seg == "..")
        || path == "/"
}

/// Whether `prefix` (normalised, see `Rule::path_prefix`) covers `path`.
pub fn prefix_matches(prefix: &str, path: &str) -> bool {
    if prefix == "/" {
        return true;
    }
    match path.strip_prefix(prefix) {
        Some(rest) => rest.is_empty() || rest.starts_with('/'),
        None => false,
    }
}

/// `prefix_matches` with ASCII letters case-folded: how a case-insensitive
/// upstream router reads the path.
pub fn prefix_matches_folded(prefix: &str, path: &str) -> bool {
    if prefix == "/" {
        return true;
    }
    let (prefix, path) = (prefix.as_bytes(), path.as_bytes());
    match path.split_at_checked(prefix.len()) {
        Some((head, rest)) => {
            head.eq_ignore_ascii_case(prefix) && (rest.is_empty() || rest[0] == b'/')
        }
        None => false,
    }
}

/// A rule and its position in the configuration (the position selects
/// what was prepared for it).
pub type Selected<'a> = (usize, &'a Rule);

/// The first rule whose prefix covers the path and whose MCP conditions
/// (if any) the call meets.
pub fn find<'a>(rules: &'a [Rule], path: &str, call: Option<&McpCall>) -> Option<Selected<'a>> {
    rules
        .iter()
        .enumerate()
        .find(|(_, r)| prefix_matches(&r.path_prefix, path) && r.matches_call(call))
}

/// `find` as a case-insensitive router would pick.
fn find_folded<'a>(rules: &'a [Rule], path: &str, call: Option<&McpCall>) -> Option<Selected<'a>> {
    rules
        .iter()
        .enumerate()
        .find(|(_, r)| prefix_matches_folded(&r.path_prefix, path) && r.matches_call(call))
}

/// Whether choosing a rule for this path needs the MCP call in the body.
/// The reference reading, linear in the rules: `RuleIndex::needs_mcp_call`
/// answers the same at a cost that does not grow with them.
pub fn needs_mcp_call(rules: &[Rule], raw_path: &str) -> bool {
    if !rules.iter().any(Rule::inspects_mcp) {
        return false;
    }
    let literal = raw_path.split(['?', '#']).next().unwrap_or("");
    let normalized = normalize_path(raw_path);
    // Folded matching covers exact matching: a body read for a path that
    // only a case-insensitive router sends to a per-tool rule lets `select`
    // see that reading too.
    rules.iter().any(|r| {
        r.inspects_mcp()
            && (prefix_matches_folded(&r.path_prefix, &normalized)
                || prefix_matches_folded(&r.path_prefix, literal))
    })
}

/// The path is read one way by the filter and possibly another by the
/// upstream (dot segments, backslashes, merged slashes, letter case).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AmbiguousPath;

/// The rule for a raw `:path`. When the literal path, its normalised form or
/// either of them read case-insensitively fall under different rules, the
/// request is refused instead of guessing which reading the upstream uses.
///
/// The reference reading, linear in the rules: `RuleIndex::select` answers
/// exactly this (tests and the fuzz target compare them) and is what
/// requests use.
pub fn select<'a>(
    rules: &'a [Rule],
    raw_path: &str,
    call: Option<&McpCall>,
) -> Result<Option<Selected<'a>>, AmbiguousPath> {
    choose(
        rules,
        raw_path,
        rules.iter().any(|r| r.prefix_has_uppercase),
        |p| find(rules, p, call).map(|(i, _)| i),
        |p| find_folded(rules, p, call).map(|(i, _)| i),
    )
}

/// `select` with the two readings supplied: `find` (exact) and
/// `find_folded` give the position of the first rule that covers a path
/// and whose MCP conditions the call meets; `any_uppercase`: some prefix
/// has an ASCII uppercase letter.
fn choose<'a>(
    rules: &'a [Rule],
    raw_path: &str,
    any_uppercase: bool,
    find: impl Fn(&str) -> Option<usize>,
    find_folded: impl Fn(&str) -> Option<usize>,
) -> Result<Option<Selected<'a>>, AmbiguousPath> {
    if rules.is_empty() {
        // Every path gets the default rule: no reading of it can differ.
        return Ok(None);
    }
    let literal = raw_path.split(['?', '#']).next().unwrap_or("");
    let normalized = normalize_path(raw_path);
    let chosen = find(&normalized);
    if literal != normalized.as_ref() && find(literal) != chosen {
        return Err(AmbiguousPath);
    }
    // Without an uppercase letter in the path or in any prefix, folded
    // matching is exact matching: the common request skips it.
    let folds = |p: &str| p.bytes().any(|b| b.is_ascii_uppercase());
    if (folds(literal) || folds(&normalized) || any_uppercase)
        && [literal, normalized.as_ref()]
            .iter()
            .any(|p| find_folded(p) != chosen)
    {
        return Err(AmbiguousPath);
    }
    Ok(chosen.and_then(|i| rules.get(i).map(|r| (i, r))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Requirement;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn rule(prefix: &str, require: Requirement) -> Rule {
        Rule {
            path_prefix: prefix.into(),
            require,
            prefix_has_uppercase: prefix.bytes().any(|b| b.is_ascii_uppercase()),
            ..Rule::DEFAULT_JWT
        }
    }

    #[test]
    fn normalises_paths() {
        for (raw, want) in [
            ("/", "/"),
            ("", "/"),
            ("/mcp?x=/health", "/mcp"),
            ("/health/../mcp", "/mcp"),
            ("/health/%2e%2e/mcp", "/mcp"),
            ("/health/%2E%2E/mcp", "/mcp"),
            ("//health///live/", "/health/live"),
            ("/health\\..\\mcp", "/mcp"),
            ("/../../etc", "/etc"),
            ("/a/./b", "/a/b"),
            ("/mcp/tools", "/mcp/tools"),
            ("/a/b/", "/a/b"),
            ("/a%2Fb", "/a/b"),
            ("/health/..%2fmcp", "/mcp"),
            ("/health/..%2Fmcp", "/mcp"),
            ("/health/..%5cmcp", "/mcp"),
            ("/health/%2e%2e%2fmcp", "/mcp"),
            ("/health/..;/mcp", "/mcp"),
            ("/mcp/admin;x=1", "/mcp/admin"),
            ("/mcp/;x/admin", "/mcp/admin"),
            ("/mcp/%61dmin", "/mcp/admin"),
            ("/a%20b%25c%3Bd%zz%4", "/a%20b%25c%3Bd%zz%4"),
            ("/caf\u{e9}/%2e%2e/x", "/x"),
            ("relative", "/relative"),
        ] {
            assert_eq!(normalize_path(raw), want, "{raw}");
        }
    }

    #[test]
    fn prefixes_match_whole_segments() {
        for (prefix, path, want) in [
            ("/health", "/health", true),
            ("/health", "/health/live", true),
            ("/health", "/healthz", false),
            ("/health", "/", false),
            ("/", "/anything", true),
            ("/mcp", "/mcp/", true),
        ] {
            assert_eq!(prefix_matches(prefix, path), want, "{prefix} {path}");
        }
    }

    #[test]
    fn first_match_wins() {
        let rules = vec![
            rule("/mcp/public", Requirement::None),
            rule("/mcp", Requirement::Jwt),
            rule("/", Requirement::SubscriptionKey),
        ];
        let pick = |p: &str| find(&rules, &normalize_path(p), None).map(|(_, r)| r.require);
        assert_eq!(pick("/mcp/public/x"), Some(Requirement::None));
        assert_eq!(pick("/mcp/public/../private"), Some(Requirement::Jwt));
        assert_eq!(pick("/other"), Some(Requirement::SubscriptionKey));
        assert_eq!(find(&rules[..2], "/other", None), None);
    }

    #[test]
    fn ambiguous_paths_are_refused() {
        let rules = vec![rule("/public", Requirement::None)];
        assert_eq!(
            select(&rules, "/public/a?b=..", None)
                .unwrap()
                .map(|(_, r)| r.require),
            Some(Requirement::None)
        );
        assert_eq!(
            select(&rules, "/x/../public/a", None).unwrap_err(),
            AmbiguousPath
        );
        assert_eq!(
            select(&rules, "/public/../secret", None).unwrap_err(),
            AmbiguousPath
        );
        assert_eq!(select(&rules, "/secret/../other", None).unwrap(), None);
        for raw in ["/public/..%2fsecret", "/public/..;/secret", "/%70ublic"] {
            assert_eq!(
                select(&rules, raw, None).unwrap_err(),
                AmbiguousPath,
                "{raw}"
            );
        }
        assert_eq!(
            select(&rules, "/public//a", None)
                .unwrap()
                .map(|(_, r)| r.require),
            Some(Requirement::None)
        );
    }

    #[test]
    fn case_folded_readings_must_agree() {
        let rules = vec![rule("/mcp", Requirement::Jwt), rule("/", Requirement::None)];
        let pick = |p: &str| select(&rules, p, None).map(|r| r.map(|(_, r)| r.require));
        assert_eq!(pick("/mcp/x"), Ok(Some(Requirement::Jwt)));
        assert_eq!(pick("/other/X"), Ok(Some(Requirement::None)));
        assert_eq!(pick("/MCPX"), Ok(Some(Requirement::None)));
        for raw in ["/MCP", "/Mcp/tools", "/mcP?x=1", "/x/../MCP", "/%4dcp"] {
            assert_eq!(pick(raw), Err(AmbiguousPath), "{raw}");
        }
        // An uppercase prefix is folded as well, even for a lowercase path.
        let upper = vec![
            rule("/Admin", Requirement::Jwt),
            rule("/", Requirement::None),
        ];
        assert_eq!(select(&upper, "/admin", None).unwrap_err(), AmbiguousPath);
        assert_eq!(
            select(&upper, "/Admin/x", None)
                .unwrap()
                .map(|(_, r)| r.require),
            Some(Requirement::Jwt)
        );
        // Both readings pick the same rule: no refusal.
        let same = vec![rule("/", Requirement::Jwt)];
        assert_eq!(
            select(&same, "/MCP", None).unwrap().map(|(_, r)| r.require),
            Some(Requirement::Jwt)
        );
    }

    #[test]
    fn folded_prefixes_match_whole_segments() {
        for (prefix, path, want) in [
            ("/health", "/HEALTH", true),
            ("/health", "/Health/live", true),
            ("/health", "/HEALTHZ", false),
            ("/Health", "/health", true),
            ("/", "/X", true),
            ("/caf\u{e9}", "/CAF\u{e9}", true),
            ("/caf\u{e9}", "/CAF\u{c9}", false),
            ("/ab", "/\u{e9}", false),
        ] {
            assert_eq!(prefix_matches_folded(prefix, path), want, "{prefix} {path}");
        }
    }
}
