//! Attachments: bytes in the blob store, metadata in the `files` table, referenced from
//! attachment fields by id.

use std::sync::Arc;

use uuid::Uuid;

use crate::core::Core;
use crate::error::{Error, Result};
use crate::ids::sha256_bytes_hex;
use crate::ports::{FileRow, TxMode};
use crate::principal::Principal;

fn clean_name(name: &str) -> String {
    let n: String = name
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '/' | '\\' | '"'))
        .take(200)
        .collect();
    let n = n.trim().to_owned();
    if n.is_empty() { "file".into() } else { n }
}

fn clean_type(t: &str) -> String {
    let t = t
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let ok = t.len() <= 100
        && t.split('/').count() == 2
        && t.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/.+-_".contains(c));
    if ok {
        t
    } else {
        "application/octet-stream".into()
    }
}

/// Attachments.
#[derive(Clone)]
pub struct Files {
    core: Arc<Core>,
}

impl Files {
    pub fn new(core: Arc<Core>) -> Self {
        Self { core }
    }

    pub async fn upload_file(
        &self,
        p: &Principal,
        name: &str,
        content_type: &str,
        bytes: &[u8],
    ) -> Result<FileRow, FileError> {
        if bytes.is_empty() {
            return Err(Error::one("", "empty", "the file is empty").into());
        }
        self.may_upload(p).await?;
        let size = bytes.len() as u64;
        // Checked before the bytes are stored; concurrent uploads may overshoot by their sizes.
        let usage = self.usage(p).await?;
        let cfg = &self.core.config;
        if usage.user_bytes + size > cfg.upload_quota_user {
            return Err(FileError::UserQuota {
                quota: cfg.upload_quota_user,
                used: usage.user_bytes,
            });
        }
        if usage.tenant_bytes + size > cfg.storage_quota_tenant {
            return Err(FileError::TenantQuota {
                quota: cfg.storage_quota_tenant,
            });
        }
        let id = Uuid::now_v7();
        let key = format!("{}/{}", p.tenant.0.simple(), id.simple());
        self.core.blobs.put(&key, bytes).await?;
        let row = FileRow {
            id,
            name: clean_name(name),
            content_type: clean_type(content_type),
            size: bytes.len() as i64,
            sha256: sha256_bytes_hex(bytes),
            storage_key: key.clone(),
            created_by: p.user.0,
            created_at: self.core.clock.now(),
        };
        let mut tx = self.core.begin(p.tenant, TxMode::Write).await?;
        if let Err(e) = tx.insert_file(&row).await {
            drop(tx);
            self.core.blobs.delete(&key).await.ok();
            return Err(e.into());
        }
        tx.commit().await?;
        Ok(row)
    }

    /// Attachments stored by the tenant and by the caller, against their quotas.
    pub async fn usage(&self, p: &Principal) -> Result<StorageUsage, FileError> {
        let mut tx = self.core.begin(p.tenant, TxMode::Read).await?;
        let (tenant_files, tenant_bytes) = tx.file_usage(None).await?;
        let (user_files, user_bytes) = tx.file_usage(Some(p.user.0)).await?;
        tx.commit().await?;
        let b = |x: i64| u64::try_from(x).unwrap_or(0);
        Ok(StorageUsage {
            tenant_files: b(tenant_files),
            tenant_bytes: b(tenant_bytes),
            tenant_quota: self.core.config.storage_quota_tenant,
            user_files: b(user_files),
            user_bytes: b(user_bytes),
            user_quota: self.core.config.upload_quota_user,
        })
    }

    /// Uploading is for people who can put a file somewhere: admins, and users who may create
    /// or change records of an object with an attachment field.
    async fn may_upload(&self, p: &Principal) -> Result<(), FileError> {
        if p.view_as {
            return Err(FileError::NowhereToAttach);
        }
        if p.is_admin {
            return Ok(());
        }
        let meta = self.core.meta(p.tenant).await?;
        let org = self.core.org(p.tenant).await?;
        let allowed = meta.sorted().into_iter().any(|o| {
            o.live_fields()
                .any(|f| matches!(f.kind, weft_meta::FieldKind::Attachment { .. }))
                && {
                    let g = crate::access::guard_for(&org, p, o.api_name());
                    g.allows(crate::access::model::Op::Create)
                        || g.allows(crate::access::model::Op::Update)
                }
        });
        if allowed {
            Ok(())
        } else {
            Err(FileError::NowhereToAttach)
        }
    }

    pub async fn download_file(
        &self,
        p: &Principal,
        id: Uuid,
    ) -> Result<(FileRow, Vec<u8>), FileError> {
        let mut tx = self.core.begin(p.tenant, TxMode::Read).await?;
        let row = tx
            .files(&[id])
            .await?
            .pop()
            .ok_or_else(|| Error::not_found("file"))?;
        tx.commit().await?;
        let bytes = self
            .core
            .blobs
            .get(&row.storage_key)
            .await?
            .ok_or_else(|| Error::not_found("file"))?;
        Ok((row, bytes))
    }
}

/// Attachments stored, against the quotas (bytes).
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct StorageUsage {
    pub tenant_files: u64,
    pub tenant_bytes: u64,
    pub tenant_quota: u64,
    pub user_files: u64,
    pub user_bytes: u64,
    pub user_quota: u64,
}

fn mib(b: u64) -> String {
    format!("{:.1} MiB", b as f64 / (1024.0 * 1024.0))
}

/// The files service's own failure kinds (see [`crate::error`]).
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// The caller may not create or change any record with an attachment field.
    #[error("you may not attach files to any record")]
    NowhereToAttach,
    /// The caller's own files would exceed their quota.
    #[error("your files would exceed your quota of {} (you use {})", mib(*.quota), mib(*.used))]
    UserQuota { quota: u64, used: u64 },
    /// The tenant's files would exceed its storage quota.
    #[error("the organization's files would exceed its storage quota of {}", mib(*.quota))]
    TenantQuota { quota: u64 },
    /// A kind every service shares: validation problems, not found, storage failures.
    #[error(transparent)]
    Other(Error),
}

impl crate::error::ErrorKinds for FileError {
    fn named(&self) -> Option<crate::error::Named> {
        use crate::error::{Class, named};
        match self {
            Self::NowhereToAttach => named(
                Class::Forbidden,
                "files.forbidden",
                "你没有可以添加附件的记录权限",
            ),
            Self::UserQuota { quota, used } => named(
                Class::TooLarge,
                "quota.user",
                format!(
                    "上传后将超出你的附件配额 {}（已用 {}）",
                    mib(*quota),
                    mib(*used)
                ),
            ),
            Self::TenantQuota { quota } => named(
                Class::TooLarge,
                "quota.tenant",
                format!("上传后将超出本组织的存储配额 {}", mib(*quota)),
            ),
            Self::Other(_) => None,
        }
    }
}

crate::service_error!(FileError);
