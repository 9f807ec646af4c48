//! Tenants, their first admin, and API-key authentication.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use serde::Serialize;
use uuid::Uuid;
use weft_meta::{ApiKeyId, TenantId, UserId};

use crate::Runtime;
use crate::error::{Error, Result};
use crate::ids::{new_api_key, sha256_hex};
use crate::ports::{ApiKeyRow, TxMode, UserRow};
use crate::principal::{Principal, Source};

/// Verified API keys of this process, by key hash: saves the key and user reads on every
/// request (they were most of a cheap request's database round trips).
#[derive(Default)]
pub(crate) struct KeyCache {
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

#[derive(Debug, Clone, Serialize)]
pub struct TenantCreated {
    pub tenant_id: TenantId,
    pub name: String,
    pub admin_user_id: UserId,
    /// Shown once; only its hash is stored.
    pub api_key: String,
}

impl Runtime {
    /// The tenant's settings: `{time_zone}`.
    pub async fn tenant_settings(&self, p: &Principal) -> Result<serde_json::Value> {
        let mut tx = self.core.begin(p.tenant, TxMode::Read).await?;
        let tz = tx.time_zone().await?;
        tx.commit().await?;
        Ok(serde_json::json!({ "time_zone": tz }))
    }

    /// Change the tenant's settings (admins). `time_zone` is an IANA name such as
    /// `Asia/Shanghai`; rules and formulas see `today()` as the date there from the next
    /// write on.
    pub async fn update_tenant_settings(
        &self,
        p: &Principal,
        body: &serde_json::Value,
    ) -> Result<serde_json::Value> {
        crate::flows::require_admin(p)?;
        let Some(m) = body.as_object() else {
            return Err(Error::one("", "type", "the body must be a JSON object"));
        };
        if let Some(k) = m.keys().find(|k| k.as_str() != "time_zone") {
            return Err(Error::one(
                format!("/{k}"),
                "unknown_key",
                "only time_zone can be set",
            ));
        }
        let Some(tz) = m.get("time_zone") else {
            return self.tenant_settings(p).await;
        };
        let Some(name) = tz.as_str() else {
            return Err(Error::one("/time_zone", "type", "an IANA time zone name"));
        };
        if name.parse::<chrono_tz::Tz>().is_err() {
            return Err(Error::one(
                "/time_zone",
                "unknown_time_zone",
                format!("'{name}' is not an IANA time zone such as Asia/Shanghai"),
            ));
        }
        let mut tx = self.core.begin(p.tenant, TxMode::Write).await?;
        tx.set_time_zone(name).await?;
        tx.commit().await?;
        self.invalidate_meta(p.tenant);
        self.tenant_settings(p).await
    }

    /// Create a tenant with an admin user and an API key for that admin.
    pub async fn create_tenant(
        &self,
        name: &str,
        admin_name: &str,
        admin_email: Option<&str>,
    ) -> Result<TenantCreated> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(Error::one(
                "/name",
                "length",
                "a tenant name is 1 to 100 characters",
            ));
        }
        let now = self.clock.now();
        let tenant = TenantId::new();
        self.store.create_tenant(tenant, name, now).await?;
        let user = UserId::new();
        let key = new_api_key();
        let mut tx = self.core.begin(tenant, TxMode::Write).await?;
        tx.insert_user(&UserRow {
            tenant,
            id: user.0,
            name: admin_name.to_owned(),
            email: admin_email.map(str::to_owned),
            mobile: None,
            status: "active".into(),
            is_admin: true,
            password_hash: None,
            primary_department: None,
            created_at: now,
        })
        .await?;
        tx.insert_api_key(&ApiKeyRow {
            tenant,
            id: Uuid::now_v7(),
            user_id: user.0,
            name: "admin".into(),
            prefix: key.chars().take(12).collect(),
            key_hash: sha256_hex(&key),
            created_at: now,
            last_used_at: None,
            revoked_at: None,
            expires_at: None,
        })
        .await?;
        tx.commit().await?;
        Ok(TenantCreated {
            tenant_id: tenant,
            name: name.to_owned(),
            admin_user_id: user,
            api_key: key,
        })
    }

    /// Resolve a bearer API key to its principal. Unknown, revoked or expired keys and
    /// disabled users all answer the same way.
    pub async fn authenticate_api_key(&self, token: &str) -> Result<Principal> {
        if !token.starts_with("wft_") || token.len() > 128 {
            return Err(Error::Unauthenticated);
        }
        let hash = sha256_hex(token);
        let now = self.clock.now();
        if let Some(p) = self.key_cache.get(&hash, self.config.auth_ttl, now) {
            return Ok(p);
        }
        let key = self
            .store
            .find_api_key(&hash)
            .await?
            .ok_or(Error::Unauthenticated)?;
        if key.revoked_at.is_some() || key.expires_at.is_some_and(|e| e <= now) {
            return Err(Error::Unauthenticated);
        }
        let mut tx = self.core.begin(key.tenant, TxMode::Read).await?;
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
            let mut tx = self.core.begin(key.tenant, TxMode::Write).await?;
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
        self.key_cache.put(hash, p.clone(), key.expires_at);
        Ok(p)
    }
}
