//! The instance timeline (`flow_events`): append-only, in step order.

use sea_orm::sea_query::{Expr, ExprTrait, Order, Query};
use uuid::Uuid;
use weft_runtime::Result;
use weft_runtime::flows::ports::FlowEventRow;

use super::{get, insert_row};
use crate::tx::SeaTx;

const EVENTS: &str = "flow_events";

pub(super) async fn append(tx: &SeaTx, rows: &[FlowEventRow]) -> Result<()> {
    for r in rows {
        let q = insert_row(
            tx,
            EVENTS,
            &["instance_id", "seq", "at", "actor", "event", "node", "data"],
            [
                Expr::val(r.instance_id),
                Expr::val(r.seq),
                Expr::val(r.at),
                Expr::val(r.actor.clone()),
                Expr::val(r.event.as_str()),
                Expr::val(r.node.clone()),
                Expr::val(r.data.clone()),
            ],
        )?;
        tx.exec(&q).await?;
    }
    Ok(())
}

pub(super) async fn of_instance(tx: &SeaTx, instance: Uuid) -> Result<Vec<FlowEventRow>> {
    let q = Query::select()
        .columns(["instance_id", "seq", "at", "actor", "event", "node", "data"])
        .from(EVENTS)
        .cond_where(tx.tenant_cond())
        .and_where(Expr::col("instance_id").eq(instance))
        .order_by("seq", Order::Asc)
        .to_owned();
    tx.all(&q)
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
