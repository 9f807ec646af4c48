//! Per-tenant and per-credential rate limits (GCRA, `governor`, MIT). A noisy tenant gets
//! 429 with `Retry-After`; other tenants have buckets of their own and are unaffected.
//! Limits are per process: N processes behind a balancer allow N times the rate.

use std::num::NonZeroU32;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use uuid::Uuid;
use weft_runtime::Error;

#[derive(Clone, Copy, Debug)]
pub struct RateConfig {
    /// Sustained requests per second per tenant, and the burst above it.
    pub tenant_per_sec: u32,
    pub tenant_burst: u32,
    /// Sustained requests per second per API key or session.
    pub credential_per_sec: u32,
    pub credential_burst: u32,
}

impl Default for RateConfig {
    fn default() -> Self {
        Self {
            tenant_per_sec: 2_000,
            tenant_burst: 4_000,
            credential_per_sec: 1_000,
            credential_burst: 2_000,
        }
    }
}

pub struct RateLimits {
    tenants: DefaultKeyedRateLimiter<Uuid>,
    credentials: DefaultKeyedRateLimiter<Uuid>,
    clock: DefaultClock,
}

fn quota(per_sec: u32, burst: u32) -> Quota {
    let rate = NonZeroU32::new(per_sec.max(1)).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(burst.max(1)).unwrap_or(NonZeroU32::MIN);
    Quota::per_second(rate).allow_burst(burst)
}

impl RateLimits {
    pub fn new(c: RateConfig) -> Self {
        Self {
            tenants: RateLimiter::keyed(quota(c.tenant_per_sec, c.tenant_burst)),
            credentials: RateLimiter::keyed(quota(c.credential_per_sec, c.credential_burst)),
            clock: DefaultClock::default(),
        }
    }

    /// Take one request from the tenant's and the credential's buckets.
    pub fn check(&self, tenant: Uuid, credential: Option<Uuid>) -> Result<(), Error> {
        let now = self.clock.now();
        if let Err(not_until) = self.tenants.check_key(&tenant) {
            return Err(Error::TooManyRequests {
                retry_after_secs: not_until.wait_time_from(now).as_secs().max(1),
            });
        }
        if let Some(c) = credential
            && let Err(not_until) = self.credentials.check_key(&c)
        {
            return Err(Error::TooManyRequests {
                retry_after_secs: not_until.wait_time_from(now).as_secs().max(1),
            });
        }
        Ok(())
    }
}
