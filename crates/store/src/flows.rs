//! Storage for the workflow runtime: the `FlowTx` port (tenant-bound) and the cross-tenant
//! timer claim. Plain SQL with bound parameters; every statement carries the application's
//! own `tenant_id` condition (row-level security is the second wall on PostgreSQL).

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use sea_orm::{ConnectionTrait, DbBackend, QueryResult, Statement, Value};
use serde_json::Value as Json;
use uuid::Uuid;
use weft_meta::TenantId;
use weft_runtime::Result;
use weft_runtime::flows::ports::{
    ClaimedTimer, FlowCalendarRow, FlowCcRow, FlowDefRow, FlowEventRow, FlowInstanceRow, FlowStore,
    FlowTaskRow, FlowTx, FlowVersionRow, InstanceFilter,
};
use weft_runtime::ports::Backend;

use crate::SeaStore;
use crate::errors::db;
use crate::tx::SeaTx;

/// `$n` placeholders as the backend spells them (SQLite: `?n`).
fn sql(backend: Backend, text: &str) -> String {
    match backend {
        Backend::Postgres => text.to_string(),
        Backend::Sqlite => text.replace('$', "?"),
    }
}

fn stmt(backend: Backend, text: &str, values: Vec<Value>) -> Statement {
    let b = match backend {
        Backend::Postgres => DbBackend::Postgres,
        Backend::Sqlite => DbBackend::Sqlite,
    };
    Statement::from_sql_and_values(b, sql(backend, text), values)
}

fn ts(t: DateTime<Utc>) -> Value {
    Value::ChronoDateTimeUtc(Some(t))
}

fn ts_opt(t: Option<DateTime<Utc>>) -> Value {
    Value::ChronoDateTimeUtc(t)
}

fn js(j: &Json) -> Value {
    Value::Json(Some(Box::new(j.clone())))
}

fn get<T: sea_orm::TryGetable>(r: &QueryResult, col: &str) -> Result<T> {
    r.try_get::<T>("", col).map_err(db)
}

const DEF_COLS: &str = "key, object, doc, latest_version, updated_by, created_at, updated_at";
const VERSION_COLS: &str = "id, key, version, object, hash, doc, published_by, published_at";
const INSTANCE_COLS: &str = "id, version_id, flow_key, version, object, record_id, initiator, \
    status, rev, state, created_at, updated_at, ended_at";
const TASK_COLS: &str = "id, instance_id, task, ni, node, assignee, acting_for, kind, status, \
    reason, flow_key, object, record_id, created_at, closed_at";
const CAL_COLS: &str = "name, doc, updated_by, created_at, updated_at";
const CC_COLS: &str = "user_id, instance_id, node, flow_key, object, record_id, created_at";

fn def_row(r: &QueryResult) -> Result<FlowDefRow> {
    Ok(FlowDefRow {
        key: get(r, "key")?,
        object: get(r, "object")?,
        doc: get(r, "doc")?,
        latest_version: get(r, "latest_version")?,
        updated_by: get(r, "updated_by")?,
        created_at: get(r, "created_at")?,
        updated_at: get(r, "updated_at")?,
    })
}

fn version_row(r: &QueryResult) -> Result<FlowVersionRow> {
    Ok(FlowVersionRow {
        id: get(r, "id")?,
        key: get(r, "key")?,
        version: get(r, "version")?,
        object: get(r, "object")?,
        hash: get(r, "hash")?,
        doc: get(r, "doc")?,
        published_by: get(r, "published_by")?,
        published_at: get(r, "published_at")?,
    })
}

fn instance_row(r: &QueryResult) -> Result<FlowInstanceRow> {
    Ok(FlowInstanceRow {
        id: get(r, "id")?,
        version_id: get(r, "version_id")?,
        flow_key: get(r, "flow_key")?,
        version: get(r, "version")?,
        object: get(r, "object")?,
        record_id: get(r, "record_id")?,
        initiator: get(r, "initiator")?,
        status: get(r, "status")?,
        rev: get(r, "rev")?,
        state: get(r, "state")?,
        created_at: get(r, "created_at")?,
        updated_at: get(r, "updated_at")?,
        ended_at: get(r, "ended_at")?,
    })
}

