//! Sign-in throttling that slows guessing without locking owners out (OWASP ASVS 2.2.1).
//!
//! Every attempt is *reserved* before the password hash is verified: the reservation counts it
//! and sets the earliest time of the next one, under one lock, so parallel attempts cannot all
//! be verified. Delays grow with the attempts (1 s, 2 s, 4 s … up to a cap) and are kept per
//! account and address pair (strict), per account and per address (loose, short caps, so
//! everyone behind one proxy waits seconds at most). A browser that signed in to the account
//! before carries a device token (OWASP "device cookies"): its attempts count only against
//! that device, so an attack on the account from elsewhere does not delay its owner.
//! Counters are per process and forgotten after 15 idle minutes.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::{Error, Result};

/// How many attempts pass without delay, and the longest delay between two attempts.
#[derive(Clone, Copy, Debug)]
pub struct Policy {
    pub free: u32,
    pub cap: Duration,
}

/// One account from one address: the strict key.
pub const PAIR: Policy = Policy {
    free: 5,
    cap: Duration::from_secs(60),
};
/// One account from anywhere: distributed guessing.
pub const ACCOUNT: Policy = Policy {
    free: 20,
    cap: Duration::from_secs(10),
};
/// One address, any account: spraying one password over many accounts.
pub const ADDRESS: Policy = Policy {
    free: 50,
    cap: Duration::from_secs(5),
};
/// A browser that signed in to the account before.
pub const DEVICE: Policy = PAIR;

const IDLE: Duration = Duration::from_secs(15 * 60);
/// Entries kept at most; beyond, idle ones are dropped and new keys wait like a capped key.
const MAX_KEYS: usize = 100_000;

#[derive(Debug)]
struct Slot {
    attempts: u32,
    next: Instant,
    last: Instant,
}

/// Attempt counters and the key that signs device tokens.
pub struct LoginThrottle {
    slots: Mutex<HashMap<String, Slot>>,
    device_key: [u8; 32],
}

impl Default for LoginThrottle {
    fn default() -> Self {
        let mut device_key = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut device_key);
        Self {
            slots: Mutex::new(HashMap::new()),
            device_key,
        }
    }
}

impl std::fmt::Debug for LoginThrottle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginThrottle").finish_non_exhaustive()
    }
}

fn delay(attempts: u32, p: Policy) -> Duration {
    if attempts < p.free {
        return Duration::ZERO;
    }
    let exp = (attempts - p.free).min(16);
    Duration::from_secs(1u64 << exp).min(p.cap)
}

impl LoginThrottle {
    /// Reserve one attempt on every key, or refuse with the wait until all of them allow one.
    /// Nothing is counted when refused.
    pub fn reserve(&self, keys: &[(String, Policy)]) -> Result<()> {
        self.reserve_at(keys, Instant::now())
    }

    fn reserve_at(&self, keys: &[(String, Policy)], now: Instant) -> Result<()> {
        let Ok(mut m) = self.slots.lock() else {
            return Err(Error::internal("login throttle poisoned"));
        };
        if m.len() >= MAX_KEYS {
            m.retain(|_, s| now.duration_since(s.last) < IDLE);
        }
        let mut wait = Duration::ZERO;
        for (k, _) in keys {
            if let Some(s) = m.get(k) {
                if now.duration_since(s.last) >= IDLE {
                    continue;
                }
                wait = wait.max(s.next.saturating_duration_since(now));
            } else if m.len() >= MAX_KEYS {
                wait = wait.max(ADDRESS.cap);
            }
        }
        if !wait.is_zero() {
            return Err(Error::TooManyRequests {
                retry_after_secs: wait.as_secs_f64().ceil().max(1.0) as u64,
            });
        }
        for (k, p) in keys {
            let s = m.entry(k.clone()).or_insert(Slot {
                attempts: 0,
                next: now,
                last: now,
            });
            if now.duration_since(s.last) >= IDLE {
                s.attempts = 0;
            }
            s.attempts = s.attempts.saturating_add(1);
            s.last = now;
            s.next = now + delay(s.attempts, *p);
        }
        Ok(())
    }

    /// A correct password: forget the keys' attempts.
    pub fn succeeded(&self, keys: &[String]) {
        if let Ok(mut m) = self.slots.lock() {
            for k in keys {
                m.remove(k);
            }
        }
    }

    fn mac(&self, account: &str, nonce: &str) -> Option<Hmac<Sha256>> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.device_key).ok()?;
        mac.update(account.as_bytes());
        mac.update(b"\n");
        mac.update(nonce.as_bytes());
        Some(mac)
    }

    /// A new device token for a browser that just signed in to `account`.
    pub fn device_token(&self, account: &str) -> Option<String> {
        let mut b = [0u8; 16];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut b);
        let nonce = hex::encode(b);
        let mac = hex::encode(self.mac(account, &nonce)?.finalize().into_bytes());
        Some(format!("{nonce}.{mac}"))
    }

    /// The device's id when `token` was issued by this process for `account` (the MAC is
    /// checked in constant time by `hmac`).
    pub fn device_of(&self, account: &str, token: &str) -> Option<String> {
        let (nonce, mac) = token.split_once('.')?;
        if nonce.len() != 32 {
            return None;
        }
        let sent = hex::decode(mac).ok()?;
        self.mac(account, nonce)?.verify_slice(&sent).ok()?;
        Some(nonce.to_owned())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn k(s: &str, p: Policy) -> Vec<(String, Policy)> {
        vec![(s.to_owned(), p)]
    }

    #[test]
    fn delays_grow_to_their_cap_and_refusals_do_not_count() {
        let t = LoginThrottle::default();
        let t0 = Instant::now();
        for _ in 0..5 {
            t.reserve_at(&k("a", PAIR), t0).unwrap();
        }
        // The sixth at once waits 1 s; asking again does not make it longer.
        for _ in 0..3 {
            match t.reserve_at(&k("a", PAIR), t0) {
                Err(Error::TooManyRequests { retry_after_secs }) => assert_eq!(retry_after_secs, 1),
                other => panic!("{other:?}"),
            }
        }
        let mut at = t0;
        let mut waits = vec![];
        for _ in 0..10 {
            at += delay(t.slots.lock().unwrap()["a"].attempts, PAIR);
            t.reserve_at(&k("a", PAIR), at).unwrap();
            waits.push(delay(t.slots.lock().unwrap()["a"].attempts, PAIR).as_secs());
        }
        assert_eq!(waits, [2, 4, 8, 16, 32, 60, 60, 60, 60, 60]);
        // Fifteen idle minutes forget it.
        t.reserve_at(&k("a", PAIR), at + IDLE).unwrap();
        assert_eq!(t.slots.lock().unwrap()["a"].attempts, 1);
    }

    #[test]
    fn device_tokens_are_bound_to_the_account() {
        let t = LoginThrottle::default();
        let tok = t.device_token("liu@x").unwrap();
        assert!(t.device_of("liu@x", &tok).is_some());
        assert!(t.device_of("zhang@x", &tok).is_none());
        assert!(t.device_of("liu@x", "00.11").is_none());
        let other = LoginThrottle::default();
        assert!(other.device_of("liu@x", &tok).is_none());
    }
}
