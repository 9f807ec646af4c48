//! Whole PostgreSQL databases, for tests and tools: create an empty one, and drop one together
//! with the tenant roles it created (roles are cluster-wide, so they outlive the database).
//! These are DDL and role statements, so they are plain SQL built from checked names.

use sea_orm::{ConnectionTrait, Database, DatabaseConnection, EntityTrait, QuerySelect};
use weft_runtime::ports::Backend;
use weft_runtime::{Error, Result};

use crate::entities::tenants;
use crate::errors::db;
use crate::names::{Names, ident};

/// The URL of database `name` on the server of `server_url` (its query string kept).
pub fn database_url(server_url: &str, name: &str) -> String {
    match server_url.rfind('/') {
        Some(i) if i > "postgres://".len() => {
            let (base, rest) = server_url.split_at(i);
            let query = rest.find('?').map(|q| &rest[q..]).unwrap_or("");
            format!("{base}/{name}{query}")
        }
        _ => format!("{server_url}/{name}"),
    }
}

/// Create the empty database `name` (`[a-z0-9_]` only) on the server of `server_url`.
pub async fn create_database(server_url: &str, name: &str) -> Result<()> {
    let db_name = checked(name)?;
    let c = connect(server_url).await?;
    let res = c
        .execute_unprepared(&format!("CREATE DATABASE {db_name}"))
        .await
        .map_err(db);
    let _ = c.close().await;
    res.map(|_| ())
}

/// Drop the database `name` (closing its sessions) and the tenant roles it created. Every
/// step is tried; the first failure is returned.
pub async fn drop_database(server_url: &str, name: &str) -> Result<()> {
    let db_name = checked(name)?;
    // A database that cannot be read (never migrated, say) created no tenant roles.
    let roles = tenant_roles(&database_url(server_url, name))
        .await
        .unwrap_or_default();
    let c = connect(server_url).await?;
    let mut first_err = c
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {db_name} WITH (FORCE)"))
        .await
        .map_err(db)
        .err();
    for role in roles {
        if let Err(e) = c
            .execute_unprepared(&format!("DROP ROLE IF EXISTS {}", ident(&role)))
            .await
        {
            first_err.get_or_insert(db(e));
        }
    }
    let _ = c.close().await;
    first_err.map_or(Ok(()), Err)
}

/// The roles of the tenants stored in the database at `url`.
async fn tenant_roles(url: &str) -> Result<Vec<String>> {
    let c = connect(url).await?;
    let keys: Result<Vec<String>> = tenants::Entity::find()
        .select_only()
        .column(tenants::Column::DbKey)
        .into_tuple()
        .all(&c)
        .await
        .map_err(db);
    let _ = c.close().await;
    Ok(keys?
        .iter()
        .filter(|k| is_plain(k))
        .map(|k| Names::new(Backend::Postgres, k).role())
        .collect())
}

async fn connect(url: &str) -> Result<DatabaseConnection> {
    Database::connect(url)
        .await
        .map_err(|e| Error::Unavailable(format!("cannot connect to PostgreSQL: {e}")))
}

fn is_plain(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// The quoted name, when it is made of `[a-z0-9_]` only.
fn checked(name: &str) -> Result<String> {
    if is_plain(name) {
        Ok(ident(name))
    } else {
        Err(Error::internal(format!("bad database name {name:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_url_replaces_the_database_and_keeps_the_query() {
        assert_eq!(
            database_url(
                "postgres://u@h:5432/postgres?sslmode=disable",
                "weft_test_1"
            ),
            "postgres://u@h:5432/weft_test_1?sslmode=disable"
        );
        assert_eq!(
            database_url("postgres://u@h:5432", "weft_test_1"),
            "postgres://u@h:5432/weft_test_1"
        );
    }

    #[test]
    fn odd_names_are_refused() {
        assert!(checked("weft_test_01af").is_ok());
        assert!(checked("x\"; DROP").is_err());
        assert!(checked("").is_err());
    }
}
