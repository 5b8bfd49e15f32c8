//! What Envoy's worker VMs share through proxy-wasm shared data: one small
//! status record (CAS-updated, holds the fetch lease) and the last good
//! JWKS document. Both are plain JSON objects so any worker can read them;
//! the members and their order are those earlier builds wrote and read
//! (VMs of the previous build may share the same vm_id), and unknown
//! members are ignored so a later build may add some.

use super::from_object;
use serde::{Deserialize, Serialize};

/// Coordination record; every field is host time in milliseconds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharedStatus {
    /// Bumped on every successful fetch; workers reload keys when it moves.
    pub generation: u64,
    /// Last successful fetch, 0 when none yet.
    pub fetched_at: u64,
    /// Start of the last fetch attempt, successful or not.
    pub attempted_at: u64,
    /// Consecutive failures since the last success (drives the backoff).
    pub failures: u32,
    /// A fetch is in flight until then; nobody else starts one.
    pub lease_until: u64,
}

impl SharedStatus {
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// A missing or unreadable record reads as "never fetched".
    pub fn decode(bytes: Option<&[u8]>) -> SharedStatus {
        bytes.and_then(from_object).unwrap_or_default()
    }
}

/// The last good key set, as fetched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharedKeys {
    pub generation: u64,
    pub fetched_at: u64,
    /// The raw JWKS body; each worker parses it itself.
    pub jwks: String,
}

impl SharedKeys {
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    pub fn decode(bytes: &[u8]) -> Option<SharedKeys> {
        from_object(bytes)
    }
}
