//! What Envoy's worker VMs share through proxy-wasm shared data: one small
//! status record (CAS-updated, holds the fetch lease) and the last good
//! JWKS document. Both are plain JSON so any worker can read them (and the
//! same JSON as earlier versions wrote, which may share the same vm_id).

use crate::json::{self, ObjectWriter, Value};

/// Coordination record; every field is host time in milliseconds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
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
        ObjectWriter::new()
            .number("generation", self.generation)
            .number("fetched_at", self.fetched_at)
            .number("attempted_at", self.attempted_at)
            .number("failures", u64::from(self.failures))
            .number("lease_until", self.lease_until)
            .into_bytes()
    }

    /// A missing or unreadable record reads as "never fetched".
    pub fn decode(bytes: Option<&[u8]>) -> SharedStatus {
        let read = |bytes| {
            let Ok(Value::Object(record)) = json::parse(bytes) else {
                return None;
            };
            Some(SharedStatus {
                generation: record.u64("generation")?,
                fetched_at: record.u64("fetched_at")?,
                attempted_at: record.u64("attempted_at")?,
                failures: u32::try_from(record.u64("failures")?).ok()?,
                lease_until: record.u64("lease_until")?,
            })
        };
        bytes.and_then(read).unwrap_or_default()
    }
}

/// The last good key set, as fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedKeys {
    pub generation: u64,
    pub fetched_at: u64,
    /// The raw JWKS body; each worker parses it itself.
    pub jwks: String,
}

impl SharedKeys {
    pub fn encode(&self) -> Vec<u8> {
        ObjectWriter::new()
            .number("generation", self.generation)
            .number("fetched_at", self.fetched_at)
            .string("jwks", &self.jwks)
            .into_bytes()
    }

    pub fn decode(bytes: &[u8]) -> Option<SharedKeys> {
        let Ok(Value::Object(record)) = json::parse(bytes) else {
            return None;
        };
        Some(SharedKeys {
            generation: record.u64("generation")?,
            fetched_at: record.u64("fetched_at")?,
            jwks: record.get("jwks")?.as_str()?.to_string(),
        })
    }
}
