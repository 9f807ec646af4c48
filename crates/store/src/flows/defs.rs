//! Flow definitions: drafts (`flow_defs`) and immutable published versions (`flow_versions`).

use sea_orm::QueryResult;
use sea_orm::sea_query::{Asterisk, Expr, ExprTrait, Order, Query};
use uuid::Uuid;
use weft_runtime::Result;
use weft_runtime::flows::ports::{FlowDefRow, FlowVersionRow};

use super::{get, insert_row};
use crate::tx::SeaTx;

const DEFS: &str = "flow_defs";
const DEF_COLS: [&str; 7] = [
    "key",
    "object",
    "doc",
    "latest_version",
    "updated_by",
    "created_at",
    "updated_at",
];
const VERSIONS: &str = "flow_versions";
const VERSION_COLS: [&str; 8] = [
    "id",
    "key",
    "version",
    "object",
    "hash",
    "doc",
    "published_by",
    "published_at",
];
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

pub(super) async fn def(tx: &SeaTx, key: &str) -> Result<Option<FlowDefRow>> {
    let q = Query::select()
        .columns(DEF_COLS)
        .from(DEFS)
        .cond_where(tx.tenant_cond())
        .and_where(Expr::col("key").eq(key))
        .to_owned();
    tx.one(&q).await?.as_ref().map(def_row).transpose()
}

pub(super) async fn defs(tx: &SeaTx) -> Result<Vec<FlowDefRow>> {
    let q = Query::select()
        .columns(DEF_COLS)
        .from(DEFS)
        .cond_where(tx.tenant_cond())
        .order_by("key", Order::Asc)
        .to_owned();
    tx.all(&q).await?.iter().map(def_row).collect()
}

/// Save a draft: update it in place, or insert it when it is new.
pub(super) async fn put_def(tx: &SeaTx, row: &FlowDefRow) -> Result<()> {
    let update = Query::update()
        .table(DEFS)
        .value("object", row.object.as_str())
        .value("doc", row.doc.clone())
        .value("latest_version", row.latest_version)
        .value("updated_by", row.updated_by)
        .value("updated_at", row.updated_at)
        .cond_where(tx.tenant_cond())
        .and_where(Expr::col("key").eq(row.key.as_str()))
        .to_owned();
    if tx.exec(&update).await? > 0 {
        return Ok(());
    }
    let insert = insert_row(
        tx,
        DEFS,
        &DEF_COLS,
        [
            Expr::val(row.key.as_str()),
            Expr::val(row.object.as_str()),
            Expr::val(row.doc.clone()),
            Expr::val(row.latest_version),
            Expr::val(row.updated_by),
            Expr::val(row.created_at),
            Expr::val(row.updated_at),
        ],
    )?;
    tx.exec(&insert).await?;
    Ok(())
}

pub(super) async fn delete_def(tx: &SeaTx, key: &str) -> Result<bool> {
    let q = Query::delete()
        .from_table(DEFS)
        .cond_where(tx.tenant_cond())
        .and_where(Expr::col("key").eq(key))
        .to_owned();
    Ok(tx.exec(&q).await? > 0)
}

pub(super) async fn insert_version(tx: &SeaTx, row: &FlowVersionRow) -> Result<()> {
    let q = insert_row(
        tx,
        VERSIONS,
        &VERSION_COLS,
        [
            Expr::val(row.id),
            Expr::val(row.key.as_str()),
            Expr::val(row.version),
            Expr::val(row.object.as_str()),
            Expr::val(row.hash.as_str()),
            Expr::val(row.doc.clone()),
            Expr::val(row.published_by),
            Expr::val(row.published_at),
        ],
    )?;
    // Versions are unique per (tenant, key, version): a concurrent publish loses here.
    tx.exec(&q).await.map_err(|e| match e {
        e if e.class() == Some(weft_runtime::error::Class::Conflict) => {
            crate::errors::StoreError::FlowPublishConflict.into()
        }
        e => e,
    })?;
    Ok(())
}

pub(super) async fn versions(tx: &SeaTx, key: &str) -> Result<Vec<FlowVersionRow>> {
    let q = Query::select()
        .columns(VERSION_COLS)
        .from(VERSIONS)
        .cond_where(tx.tenant_cond())
        .and_where(Expr::col("key").eq(key))
        .order_by("version", Order::Asc)
        .to_owned();
    tx.all(&q).await?.iter().map(version_row).collect()
}

pub(super) async fn version(tx: &SeaTx, id: Uuid) -> Result<Option<FlowVersionRow>> {
    let q = Query::select()
        .columns(VERSION_COLS)
        .from(VERSIONS)
        .cond_where(tx.tenant_cond())
        .and_where(Expr::col("id").eq(id))
        .to_owned();
    tx.one(&q).await?.as_ref().map(version_row).transpose()
}

pub(super) async fn delete_versions(tx: &SeaTx, key: &str) -> Result<()> {
    let q = Query::delete()
        .from_table(VERSIONS)
        .cond_where(tx.tenant_cond())
        .and_where(Expr::col("key").eq(key))
        .to_owned();
    tx.exec(&q).await?;
    Ok(())
}

/// How many instances (of any state) a flow has: a flow with instances cannot be deleted.
pub(super) async fn instance_count(tx: &SeaTx, key: &str) -> Result<i64> {
    let q = Query::select()
        .expr_as(Expr::col(Asterisk).count(), "n")
        .from("flow_instances")
        .cond_where(tx.tenant_cond())
        .and_where(Expr::col("flow_key").eq(key))
        .to_owned();
    match tx.one(&q).await? {
        Some(r) => get(&r, "n"),
        None => Ok(0),
    }
}