fn task_row(r: &QueryResult) -> Result<FlowTaskRow> {
    Ok(FlowTaskRow {
        id: get(r, "id")?,
        instance_id: get(r, "instance_id")?,
        task: get(r, "task")?,
        ni: get(r, "ni")?,
        node: get(r, "node")?,
        assignee: get(r, "assignee")?,
        acting_for: get(r, "acting_for")?,
        kind: get(r, "kind")?,
        status: get(r, "status")?,
        reason: get(r, "reason")?,
        flow_key: get(r, "flow_key")?,
        object: get(r, "object")?,
        record_id: get(r, "record_id")?,
        created_at: get(r, "created_at")?,
        closed_at: get(r, "closed_at")?,
    })
}

fn cc_row(r: &QueryResult) -> Result<FlowCcRow> {
    Ok(FlowCcRow {
        user_id: get(r, "user_id")?,
        instance_id: get(r, "instance_id")?,
        node: get(r, "node")?,
        flow_key: get(r, "flow_key")?,
        object: get(r, "object")?,
        record_id: get(r, "record_id")?,
        created_at: get(r, "created_at")?,
    })
}

fn calendar_row(r: &QueryResult) -> Result<FlowCalendarRow> {
    Ok(FlowCalendarRow {
        name: get(r, "name")?,
        doc: get(r, "doc")?,
        updated_by: get(r, "updated_by")?,
        created_at: get(r, "created_at")?,
        updated_at: get(r, "updated_at")?,
    })
}

impl SeaTx {
    fn be(&self) -> Backend {
        self.names.backend
    }

    /// The tenant condition: `tenant_id = $1` (or always true when the isolation test
    /// switches the application filter off). `$1` is always bound to the tenant.
    fn tcond(&self) -> &'static str {
        if self.app_filter {
            "tenant_id = $1"
        } else {
            "($1 IS NOT NULL)"
        }
    }

    fn tv(&self) -> Value {
        Value::Uuid(Some(self.t()))
    }

    async fn exec(&self, text: &str, values: Vec<Value>) -> Result<u64> {
        Ok(self
            .txn
            .execute_raw(stmt(self.be(), text, values))
            .await
            .map_err(db)?
            .rows_affected())
    }

    async fn all(&self, text: &str, values: Vec<Value>) -> Result<Vec<QueryResult>> {
        self.txn
            .query_all_raw(stmt(self.be(), text, values))
            .await
            .map_err(db)
    }

    async fn one(&self, text: &str, values: Vec<Value>) -> Result<Option<QueryResult>> {
        self.txn
            .query_one_raw(stmt(self.be(), text, values))
            .await
            .map_err(db)
    }
}

#[async_trait]
impl FlowTx for SeaTx {
    async fn flow_def(&mut self, key: &str) -> Result<Option<FlowDefRow>> {
        let q = format!(
            "SELECT {DEF_COLS} FROM flow_defs WHERE {} AND key = $2",
            self.tcond()
        );
        self.one(&q, vec![self.tv(), key.into()])
            .await?
            .as_ref()
            .map(def_row)
            .transpose()
    }

    async fn flow_defs(&mut self) -> Result<Vec<FlowDefRow>> {
        let q = format!(
            "SELECT {DEF_COLS} FROM flow_defs WHERE {} ORDER BY key",
            self.tcond()
        );
        self.all(&q, vec![self.tv()])
            .await?
            .iter()
            .map(def_row)
            .collect()
    }

    async fn flow_def_put(&mut self, row: &FlowDefRow) -> Result<()> {
        let n = self
            .exec(
                &format!(
                    "UPDATE flow_defs SET object = $3, doc = $4, latest_version = $5, \
                     updated_by = $6, updated_at = $7 WHERE {} AND key = $2",
                    self.tcond()
                ),
                vec![
                    self.tv(),
                    row.key.as_str().into(),
                    row.object.as_str().into(),
                    js(&row.doc),
                    row.latest_version.into(),
                    row.updated_by.into(),
                    ts(row.updated_at),
                ],
            )
            .await?;
        if n == 0 {
            self.exec(
                &format!(
                    "INSERT INTO flow_defs (tenant_id, {DEF_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
                ),
                vec![
                    self.tv(),
                    row.key.as_str().into(),
                    row.object.as_str().into(),
                    js(&row.doc),
                    row.latest_version.into(),
                    row.updated_by.into(),
                    ts(row.created_at),
                    ts(row.updated_at),
                ],
            )
            .await?;
        }
        Ok(())
    }

