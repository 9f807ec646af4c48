//! Record-table storage changes: DDL for objects and fields (run inside the metadata change's
//! transaction) and the shadow columns of a field type change.

use sea_orm::sea_query::{Alias, Expr, Query};
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use uuid::Uuid;
use weft_meta::{CompiledObject, FieldDef, FieldKind, ObjectDef, Value};
use weft_runtime::ports::Backend;
use weft_runtime::{Error, Result};

use super::SeaTx;
use crate::errors::db;
use crate::names::{currency_col, ident, shadow_col};
use crate::{ddl, records};

/// Run DDL statements in order. DDL is generated as text from validated identifiers only
/// (sea-query's schema builder cannot express partial indexes and per-backend column types).
pub(super) async fn run_ddl(tx: &SeaTx, stmts: Vec<String>) -> Result<()> {
    for s in stmts {
        tx.txn.execute_unprepared(&s).await.map_err(|e| {
            tracing::warn!(sql = %s, error = %e, "DDL failed");
            match e.sql_err() {
                Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => {
                    crate::errors::StoreError::DuplicateValues.into()
                }
                _ => db(e),
            }
        })?;
    }
    Ok(())
}

async fn sqlite_has_column(tx: &SeaTx, table: &str, column: &str) -> Result<bool> {
    // A PRAGMA table function: plain SQL, values bound.
    let row = tx
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

pub(super) async fn drop_field(tx: &SeaTx, def: &ObjectDef, field: &FieldDef) -> Result<()> {
    let is_ref = matches!(
        field.kind,
        FieldKind::Lookup { .. } | FieldKind::MasterDetail { .. }
    );
    if tx.names.backend != Backend::Sqlite || !is_ref {
        return run_ddl(tx, ddl::drop_field(&tx.names, def, field)).await;
    }
    // SQLite cannot drop a column that carries a foreign key: clear it and move it aside so
    // the API name is free again.
    let object = def.api_name.as_str();
    run_ddl(tx, ddl::drop_field_indexes(&tx.names, object, field)).await?;
    let clear = Query::update()
        .table(tx.names.table_ref(object))
        .value(Alias::new(field.name()), Expr::null())
        .to_owned();
    tx.exec(&clear).await?;
    let aside = ident(&format!(
        "{}__purged_{}",
        field.name(),
        &Uuid::now_v7().simple().to_string()[..8]
    ));
    run_ddl(
        tx,
        vec![format!(
            "ALTER TABLE {} RENAME COLUMN {} TO {aside}",
            tx.names.table(object),
            ident(field.name())
        )],
    )
    .await
}

pub(super) async fn sync_field_indexes(
    tx: &SeaTx,
    def: &ObjectDef,
    old: &FieldDef,
    new: &FieldDef,
) -> Result<()> {
    let object = def.api_name.as_str();
    let mut stmts = ddl::drop_field_indexes(&tx.names, object, old);
    stmts.extend(ddl::field_indexes(&tx.names, object, new));
    run_ddl(tx, stmts).await
}

pub(super) async fn add_shadow_column(tx: &SeaTx, def: &ObjectDef, new: &FieldDef) -> Result<()> {
    drop_shadow_column(tx, def, new).await?;
    let stmts: Vec<String> = ddl::add_shadow(&tx.names, def, new)
        .into_iter()
        .filter(|s| s.contains("ADD COLUMN"))
        .collect();
    run_ddl(tx, stmts).await
}

pub(super) async fn drop_shadow_column(tx: &SeaTx, def: &ObjectDef, new: &FieldDef) -> Result<()> {
    let stmts = ddl::drop_shadow(&tx.names, def, new);
    if tx.names.backend == Backend::Sqlite {
        let table = format!("t{}__{}", tx.names.key, def.api_name);
        let shadow = shadow_col(new.name());
        if !sqlite_has_column(tx, &table, &shadow).await? {
            return Ok(());
        }
        let cur = currency_col(&shadow);
        let mut keep = vec![stmts[0].clone()];
        if sqlite_has_column(tx, &table, &cur).await? && stmts.len() > 1 {
            keep.push(stmts[1].clone());
        }
        return run_ddl(tx, keep).await;
    }
    run_ddl(tx, stmts).await
}

pub(super) async fn write_shadow(
    tx: &SeaTx,
    def: &ObjectDef,
    new: &FieldDef,
    rows: &[(Uuid, Value)],
) -> Result<()> {
    let obj = CompiledObject::compile(def.clone()).map_err(Error::internal)?;
    records::write_shadow(&tx.txn, &tx.names, &obj, new, rows)
        .await
        .map_err(db)
}
