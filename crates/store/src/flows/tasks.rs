//! The inbox: approval tasks (`flow_tasks`) and CC entries (`flow_cc`).

use chrono::{DateTime, Utc};
use sea_orm::QueryResult;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Order, Query};
use uuid::Uuid;
use weft_runtime::Result;
use weft_runtime::flows::ports::{FlowCcRow, FlowTaskRow};

use super::{get, insert_row};
use crate::tx::SeaTx;

const TASKS: &str = "flow_tasks";
const TASK_COLS: [&str; 15] = [
    "id",
    "instance_id",
    "task",
    "ni",
    "node",
    "assignee",
    "acting_for",
    "kind",
    "status",
    "reason",
    "flow_key",
    "object",
    "record_id",
    "created_at",
    "closed_at",
];
const CC: &str = "flow_cc";
const CC_COLS: [&str; 7] = [
    "user_id",
    "instance_id",
    "node",
    "flow_key",
    "object",
    "record_id",
    "created_at",
];

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

pub(super) async fn insert(tx: &SeaTx, rows: &[FlowTaskRow]) -> Result<()> {
    for r in rows {
        let q = insert_row(
            tx,
            TASKS,
            &TASK_COLS,
            [
                Expr::val(r.id),
                Expr::val(r.instance_id),
                Expr::val(r.task),
                Expr::val(r.ni),
                Expr::val(r.node.as_str()),
                Expr::val(r.assignee.as_str()),
                Expr::val(r.acting_for.clone()),
                Expr::val(r.kind.as_str()),
                Expr::val(r.status.as_str()),
                Expr::val(r.reason.clone()),
                Expr::val(r.flow_key.as_str()),
                Expr::val(r.object.as_str()),
                Expr::val(r.record_id),
                Expr::val(r.created_at),
                Expr::val(r.closed_at),
            ],
        )?;
        tx.exec(&q).await?;
    }
    Ok(())
}

pub(super) async fn set_status(
    tx: &SeaTx,
    instance: Uuid,
    task: i32,
    status: &str,
    reason: Option<&str>,
    closed_at: Option<DateTime<Utc>>,
) -> Result<()> {
    let q = Query::update()
        .table(TASKS)
        .value("status", status)
        .value("reason", reason.map(str::to_owned))
        .value("closed_at", closed_at)
        .cond_where(tx.tenant_cond())
        .and_where(Expr::col("instance_id").eq(instance))
        .and_where(Expr::col("task").eq(task))
        .to_owned();
    tx.exec(&q).await?;
    Ok(())
}

pub(super) async fn set_node(tx: &SeaTx, instance: Uuid, task: i32, node: &str) -> Result<()> {
    let q = Query::update()
        .table(TASKS)
        .value("node", node)
        .cond_where(tx.tenant_cond())
        .and_where(Expr::col("instance_id").eq(instance))
        .and_where(Expr::col("task").eq(task))
        .to_owned();
    tx.exec(&q).await?;
    Ok(())
}

pub(super) async fn task(tx: &SeaTx, id: Uuid) -> Result<Option<FlowTaskRow>> {
    let q = Query::select()
        .columns(TASK_COLS)
        .from(TASKS)
        .cond_where(tx.tenant_cond())
        .and_where(Expr::col("id").eq(id))
        .to_owned();
    tx.one(&q).await?.as_ref().map(task_row).transpose()
}

pub(super) async fn of_instance(tx: &SeaTx, instance: Uuid) -> Result<Vec<FlowTaskRow>> {
    let q = Query::select()
        .columns(TASK_COLS)
        .from(TASKS)
        .cond_where(tx.tenant_cond())
        .and_where(Expr::col("instance_id").eq(instance))
        .order_by("task", Order::Asc)
        .to_owned();
    tx.all(&q).await?.iter().map(task_row).collect()
}

/// A user's inbox in one state, newest first.
pub(super) async fn for_user(
    tx: &SeaTx,
    user: &str,
    status: &str,
    limit: u32,
) -> Result<Vec<FlowTaskRow>> {
    let q = Query::select()
        .columns(TASK_COLS)
        .from(TASKS)
        .cond_where(tx.tenant_cond())
        .and_where(Expr::col("assignee").eq(user))
        .and_where(Expr::col("status").eq(status))
        .order_by("id", Order::Desc)
        .limit(u64::from(limit))
        .to_owned();
    tx.all(&q).await?.iter().map(task_row).collect()
}

/// A re-applied step copies nobody twice: an existing entry is kept.
pub(super) async fn insert_cc(tx: &SeaTx, rows: &[FlowCcRow]) -> Result<()> {
    for r in rows {
        let q = insert_row(
            tx,
            CC,
            &CC_COLS,
            [
                Expr::val(r.user_id.as_str()),
                Expr::val(r.instance_id),
                Expr::val(r.node.as_str()),
                Expr::val(r.flow_key.as_str()),
                Expr::val(r.object.as_str()),
                Expr::val(r.record_id),
                Expr::val(r.created_at),
            ],
        )?
        .on_conflict(OnConflict::new().do_nothing().to_owned())
        .to_owned();
        tx.exec(&q).await?;
    }
    Ok(())
}

pub(super) async fn cc_for(tx: &SeaTx, user: &str, limit: u32) -> Result<Vec<FlowCcRow>> {
    let q = Query::select()
        .columns(CC_COLS)
        .from(CC)
        .cond_where(tx.tenant_cond())
        .and_where(Expr::col("user_id").eq(user))
        .order_by("created_at", Order::Desc)
        .limit(u64::from(limit))
        .to_owned();
    tx.all(&q).await?.iter().map(cc_row).collect()
}

pub(super) async fn cc_of(tx: &SeaTx, instance: Uuid) -> Result<Vec<FlowCcRow>> {
    let q = Query::select()
        .columns(CC_COLS)
        .from(CC)
        .cond_where(tx.tenant_cond())
        .and_where(Expr::col("instance_id").eq(instance))
        .order_by("created_at", Order::Asc)
        .to_owned();
    tx.all(&q).await?.iter().map(cc_row).collect()
}
