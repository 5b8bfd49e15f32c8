//! Rule selection at a cost that does not grow with the number of rules:
//! the rules by their exact prefix, built once with the policy. A prefix
//! covers a path exactly when it equals the path up to a segment boundary,
//! so a path's candidates are found by looking up its own prefixes, and
//! only at the lengths some configured prefix has.

use super::{choose, normalize_path, AmbiguousPath, McpCall, Rule, Selected};
use foldhash::fast::FixedState;
use std::borrow::Cow;
use std::collections::HashMap;

#[derive(Debug, Default)]
pub struct RuleIndex {
    exact: PrefixMap,
    /// Keyed by the ASCII-lowercased prefix: how a case-insensitive
    /// router reads it.
    folded: PrefixMap,
    /// `folded`, restricted to the rules that depend on the MCP call.
    mcp: PrefixMap,
    any_uppercase: bool,
    any_removes_authorization: bool,
}

impl RuleIndex {
    pub fn new(rules: &[Rule]) -> RuleIndex {
        let all = || rules.iter().enumerate();
        RuleIndex {
            exact: PrefixMap::new(all(), false),
            folded: PrefixMap::new(all(), true),
            mcp: PrefixMap::new(all().filter(|(_, r)| r.inspects_mcp()), true),
            any_uppercase: rules.iter().any(|r| r.prefix_has_uppercase),
            any_removes_authorization: rules.iter().any(Rule::removes_authorization),
        }
    }

    /// `rules::select` for `rules`, the rules this index was built from.
    pub fn select<'a>(
        &self,
        rules: &'a [Rule],
        raw_path: &str,
        call: Option<&McpCall>,
    ) -> Result<Option<Selected<'a>>, AmbiguousPath> {
        let meets = |i: usize| rules.get(i).is_some_and(|r| r.matches_call(call));
        choose(
            rules,
            raw_path,
            self.any_uppercase,
            |p| self.exact.first(p, meets),
            |p| self.folded.first(&fold(p), meets),
        )
    }

    /// `rules::needs_mcp_call` for the rules this index was built from.
    pub fn needs_mcp_call(&self, raw_path: &str) -> bool {
        if self.mcp.is_empty() {
            return false;
        }
        let literal = raw_path.split(['?', '#']).next().unwrap_or("");
        let normalized = normalize_path(raw_path);
        [literal, normalized.as_ref()]
            .iter()
            .any(|p| self.mcp.first(&fold(p), |_| true).is_some())
    }

    /// Whether some rule keeps `Authorization` from the upstream.
    pub fn any_removes_authorization(&self) -> bool {
        self.any_removes_authorization
    }
}

fn fold(path: &str) -> Cow<'_, str> {
    if path.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(path.to_ascii_lowercase())
    } else {
        Cow::Borrowed(path)
    }
}

/// Rule positions by prefix, each list in configuration order.
#[derive(Debug, Default)]
struct PrefixMap {
    /// Rules whose prefix is `/`: they cover every path.
    root: Vec<usize>,
    by_prefix: HashMap<Box<str>, Vec<usize>, FixedState>,
    /// `lengths[n]`: some prefix in `by_prefix` is `n` bytes long. Only
    /// those lengths are looked up, so a path of many segments costs no
    /// more than the longest prefix.
    lengths: Vec<bool>,
}

impl PrefixMap {
    fn new<'r>(rules: impl Iterator<Item = (usize, &'r Rule)>, folded: bool) -> PrefixMap {
        let mut map = PrefixMap::default();
        for (i, rule) in rules {
            let prefix = rule.path_prefix.as_str();
            if prefix == "/" {
                map.root.push(i);
                continue;
            }
            let key = if folded {
                fold(prefix)
            } else {
                Cow::Borrowed(prefix)
            };
            if map.lengths.len() <= key.len() {
                map.lengths.resize(key.len() + 1, false);
            }
            map.lengths[key.len()] = true;
            map.by_prefix.entry(key.into()).or_default().push(i);
        }
        map
    }

    fn is_empty(&self) -> bool {
        self.root.is_empty() && self.by_prefix.is_empty()
    }

    /// The lowest position among the rules whose prefix covers `path`
    /// (`prefix_matches`; folded first when the map is) that `meets` keeps.
    fn first(&self, path: &str, meets: impl Fn(usize) -> bool) -> Option<usize> {
        let mut best = lowest(&self.root, None, &meets);
        let bytes = path.as_bytes();
        let longest = bytes.len().min(self.lengths.len().saturating_sub(1));
        for end in 1..=longest {
            // A prefix ends where a segment does: at a `/` or at the end.
            if self.lengths[end] && (end == bytes.len() || bytes[end] == b'/') {
                if let Some(list) = path.get(..end).and_then(|p| self.by_prefix.get(p)) {
                    best = lowest(list, best, &meets).or(best);
                }
            }
        }
        best
    }
}

/// The first position of `list` (ascending) below `below` that `meets` keeps.
fn lowest(list: &[usize], below: Option<usize>, meets: &impl Fn(usize) -> bool) -> Option<usize> {
    list.iter()
        .copied()
        .take_while(|&i| below.is_none_or(|b| i < b))
        .find(|&i| meets(i))
}

#[cfg(test)]
mod tests;
