//! Flow instances (`flow_instances`): the engine's state per run, changed only by
//! compare-and-swap on its revision.

use chrono::{DateTime, Utc};
use sea_orm::QueryResult;
use sea_orm::sea_query::{Expr, ExprTrait, Order, Query, SelectStatement};
use serde_json::Value as Json;
use uuid::Uuid;
use weft_runtime::Result;
use weft_runtime::flows::ports::{FlowInstanceRow, InstanceFilter};

use super::{get, insert_row};
use crate::tx::SeaTx;

const INSTANCES: &str = "flow_instances";
const COLS: [&str; 13] = [
    "id",
    "version_id",
    "flow_key",
    "version",
    "object",
    "record_id",
    "initiator",
    "status",
    "rev",
    "state",
    "created_at",
    "updated_at",
    "ended_at",
];

fn row(r: &QueryResult) -> Result<FlowInstanceRow> {
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

fn select(tx: &SeaTx) -> SelectStatement {
    Query::select()
        .columns(COLS)
        .from(INSTANCES)
        .cond_where(tx.tenant_cond())
        .to_owned()
}

/// `status IN ('running', 'incident')`: the instances still in progress. Literal states, as
/// the indexes on `status` expect.
fn active() -> Expr {
    Expr::col("status").is_in([
        Expr::Constant("running".into()),
        Expr::Constant("incident".into()),
    ])
}

pub(super) async fn insert(tx: &SeaTx, r: &FlowInstanceRow) -> Result<()> {
    let q = insert_row(
        tx,
        INSTANCES,
        &COLS,
        [
            Expr::val(r.id),
            Expr::val(r.version_id),
            Expr::val(r.flow_key.as_str()),
            Expr::val(r.version),
            Expr::val(r.object.as_str()),
            Expr::val(r.record_id),
            Expr::val(r.initiator),
            Expr::val(r.status.as_str()),
            Expr::val(r.rev),
            Expr::val(r.state.clone()),
            Expr::val(r.created_at),
            Expr::val(r.updated_at),
            Expr::val(r.ended_at),
        ],
    )?;
    tx.exec(&q).await?;
    Ok(())
}

pub(super) async fn get_one(tx: &SeaTx, id: Uuid) -> Result<Option<FlowInstanceRow>> {
    let q = select(tx).and_where(Expr::col("id").eq(id)).to_owned();
    tx.one(&q).await?.as_ref().map(row).transpose()
}

/// The new state of an instance, if it is still at `old_rev`.
pub(super) struct Cas<'a> {
    pub id: Uuid,
    pub old_rev: i64,
    pub new_rev: i64,
    pub status: &'a str,
    pub state: &'a Json,
    pub at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
}

/// Store the new state if nobody changed the instance since `old_rev` was read.
pub(super) async fn cas(tx: &SeaTx, c: Cas<'_>) -> Result<bool> {
    let q = Query::update()
        .table(INSTANCES)
        .value("rev", c.new_rev)
        .value("status", c.status)
        .value("state", c.state.clone())
        .value("updated_at", c.at)
        .value("ended_at", c.ended_at)
        .cond_where(tx.tenant_cond())
        .and_where(Expr::col("id").eq(c.id))
        .and_where(Expr::col("rev").eq(c.old_rev))
        .to_owned();
    Ok(tx.exec(&q).await? == 1)
}

pub(super) async fn active_on_record(tx: &SeaTx, record: Uuid) -> Result<Vec<FlowInstanceRow>> {
    let q = select(tx)
        .and_where(Expr::col("record_id").eq(record))
        .and_where(active())
        .to_owned();
    tx.all(&q).await?.iter().map(row).collect()
}

/// Newest first.
pub(super) async fn list(
    tx: &SeaTx,
    filter: InstanceFilter,
    limit: u32,
) -> Result<Vec<FlowInstanceRow>> {
    let cond = match filter {
        InstanceFilter::StartedBy(u) => Expr::col("initiator").eq(u),
        InstanceFilter::Record(r) => Expr::col("record_id").eq(r),
        InstanceFilter::Status(Some(s)) => Expr::col("status").eq(s),
        InstanceFilter::Status(None) => active(),
    };
    let q = select(tx)
        .and_where(cond)
        .order_by("id", Order::Desc)
        .limit(u64::from(limit))
        .to_owned();
    tx.all(&q).await?.iter().map(row).collect()
}

/// Oldest first (a migration walks them in order).
pub(super) async fn active_of(tx: &SeaTx, key: &str, limit: u32) -> Result<Vec<FlowInstanceRow>> {
    let q = select(tx)
        .and_where(Expr::col("flow_key").eq(key))
        .and_where(active())
        .order_by("id", Order::Asc)
        .limit(u64::from(limit))
        .to_owned();
    tx.all(&q).await?.iter().map(row).collect()
}

pub(super) async fn set_version(
    tx: &SeaTx,
    id: Uuid,
    version_id: Uuid,
    version: i32,
) -> Result<()> {
    let q = Query::update()
        .table(INSTANCES)
        .value("version_id", version_id)
        .value("version", version)
        .cond_where(tx.tenant_cond())
        .and_where(Expr::col("id").eq(id))
        .to_owned();
    tx.exec(&q).await?;
    Ok(())
}