    async fn flow_def_delete(&mut self, key: &str) -> Result<bool> {
        let q = format!("DELETE FROM flow_defs WHERE {} AND key = $2", self.tcond());
        Ok(self.exec(&q, vec![self.tv(), key.into()]).await? > 0)
    }

    async fn flow_version_insert(&mut self, row: &FlowVersionRow) -> Result<()> {
        self.exec(
            &format!(
                "INSERT INTO flow_versions (tenant_id, {VERSION_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
            ),
            vec![
                self.tv(),
                row.id.into(),
                row.key.as_str().into(),
                row.version.into(),
                row.object.as_str().into(),
                row.hash.as_str().into(),
                js(&row.doc),
                row.published_by.into(),
                ts(row.published_at),
            ],
        )
        .await
        .map_err(|e| match e {
            weft_runtime::Error::Conflict { .. } => weft_runtime::Error::conflict(
                "flow.publish_conflict",
                "another publish of this flow happened at the same time; retry",
            ),
            e => e,
        })?;
        Ok(())
    }

    async fn flow_versions(&mut self, key: &str) -> Result<Vec<FlowVersionRow>> {
        let q = format!(
            "SELECT {VERSION_COLS} FROM flow_versions WHERE {} AND key = $2 ORDER BY version",
            self.tcond()
        );
        self.all(&q, vec![self.tv(), key.into()])
            .await?
            .iter()
            .map(version_row)
            .collect()
    }

    async fn flow_version(&mut self, id: Uuid) -> Result<Option<FlowVersionRow>> {
        let q = format!(
            "SELECT {VERSION_COLS} FROM flow_versions WHERE {} AND id = $2",
            self.tcond()
        );
        self.one(&q, vec![self.tv(), id.into()])
            .await?
            .as_ref()
            .map(version_row)
            .transpose()
    }

    async fn flow_versions_delete(&mut self, key: &str) -> Result<()> {
        let q = format!(
            "DELETE FROM flow_versions WHERE {} AND key = $2",
            self.tcond()
        );
        self.exec(&q, vec![self.tv(), key.into()]).await?;
        Ok(())
    }

    async fn flow_instance_count(&mut self, key: &str) -> Result<i64> {
        let q = format!(
            "SELECT COUNT(*) AS n FROM flow_instances WHERE {} AND flow_key = $2",
            self.tcond()
        );
        match self.one(&q, vec![self.tv(), key.into()]).await? {
            Some(r) => get(&r, "n"),
            None => Ok(0),
        }
    }

    async fn flow_instance_insert(&mut self, r: &FlowInstanceRow) -> Result<()> {
        self.exec(
            &format!(
                "INSERT INTO flow_instances (tenant_id, {INSTANCE_COLS}) VALUES \
                 ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
            ),
            vec![
                self.tv(),
                r.id.into(),
                r.version_id.into(),
                r.flow_key.as_str().into(),
                r.version.into(),
                r.object.as_str().into(),
                r.record_id.into(),
                r.initiator.into(),
                r.status.as_str().into(),
                r.rev.into(),
                js(&r.state),
                ts(r.created_at),
                ts(r.updated_at),
                ts_opt(r.ended_at),
            ],
        )
        .await?;
        Ok(())
    }

    async fn flow_instance(&mut self, id: Uuid) -> Result<Option<FlowInstanceRow>> {
        let q = format!(
            "SELECT {INSTANCE_COLS} FROM flow_instances WHERE {} AND id = $2",
            self.tcond()
        );
        self.one(&q, vec![self.tv(), id.into()])
            .await?
            .as_ref()
            .map(instance_row)
            .transpose()
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
        let q = format!(
            "UPDATE flow_instances SET rev = $4, status = $5, state = $6, updated_at = $7, \
             ended_at = $8 WHERE {} AND id = $2 AND rev = $3",
            self.tcond()
        );
        let n = self
            .exec(
                &q,
                vec![
                    self.tv(),
                    id.into(),
                    old_rev.into(),
                    new_rev.into(),
                    status.into(),
                    js(state),
                    ts(at),
                    ts_opt(ended_at),
                ],
            )
            .await?;
        Ok(n == 1)
    }

    async fn flow_active_on_record(&mut self, record: Uuid) -> Result<Vec<FlowInstanceRow>> {
        let q = format!(
            "SELECT {INSTANCE_COLS} FROM flow_instances WHERE {} AND record_id = $2 \
             AND status IN ('running', 'incident')",
            self.tcond()
        );
        self.all(&q, vec![self.tv(), record.into()])
            .await?
            .iter()
            .map(instance_row)
            .collect()
    }

