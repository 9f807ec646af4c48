//! API-key authentication and the process's cache of verified keys.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use weft_meta::{ApiKeyId, TenantId, UserId};

use super::auth::Auth;
use crate::error::{Error, Result};
use crate::ids::sha256_hex;
use crate::ports::TxMode;
use crate::principal::{Principal, Source};

/// Verified API keys of this process, by key hash: saves the key and user reads on every
/// request (they were most of a cheap request's database round trips).
#[derive(Default)]
pub struct KeyCache {
    entries: Mutex<HashMap<String, CachedKey>>,
}

struct CachedKey {
    principal: Principal,
    expires_at: Option<chrono::DateTime<chrono::Utc>>,
    verified: Instant,
}

/// Entries kept before the cache starts over (bounds memory under key spraying; only valid
/// keys are cached).
const KEY_CACHE_MAX: usize = 10_000;

impl KeyCache {
    fn get(
        &self,
        hash: &str,
        ttl: std::time::Duration,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Option<Principal> {
        let map = self.entries.lock().ok()?;
        let e = map.get(hash)?;
        if e.verified.elapsed() >= ttl || e.expires_at.is_some_and(|x| x <= now) {
            return None;
        }
        Some(e.principal.clone())
    }

    fn put(
        &self,
        hash: String,
        principal: Principal,
        expires_at: Option<chrono::DateTime<chrono::Utc>>,
    ) {
        if let Ok(mut map) = self.entries.lock() {
            if map.len() >= KEY_CACHE_MAX {
                map.clear();
            }
            map.insert(
                hash,
                CachedKey {
                    principal,
                    expires_at,
                    verified: Instant::now(),
                },
            );
        }
    }

    /// Forget every key of `tenant` (a key was revoked or a user disabled there).
    pub(crate) fn forget_tenant(&self, tenant: TenantId) {
        if let Ok(mut map) = self.entries.lock() {
            map.retain(|_, e| e.principal.tenant != tenant);
        }
    }
}

impl Auth {
    /// Resolve a bearer API key to its principal. Unknown, revoked or expired keys and
    /// disabled users all answer the same way.
    pub(super) async fn api_key_principal(&self, token: &str) -> Result<Principal> {
        if !token.starts_with("wft_") || token.len() > 128 {
            return Err(Error::Unauthenticated);
        }
        let hash = sha256_hex(token);
        let now = self.core.clock.now();
        if let Some(p) = self.keys.get(&hash, self.core.config.auth_ttl, now) {
            return Ok(p);
        }
        let key = self
            .core
            .store()
            .find_api_key(&hash)
            .await?
            .ok_or(Error::Unauthenticated)?;
        if key.revoked_at.is_some() || key.expires_at.is_some_and(|e| e <= now) {
            return Err(Error::Unauthenticated);
        }
        let mut tx = self.core.begin_bare(key.tenant, TxMode::Read).await?;
        let user = tx.user(key.user_id).await?.ok_or(Error::Unauthenticated)?;
        tx.commit().await?;
        if user.status != "active" {
            return Err(Error::Unauthenticated);
        }
        // Last-used time is advisory: refresh it at most once a minute per key.
        if key
            .last_used_at
            .is_none_or(|t| (now - t).num_seconds() >= 60)
        {
            let mut tx = self.core.begin_bare(key.tenant, TxMode::Write).await?;
            tx.touch_api_key(key.id, now).await?;
            tx.commit().await?;
        }
        let p = Principal {
            tenant: key.tenant,
            user: UserId(user.id),
            is_admin: user.is_admin,
            department: user.primary_department,
            source: Source::Api,
            api_key: Some(ApiKeyId(key.id)),
            cascade_depth: 0,
            view_as: false,
            session: None,
        };
        self.keys.put(hash, p.clone(), key.expires_at);
        Ok(p)
    }
}
