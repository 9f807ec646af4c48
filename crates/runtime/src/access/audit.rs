//! The audit log: append-only, one hash chain per tenant. Each entry's hash covers the previous
//! entry's hash and the entry's canonical JSON, so changing, removing or reordering any entry
//! breaks every later hash; `verify_audit` finds the first broken sequence number.
//!
//! Security events (logins, keys, metadata and permission changes) are appended in the same
//! transaction as the change. Record writes are already in the change log; a sealing job
//! appends one `records.sealed` entry per batch of change-log rows, carrying the digest of
//! the batch, so tampering with sealed change-log rows is detected too (rows written in the
//! last few seconds before a seal are not yet covered).

use std::sync::Arc;

use serde::Serialize;
use serde_json::{Map, Value as Json, json};
use sha2::{Digest, Sha256};
use uuid::Uuid;
use weft_meta::TenantId;

use super::AccessError;
use super::ports::{AuditQuery, AuditRow};
use crate::core::Core;
use crate::error::Result;
use crate::ports::prelude::*;
use crate::ports::{ChangeEntry, TxMode};
use crate::principal::Principal;

pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// JSON with object keys sorted, recursively: one spelling per value.
pub fn canonical(v: &Json) -> String {
    fn sort(v: &Json) -> Json {
        match v {
            Json::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                let mut out = Map::new();
                for k in keys {
                    out.insert(k.clone(), sort(&m[k]));
                }
                Json::Object(out)
            }
            Json::Array(a) => Json::Array(a.iter().map(sort).collect()),
            other => other.clone(),
        }
    }
    sort(v).to_string()
}

fn entry_hash(tenant: TenantId, prev: &str, r: &AuditRow) -> String {
    let body = json!({
        "tenant": tenant.0, "seq": r.seq, "id": r.id, "at": weft_meta::value::datetime_string(&r.at),
        "actor": r.actor, "action": r.action, "object": r.object, "record_id": r.record_id, "detail": r.detail,
    });
    let mut h = Sha256::new();
    h.update(prev.as_bytes());
    h.update(b"\n");
    h.update(canonical(&body).as_bytes());
    hex::encode(h.finalize())
}

fn changes_digest(rows: &[ChangeEntry]) -> String {
    let mut h = Sha256::new();
    for c in rows {
        let body = json!({
            "id": c.id, "object": c.object, "record_id": c.record_id, "op": c.op, "actor": c.actor,
            "source": c.source, "at": weft_meta::value::datetime_string(&c.at), "version": c.version, "diff": c.diff,
        });
        h.update(canonical(&body).as_bytes());
        h.update(b"\n");
    }
    hex::encode(h.finalize())
}

#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    pub tenant: TenantId,
    pub entries: i64,
    pub sealed_changes: i64,
    pub ok: bool,
    /// The first sequence number whose hash (or sealed batch) does not verify.
    pub broken_at: Option<i64>,
    pub reason: Option<String>,
}

/// An audit event about to be appended.
pub struct Event<'a> {
    pub action: &'a str,
    pub object: Option<&'a str>,
    pub record_id: Option<Uuid>,
    pub detail: Json,
}

/// Append an event to the tenant's chain inside `tx`.
pub async fn append(
    tx: &mut dyn Tx,
    at: chrono::DateTime<chrono::Utc>,
    actor: Option<Uuid>,
    e: Event<'_>,
) -> Result<AuditRow> {
    let (seq, prev) = tx.audit_head_for_update().await?;
    let mut row = AuditRow {
        seq: seq + 1,
        id: Uuid::now_v7(),
        at,
        actor,
        action: e.action.to_owned(),
        object: e.object.map(str::to_owned),
        record_id: e.record_id,
        detail: e.detail,
        prev_hash: prev.clone(),
        hash: String::new(),
    };
    row.hash = entry_hash(tx.tenant(), &prev, &row);
    tx.insert_audit(&row).await?;
    tx.set_audit_head(row.seq, &row.hash).await?;
    Ok(row)
}

/// The tenant's audit log: reading, sealing the change log into it, verifying the chain.
#[derive(Clone)]
pub struct Audit {
    core: Arc<Core>,
}

impl Audit {
    pub fn new(core: Arc<Core>) -> Self {
        Self { core }
    }