    async fn flow_instances(
        &mut self,
        filter: InstanceFilter,
        limit: u32,
    ) -> Result<Vec<FlowInstanceRow>> {
        let (cond, v): (&str, Value) = match filter {
            InstanceFilter::StartedBy(u) => ("initiator = $2", u.into()),
            InstanceFilter::Record(r) => ("record_id = $2", r.into()),
            InstanceFilter::Status(Some(s)) => ("status = $2", s.into()),
            InstanceFilter::Status(None) => {
                ("status IN ('running', 'incident', $2)", "running".into())
            }
        };
        let q = format!(
            "SELECT {INSTANCE_COLS} FROM flow_instances WHERE {} AND {cond} ORDER BY id DESC LIMIT $3",
            self.tcond()
        );
        self.all(&q, vec![self.tv(), v, i64::from(limit).into()])
            .await?
            .iter()
            .map(instance_row)
            .collect()
    }

    async fn flow_active_instances_of(
        &mut self,
        key: &str,
        limit: u32,
    ) -> Result<Vec<FlowInstanceRow>> {
        let q = format!(
            "SELECT {INSTANCE_COLS} FROM flow_instances WHERE {} AND flow_key = $2 \
             AND status IN ('running', 'incident') ORDER BY id LIMIT $3",
            self.tcond()
        );
        self.all(&q, vec![self.tv(), key.into(), i64::from(limit).into()])
            .await?
            .iter()
            .map(instance_row)
            .collect()
    }

    async fn flow_instance_set_version(
        &mut self,
        id: Uuid,
        version_id: Uuid,
        version: i32,
    ) -> Result<()> {
        let q = format!(
            "UPDATE flow_instances SET version_id = $3, version = $4 WHERE {} AND id = $2",
            self.tcond()
        );
        self.exec(
            &q,
            vec![self.tv(), id.into(), version_id.into(), version.into()],
        )
        .await?;
        Ok(())
    }

    async fn flow_task_set_node(&mut self, instance: Uuid, task: i32, node: &str) -> Result<()> {
        let q = format!(
            "UPDATE flow_tasks SET node = $4 WHERE {} AND instance_id = $2 AND task = $3",
            self.tcond()
        );
        self.exec(
            &q,
            vec![self.tv(), instance.into(), task.into(), node.into()],
        )
        .await?;
        Ok(())
    }

    async fn flow_tasks_insert(&mut self, rows: &[FlowTaskRow]) -> Result<()> {
        for r in rows {
            self.exec(
                &format!(
                    "INSERT INTO flow_tasks (tenant_id, {TASK_COLS}) VALUES \
                     ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
                ),
                vec![
                    self.tv(),
                    r.id.into(),
                    r.instance_id.into(),
                    r.task.into(),
                    r.ni.into(),
                    r.node.as_str().into(),
                    r.assignee.as_str().into(),
                    r.acting_for.clone().into(),
                    r.kind.as_str().into(),
                    r.status.as_str().into(),
                    r.reason.clone().into(),
                    r.flow_key.as_str().into(),
                    r.object.as_str().into(),
                    r.record_id.into(),
                    ts(r.created_at),
                    ts_opt(r.closed_at),
                ],
            )
            .await?;
        }
        Ok(())
    }

    async fn flow_task_set_status(
        &mut self,
        instance: Uuid,
        task: i32,
        status: &str,
        reason: Option<&str>,
        closed_at: Option<DateTime<Utc>>,
    ) -> Result<()> {
        let q = format!(
            "UPDATE flow_tasks SET status = $4, reason = $5, closed_at = $6 \
             WHERE {} AND instance_id = $2 AND task = $3",
            self.tcond()
        );
        self.exec(
            &q,
            vec![
                self.tv(),
                instance.into(),
                task.into(),
                status.into(),
                reason.map(str::to_owned).into(),
                ts_opt(closed_at),
            ],
        )
        .await?;
        Ok(())
    }

    async fn flow_task(&mut self, id: Uuid) -> Result<Option<FlowTaskRow>> {
        let q = format!(
            "SELECT {TASK_COLS} FROM flow_tasks WHERE {} AND id = $2",
            self.tcond()
        );
        self.one(&q, vec![self.tv(), id.into()])
            .await?
            .as_ref()
            .map(task_row)
            .transpose()
    }

