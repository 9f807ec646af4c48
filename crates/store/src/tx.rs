//! The tenant-bound transaction: the runtime's `Tx` port on sea-orm.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, OnConflict, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, DbBackend, EntityTrait,
    IntoActiveModel, QueryFilter, QueryOrder, QuerySelect, Set, Statement,
};
use uuid::Uuid;
use weft_meta::query::{Pred, QueryPlan};
use weft_meta::{CompiledObject, FieldDef, FieldKind, ObjectDef, TenantId, Value, Values};
use weft_runtime::ports::{
    ApiKeyRow, Backend, ChangeEntry, FetchOpts, FileRow, IdempotencyRow, JobRow, MetaRevision,
    RecordRow, Tx, UpdateMeta, UserRow,
};
use weft_runtime::{Error, Result};

use crate::entities::{
    api_keys, change_log, counters, departments, files, idempotency_keys, jobs, meta_objects,
    meta_revisions, tenants, users,
};
use crate::errors::{db, record_write};
use crate::names::{Names, shadow_col};
use crate::{ddl, platform, records};

pub struct SeaTx {
    /// Whether queries on platform tables carry the application's own `tenant_id = …`
    /// condition. Always on, except in the isolation test that proves row-level security
    /// alone keeps tenants apart on PostgreSQL.
    pub(crate) app_filter: bool,
    pub(crate) txn: DatabaseTransaction,
    pub(crate) tenant: TenantId,
    pub(crate) names: Names,
}

impl SeaTx {
    pub fn new(txn: DatabaseTransaction, tenant: TenantId, names: Names, app_filter: bool) -> Self {
        Self {
            app_filter,
            txn,
            tenant,
            names,
        }
    }

    /// The application-layer condition selecting this tenant's row of `tenants`.
    pub(crate) fn tenant_row(&self) -> sea_orm::Condition {
        if self.app_filter {
            sea_orm::Condition::all().add(tenants::Column::Id.eq(self.t()))
        } else {
            sea_orm::Condition::all()
        }
    }

    /// The application-layer tenant condition on a platform table's `tenant_id` column.
    pub(crate) fn tf<C: ColumnTrait>(&self, col: C) -> sea_orm::Condition {
        if self.app_filter {
            sea_orm::Condition::all().add(col.eq(self.t()))
        } else {
            sea_orm::Condition::all()
        }
    }

    pub(crate) fn t(&self) -> Uuid {
        self.tenant.0
    }

    async fn run_ddl(&self, stmts: Vec<String>) -> Result<()> {
        for s in stmts {
            self.txn.execute_unprepared(&s).await.map_err(|e| {
                tracing::warn!(sql = %s, error = %e, "DDL failed");
                match e.sql_err() {
                    Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => Error::conflict(
                        "duplicate_values",
                        "existing records hold duplicate values; make them unique first",
                    ),
                    _ => db(e),
                }
            })?;
        }
        Ok(())
    }

    async fn sqlite_has_column(&self, table: &str, column: &str) -> Result<bool> {
        let row = self
            .txn
            .query_one_raw(Statement::from_sql_and_values(
                DbBackend::Sqlite,
                "SELECT 1 FROM pragma_table_info(?) WHERE name = ?",
                [table.into(), column.into()],
            ))
            .await
            .map_err(db)?;
        Ok(row.is_some())
    }
}

#[async_trait]
impl Tx for SeaTx {
    fn tenant(&self) -> TenantId {
        self.tenant
    }

    fn backend(&self) -> Backend {
        self.names.backend
    }

    async fn commit(self: Box<Self>) -> Result<()> {
        self.txn.commit().await.map_err(db)
    }

    // ---- metadata ----

    async fn meta_version(&mut self) -> Result<i64> {
        let t = tenants::Entity::find()
            .filter(self.tenant_row())
            .one(&self.txn)
            .await
            .map_err(db)?
            .ok_or_else(|| Error::not_found("tenant"))?;
        Ok(t.meta_version)
    }

