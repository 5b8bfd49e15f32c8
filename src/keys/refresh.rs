//! When to fetch keys: first fetch, periodic refresh with jitter, retries
//! with capped exponential backoff, and rate-limited re-fetches on an
//! unknown `kid`. Pure: status and clock in, decision and new status out.

use super::SharedStatus;

const BACKOFF_BASE_MS: u64 = 1_000;
const BACKOFF_CAP_MS: u64 = 30_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FetchReason {
    Initial,
    Retry,
    Periodic,
    KidMiss,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefreshPolicy {
    pub interval_ms: u64,
    /// Minimum time between the start of two fetches caused by unknown kids.
    pub kid_miss_cooldown_ms: u64,
    /// Discovery and JWKS each get this long.
    pub fetch_timeout_ms: u64,
}

/// What a worker should do now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshState {
    Idle,
    /// Another fetch is in flight (maybe on another worker).
    InFlight,
    /// Fetch now; write `lease` with CAS first, and fetch only if that wins.
    Fetch {
        reason: FetchReason,
        lease: SharedStatus,
    },
}

impl RefreshPolicy {
    /// `jitter_ms` (below a tenth of the interval) spreads periodic refreshes
    /// of many Envoys; the caller derives it from anything non-constant.
    pub fn plan(
        &self,
        status: &SharedStatus,
        now: u64,
        kid_miss: bool,
        jitter_ms: u64,
    ) -> RefreshState {
        if status.lease_until > now {
            return RefreshState::InFlight;
        }
        let backoff_over = status.failures == 0
            || now
                >= status
                    .attempted_at
                    .saturating_add(backoff_ms(status.failures));
        let reason = if status.fetched_at == 0 {
            backoff_over.then_some(if status.failures == 0 {
                FetchReason::Initial
            } else {
                FetchReason::Retry
            })
        } else {
            let jitter = jitter_ms % (self.interval_ms / 10).max(1);
            let due = now >= status.fetched_at.saturating_add(self.interval_ms - jitter);
            let cooled = now
                >= status
                    .attempted_at
                    .saturating_add(self.kid_miss_cooldown_ms);
            if due && backoff_over {
                Some(FetchReason::Periodic)
            } else if kid_miss && cooled && backoff_over {
                Some(FetchReason::KidMiss)
            } else {
                None
            }
        };
        match reason {
            Some(reason) => RefreshState::Fetch {
                reason,
                lease: SharedStatus {
                    attempted_at: now,
                    lease_until: now + self.lease_ms(),
                    ..status.clone()
                },
            },
            None => RefreshState::Idle,
        }
    }

    /// When the kid-miss cooldown lets the next re-fetch start.
    pub fn kid_miss_allowed_at(&self, status: &SharedStatus) -> u64 {
        let backoff_end = if status.failures == 0 {
            0
        } else {
            status
                .attempted_at
                .saturating_add(backoff_ms(status.failures))
        };
        status
            .attempted_at
            .saturating_add(self.kid_miss_cooldown_ms)
            .max(backoff_end)
    }

    /// Discovery then JWKS, plus slack; a crashed fetcher frees the lease.
    pub fn lease_ms(&self) -> u64 {
        2 * self.fetch_timeout_ms + 1_000
    }

    /// The generation moves only when the keys changed: workers reload
    /// and empty their token caches on a new generation.
    pub fn succeeded(status: &SharedStatus, now: u64, keys_changed: bool) -> SharedStatus {
        SharedStatus {
            generation: status.generation + u64::from(keys_changed),
            fetched_at: now,
            attempted_at: status.attempted_at,
            failures: 0,
            lease_until: 0,
        }
    }

    pub fn failed(status: &SharedStatus) -> SharedStatus {
        SharedStatus {
            failures: status.failures.saturating_add(1),
            lease_until: 0,
            ..status.clone()
        }
    }

    /// Seconds a client should wait before retrying while no keys exist.
    pub fn retry_after_seconds(status: &SharedStatus, now: u64) -> u64 {
        let next = status
            .attempted_at
            .saturating_add(backoff_ms(status.failures.max(1)))
            .max(status.lease_until);
        next.saturating_sub(now).div_ceil(1000).clamp(1, 30)
    }
}

/// 1 s, 2 s, 4 s, ... capped at 30 s.
pub fn backoff_ms(failures: u32) -> u64 {
    let exp = failures.saturating_sub(1).min(16);
    (BACKOFF_BASE_MS << exp).min(BACKOFF_CAP_MS)
}
