//! Business calendars (`flow_calendars`), one document per name.

use sea_orm::QueryResult;
use sea_orm::sea_query::{Expr, ExprTrait, Order, Query};
use weft_runtime::Result;
use weft_runtime::flows::ports::FlowCalendarRow;

use super::{get, insert_row};
use crate::tx::SeaTx;

const CALENDARS: &str = "flow_calendars";
const CAL_COLS: [&str; 5] = ["name", "doc", "updated_by", "created_at", "updated_at"];

fn row(r: &QueryResult) -> Result<FlowCalendarRow> {
    Ok(FlowCalendarRow {
        name: get(r, "name")?,
        doc: get(r, "doc")?,
        updated_by: get(r, "updated_by")?,
        created_at: get(r, "created_at")?,
        updated_at: get(r, "updated_at")?,
    })
}

pub(super) async fn all(tx: &SeaTx) -> Result<Vec<FlowCalendarRow>> {
    let q = Query::select()
        .columns(CAL_COLS)
        .from(CALENDARS)
        .cond_where(tx.tenant_cond())
        .order_by("name", Order::Asc)
        .to_owned();
    tx.all(&q).await?.iter().map(row).collect()
}

pub(super) async fn get_one(tx: &SeaTx, name: &str) -> Result<Option<FlowCalendarRow>> {
    let q = Query::select()
        .columns(CAL_COLS)
        .from(CALENDARS)
        .cond_where(tx.tenant_cond())
        .and_where(Expr::col("name").eq(name))
        .to_owned();
    tx.one(&q).await?.as_ref().map(row).transpose()
}

/// Save a calendar: update it in place, or insert it when it is new.
pub(super) async fn put(tx: &SeaTx, row: &FlowCalendarRow) -> Result<()> {
    let update = Query::update()
        .table(CALENDARS)
        .value("doc", row.doc.clone())
        .value("updated_by", row.updated_by)
        .value("updated_at", row.updated_at)
        .cond_where(tx.tenant_cond())
        .and_where(Expr::col("name").eq(row.name.as_str()))
        .to_owned();
    if tx.exec(&update).await? > 0 {
        return Ok(());
    }
    let insert = insert_row(
        tx,
        CALENDARS,
        &CAL_COLS,
        [
            Expr::val(row.name.as_str()),
            Expr::val(row.doc.clone()),
            Expr::val(row.updated_by),
            Expr::val(row.created_at),
            Expr::val(row.updated_at),
        ],
    )?;
    tx.exec(&insert).await?;
    Ok(())
}

pub(super) async fn delete(tx: &SeaTx, name: &str) -> Result<bool> {
    let q = Query::delete()
        .from_table(CALENDARS)
        .cond_where(tx.tenant_cond())
        .and_where(Expr::col("name").eq(name))
        .to_owned();
    Ok(tx.exec(&q).await? > 0)
}
