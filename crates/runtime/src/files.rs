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

/// The files service's own failure kinds (see [`crate::error`]).
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// A kind every service shares: validation problems, not found, storage failures.
    #[error(transparent)]
    Other(Error),
}

impl crate::error::ErrorKinds for FileError {
    fn named(&self) -> Option<crate::error::Named> {
        match self {
            Self::Other(_) => None,
        }
    }
}

crate::service_error!(FileError);