    async fn time_zone(&mut self) -> Result<String> {
        let t = tenants::Entity::find()
            .filter(self.tenant_row())
            .one(&self.txn)
            .await
            .map_err(db)?
            .ok_or_else(|| Error::not_found("tenant"))?;
        Ok(t.time_zone)
    }

    async fn set_time_zone(&mut self, tz: &str) -> Result<()> {
        tenants::Entity::update_many()
            .col_expr(tenants::Column::TimeZone, Expr::value(tz.to_owned()))
            .filter(self.tenant_row())
            .exec(&self.txn)
            .await
            .map_err(db)?;
        self.bump_meta_version().await
    }

    async fn load_objects(&mut self) -> Result<Vec<ObjectDef>> {
        let rows = meta_objects::Entity::find()
            .filter(self.tf(meta_objects::Column::TenantId))
            .order_by_asc(meta_objects::Column::ApiName)
            .all(&self.txn)
            .await
            .map_err(db)?;
        rows.into_iter()
            .map(|r| {
                serde_json::from_value::<ObjectDef>(r.doc).map_err(|e| {
                    Error::internal(format!("stored object '{}' unreadable: {e}", r.api_name))
                })
            })
            .collect()
    }

    async fn save_object(&mut self, def: &ObjectDef, rev: &MetaRevision) -> Result<()> {
        let doc = serde_json::to_value(def).map_err(Error::internal)?;
        let existing = meta_objects::Entity::find()
            .filter(self.tf(meta_objects::Column::TenantId))
            .filter(meta_objects::Column::Id.eq(def.id.0))
            .one(&self.txn)
            .await
            .map_err(db)?;
        match existing {
            Some(m) => {
                let mut am = m.into_active_model();
                am.version = Set(def.version);
                am.doc = Set(doc);
                am.updated_at = Set(rev.at);
                am.update(&self.txn).await.map_err(db)?;
            }
            None => {
                meta_objects::ActiveModel {
                    tenant_id: Set(self.t()),
                    id: Set(def.id.0),
                    api_name: Set(def.api_name.to_string()),
                    version: Set(def.version),
                    doc: Set(doc),
                    created_at: Set(rev.at),
                    updated_at: Set(rev.at),
                }
                .insert(&self.txn)
                .await
                .map_err(db)?;
            }
        }
        self.insert_revision(rev).await?;
        self.bump_meta_version().await
    }

    async fn delete_object_doc(&mut self, def: &ObjectDef, rev: &MetaRevision) -> Result<()> {
        meta_objects::Entity::delete_by_id((self.t(), def.id.0))
            .exec(&self.txn)
            .await
            .map_err(db)?;
        self.insert_revision(rev).await?;
        self.bump_meta_version().await
    }

    async fn meta_revisions(&mut self, object: &str, limit: u32) -> Result<Vec<MetaRevision>> {
        let rows = meta_revisions::Entity::find()
            .filter(self.tf(meta_revisions::Column::TenantId))
            .filter(meta_revisions::Column::Object.eq(object))
            .order_by_desc(meta_revisions::Column::Id)
            .limit(u64::from(limit))
            .all(&self.txn)
            .await
            .map_err(db)?;
        Ok(rows
            .into_iter()
            .map(|r| MetaRevision {
                id: r.id,
                object_id: r.object_id,
                object: r.object,
                version: r.version,
                action: r.action,
                actor: r.actor,
                at: r.at,
                summary: r.summary,
                doc: r.doc,
            })
            .collect())
    }

    // ---- DDL ----

    async fn create_object_storage(&mut self, def: &ObjectDef) -> Result<()> {
        self.run_ddl(ddl::create_object(&self.names, def)).await
    }

    async fn drop_object_storage(&mut self, def: &ObjectDef) -> Result<()> {
        self.run_ddl(ddl::drop_object(&self.names, def)).await
    }

