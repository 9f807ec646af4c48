//! Storage for the workflow runtime: the `FlowTx` port (tenant-bound) and the cross-tenant
//! timer claim. Statements are built with sea-query and carry the application's own
//! `tenant_id` condition (row-level security is the second wall on PostgreSQL). The flow
//! tables have no sea-orm entities; their rows are read by column name.

mod calendars;
mod defs;
mod events;
mod instances;
mod tasks;
mod timers;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::QueryResult;
use sea_orm::sea_query::{Expr, InsertStatement, Query};
use serde_json::Value as Json;
use uuid::Uuid;
use weft_runtime::flows::ports::{
    ClaimedTimer, FlowCalendarRow, FlowCcRow, FlowDefRow, FlowEventRow, FlowInstanceRow, FlowStore,
    FlowTaskRow, FlowVersionRow, InstanceFilter,
};
use weft_runtime::ports::prelude::*;
use weft_runtime::{Error, Result};

use crate::SeaStore;
use crate::errors::db;
use crate::tx::SeaTx;

fn get<T: sea_orm::TryGetable>(r: &QueryResult, col: &str) -> Result<T> {
    r.try_get::<T>("", col).map_err(db)
}

/// An INSERT of one row of this tenant into `table`: `tenant_id`, then `cols` with `values`
/// in the same order.
fn insert_row(
    tx: &SeaTx,
    table: &'static str,
    cols: &[&'static str],
    values: impl IntoIterator<Item = Expr>,
) -> Result<InsertStatement> {
    let mut q = Query::insert();
    q.into_table(table)
        .columns(std::iter::once("tenant_id").chain(cols.iter().copied()));
    // More or fewer values than columns is a bug in this crate, reported as internal.
    q.values(std::iter::once(Expr::val(tx.t())).chain(values))
        .map_err(Error::internal)?;
    Ok(q)
}

#[async_trait]
impl FlowDefTx for SeaTx {
    async fn flow_def(&mut self, key: &str) -> Result<Option<FlowDefRow>> {
        defs::def(self, key).await
    }

    async fn flow_defs(&mut self) -> Result<Vec<FlowDefRow>> {
        defs::defs(self).await
    }

    async fn flow_def_put(&mut self, row: &FlowDefRow) -> Result<()> {
        defs::put_def(self, row).await
    }

    async fn flow_def_delete(&mut self, key: &str) -> Result<bool> {
        defs::delete_def(self, key).await
    }

    async fn flow_version_insert(&mut self, row: &FlowVersionRow) -> Result<()> {
        defs::insert_version(self, row).await
    }

    async fn flow_versions(&mut self, key: &str) -> Result<Vec<FlowVersionRow>> {
        defs::versions(self, key).await
    }

    async fn flow_version(&mut self, id: Uuid) -> Result<Option<FlowVersionRow>> {
        defs::version(self, id).await
    }

    async fn flow_versions_delete(&mut self, key: &str) -> Result<()> {
        defs::delete_versions(self, key).await
    }

    async fn flow_instance_count(&mut self, key: &str) -> Result<i64> {
        defs::instance_count(self, key).await
    }
}

#[async_trait]
impl FlowInstanceTx for SeaTx {
    async fn flow_instance_insert(&mut self, r: &FlowInstanceRow) -> Result<()> {
        instances::insert(self, r).await
    }

    async fn flow_instance(&mut self, id: Uuid) -> Result<Option<FlowInstanceRow>> {
        instances::get_one(self, id).await
    }

    async fn flow_instance_cas(
        &mut self,
        id: Uuid,
        old_rev: i64,
        new_rev: i64,
        status: &str,
        state: &Json,
        at: DateTime<Utc>,
        ended_at: Option<DateTime<Utc>>,
    ) -> Result<bool> {
        let cas = instances::Cas {
            id,
            old_rev,
            new_rev,
            status,
            state,
            at,
            ended_at,
        };
        instances::cas(self, cas).await
    }

    async fn flow_active_on_record(&mut self, record: Uuid) -> Result<Vec<FlowInstanceRow>> {
        instances::active_on_record(self, record).await
    }

    async fn flow_instances(
        &mut self,
        filter: InstanceFilter,
        limit: u32,
    ) -> Result<Vec<FlowInstanceRow>> {
        instances::list(self, filter, limit).await
    }

    async fn flow_active_instances_of(
        &mut self,
        key: &str,
        limit: u32,
    ) -> Result<Vec<FlowInstanceRow>> {
        instances::active_of(self, key, limit).await
    }

    async fn flow_instance_set_version(
        &mut self,
        id: Uuid,
        version_id: Uuid,
        version: i32,
    ) -> Result<()> {
        instances::set_version(self, id, version_id, version).await
    }
}

#[async_trait]
impl FlowTaskTx for SeaTx {
    async fn flow_task_set_node(&mut self, instance: Uuid, task: i32, node: &str) -> Result<()> {
        tasks::set_node(self, instance, task, node).await
    }

    async fn flow_tasks_insert(&mut self, rows: &[FlowTaskRow]) -> Result<()> {
        tasks::insert(self, rows).await
    }

    async fn flow_task_set_status(
        &mut self,
        instance: Uuid,
        task: i32,
        status: &str,
        reason: Option<&str>,
        closed_at: Option<DateTime<Utc>>,
    ) -> Result<()> {
        tasks::set_status(self, instance, task, status, reason, closed_at).await
    }

    async fn flow_task(&mut self, id: Uuid) -> Result<Option<FlowTaskRow>> {
        tasks::task(self, id).await
    }

    async fn flow_tasks_of(&mut self, instance: Uuid) -> Result<Vec<FlowTaskRow>> {
        tasks::of_instance(self, instance).await
    }

    async fn flow_tasks_for(
        &mut self,
        user: &str,
        status: &str,
        limit: u32,
    ) -> Result<Vec<FlowTaskRow>> {
        tasks::for_user(self, user, status, limit).await
    }

    async fn flow_cc_insert(&mut self, rows: &[FlowCcRow]) -> Result<()> {
        tasks::insert_cc(self, rows).await
    }

    async fn flow_cc_for(&mut self, user: &str, limit: u32) -> Result<Vec<FlowCcRow>> {
        tasks::cc_for(self, user, limit).await
    }

    async fn flow_cc_of(&mut self, instance: Uuid) -> Result<Vec<FlowCcRow>> {
        tasks::cc_of(self, instance).await
    }
}

#[async_trait]
impl FlowTimerTx for SeaTx {
    async fn flow_timer_put(
        &mut self,
        instance: Uuid,
        timer: i32,
        node: &str,
        due_at: DateTime<Utc>,
    ) -> Result<()> {
        timers::put(self, instance, timer, node, due_at).await
    }

    async fn flow_timer_delete(&mut self, instance: Uuid, timer: i32) -> Result<()> {
        timers::delete(self, instance, timer).await
    }
}

#[async_trait]
impl FlowEventTx for SeaTx {
    async fn flow_events_append(&mut self, rows: &[FlowEventRow]) -> Result<()> {
        events::append(self, rows).await
    }

    async fn flow_events(&mut self, instance: Uuid) -> Result<Vec<FlowEventRow>> {
        events::of_instance(self, instance).await
    }
}

#[async_trait]
impl FlowCalendarTx for SeaTx {
    async fn flow_calendars(&mut self) -> Result<Vec<FlowCalendarRow>> {
        calendars::all(self).await
    }

    async fn flow_calendar(&mut self, name: &str) -> Result<Option<FlowCalendarRow>> {
        calendars::get_one(self, name).await
    }

    async fn flow_calendar_put(&mut self, row: &FlowCalendarRow) -> Result<()> {
        calendars::put(self, row).await
    }

    async fn flow_calendar_delete(&mut self, name: &str) -> Result<bool> {
        calendars::delete(self, name).await
    }
}

#[async_trait]
impl FlowStore for SeaStore {
    async fn claim_flow_timers(
        &self,
        worker: &str,
        limit: u32,
        lease_secs: i64,
        now: DateTime<Utc>,
        skip_tenants: &[Uuid],
    ) -> Result<Vec<ClaimedTimer>> {
        timers::claim(self, worker, limit, lease_secs, now, skip_tenants).await
    }
}
