//! Keeps the signing keys fresh for every worker of one Envoy: one VM at a
//! time (the holder of a CAS-written lease in shared data) fetches
//! discovery then JWKS and publishes the result; the others adopt it.
//! This is also the one owner of the kid-miss re-fetch request.

use super::counters::{Counter, Counts};
use super::host::{CalloutResult, KeyHost, Level};
use crate::keys::{
    parse_discovery, parse_jwks, FetchReason, KeySet, RefreshPolicy, RefreshState, RsaKey,
    SharedKeys, SharedStatus,
};
use crate::policy::Policy;
use std::rc::Rc;

/// What a refresh step works on: the host, the VM's keys, its counters.
pub struct Io<'a> {
    pub host: &'a mut dyn KeyHost,
    pub keys: &'a mut Rc<KeySet>,
    pub counts: &'a mut Counts,
}

/// A discovery+JWKS fetch this VM is running (it holds the lease).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Fetch {
    Idle,
    Discovery { token: u32, lease: SharedStatus },
    Jwks { token: u32, lease: SharedStatus },
}

pub struct Refresher {
    compiled: Rc<Policy>,
    refresh: RefreshPolicy,
    status_key: String,
    keys_key: String,
    fetch: Fetch,
    /// Last status record seen in (or written to) shared data.
    last_status: SharedStatus,
    /// A request with an unknown `kid` waits until then for a re-fetch.
    kid_miss_until: Option<u64>,
    jitter_seed: u64,
}

impl Refresher {
    pub fn new(compiled: Rc<Policy>, jitter_seed: u64) -> Refresher {
        let namespace = &compiled.namespace;
        Refresher {
            refresh: compiled.refresh,
            status_key: format!("{namespace}/status"),
            keys_key: format!("{namespace}/jwks"),
            compiled,
            fetch: Fetch::Idle,
            last_status: SharedStatus::default(),
            kid_miss_until: None,
            jitter_seed,
        }
    }

    /// Writes an empty status record if there is none yet, else adopts
    /// the keys already shared: a configuration change starts a new root
    /// context under the same vm_id, whose requests must not wait for (or,
    /// with key_wait_ms 0, be refused until) the first tick.
    pub fn on_configure(&mut self, io: &mut Io<'_>) {
        let (bytes, _) = io.host.shared_get(&self.status_key);
        let Some(bytes) = bytes else {
            let empty = SharedStatus::default().encode();
            io.host.shared_set(&self.status_key, &empty, None);
            return;
        };
        self.last_status = SharedStatus::decode(Some(&bytes));
        if self.last_status.generation > 0 {
            self.load_shared_keys(io);
        }
    }

    /// A waiting request met an unknown `kid`: ask for a re-fetch that
    /// starts before `deadline_ms`.
    pub fn request_kid_miss_refetch(&mut self, deadline_ms: u64) {
        self.kid_miss_until = Some(
            self.kid_miss_until
                .map_or(deadline_ms, |d| d.max(deadline_ms)),
        );
    }

    /// Whether a fetch runs somewhere (this VM or another worker).
    pub fn fetching(&self, now: u64) -> bool {
        self.last_status.lease_until > now || self.fetch != Fetch::Idle
    }

    /// When a pending kid-miss re-fetch may start, if one is pending.
    pub fn kid_miss_refetch_at(&self) -> Option<u64> {
        self.kid_miss_until
            .map(|_| self.refresh.kid_miss_allowed_at(&self.last_status))
    }

    pub fn retry_after_seconds(&self, now: u64) -> u64 {
        RefreshPolicy::retry_after_seconds(&self.last_status, now)
    }

    /// Adopts keys another worker fetched, then starts a fetch if one is due.
    pub fn on_tick(&mut self, now: u64, io: &mut Io<'_>) {
        let (bytes, cas) = io.host.shared_get(&self.status_key);
        let status = SharedStatus::decode(bytes.as_deref());
        self.last_status = status.clone();
        let keys = &*io.keys;
        if status.generation != keys.generation() && status.generation > 0 {
            self.load_shared_keys(io);
        } else if status.generation == keys.generation() && status.fetched_at > keys.fetched_at() {
            // A re-fetch found the same keys: they are fresh again, and
            // the tokens verified with them stay cached.
            *io.keys = Rc::new(keys.refreshed_at(status.fetched_at));
        }
        self.expire_if_stale(now, io);
        if self.fetch != Fetch::Idle {
            return;
        }
        let kid_miss = self.kid_miss_until.is_some_and(|until| until >= now);
        let jitter = (now / 7) ^ self.jitter_seed;
        match self.refresh.plan(&status, now, kid_miss, jitter) {
            RefreshState::Fetch { reason, lease } => {
                if io.host.shared_set(&self.status_key, &lease.encode(), cas) {
                    self.last_status = lease.clone();
                    if reason == FetchReason::KidMiss {
                        self.kid_miss_until = None;
                        io.counts.count(Counter::JwksFetchKidMiss);
                    }
                    self.start(lease, reason, io);
                }
            }
            RefreshState::Idle | RefreshState::InFlight => {
                // Rate-limited: keep the re-fetch pending only while a
                // waiting request would still be there when it may start.
                let allowed_at = self.refresh.kid_miss_allowed_at(&status);
                if self.kid_miss_until.is_some_and(|until| until < allowed_at) {
                    self.kid_miss_until = None;
                }
            }
        }
    }