    async fn add_field_storage(&mut self, def: &ObjectDef, field: &FieldDef) -> Result<()> {
        self.run_ddl(ddl::add_field(&self.names, def, field)).await
    }

    async fn drop_field_storage(&mut self, def: &ObjectDef, field: &FieldDef) -> Result<()> {
        let is_ref = matches!(
            field.kind,
            FieldKind::Lookup { .. } | FieldKind::MasterDetail { .. }
        );
        if self.names.backend == Backend::Sqlite && is_ref {
            // SQLite cannot drop a column that carries a foreign key: clear it and move it
            // aside so the API name is free again.
            let t = self.names.table(def.api_name.as_str());
            let c = crate::names::ident(field.name());
            let aside = crate::names::ident(&format!(
                "{}__purged_{}",
                field.name(),
                &Uuid::now_v7().simple().to_string()[..8]
            ));
            let mut stmts = ddl::drop_field_indexes(&self.names, def.api_name.as_str(), field);
            stmts.push(format!("UPDATE {t} SET {c} = NULL"));
            stmts.push(format!("ALTER TABLE {t} RENAME COLUMN {c} TO {aside}"));
            return self.run_ddl(stmts).await;
        }
        self.run_ddl(ddl::drop_field(&self.names, def, field)).await
    }

    async fn sync_field_indexes(
        &mut self,
        def: &ObjectDef,
        old: &FieldDef,
        new: &FieldDef,
    ) -> Result<()> {
        let object = def.api_name.as_str();
        let mut stmts = ddl::drop_field_indexes(&self.names, object, old);
        stmts.extend(ddl::field_indexes(&self.names, object, new));
        self.run_ddl(stmts).await
    }

    async fn add_shadow_column(&mut self, def: &ObjectDef, new: &FieldDef) -> Result<()> {
        self.drop_shadow_column(def, new).await?;
        let stmts: Vec<String> = ddl::add_shadow(&self.names, def, new)
            .into_iter()
            .filter(|s| s.contains("ADD COLUMN"))
            .collect();
        self.run_ddl(stmts).await
    }

    async fn drop_shadow_column(&mut self, def: &ObjectDef, new: &FieldDef) -> Result<()> {
        let stmts = ddl::drop_shadow(&self.names, def, new);
        if self.names.backend == Backend::Sqlite {
            let table = format!("t{}__{}", self.names.key, def.api_name);
            let shadow = shadow_col(new.name());
            if !self.sqlite_has_column(&table, &shadow).await? {
                return Ok(());
            }
            let cur = crate::names::currency_col(&shadow);
            let mut keep = vec![stmts[0].clone()];
            if self.sqlite_has_column(&table, &cur).await? && stmts.len() > 1 {
                keep.push(stmts[1].clone());
            }
            return self.run_ddl(keep).await;
        }
        self.run_ddl(stmts).await
    }

    async fn write_shadow(
        &mut self,
        def: &ObjectDef,
        new: &FieldDef,
        rows: &[(Uuid, Value)],
    ) -> Result<()> {
        let obj = CompiledObject::compile(def.clone()).map_err(Error::internal)?;
        records::write_shadow(&self.txn, &self.names, &obj, new, rows)
            .await
            .map_err(db)
    }

    async fn swap_shadow(&mut self, def: &ObjectDef, old: &FieldDef, new: &FieldDef) -> Result<()> {
        self.run_ddl(ddl::swap_shadow(&self.names, def, old, new))
            .await
    }