    async fn flow_tasks_of(&mut self, instance: Uuid) -> Result<Vec<FlowTaskRow>> {
        let q = format!(
            "SELECT {TASK_COLS} FROM flow_tasks WHERE {} AND instance_id = $2 ORDER BY task",
            self.tcond()
        );
        self.all(&q, vec![self.tv(), instance.into()])
            .await?
            .iter()
            .map(task_row)
            .collect()
    }

    async fn flow_tasks_for(
        &mut self,
        user: &str,
        status: &str,
        limit: u32,
    ) -> Result<Vec<FlowTaskRow>> {
        let q = format!(
            "SELECT {TASK_COLS} FROM flow_tasks WHERE {} AND assignee = $2 AND status = $3 \
             ORDER BY id DESC LIMIT $4",
            self.tcond()
        );
        self.all(
            &q,
            vec![
                self.tv(),
                user.into(),
                status.into(),
                i64::from(limit).into(),
            ],
        )
        .await?
        .iter()
        .map(task_row)
        .collect()
    }

    async fn flow_cc_insert(&mut self, rows: &[FlowCcRow]) -> Result<()> {
        for r in rows {
            let q = format!(
                "INSERT INTO flow_cc (tenant_id, {CC_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                 ON CONFLICT DO NOTHING"
            );
            self.exec(
                &q,
                vec![
                    self.tv(),
                    r.user_id.as_str().into(),
                    r.instance_id.into(),
                    r.node.as_str().into(),
                    r.flow_key.as_str().into(),
                    r.object.as_str().into(),
                    r.record_id.into(),
                    ts(r.created_at),
                ],
            )
            .await?;
        }
        Ok(())
    }

    async fn flow_cc_for(&mut self, user: &str, limit: u32) -> Result<Vec<FlowCcRow>> {
        let q = format!(
            "SELECT {CC_COLS} FROM flow_cc WHERE {} AND user_id = $2 ORDER BY created_at DESC LIMIT $3",
            self.tcond()
        );
        self.all(&q, vec![self.tv(), user.into(), i64::from(limit).into()])
            .await?
            .iter()
            .map(cc_row)
            .collect()
    }

    async fn flow_cc_of(&mut self, instance: Uuid) -> Result<Vec<FlowCcRow>> {
        let q = format!(
            "SELECT {CC_COLS} FROM flow_cc WHERE {} AND instance_id = $2 ORDER BY created_at",
            self.tcond()
        );
        self.all(&q, vec![self.tv(), instance.into()])
            .await?
            .iter()
            .map(cc_row)
            .collect()
    }

    async fn flow_timer_put(
        &mut self,
        instance: Uuid,
        timer: i32,
        node: &str,
        due_at: DateTime<Utc>,
    ) -> Result<()> {
        let q = "INSERT INTO flow_timers (tenant_id, instance_id, timer, node, due_at, attempts) \
                 VALUES ($1, $2, $3, $4, $5, 0) ON CONFLICT (tenant_id, instance_id, timer) \
                 DO UPDATE SET due_at = excluded.due_at, node = excluded.node, lease_until = NULL";
        self.exec(
            q,
            vec![
                self.tv(),
                instance.into(),
                timer.into(),
                node.into(),
                ts(due_at),
            ],
        )
        .await?;
        Ok(())
    }

    async fn flow_timer_delete(&mut self, instance: Uuid, timer: i32) -> Result<()> {
        let q = format!(
            "DELETE FROM flow_timers WHERE {} AND instance_id = $2 AND timer = $3",
            self.tcond()
        );
        self.exec(&q, vec![self.tv(), instance.into(), timer.into()])
            .await?;
        Ok(())
    }

