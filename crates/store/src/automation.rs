//! Storage for rules and automation: the `AutomationTx` port (rule documents, the outbox and
//! run log, webhook deliveries, notifications) and the cross-tenant outbox claim.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, FromQueryResult,
    IntoActiveModel, QueryFilter, QueryOrder, QuerySelect, TryInsertResult,
};
use uuid::Uuid;
use weft_runtime::Result;
use weft_runtime::automation::ports::{
    AutomationStore, AutomationTx, DeliveryRow, NotificationRow, OutboxPayload, OutboxRow, RuleRow,
    RunStatus,
};
use weft_runtime::ports::Backend;

use crate::claims::Claim;
use crate::entities::{
    automation_outbox as outbox, automation_rules as rules, notifications,
    webhook_deliveries as deliveries,
};
use crate::errors::db;
use crate::tx::SeaTx;
use crate::tx::metadata::bump_meta_version;

fn rule_row(m: rules::Model) -> RuleRow {
    RuleRow {
        id: m.id,
        api_name: m.api_name,
        object: m.object,
        kind: m.kind,
        active: m.active,
        version: m.version,
        doc: m.doc,
        created_by: m.created_by,
        created_at: m.created_at,
        updated_by: m.updated_by,
        updated_at: m.updated_at,
    }
}

