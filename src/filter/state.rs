//! Per-VM state shared by the root context and the HTTP contexts of one
//! worker (single-threaded: `Rc<RefCell<_>>`).

use super::host::Backend;
use super::metrics::Metrics;
use crate::authorize::KeyWait;
use crate::cache::TokenCache;
use crate::config::Config;
use crate::keys::{KeySet, RefreshPolicy, SharedStatus};
use crate::prepared::PreparedResponses;
use std::cell::RefCell;
use std::rc::Rc;

/// Requests paused for keys, per VM; beyond this they are decided at once.
pub const MAX_WAITERS: usize = 1024;

pub type SharedState = Rc<RefCell<VmState>>;

pub struct Waiter {
    pub kind: KeyWait,
    pub context_id: u32,
    pub deadline_ms: u64,
    /// Key generation when the request started waiting.
    pub generation: u64,
    /// Paused in the body phase: decide again with the buffered body.
    pub with_body: bool,
}

/// A discovery+JWKS fetch this VM is running (it holds the lease).
pub enum Fetch {
    Idle,
    Discovery { token: u32, lease: SharedStatus },
    Jwks { token: u32, lease: SharedStatus },
}

pub struct VmState {
    pub config: Rc<Config>,
    pub prepared: Rc<PreparedResponses>,
    pub policy: RefreshPolicy,
    pub keys: Rc<KeySet>,
    pub cache: TokenCache,
    pub backend: Backend,
    pub metrics: Metrics,
    pub waiters: Vec<Waiter>,
    pub fetch: Fetch,
    /// Last status record seen in shared data.
    pub last_status: SharedStatus,
    pub status_key: String,
    pub keys_key: String,
    /// A request met an unknown kid since the last tick.
    pub kid_miss: bool,
    /// Streams holding headers until their body arrives: (context, deadline).
    pub body_waiters: Vec<(u32, u64)>,
    pub warned_missing_body: bool,
    pub root_context_id: u32,
}

impl VmState {
    pub fn new(config: Config, backend: Backend, root_context_id: u32) -> VmState {
        let namespace = namespace(&config);
        let policy = RefreshPolicy {
            interval_ms: config.entra.jwks_refresh_seconds * 1000,
            kid_miss_cooldown_ms: config.entra.kid_miss_refetch_seconds * 1000,
            fetch_timeout_ms: config.entra.fetch_timeout_ms,
        };
        VmState {
            policy,
            keys: Rc::new(KeySet::default()),
            cache: TokenCache::new(config.entra.token_cache_size),
            backend,
            metrics: Metrics::default(),
            waiters: Vec::new(),
            fetch: Fetch::Idle,
            last_status: SharedStatus::default(),
            status_key: format!("{namespace}/status"),
            keys_key: format!("{namespace}/jwks"),
            kid_miss: false,
            body_waiters: Vec::new(),
            warned_missing_body: false,
            root_context_id,
            prepared: Rc::new(PreparedResponses::new(&config)),
            config: Rc::new(config),
        }
    }
}

/// Shared-data keys are per identity provider, so two filter instances
/// with the same authority and tenant share one fetch; others don't mix.
fn namespace(config: &Config) -> String {
    use sha2::{Digest, Sha256};
    let e = &config.entra;
    let digest = Sha256::digest(format!(
        "{}|{}|{}",
        e.cluster, e.authority, e.discovery_tenant
    ));
    let short: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("entra_guard/{short}")
}
