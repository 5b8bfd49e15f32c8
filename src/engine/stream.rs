//! Where each stream of a VM stands, and what the glue does next.
//!
//! A stream is recorded only while events may still come for it: held
//! (waiting for its body or for keys), or decided with body data or
//! trailers still to arrive. A request that ends with its headers and is
//! decided at once (the common case) never enters the table.

use crate::authorize::{Allowed, KeyWait, Reason};
use crate::replies::Response;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::rc::Rc;

/// What the glue does with the stream after an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Decided: allowed. Apply the edits, then let everything held go on.
    Forward(Allowed),
    /// Already forwarded: this event's data goes on unchanged.
    Pass,
    /// Decided: answer locally; nothing of the request goes upstream.
    /// The reason is `None` when the filter could not decide.
    Reply(Rc<Response>, Option<Reason>),
    /// Not decided yet: hold everything received so far.
    Pause,
}

/// The request body as far as the filter knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyState {
    /// The headers ended the stream.
    Absent,
    /// Data or trailers may still come.
    Open,
    /// The stream ended (with data or with trailers).
    Ended,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// The rule depends on the MCP call in the body. Until the first body
    /// bytes arrive, `first_bytes_by` bounds the wait: without Envoy's
    /// `allow_on_headers_stop_iteration` they never come.
    AwaitBody { first_bytes_by: Option<u64> },
    /// The decision needs signing keys the VM does not have yet.
    AwaitKeys {
        wait: KeyWait,
        deadline_ms: u64,
        /// Key generation when the wait began: any change ends it.
        generation: u64,
        body: BodyState,
    },
    /// Allowed and forwarded: the rest of the stream passes.
    Forwarded,
    /// Answered locally: nothing more goes upstream.
    Answered,
}

impl Phase {
    pub fn is_held(self) -> bool {
        matches!(self, Phase::AwaitBody { .. } | Phase::AwaitKeys { .. })
    }
}

/// Context ids are small sequential integers: a multiplicative hash
/// spreads them over the table's control bits at a fraction of SipHash's
/// cost (only the host chooses them, so nobody can aim at a bucket).
#[derive(Default)]
pub struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(*b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.0 = u64::from(n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

#[derive(Default)]
pub struct StreamTable {
    phases: HashMap<u32, Phase, BuildHasherDefault<IdHasher>>,
    /// Streams in `AwaitKeys`, kept so the bound is checked in O(1).
    waiting_for_keys: usize,
}

impl StreamTable {
    pub fn get(&self, id: u32) -> Option<Phase> {
        self.phases.get(&id).copied()
    }

    pub fn set(&mut self, id: u32, phase: Phase) {
        let before = self.phases.insert(id, phase);
        self.recount(before, Some(phase));
    }

    /// How far the body of a stream held for keys has come (the body of
    /// one held for its body is read when it ends, never tracked).
    pub fn body_reached(&mut self, id: u32, reached: BodyState) {
        if let Some(Phase::AwaitKeys { body, .. }) = self.phases.get_mut(&id) {
            *body = reached;
        }
    }

    pub fn remove(&mut self, id: u32) {
        let before = self.phases.remove(&id);
        self.recount(before, None);
    }

    pub fn waiting_for_keys(&self) -> usize {
        self.waiting_for_keys
    }

    pub(super) fn len(&self) -> usize {
        self.phases.len()
    }

    /// Held streams for which `due` says the wait is over, in id order
    /// (deterministic for tests and replays).
    pub fn due(&self, mut due: impl FnMut(&Phase) -> bool) -> Vec<u32> {
        let mut ids: Vec<u32> = self
            .phases
            .iter()
            .filter(|(_, phase)| phase.is_held() && due(phase))
            .map(|(id, _)| *id)
            .collect();
        ids.sort_unstable();
        ids
    }

    fn recount(&mut self, before: Option<Phase>, after: Option<Phase>) {
        let waits = |p: Option<Phase>| matches!(p, Some(Phase::AwaitKeys { .. }));
        if waits(before) {
            self.waiting_for_keys = self.waiting_for_keys.saturating_sub(1);
        }
        if waits(after) {
            self.waiting_for_keys += 1;
        }
    }
}