/// A stored run. Its status column holds a [`RunStatus`] name; its payload and progress
/// columns the JSON of [`OutboxPayload`] and [`RunProgress`] (a payload that no longer reads
/// is kept as [`OutboxPayload::Unreadable`], progress that does not as empty progress).
pub(crate) fn outbox_row(m: outbox::Model) -> Result<OutboxRow> {
    let status = RunStatus::parse(&m.status).ok_or_else(|| {
        weft_runtime::Error::internal(format!("run {} has an unknown status '{}'", m.id, m.status))
    })?;
    Ok(OutboxRow {
        id: m.id,
        tenant: m.tenant_id,
        rule_id: m.rule_id,
        rule: m.rule,
        object: m.object,
        record_id: m.record_id,
        event: m.event,
        payload: serde_json::from_value(m.payload.clone())
            .unwrap_or(OutboxPayload::Unreadable(m.payload)),
        status,
        attempts: m.attempts,
        max_attempts: m.max_attempts,
        depth: m.depth,
        idempotency_key: m.idempotency_key,
        progress: serde_json::from_value(m.progress).unwrap_or_default(),
        error: m.error,
        run_at: m.run_at,
        lease_until: m.lease_until,
        lease_owner: m.lease_owner,
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

fn outbox_model(tenant: Uuid, r: &OutboxRow) -> Result<outbox::Model> {
    Ok(outbox::Model {
        tenant_id: tenant,
        id: r.id,
        rule_id: r.rule_id,
        rule: r.rule.clone(),
        object: r.object.clone(),
        record_id: r.record_id,
        event: r.event.clone(),
        payload: serde_json::to_value(&r.payload).map_err(weft_runtime::Error::internal)?,
        status: r.status.as_str().to_owned(),
        attempts: r.attempts,
        max_attempts: r.max_attempts,
        depth: r.depth,
        idempotency_key: r.idempotency_key.clone(),
        progress: serde_json::to_value(&r.progress).map_err(weft_runtime::Error::internal)?,
        error: r.error.clone(),
        run_at: r.run_at,
        lease_until: r.lease_until,
        lease_owner: r.lease_owner.clone(),
        created_at: r.created_at,
        updated_at: r.updated_at,
    })
}

fn delivery_row(m: deliveries::Model) -> DeliveryRow {
    DeliveryRow {
        id: m.id,
        job_id: m.job_id,
        action_index: m.action_index,
        url: m.url,
        idempotency_key: m.idempotency_key,
        attempt: m.attempt,
        status_code: m.status_code,
        ok: m.ok,
        error: m.error,
        request_body: m.request_body,
        response_excerpt: m.response_excerpt,
        at: m.at,
    }
}

fn notification_row(m: notifications::Model) -> NotificationRow {
    NotificationRow {
        id: m.id,
        user_id: m.user_id,
        title: m.title,
        body: m.body,
        object: m.object,
        record_id: m.record_id,
        rule: m.rule,
        idempotency_key: m.idempotency_key,
        read_at: m.read_at,
        created_at: m.created_at,
    }
}

#[async_trait]
impl AutomationTx for SeaTx {
    async fn load_rules(&mut self) -> Result<Vec<RuleRow>> {
        Ok(rules::Entity::find()
            .filter(self.tf(rules::Column::TenantId))
            .order_by_asc(rules::Column::ApiName)
            .all(&self.txn)
            .await
            .map_err(db)?
            .into_iter()
            .map(rule_row)
            .collect())
    }

    async fn save_rule(&mut self, r: &RuleRow) -> Result<()> {
        let t = self.t();
        let exists = rules::Entity::find()
            .filter(self.tf(rules::Column::TenantId))
            .filter(rules::Column::Id.eq(r.id))
            .one(&self.txn)
            .await
            .map_err(db)?
            .is_some();
        let m = rules::Model {
            tenant_id: t,
            id: r.id,
            api_name: r.api_name.clone(),
            object: r.object.clone(),
            kind: r.kind.clone(),
            active: r.active,
            version: r.version,
            doc: r.doc.clone(),
            created_by: r.created_by,
            created_at: r.created_at,
            updated_by: r.updated_by,
            updated_at: r.updated_at,
        };
        let am = m.into_active_model().reset_all();
        if exists {
            am.update(&self.txn).await.map_err(db)?;
        } else {
            am.insert(&self.txn).await.map_err(db)?;
        }
        Ok(())
    }

    async fn delete_rule(&mut self, id: Uuid) -> Result<bool> {
        let r = rules::Entity::delete_many()
            .filter(self.tf(rules::Column::TenantId))
            .filter(rules::Column::Id.eq(id))
            .exec(&self.txn)
            .await
            .map_err(db)?;
        Ok(r.rows_affected > 0)
    }

    async fn bump_rules_version(&mut self) -> Result<()> {
        bump_meta_version(self).await
    }

    async fn enqueue_runs(&mut self, rows: &[OutboxRow]) -> Result<()> {
        for r in rows {
            if !self.enqueue_run_once(r).await? {
                tracing::debug!(run.key = %r.idempotency_key, "run already queued");
            }
        }
        Ok(())
    }

    async fn skip_queued_runs(&mut self, key_prefix: &str, reason: &str) -> Result<u64> {
        let res = outbox::Entity::update_many()
            .col_expr(
                outbox::Column::Status,
                Expr::val(RunStatus::Skipped.as_str()),
            )
            .col_expr(outbox::Column::Error, Expr::val(reason.to_owned()))
            .filter(self.tf(outbox::Column::TenantId))
            .filter(outbox::Column::Status.eq(RunStatus::Queued.as_str()))
            .filter(outbox::Column::IdempotencyKey.starts_with(key_prefix))
            .exec(&self.txn)
            .await
            .map_err(db)?;
        Ok(res.rows_affected)
    }

    // `do_nothing` (deprecated in sea-orm 2 in favour of `try_insert`) still reports a
    // conflict as `TryInsertResult::Conflicted`, which is what this insert needs.
    #[allow(deprecated)]
    async fn enqueue_run_once(&mut self, r: &OutboxRow) -> Result<bool> {
        let am = outbox_model(self.t(), r)?.into_active_model().reset_all();
        let res = outbox::Entity::insert(am)
            .on_conflict(
                OnConflict::columns([outbox::Column::TenantId, outbox::Column::IdempotencyKey])
                    .do_nothing()
                    .to_owned(),
            )
            .do_nothing()
            .exec(&self.txn)
            .await
            .map_err(db)?;
        Ok(!matches!(res, TryInsertResult::Conflicted))
    }

    async fn update_run(&mut self, r: &OutboxRow) -> Result<()> {
        // The primary key leads with this transaction's tenant: the update cannot reach
        // another tenant's row.
        let am = outbox_model(self.t(), r)?.into_active_model().reset_all();
        am.update(&self.txn).await.map_err(db)?;
        Ok(())
    }

    async fn run(&mut self, id: Uuid) -> Result<Option<OutboxRow>> {
        outbox::Entity::find()
            .filter(self.tf(outbox::Column::TenantId))
            .filter(outbox::Column::Id.eq(id))
            .one(&self.txn)
            .await
            .map_err(db)?
            .map(outbox_row)
            .transpose()
    }

    async fn runs(&mut self, status: Option<RunStatus>, limit: u32) -> Result<Vec<OutboxRow>> {
        let mut q = outbox::Entity::find().filter(self.tf(outbox::Column::TenantId));
        if let Some(s) = status {
            q = q.filter(outbox::Column::Status.eq(s.as_str()));
        }
        q.order_by_desc(outbox::Column::Id)
            .limit(u64::from(limit))
            .all(&self.txn)
            .await
            .map_err(db)?
            .into_iter()
            .map(outbox_row)
            .collect()
    }

    async fn insert_delivery(&mut self, r: &DeliveryRow) -> Result<()> {
        let m = deliveries::Model {
            tenant_id: self.t(),
            id: r.id,
            job_id: r.job_id,
            action_index: r.action_index,
            url: r.url.clone(),
            idempotency_key: r.idempotency_key.clone(),
            attempt: r.attempt,
            status_code: r.status_code,
            ok: r.ok,
            error: r.error.clone(),
            request_body: r.request_body.clone(),
            response_excerpt: r.response_excerpt.clone(),
            at: r.at,
        };
        m.into_active_model()
            .reset_all()
            .insert(&self.txn)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn delivery(&mut self, id: Uuid) -> Result<Option<DeliveryRow>> {
        Ok(deliveries::Entity::find()
            .filter(self.tf(deliveries::Column::TenantId))
            .filter(deliveries::Column::Id.eq(id))
            .one(&self.txn)
            .await
            .map_err(db)?
            .map(delivery_row))
    }

    async fn deliveries(&mut self, job: Option<Uuid>, limit: u32) -> Result<Vec<DeliveryRow>> {
        let mut q = deliveries::Entity::find().filter(self.tf(deliveries::Column::TenantId));
        if let Some(j) = job {
            q = q.filter(deliveries::Column::JobId.eq(j));
        }
        Ok(q.order_by_desc(deliveries::Column::Id)
            .limit(u64::from(limit))
            .all(&self.txn)
            .await
            .map_err(db)?
            .into_iter()
            .map(delivery_row)
            .collect())
    }

    #[allow(deprecated)]
    async fn insert_notification(&mut self, r: &NotificationRow) -> Result<bool> {
        let m = notifications::Model {
            tenant_id: self.t(),
            id: r.id,
            user_id: r.user_id,
            title: r.title.clone(),
            body: r.body.clone(),
            object: r.object.clone(),
            record_id: r.record_id,
            rule: r.rule.clone(),
            idempotency_key: r.idempotency_key.clone(),
            read_at: r.read_at,
            created_at: r.created_at,
        };
        let res = notifications::Entity::insert(m.into_active_model().reset_all())
            .on_conflict(
                OnConflict::columns([
                    notifications::Column::TenantId,
                    notifications::Column::IdempotencyKey,
                ])
                .do_nothing()
                .to_owned(),
            )
            .do_nothing()
            .exec(&self.txn)
            .await
            .map_err(db)?;
        Ok(!matches!(res, TryInsertResult::Conflicted))
    }

    async fn notifications(
        &mut self,
        user: Uuid,
        unread_only: bool,
        limit: u32,
    ) -> Result<Vec<NotificationRow>> {
        let mut q = notifications::Entity::find()
            .filter(self.tf(notifications::Column::TenantId))
            .filter(notifications::Column::UserId.eq(user));
        if unread_only {
            q = q.filter(notifications::Column::ReadAt.is_null());
        }
        Ok(q.order_by_desc(notifications::Column::Id)
            .limit(u64::from(limit))
            .all(&self.txn)
            .await
            .map_err(db)?
            .into_iter()
            .map(notification_row)
            .collect())
    }

    async fn mark_notification_read(
        &mut self,
        user: Uuid,
        id: Uuid,
        at: DateTime<Utc>,
    ) -> Result<bool> {
        let r = notifications::Entity::update_many()
            .col_expr(notifications::Column::ReadAt, Expr::val(at))
            .filter(self.tf(notifications::Column::TenantId))
            .filter(notifications::Column::UserId.eq(user))
            .filter(notifications::Column::Id.eq(id))
            .exec(&self.txn)
            .await
            .map_err(db)?;
        Ok(r.rows_affected > 0)
    }
}

/// Claim due runs of any tenant with a lease (see `crate::claims`). A run is due when it is
/// queued (or running with an expired lease: its worker died) and its `run_at` has come.
pub(crate) async fn claim_runs(
    c: &DatabaseConnection,
    backend: Backend,
    worker: &str,
    limit: u32,
    lease_secs: i64,
    now: DateTime<Utc>,
    skip_tenants: &[Uuid],
) -> Result<Vec<OutboxRow>> {
    let rows = Claim::runs()
        .excluding(skip_tenants)
        .run(c, backend, worker, limit, lease_secs, now)
        .await?;
    rows.iter()
        .map(|r| outbox_row(outbox::Model::from_query_result(r, "").map_err(db)?))
        .collect()
}

#[async_trait]
impl AutomationStore for crate::SeaStore {
    async fn claim_runs(
        &self,
        worker: &str,
        limit: u32,
        lease_secs: i64,
        now: DateTime<Utc>,
        skip_tenants: &[Uuid],
    ) -> Result<Vec<OutboxRow>> {
        claim_runs(
            self.connection(),
            <Self as weft_runtime::ports::Store>::backend(self),
            worker,
            limit,
            lease_secs,
            now,
            skip_tenants,
        )
        .await
    }

    async fn timed_rules(&self) -> Result<Vec<(Uuid, RuleRow)>> {
        let rows = rules::Entity::find()
            .filter(rules::Column::Kind.eq("trigger"))
            .filter(rules::Column::Active.eq(true))
            .order_by_asc(rules::Column::TenantId)
            .order_by_asc(rules::Column::ApiName)
            .all(self.connection())
            .await
            .map_err(db)?;
        Ok(rows
            .into_iter()
            .filter(|m| {
                m.doc["on"]
                    .as_array()
                    .is_some_and(|on| on.iter().any(|e| e == "schedule" || e == "date"))
            })
            .map(|m| (m.tenant_id, rule_row(m)))
            .collect())
    }
}
