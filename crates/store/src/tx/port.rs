//! The `Tx` port wired to the capability modules of this transaction: metadata, storage,
//! records (`crate::records`), changes, jobs, files, idempotency and identity.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;
use weft_meta::query::{Pred, QueryPlan};
use weft_meta::{CompiledObject, FieldDef, ObjectDef, TenantId, Value, Values};
use weft_runtime::Result;
use weft_runtime::ports::prelude::*;
use weft_runtime::ports::{
    ApiKeyRow, Backend, ChangeEntry, FetchOpts, FileRow, IdempotencyRow, JobRow, MetaRevision,
    RecordRow, UpdateMeta, UserRow,
};

use super::{SeaTx, changes, files, idempotency, identity, jobs, metadata, storage};
use crate::errors::{db, record_write};
use crate::{ddl, records};

#[async_trait]
impl MetaTx for SeaTx {
    async fn meta_version(&mut self) -> Result<i64> {
        metadata::meta_version(self).await
    }

    async fn time_zone(&mut self) -> Result<String> {
        metadata::time_zone(self).await
    }

    async fn set_time_zone(&mut self, tz: &str) -> Result<()> {
        metadata::set_time_zone(self, tz).await
    }

    async fn load_objects(&mut self) -> Result<Vec<ObjectDef>> {
        metadata::load_objects(self).await
    }

    async fn save_object(&mut self, def: &ObjectDef, rev: &MetaRevision) -> Result<()> {
        metadata::save_object(self, def, rev).await
    }

    async fn delete_object_doc(&mut self, def: &ObjectDef, rev: &MetaRevision) -> Result<()> {
        metadata::delete_object_doc(self, def, rev).await
    }

    async fn meta_revisions(&mut self, object: &str, limit: u32) -> Result<Vec<MetaRevision>> {
        metadata::revisions(self, object, limit).await
    }
}

#[async_trait]
impl StorageTx for SeaTx {
    async fn create_object_storage(&mut self, def: &ObjectDef) -> Result<()> {
        storage::run_ddl(self, ddl::create_object(&self.names, def)).await
    }

    async fn drop_object_storage(&mut self, def: &ObjectDef) -> Result<()> {
        storage::run_ddl(self, ddl::drop_object(&self.names, def)).await
    }

    async fn add_field_storage(&mut self, def: &ObjectDef, field: &FieldDef) -> Result<()> {
        storage::run_ddl(self, ddl::add_field(&self.names, def, field)).await
    }

    async fn drop_field_storage(&mut self, def: &ObjectDef, field: &FieldDef) -> Result<()> {
        storage::drop_field(self, def, field).await
    }

    async fn sync_field_indexes(
        &mut self,
        def: &ObjectDef,
        old: &FieldDef,
        new: &FieldDef,
    ) -> Result<()> {
        storage::sync_field_indexes(self, def, old, new).await
    }

    async fn add_shadow_column(&mut self, def: &ObjectDef, new: &FieldDef) -> Result<()> {
        storage::add_shadow_column(self, def, new).await
    }

    async fn drop_shadow_column(&mut self, def: &ObjectDef, new: &FieldDef) -> Result<()> {
        storage::drop_shadow_column(self, def, new).await
    }

    async fn write_shadow(
        &mut self,
        def: &ObjectDef,
        new: &FieldDef,
        rows: &[(Uuid, Value)],
    ) -> Result<()> {
        storage::write_shadow(self, def, new, rows).await
    }

    async fn swap_shadow(&mut self, def: &ObjectDef, old: &FieldDef, new: &FieldDef) -> Result<()> {
        storage::run_ddl(self, ddl::swap_shadow(&self.names, def, old, new)).await
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
}

#[async_trait]
impl RecordTx for SeaTx {
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
}

#[async_trait]
impl ChangeTx for SeaTx {
    async fn next_counter(&mut self, key: &str, start: i64) -> Result<i64> {
        changes::next_counter(self, key, start).await
    }

    async fn append_changes(&mut self, entries: &[ChangeEntry]) -> Result<()> {
        changes::append(self, entries).await
    }

    async fn history(
        &mut self,
        object: &str,
        record: Uuid,
        limit: u32,
    ) -> Result<Vec<ChangeEntry>> {
        changes::history(self, object, record, limit).await
    }
}

#[async_trait]
impl JobTx for SeaTx {
    async fn insert_job(&mut self, job: &JobRow) -> Result<()> {
        jobs::insert(self, job).await
    }

    async fn update_job(&mut self, job: &JobRow) -> Result<()> {
        jobs::update(self, job).await
    }

    async fn job(&mut self, id: Uuid) -> Result<Option<JobRow>> {
        jobs::get(self, id).await
    }
}

#[async_trait]
impl FileTx for SeaTx {
    async fn insert_file(&mut self, f: &FileRow) -> Result<()> {
        files::insert(self, f).await
    }

    async fn files(&mut self, ids: &[Uuid]) -> Result<Vec<FileRow>> {
        files::by_ids(self, ids).await
    }

    async fn file_usage(&mut self, user: Option<Uuid>) -> Result<(i64, i64)> {
        files::usage(self, user).await
    }
}

#[async_trait]
impl IdempotencyTx for SeaTx {
    async fn idempotency_get(&mut self, key: &str) -> Result<Option<IdempotencyRow>> {
        idempotency::get(self, key).await
    }

    async fn idempotency_put(&mut self, row: &IdempotencyRow) -> Result<()> {
        idempotency::put(self, row).await
    }
}

#[async_trait]
impl IdentityTx for SeaTx {
    async fn insert_user(&mut self, u: &UserRow) -> Result<()> {
        identity::insert_user(self, u).await
    }

    async fn user(&mut self, id: Uuid) -> Result<Option<UserRow>> {
        identity::user(self, id).await
    }

    async fn users(&mut self) -> Result<Vec<UserRow>> {
        identity::users(self).await
    }

    async fn insert_api_key(&mut self, k: &ApiKeyRow) -> Result<()> {
        identity::insert_api_key(self, k).await
    }

    async fn touch_api_key(&mut self, id: Uuid, at: DateTime<Utc>) -> Result<()> {
        identity::touch_api_key(self, id, at).await
    }

    async fn existing_users(&mut self, ids: &[Uuid]) -> Result<Vec<Uuid>> {
        identity::existing_users(self, ids).await
    }

    async fn existing_departments(&mut self, ids: &[Uuid]) -> Result<Vec<Uuid>> {
        identity::existing_departments(self, ids).await
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
}