    /// Append an event in its own transaction.
    pub async fn audit_now(
        &self,
        tenant: TenantId,
        actor: Option<Uuid>,
        e: Event<'_>,
    ) -> Result<(), AccessError> {
        let mut tx = self.core.begin(tenant, TxMode::Write).await?;
        self.core.audit(tx.as_mut(), actor, e).await?;
        Ok(tx.commit().await?)
    }

    /// Seal every tenant's change log (the sealer loop of `weft serve`); a tenant that fails
    /// is logged and skipped.
    pub async fn seal_all(&self) -> Result<(), AccessError> {
        for t in self.core.store.list_tenants().await? {
            if let Err(e) = self.seal_changes(t.id).await {
                tracing::warn!(tenant.id = %t.id, error = %e, "sealing the change log failed");
            }
        }
        Ok(())
    }

    /// Seal change-log rows into the chain, in batches; returns how many rows were sealed.
    pub async fn seal_changes(&self, tenant: TenantId) -> Result<u64, AccessError> {
        let mut total = 0;
        loop {
            let mut tx = self.core.begin(tenant, TxMode::Write).await?;
            let rows = tx.unsealed_changes(5_000).await?;
            if rows.is_empty() {
                tx.commit().await?;
                return Ok(total);
            }
            let digest = changes_digest(&rows);
            let first = rows.first().map(|r| r.id);
            let last = rows.last().map(|r| r.id);
            let entry = self.core
                .audit(
                    tx.as_mut(),
                    None,
                    Event {
                        action: "records.sealed",
                        object: None,
                        record_id: None,
                        detail: json!({"count": rows.len(), "digest": digest, "first": first, "last": last}),
                    },
                )
                .await?;
            let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
            tx.seal_changes(&ids, entry.seq).await?;
            tx.commit().await?;
            total += rows.len() as u64;
        }
    }

    /// Recompute the tenant's chain and every sealed batch.
    pub async fn verify_audit(&self, tenant: TenantId) -> Result<VerifyReport, AccessError> {
        let mut tx = self.core.begin(tenant, TxMode::Read).await?;
        let mut prev = GENESIS.to_owned();
        let mut expect_seq = 1;
        let mut report = VerifyReport {
            tenant,
            entries: 0,
            sealed_changes: 0,
            ok: true,
            broken_at: None,
            reason: None,
        };
        let mut after = 0;
        'outer: loop {
            let page = tx.audit_after(after, 1_000).await?;
            if page.is_empty() {
                break;
            }
            for r in &page {
                after = r.seq;
                let fail = |why: &str| (Some(r.seq), Some(why.to_owned()));
                let (broken, reason) = if r.seq != expect_seq {
                    fail("a sequence number is missing")
                } else if r.prev_hash != prev {
                    fail("the link to the previous entry does not match")
                } else if entry_hash(tenant, &prev, r) != r.hash {
                    fail("the entry was changed after it was written")
                } else if r.action == "records.sealed" {
                    let rows = tx.sealed_changes(r.seq).await?;
                    report.sealed_changes += rows.len() as i64;
                    let count = r.detail["count"].as_u64().unwrap_or(0) as usize;
                    if rows.len() != count
                        || r.detail["digest"].as_str() != Some(&changes_digest(&rows))
                    {
                        fail("change-log rows sealed by this entry were changed or removed")
                    } else {
                        (None, None)
                    }
                } else {
                    (None, None)
                };
                if broken.is_some() {
                    report.ok = false;
                    report.broken_at = broken;
                    report.reason = reason;
                    break 'outer;
                }
                report.entries += 1;
                prev = r.hash.clone();
                expect_seq += 1;
            }
        }
        tx.commit().await?;
        Ok(report)
    }

    /// Audit entries for admins, newest first.
    pub async fn audit_log(&self, p: &Principal, q: &AuditQuery) -> Result<AuditPage, AccessError> {
        if !p.is_admin || p.view_as {
            return Err(AccessError::AuditAdminOnly);
        }
        let mut tx = self.core.begin(p.tenant, TxMode::Read).await?;
        let mut q = q.clone();
        q.limit = q.limit.clamp(1, 500);
        let entries = tx.audit_page(&q).await?;
        tx.commit().await?;
        Ok(AuditPage { entries })
    }
}

/// A page of the audit log, newest first.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct AuditPage {
    pub entries: Vec<super::ports::AuditRow>,
}