    async fn scan_column(
        &mut self,
        obj: &CompiledObject,
        field: &str,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<(Uuid, Value)>> {
        records::scan_column(&self.txn, &self.names, obj, field, after, limit)
            .await
            .map_err(db)
    }

    // ---- records ----

    async fn insert_records(&mut self, obj: &CompiledObject, rows: &[RecordRow]) -> Result<()> {
        records::insert(&self.txn, &self.names, obj, rows)
            .await
            .map_err(|e| record_write(e, &self.names, obj))
    }

    async fn update_record(
        &mut self,
        obj: &CompiledObject,
        id: Uuid,
        expected_version: i64,
        meta: &UpdateMeta,
        values: &Values,
    ) -> Result<Option<RecordRow>> {
        records::update(
            &self.txn,
            &self.names,
            obj,
            id,
            expected_version,
            meta,
            values,
        )
        .await
        .map_err(|e| record_write(e, &self.names, obj))
    }

    async fn fetch_scoped(
        &mut self,
        obj: &CompiledObject,
        ids: &[Uuid],
        opts: FetchOpts,
        scope: Option<&Pred>,
    ) -> Result<Vec<RecordRow>> {
        records::fetch(&self.txn, &self.names, obj, ids, opts, scope)
            .await
            .map_err(db)
    }

    async fn query_records(
        &mut self,
        obj: &CompiledObject,
        plan: &QueryPlan,
        extra: Option<&Pred>,
        opts: FetchOpts,
    ) -> Result<Vec<RecordRow>> {
        records::query(&self.txn, &self.names, obj, plan, extra, opts)
            .await
            .map_err(db)
    }

    async fn count_records(
        &mut self,
        obj: &CompiledObject,
        filter: Option<&Pred>,
        extra: Option<&Pred>,
        opts: FetchOpts,
    ) -> Result<i64> {
        records::count(&self.txn, &self.names, obj, filter, extra, opts)
            .await
            .map_err(db)
    }

    async fn existing_ids(&mut self, obj: &CompiledObject, ids: &[Uuid]) -> Result<Vec<Uuid>> {
        records::existing_ids(&self.txn, &self.names, obj, ids)
            .await
            .map_err(db)
    }

    async fn taken_values(
        &mut self,
        obj: &CompiledObject,
        field: &str,
        values: &[Value],
        exclude: &[Uuid],
    ) -> Result<Vec<Value>> {
        records::taken_values(&self.txn, &self.names, obj, field, values, exclude)
            .await
            .map_err(db)
    }

    async fn referencing(
        &mut self,
        obj: &CompiledObject,
        field: &FieldDef,
        targets: &[Uuid],
        opts: FetchOpts,
    ) -> Result<Vec<Uuid>> {
        // A deleted field keeps its column; a purged one has none to look at.
        if obj.any_field(field.name()).is_none() {
            return Ok(vec![]);
        }
        records::referencing(&self.txn, &self.names, obj, field.name(), targets, opts)
            .await
            .map_err(db)
    }

    async fn set_field_null(
        &mut self,
        obj: &CompiledObject,
        field: &str,
        ids: &[Uuid],
        meta: &UpdateMeta,
    ) -> Result<()> {
        records::set_null(&self.txn, &self.names, obj, field, ids, meta)
            .await
            .map_err(db)
    }

    async fn set_links(
        &mut self,
        obj: &CompiledObject,
        field: &FieldDef,
        id: Uuid,
        targets: &[Uuid],
    ) -> Result<()> {
        records::set_links(&self.txn, &self.names, obj, field.name(), id, targets)
            .await
            .map_err(db)
    }

    async fn load_links(
        &mut self,
        obj: &CompiledObject,
        field: &FieldDef,
        ids: &[Uuid],
    ) -> Result<HashMap<Uuid, Vec<Uuid>>> {
        records::load_links(&self.txn, &self.names, obj, field.name(), ids)
            .await
            .map_err(db)
    }

    async fn soft_delete(
        &mut self,
        obj: &CompiledObject,
        ids: &[Uuid],
        batch: Uuid,
        actor: Uuid,
        at: DateTime<Utc>,
    ) -> Result<u64> {
        records::soft_delete(&self.txn, &self.names, obj, ids, batch, actor, at)
            .await
            .map_err(db)
    }

    async fn restore(
        &mut self,
        obj: &CompiledObject,
        ids: &[Uuid],
        actor: Uuid,
        at: DateTime<Utc>,
    ) -> Result<u64> {
        records::restore(&self.txn, &self.names, obj, ids, actor, at)
            .await
            .map_err(|e| record_write(e, &self.names, obj))
    }

    async fn purge(&mut self, obj: &CompiledObject, ids: &[Uuid]) -> Result<u64> {
        records::purge(&self.txn, &self.names, obj, ids)
            .await
            .map_err(db)
    }

    async fn batch_members(&mut self, obj: &CompiledObject, batch: Uuid) -> Result<Vec<Uuid>> {
        records::batch_members(&self.txn, &self.names, obj, batch)
            .await
            .map_err(db)
    }

    // ---- counters, change log, jobs, files, idempotency ----

    async fn next_counter(&mut self, key: &str, start: i64) -> Result<i64> {
        let q = Query::insert()
            .into_table(Alias::new("counters"))
            .columns([
                Alias::new("tenant_id"),
                Alias::new("key"),
                Alias::new("value"),
            ])
            .values_panic([
                Expr::val(self.t()),
                Expr::val(key.to_owned()),
                Expr::val(start),
            ])
            .on_conflict(
                OnConflict::columns([Alias::new("tenant_id"), Alias::new("key")])
                    .value(
                        Alias::new("value"),
                        Expr::col((Alias::new("counters"), Alias::new("value"))).add(1),
                    )
                    .to_owned(),
            )
            .returning_col(Alias::new("value"))
            .to_owned();
        let row = self
            .txn
            .query_one(&q)
            .await
            .map_err(db)?
            .ok_or_else(|| Error::internal("counter returned no row"))?;
        let _ = counters::Entity;
        row.try_get_by_index::<i64>(0).map_err(db)
    }

    async fn append_changes(&mut self, entries: &[ChangeEntry]) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        for part in entries.chunks(500) {
            let models = part.iter().map(|e| change_log::ActiveModel {
                tenant_id: Set(self.t()),
                id: Set(e.id),
                object: Set(e.object.clone()),
                record_id: Set(e.record_id),
                op: Set(e.op.clone()),
                actor: Set(e.actor),
                source: Set(e.source.clone()),
                at: Set(e.at),
                version: Set(e.version),
                diff: Set(e.diff.clone()),
                sealed_in: Set(None),
            });
            change_log::Entity::insert_many(models)
                .exec(&self.txn)
                .await
                .map_err(db)?;
        }
        Ok(())
    }

