//! Flow timers (`flow_timers`): one row per scheduled timer of an instance, claimed across
//! tenants by the timer worker (`crate::claims`).

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use uuid::Uuid;
use weft_meta::TenantId;
use weft_runtime::Result;
use weft_runtime::flows::ports::ClaimedTimer;

use super::{get, insert_row};
use crate::SeaStore;
use crate::claims::Claim;
use crate::tx::SeaTx;

const TIMERS: &str = "flow_timers";

/// Schedule a timer, or move an existing one (which also ends any lease on it).
pub(super) async fn put(
    tx: &SeaTx,
    instance: Uuid,
    timer: i32,
    node: &str,
    due_at: DateTime<Utc>,
) -> Result<()> {
    let q = insert_row(
        tx,
        TIMERS,
        &["instance_id", "timer", "node", "due_at", "attempts"],
        [
            Expr::val(instance),
            Expr::val(timer),
            Expr::val(node),
            Expr::val(due_at),
            Expr::Constant(0.into()),
        ],
    )?
    .on_conflict(
        OnConflict::columns(["tenant_id", "instance_id", "timer"])
            .update_columns(["due_at", "node"])
            .value("lease_until", Expr::null())
            .to_owned(),
    )
    .to_owned();
    tx.exec(&q).await?;
    Ok(())
}

pub(super) async fn delete(tx: &SeaTx, instance: Uuid, timer: i32) -> Result<()> {
    let q = Query::delete()
        .from_table(TIMERS)
        .cond_where(tx.tenant_cond())
        .and_where(Expr::col("instance_id").eq(instance))
        .and_where(Expr::col("timer").eq(timer))
        .to_owned();
    tx.exec(&q).await?;
    Ok(())
}

pub(super) async fn claim(
    store: &SeaStore,
    worker: &str,
    limit: u32,
    lease_secs: i64,
    now: DateTime<Utc>,
    skip_tenants: &[uuid::Uuid],
) -> Result<Vec<ClaimedTimer>> {
    let rows = Claim::flow_timers()
        .excluding(skip_tenants)
        .run(
            store.connection(),
            store.backend(),
            worker,
            limit,
            lease_secs,
            now,
        )
        .await?;
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
