//! Tenants, their first admin, and API-key authentication.

use std::sync::Arc;

use serde::Serialize;
use uuid::Uuid;
use weft_meta::{TenantId, UserId};

use crate::core::Core;
use crate::error::{Error, Result};
use crate::ids::{new_api_key, sha256_hex};
use crate::ports::{ApiKeyRow, TxMode, UserRow};
use crate::principal::Principal;

#[derive(Debug, Clone, Serialize)]
pub struct TenantCreated {
    pub tenant_id: TenantId,
    pub name: String,
    pub admin_user_id: UserId,
    /// Shown once; only its hash is stored.
    pub api_key: String,
}

/// Tenants: provisioning and their settings.
/// A tenant's settings.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct TenantSettings {
    /// IANA time zone, e.g. `Asia/Shanghai`: `today()` in rules and formulas is the date there.
    pub time_zone: String,
}

#[derive(Clone)]
pub struct Tenants {
    core: Arc<Core>,
}

impl Tenants {
    pub fn new(core: Arc<Core>) -> Self {
        Self { core }
    }

    /// The tenant's settings: `{time_zone}`.
    pub async fn tenant_settings(&self, p: &Principal) -> Result<TenantSettings, TenantError> {
        let mut tx = self.core.begin(p.tenant, TxMode::Read).await?;
        let time_zone = tx.time_zone().await?;
        tx.commit().await?;
        Ok(TenantSettings { time_zone })
    }

    /// Change the tenant's settings (admins). `time_zone` is an IANA name such as
    /// `Asia/Shanghai`; rules and formulas see `today()` as the date there from the next
    /// write on.
    pub async fn update_tenant_settings(
        &self,
        p: &Principal,
        body: &serde_json::Value,
    ) -> Result<TenantSettings, TenantError> {
        crate::flows::require_admin(p)?;
        let Some(m) = body.as_object() else {
            return Err(Error::one("", "type", "the body must be a JSON object").into());
        };
        if let Some(k) = m.keys().find(|k| k.as_str() != "time_zone") {
            return Err(
                Error::one(format!("/{k}"), "unknown_key", "only time_zone can be set").into(),
            );
        }
        let Some(tz) = m.get("time_zone") else {
            return self.tenant_settings(p).await;
        };
        let Some(name) = tz.as_str() else {
            return Err(Error::one("/time_zone", "type", "an IANA time zone name").into());
        };
        if name.parse::<chrono_tz::Tz>().is_err() {
            return Err(Error::one(
                "/time_zone",
                "unknown_time_zone",
                format!("'{name}' is not an IANA time zone such as Asia/Shanghai"),
            )
            .into());
        }
        let mut tx = self.core.begin(p.tenant, TxMode::Write).await?;
        tx.set_time_zone(name).await?;
        tx.commit().await?;
        self.core.invalidate_meta(p.tenant);
        self.tenant_settings(p).await
    }

    /// Create a tenant with an admin user and an API key for that admin.
    pub async fn create_tenant(
        &self,
        name: &str,
        admin_name: &str,
        admin_email: Option<&str>,
    ) -> Result<TenantCreated, TenantError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(
                Error::one("/name", "length", "a tenant name is 1 to 100 characters").into(),
            );
        }
        let now = self.core.clock.now();
        let tenant = TenantId::new();
        self.core.store().create_tenant(tenant, name, now).await?;
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
}

/// The tenants service's own failure kinds (see [`crate::error`]).
#[derive(Debug, thiserror::Error)]
pub enum TenantError {
    /// A kind every service shares: validation problems, not found, storage failures.
    #[error(transparent)]
    Other(Error),
}

impl crate::error::ErrorKinds for TenantError {
    fn named(&self) -> Option<crate::error::Named> {
        match self {
            Self::Other(_) => None,
        }
    }
}

crate::service_error!(TenantError);