    async fn history(
        &mut self,
        object: &str,
        record: Uuid,
        limit: u32,
    ) -> Result<Vec<ChangeEntry>> {
        let rows = change_log::Entity::find()
            .filter(self.tf(change_log::Column::TenantId))
            .filter(change_log::Column::Object.eq(object))
            .filter(change_log::Column::RecordId.eq(record))
            .order_by_desc(change_log::Column::Id)
            .limit(u64::from(limit))
            .all(&self.txn)
            .await
            .map_err(db)?;
        Ok(rows
            .into_iter()
            .map(|r| ChangeEntry {
                id: r.id,
                object: r.object,
                record_id: r.record_id,
                op: r.op,
                actor: r.actor,
                source: r.source,
                at: r.at,
                version: r.version,
                diff: r.diff,
            })
            .collect())
    }

    async fn insert_job(&mut self, job: &JobRow) -> Result<()> {
        jobs::ActiveModel {
            tenant_id: Set(self.t()),
            id: Set(job.id),
            kind: Set(job.kind.clone()),
            payload: Set(job.payload.clone()),
            status: Set(job.status.clone()),
            progress: Set(job.progress.clone()),
            attempts: Set(job.attempts),
            error: Set(job.error.clone()),
            run_at: Set(job.created_at),
            lease_until: Set(None),
            lease_owner: Set(None),
            created_by: Set(job.created_by),
            created_at: Set(job.created_at),
            updated_at: Set(job.updated_at),
        }
        .insert(&self.txn)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn update_job(&mut self, job: &JobRow) -> Result<()> {
        let finished = matches!(job.status.as_str(), "done" | "failed");
        let lease = if finished {
            None
        } else {
            Some(job.updated_at + Duration::seconds(60))
        };
        jobs::Entity::update_many()
            .col_expr(jobs::Column::Status, Expr::val(job.status.clone()))
            .col_expr(jobs::Column::Progress, Expr::val(job.progress.clone()))
            .col_expr(jobs::Column::Error, Expr::val(job.error.clone()))
            .col_expr(jobs::Column::UpdatedAt, Expr::val(job.updated_at))
            .col_expr(jobs::Column::LeaseUntil, Expr::val(lease))
            .filter(self.tf(jobs::Column::TenantId))
            .filter(jobs::Column::Id.eq(job.id))
            .exec(&self.txn)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn job(&mut self, id: Uuid) -> Result<Option<JobRow>> {
        Ok(jobs::Entity::find()
            .filter(self.tf(jobs::Column::TenantId))
            .filter(jobs::Column::Id.eq(id))
            .one(&self.txn)
            .await
            .map_err(db)?
            .map(platform::job_row))
    }

    async fn insert_file(&mut self, f: &FileRow) -> Result<()> {
        files::ActiveModel {
            tenant_id: Set(self.t()),
            id: Set(f.id),
            name: Set(f.name.clone()),
            content_type: Set(f.content_type.clone()),
            size: Set(f.size),
            sha256: Set(f.sha256.clone()),
            storage_key: Set(f.storage_key.clone()),
            created_by: Set(f.created_by),
            created_at: Set(f.created_at),
        }
        .insert(&self.txn)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn files(&mut self, ids: &[Uuid]) -> Result<Vec<FileRow>> {
        let rows = files::Entity::find()
            .filter(self.tf(files::Column::TenantId))
            .filter(files::Column::Id.is_in(ids.iter().copied()))
            .all(&self.txn)
            .await
            .map_err(db)?;
        Ok(rows
            .into_iter()
            .map(|m| FileRow {
                id: m.id,
                name: m.name,
                content_type: m.content_type,
                size: m.size,
                sha256: m.sha256,
                storage_key: m.storage_key,
                created_by: m.created_by,
                created_at: m.created_at,
            })
            .collect())
    }

    async fn idempotency_get(&mut self, key: &str) -> Result<Option<IdempotencyRow>> {
        Ok(idempotency_keys::Entity::find()
            .filter(self.tf(idempotency_keys::Column::TenantId))
            .filter(idempotency_keys::Column::Key.eq(key.to_owned()))
            .one(&self.txn)
            .await
            .map_err(db)?
            .map(|m| IdempotencyRow {
                key: m.key,
                fingerprint: m.fingerprint,
                status: m.status,
                body: m.body,
                created_at: m.created_at,
            }))
    }

    async fn idempotency_put(&mut self, row: &IdempotencyRow) -> Result<()> {
        idempotency_keys::ActiveModel {
            tenant_id: Set(self.t()),
            key: Set(row.key.clone()),
            fingerprint: Set(row.fingerprint.clone()),
            status: Set(row.status),
            body: Set(row.body.clone()),
            created_at: Set(row.created_at),
        }
        .insert(&self.txn)
        .await
        .map_err(|e| match e.sql_err() {
            Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => Error::conflict(
                "idempotency_in_flight",
                "a request with this Idempotency-Key is in progress; retry to get its response",
            ),
            _ => db(e),
        })?;
        Ok(())
    }

    // ---- identity ----

    async fn insert_user(&mut self, u: &UserRow) -> Result<()> {
        users::ActiveModel {
            tenant_id: Set(self.t()),
            id: Set(u.id),
            name: Set(u.name.clone()),
            email: Set(u.email.clone()),
            mobile: Set(u.mobile.clone()),
            status: Set(u.status.clone()),
            is_admin: Set(u.is_admin),
            password_hash: Set(u.password_hash.clone()),
            primary_department: Set(u.primary_department),
            created_at: Set(u.created_at),
        }
        .insert(&self.txn)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn user(&mut self, id: Uuid) -> Result<Option<UserRow>> {
        Ok(users::Entity::find()
            .filter(self.tf(users::Column::TenantId))
            .filter(users::Column::Id.eq(id))
            .one(&self.txn)
            .await
            .map_err(db)?
            .map(platform::user_row))
    }

    async fn users(&mut self) -> Result<Vec<UserRow>> {
        Ok(users::Entity::find()
            .filter(self.tf(users::Column::TenantId))
            .order_by_asc(users::Column::Name)
            .all(&self.txn)
            .await
            .map_err(db)?
            .into_iter()
            .map(platform::user_row)
            .collect())
    }

    async fn insert_api_key(&mut self, k: &ApiKeyRow) -> Result<()> {
        api_keys::ActiveModel {
            tenant_id: Set(self.t()),
            id: Set(k.id),
            user_id: Set(k.user_id),
            name: Set(k.name.clone()),
            prefix: Set(k.prefix.clone()),
            key_hash: Set(k.key_hash.clone()),
            created_at: Set(k.created_at),
            last_used_at: Set(k.last_used_at),
            revoked_at: Set(k.revoked_at),
            expires_at: Set(k.expires_at),
        }
        .insert(&self.txn)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn touch_api_key(&mut self, id: Uuid, at: DateTime<Utc>) -> Result<()> {
        api_keys::Entity::update_many()
            .col_expr(api_keys::Column::LastUsedAt, Expr::val(Some(at)))
            .filter(self.tf(api_keys::Column::TenantId))
            .filter(api_keys::Column::Id.eq(id))
            .exec(&self.txn)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn existing_users(&mut self, ids: &[Uuid]) -> Result<Vec<Uuid>> {
        let rows: Vec<Uuid> = users::Entity::find()
            .select_only()
            .column(users::Column::Id)
            .filter(self.tf(users::Column::TenantId))
            .filter(users::Column::Id.is_in(ids.iter().copied()))
            .into_tuple()
            .all(&self.txn)
            .await
            .map_err(db)?;
        Ok(rows)
    }

    async fn existing_departments(&mut self, ids: &[Uuid]) -> Result<Vec<Uuid>> {
        let rows: Vec<Uuid> = departments::Entity::find()
            .select_only()
            .column(departments::Column::Id)
            .filter(self.tf(departments::Column::TenantId))
            .filter(departments::Column::Id.is_in(ids.iter().copied()))
            .into_tuple()
            .all(&self.txn)
            .await
            .map_err(db)?;
        Ok(rows)
    }
}

impl SeaTx {
    async fn insert_revision(&self, rev: &MetaRevision) -> Result<()> {
        meta_revisions::ActiveModel {
            tenant_id: Set(self.t()),
            id: Set(rev.id),
            object_id: Set(rev.object_id),
            object: Set(rev.object.clone()),
            version: Set(rev.version),
            action: Set(rev.action.clone()),
            actor: Set(rev.actor),
            at: Set(rev.at),
            summary: Set(rev.summary.clone()),
            doc: Set(rev.doc.clone()),
        }
        .insert(&self.txn)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn bump_meta_version(&self) -> Result<()> {
        tenants::Entity::update_many()
            .col_expr(
                tenants::Column::MetaVersion,
                Expr::col(tenants::Column::MetaVersion).add(1),
            )
            .filter(self.tenant_row())
            .exec(&self.txn)
            .await
            .map_err(db)?;
        Ok(())
    }
}