    async fn flow_events_append(&mut self, rows: &[FlowEventRow]) -> Result<()> {
        for r in rows {
            self.exec(
                "INSERT INTO flow_events (tenant_id, instance_id, seq, at, actor, event, node, data) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                vec![
                    self.tv(),
                    r.instance_id.into(),
                    r.seq.into(),
                    ts(r.at),
                    r.actor.clone().into(),
                    r.event.as_str().into(),
                    r.node.clone().into(),
                    js(&r.data),
                ],
            )
            .await?;
        }
        Ok(())
    }

    async fn flow_events(&mut self, instance: Uuid) -> Result<Vec<FlowEventRow>> {
        let q = format!(
            "SELECT instance_id, seq, at, actor, event, node, data FROM flow_events \
             WHERE {} AND instance_id = $2 ORDER BY seq",
            self.tcond()
        );
        self.all(&q, vec![self.tv(), instance.into()])
            .await?
            .iter()
            .map(|r| {
                Ok(FlowEventRow {
                    instance_id: get(r, "instance_id")?,
                    seq: get(r, "seq")?,
                    at: get(r, "at")?,
                    actor: get(r, "actor")?,
                    event: get(r, "event")?,
                    node: get(r, "node")?,
                    data: get(r, "data")?,
                })
            })
            .collect()
    }

    async fn flow_calendars(&mut self) -> Result<Vec<FlowCalendarRow>> {
        let q = format!(
            "SELECT {CAL_COLS} FROM flow_calendars WHERE {} ORDER BY name",
            self.tcond()
        );
        self.all(&q, vec![self.tv()])
            .await?
            .iter()
            .map(calendar_row)
            .collect()
    }

    async fn flow_calendar(&mut self, name: &str) -> Result<Option<FlowCalendarRow>> {
        let q = format!(
            "SELECT {CAL_COLS} FROM flow_calendars WHERE {} AND name = $2",
            self.tcond()
        );
        self.one(&q, vec![self.tv(), name.into()])
            .await?
            .as_ref()
            .map(calendar_row)
            .transpose()
    }

    async fn flow_calendar_put(&mut self, row: &FlowCalendarRow) -> Result<()> {
        let n = self
            .exec(
                &format!(
                    "UPDATE flow_calendars SET doc = $3, updated_by = $4, updated_at = $5 \
                     WHERE {} AND name = $2",
                    self.tcond()
                ),
                vec![
                    self.tv(),
                    row.name.as_str().into(),
                    js(&row.doc),
                    row.updated_by.into(),
                    ts(row.updated_at),
                ],
            )
            .await?;
        if n == 0 {
            self.exec(
                &format!(
                    "INSERT INTO flow_calendars (tenant_id, {CAL_COLS}) VALUES ($1, $2, $3, $4, $5, $6)"
                ),
                vec![
                    self.tv(),
                    row.name.as_str().into(),
                    js(&row.doc),
                    row.updated_by.into(),
                    ts(row.created_at),
                    ts(row.updated_at),
                ],
            )
            .await?;
        }
        Ok(())
    }

    async fn flow_calendar_delete(&mut self, name: &str) -> Result<bool> {
        let q = format!(
            "DELETE FROM flow_calendars WHERE {} AND name = $2",
            self.tcond()
        );
        Ok(self.exec(&q, vec![self.tv(), name.into()]).await? > 0)
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
    ) -> Result<Vec<ClaimedTimer>> {
        let until = now + Duration::seconds(lease_secs);
        let backend = self.backend();
        let text = match backend {
            Backend::Postgres => {
                "UPDATE flow_timers SET lease_until = $1, lease_owner = $2, attempts = attempts + 1 \
                 WHERE (tenant_id, instance_id, timer) IN (SELECT tenant_id, instance_id, timer \
                   FROM flow_timers WHERE due_at <= $3 AND (lease_until IS NULL OR lease_until < $3) \
                   ORDER BY due_at LIMIT $4 FOR UPDATE SKIP LOCKED) \
                 RETURNING tenant_id, instance_id, timer, due_at, attempts"
            }
            // One writer: the UPDATE is atomic on its own.
            Backend::Sqlite => {
                "UPDATE flow_timers SET lease_until = $1, lease_owner = $2, attempts = attempts + 1 \
                 WHERE rowid IN (SELECT rowid FROM flow_timers WHERE due_at <= $3 \
                   AND (lease_until IS NULL OR lease_until < $3) ORDER BY due_at LIMIT $4) \
                 RETURNING tenant_id, instance_id, timer, due_at, attempts"
            }
        };
        let rows = self
            .connection()
            .query_all_raw(stmt(
                backend,
                text,
                vec![ts(until), worker.into(), ts(now), i64::from(limit).into()],
            ))
            .await
            .map_err(db)?;
        rows.iter()
            .map(|r| {
                Ok(ClaimedTimer {
                    tenant: TenantId(get(r, "tenant_id")?),
                    instance_id: get(r, "instance_id")?,
                    timer: get(r, "timer")?,
                    due_at: get(r, "due_at")?,
                    attempts: get(r, "attempts")?,
                })
            })
            .collect()
    }
}
