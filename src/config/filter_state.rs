//! `filter_state`: which facts of a decision the filter leaves in Envoy's
//! filter state (`wasm.entra_guard.<name>`) for the access log, RBAC and
//! rate limits. Off unless listed: each entry is a host call that makes
//! Envoy allocate a filter-state object, a cost every request would pay
//! (about 10 % of a cached token's Envoy CPU with all seven).

use super::error::{ConfigError, Result};
use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateEntry {
    Outcome,
    Reason,
    Oid,
    Tid,
    ClientId,
    Subscription,
    Rule,
}

impl StateEntry {
    pub const ALL: [StateEntry; 7] = [
        StateEntry::Outcome,
        StateEntry::Reason,
        StateEntry::Oid,
        StateEntry::Tid,
        StateEntry::ClientId,
        StateEntry::Subscription,
        StateEntry::Rule,
    ];

    pub fn name(self) -> &'static str {
        match self {
            StateEntry::Outcome => "outcome",
            StateEntry::Reason => "reason",
            StateEntry::Oid => "oid",
            StateEntry::Tid => "tid",
            StateEntry::ClientId => "client_id",
            StateEntry::Subscription => "subscription",
            StateEntry::Rule => "rule",
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// The entries to set; empty by default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StateEntries(u8);

impl StateEntries {
    pub fn all() -> StateEntries {
        StateEntry::ALL
            .iter()
            .fold(StateEntries::default(), |set, e| set.with(*e))
    }

    pub fn with(self, entry: StateEntry) -> StateEntries {
        StateEntries(self.0 | entry.bit())
    }

    pub fn contains(self, entry: StateEntry) -> bool {
        self.0 & entry.bit() != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Whether any entry names the caller (what `Identity` holds).
    pub fn names_the_caller(self) -> bool {
        [StateEntry::Oid, StateEntry::Tid, StateEntry::ClientId]
            .into_iter()
            .any(|e| self.contains(e))
    }
}

/// `"filter_state": ["outcome", "oid", ...]` or `"all"`.
#[derive(Deserialize, Default)]
#[serde(untagged)]
pub(super) enum RawFilterState {
    #[default]
    None,
    All(String),
    Listed(Vec<String>),
}

impl RawFilterState {
    pub fn validate(self) -> Result<StateEntries> {
        let names = match self {
            RawFilterState::None => return Ok(StateEntries::default()),
            RawFilterState::All(all) if all == "all" => return Ok(StateEntries::all()),
            RawFilterState::All(other) => {
                return Err(ConfigError::new(
                    "filter_state",
                    format!("must be \"all\" or a list of names, not \"{other}\""),
                ))
            }
            RawFilterState::Listed(names) => names,
        };
        let mut set = StateEntries::default();
        for (i, name) in names.iter().enumerate() {
            let at = format!("filter_state[{i}]");
            let Some(entry) = StateEntry::ALL.into_iter().find(|e| e.name() == name) else {
                let known: Vec<&str> = StateEntry::ALL.iter().map(|e| e.name()).collect();
                return Err(ConfigError::new(
                    at,
                    format!("unknown name \"{name}\" (known: {})", known.join(", ")),
                ));
            };
            if set.contains(entry) {
                return Err(ConfigError::new(at, format!("\"{name}\" is listed twice")));
            }
            set = set.with(entry);
        }
        Ok(set)
    }
}