    /// The answer to a discovery or JWKS callout of this VM.
    pub fn on_callout(&mut self, token: u32, response: CalloutResult, now: u64, io: &mut Io<'_>) {
        match std::mem::replace(&mut self.fetch, Fetch::Idle) {
            Fetch::Discovery { token: t, lease } if t == token => {
                let body = match response {
                    Ok(body) => body,
                    Err(why) => return self.fail(&lease, &format!("discovery: {why}"), io),
                };
                let compiled = Rc::clone(&self.compiled);
                let entra = &compiled.config.entra;
                let discovery =
                    match parse_discovery(&body, &entra.discovery_issuer, &entra.jwks_hosts) {
                        Ok(d) => d,
                        Err(e) => return self.fail(&lease, &e.to_string(), io),
                    };
                match io.host.dispatch_get(
                    &entra.cluster,
                    &discovery.jwks_host,
                    &discovery.jwks_path,
                    entra.fetch_timeout_ms,
                ) {
                    Ok(token) => self.fetch = Fetch::Jwks { token, lease },
                    Err(why) => self.fail(&lease, &format!("jwks call failed ({why})"), io),
                }
            }
            Fetch::Jwks { token: t, lease } if t == token => {
                let body = match response {
                    Ok(body) => body,
                    Err(why) => return self.fail(&lease, &format!("jwks: {why}"), io),
                };
                match parse_jwks(&body) {
                    Ok(parsed) => {
                        for skipped in &parsed.skipped {
                            io.host
                                .log(Level::Info, &format!("jwks: ignored {skipped}"));
                        }
                        let jwks = String::from_utf8_lossy(&body).into_owned();
                        self.succeed(&lease, jwks, parsed.keys, now, io);
                    }
                    Err(e) => self.fail(&lease, &e.to_string(), io),
                }
            }
            other => self.fetch = other,
        }
    }

    fn start(&mut self, lease: SharedStatus, reason: FetchReason, io: &mut Io<'_>) {
        let compiled = Rc::clone(&self.compiled);
        let entra = &compiled.config.entra;
        let path = format!(
            "/{}/v2.0/.well-known/openid-configuration",
            entra.discovery_tenant
        );
        io.host.log(
            Level::Info,
            &format!("fetching signing keys ({reason:?}): discovery {path}"),
        );
        match io.host.dispatch_get(
            &entra.cluster,
            &entra.authority_host,
            &path,
            entra.fetch_timeout_ms,
        ) {
            Ok(token) => self.fetch = Fetch::Discovery { token, lease },
            Err(why) => {
                let why = format!(
                    "cannot call cluster \"{}\" ({why}); is it defined?",
                    entra.cluster
                );
                self.fail(&lease, &why, io);
            }
        }
    }

    /// Our lease expired without an answer (Envoy enforces the timeout, so
    /// this only happens if a response was lost).
    fn expire_if_stale(&mut self, now: u64, io: &mut Io<'_>) {
        let lease = match &self.fetch {
            Fetch::Discovery { lease, .. } | Fetch::Jwks { lease, .. }
                if now > lease.lease_until =>
            {
                lease.clone()
            }
            _ => return,
        };
        self.fetch = Fetch::Idle;
        self.fail(&lease, "no response before the lease expired", io);
    }

    /// Another worker fetched: adopt its keys.
    fn load_shared_keys(&self, io: &mut Io<'_>) {
        let (bytes, _) = io.host.shared_get(&self.keys_key);
        let Some(record) = bytes.as_deref().and_then(SharedKeys::decode) else {
            return;
        };
        match parse_jwks(record.jwks.as_bytes()) {
            Ok(parsed) => {
                *io.keys = Rc::new(KeySet::new(
                    parsed.keys,
                    record.fetched_at,
                    record.generation,
                ));
            }
            Err(e) => io
                .host
                .log(Level::Warn, &format!("shared keys unreadable: {e}")),
        }
    }

    fn succeed(
        &mut self,
        lease: &SharedStatus,
        jwks: String,
        fetched: Vec<RsaKey>,
        now: u64,
        io: &mut Io<'_>,
    ) {
        let changed = !io.keys.same_keys(&fetched);
        let status = RefreshPolicy::succeeded(lease, now, changed);
        let record = SharedKeys {
            generation: status.generation,
            fetched_at: now,
            jwks,
        };
        // Keys first: a reader that sees the new generation must find them.
        if !io.host.shared_set(&self.keys_key, &record.encode(), None)
            || !self.write_status(io.host, lease, &status)
        {
            io.host
                .log(Level::Warn, "could not publish fetched keys to shared data");
        }
        io.host.log(
            Level::Info,
            &format!(
                "signing keys {}: {} key(s), generation {}",
                if changed { "updated" } else { "unchanged" },
                fetched.len(),
                status.generation
            ),
        );
        *io.keys = Rc::new(KeySet::new(fetched, now, status.generation));
        self.last_status = status;
        io.counts.count(Counter::JwksFetchOk);
    }

    fn fail(&mut self, lease: &SharedStatus, why: &str, io: &mut Io<'_>) {
        let status = RefreshPolicy::failed(lease);
        self.write_status(io.host, lease, &status);
        io.host.log(
            Level::Warn,
            &format!(
                "signing key fetch failed ({} in a row): {why}; keeping {} cached key(s)",
                status.failures,
                io.keys.len()
            ),
        );
        self.last_status = status;
        io.counts.count(Counter::JwksFetchFailed);
    }

    /// Writes only while our lease is still the current one.
    fn write_status(
        &self,
        host: &mut dyn KeyHost,
        lease: &SharedStatus,
        status: &SharedStatus,
    ) -> bool {
        let (bytes, cas) = host.shared_get(&self.status_key);
        let current = SharedStatus::decode(bytes.as_deref());
        if current.attempted_at != lease.attempted_at || current.lease_until != lease.lease_until {
            return false;
        }
        host.shared_set(&self.status_key, &status.encode(), cas)
    }
}
