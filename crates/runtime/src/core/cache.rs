//! Compiled metadata per tenant, rebuilt when the tenant's metadata version moves.
//!
//! Invariant: a process serves metadata at most `ttl` older than the database; its own changes
//! invalidate its cache at once. Other processes notice within `ttl` (a version check, one
//! indexed read, not a reload).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use weft_meta::{CompiledObject, TenantId};

#[derive(Debug)]
pub struct TenantMeta {
    pub version: i64,
    pub objects: HashMap<String, Arc<CompiledObject>>,
    /// The tenant's time zone: the day `today()` means in its rules.
    pub tz: chrono_tz::Tz,
    checked_at: Instant,
}

impl TenantMeta {
    pub fn new(version: i64, objects: HashMap<String, Arc<CompiledObject>>) -> Self {
        Self {
            version,
            objects,
            tz: chrono_tz::Tz::UTC,
            checked_at: Instant::now(),
        }
    }

    pub fn with_tz(mut self, tz: chrono_tz::Tz) -> Self {
        self.tz = tz;
        self
    }

    pub fn object(&self, name: &str) -> Option<&Arc<CompiledObject>> {
        self.objects.get(name)
    }

    /// Objects in a stable order (by API name).
    pub fn sorted(&self) -> Vec<&Arc<CompiledObject>> {
        let mut v: Vec<_> = self.objects.values().collect();
        v.sort_by(|a, b| a.api_name().cmp(b.api_name()));
        v
    }
}

#[derive(Debug)]
pub struct MetaCache {
    map: RwLock<HashMap<TenantId, Arc<TenantMeta>>>,
    pub ttl: Duration,
}

impl MetaCache {
    pub fn new(ttl: Duration) -> Self {
        Self {
            map: RwLock::new(HashMap::new()),
            ttl,
        }
    }

    /// A cached entry young enough to use without checking the database.
    pub fn fresh(&self, tenant: TenantId) -> Option<Arc<TenantMeta>> {
        let map = self.map.read().ok()?;
        map.get(&tenant)
            .filter(|m| m.checked_at.elapsed() < self.ttl)
            .cloned()
    }

    /// The cached entry of any age.
    pub fn any(&self, tenant: TenantId) -> Option<Arc<TenantMeta>> {
        self.map.read().ok()?.get(&tenant).cloned()
    }

    pub fn put(&self, tenant: TenantId, meta: Arc<TenantMeta>) {
        if let Ok(mut map) = self.map.write() {
            map.insert(tenant, meta);
        }
    }

    /// Mark a still-current entry as checked now.
    pub fn touch(&self, tenant: TenantId, version: i64) -> Option<Arc<TenantMeta>> {
        let mut map = self.map.write().ok()?;
        let cur = map.get(&tenant)?;
        if cur.version != version {
            return None;
        }
        let fresh = Arc::new(TenantMeta {
            version,
            objects: cur.objects.clone(),
            tz: cur.tz,
            checked_at: Instant::now(),
        });
        map.insert(tenant, fresh.clone());
        Some(fresh)
    }

    pub fn invalidate(&self, tenant: TenantId) {
        if let Ok(mut map) = self.map.write() {
            map.remove(&tenant);
        }
    }
}
