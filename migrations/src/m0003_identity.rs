//! Identity and access: department membership, roles with their permissions, sessions, the
//! hash-chained audit log, and a per-tenant access version (bumped on every permission or
//! membership change, so every process notices).

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0003_identity"
    }
}

fn col(name: &str) -> ColumnDef {
    ColumnDef::new(name.to_owned())
}

fn table(name: &str, cols: Vec<ColumnDef>, pk: &[&str]) -> TableCreateStatement {
    let mut t = Table::create();
    t.table(name.to_owned()).if_not_exists();
    for mut c in cols {
        t.col(&mut c);
    }
    let mut idx = Index::create();
    for c in pk {
        idx.col((*c).to_owned());
    }
    t.primary_key(&mut idx);
    t.to_owned()
}

fn index(name: &str, on: &str, cols: &[&str], unique: bool) -> IndexCreateStatement {
    let mut i = Index::create();
    i.name(name.to_owned()).table(on.to_owned()).if_not_exists();
    for c in cols {
        i.col((*c).to_owned());
    }
    if unique {
        i.unique();
    }
    i.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    #[allow(clippy::too_many_lines)] // a published migration is not rewritten, only appended to
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(table(
            "user_departments",
            vec![
                col("tenant_id").uuid().not_null().to_owned(),
                col("user_id").uuid().not_null().to_owned(),
                col("department_id").uuid().not_null().to_owned(),
                col("is_primary").boolean().not_null().to_owned(),
            ],
            &["tenant_id", "user_id", "department_id"],
        ))
        .await?;
        m.create_index(index(
            "ix_user_departments_dept",
            "user_departments",
            &["tenant_id", "department_id"],
            false,
        ))
        .await?;
        m.create_table(table(
            "roles",
            vec![
                col("tenant_id").uuid().not_null().to_owned(),
                col("id").uuid().not_null().to_owned(),
                col("key").text().not_null().to_owned(),
                col("label").json_binary().not_null().to_owned(),
                col("description").text().null().to_owned(),
                col("permissions").json_binary().not_null().to_owned(),
                col("created_at")
                    .timestamp_with_time_zone()
                    .not_null()
                    .to_owned(),
                col("updated_at")
                    .timestamp_with_time_zone()
                    .not_null()
                    .to_owned(),
            ],
            &["tenant_id", "id"],
        ))
        .await?;
        m.create_index(index("ux_roles_key", "roles", &["tenant_id", "key"], true))
            .await?;
        m.create_table(table(
            "user_roles",
            vec![
                col("tenant_id").uuid().not_null().to_owned(),
                col("user_id").uuid().not_null().to_owned(),
                col("role_id").uuid().not_null().to_owned(),
            ],
            &["tenant_id", "user_id", "role_id"],
        ))
        .await?;
        m.create_index(index(
            "ix_user_roles_role",
            "user_roles",
            &["tenant_id", "role_id"],
            false,
        ))
        .await?;
        m.create_table(table(
            "sessions",
            vec![
                col("tenant_id").uuid().not_null().to_owned(),
                col("id").uuid().not_null().to_owned(),
                col("user_id").uuid().not_null().to_owned(),
                col("token_hash").text().not_null().to_owned(),
                col("csrf_token").text().not_null().to_owned(),
                col("created_at")
                    .timestamp_with_time_zone()
                    .not_null()
                    .to_owned(),
                col("last_seen_at")
                    .timestamp_with_time_zone()
                    .not_null()
                    .to_owned(),
                col("expires_at")
                    .timestamp_with_time_zone()
                    .not_null()
                    .to_owned(),
                col("revoked_at")
                    .timestamp_with_time_zone()
                    .null()
                    .to_owned(),
            ],
            &["tenant_id", "id"],
        ))
        .await?;
        m.create_index(index(
            "ux_sessions_token",
            "sessions",
            &["token_hash"],
            true,
        ))
        .await?;
        m.create_index(index(
            "ix_sessions_user",
            "sessions",
            &["tenant_id", "user_id"],
            false,
        ))
        .await?;
        m.create_table(table(
            "audit_log",
            vec![
                col("tenant_id").uuid().not_null().to_owned(),
                col("seq").big_integer().not_null().to_owned(),
                col("id").uuid().not_null().to_owned(),
                col("at").timestamp_with_time_zone().not_null().to_owned(),
                col("actor").uuid().null().to_owned(),
                col("action").text().not_null().to_owned(),
                col("object").text().null().to_owned(),
                col("record_id").uuid().null().to_owned(),
                col("detail").json_binary().not_null().to_owned(),
                col("prev_hash").text().not_null().to_owned(),
                col("hash").text().not_null().to_owned(),
            ],
            &["tenant_id", "seq"],
        ))
        .await?;
        m.create_index(index(
            "ix_audit_action",
            "audit_log",
            &["tenant_id", "action", "seq"],
            false,
        ))
        .await?;
        m.create_table(table(
            "audit_heads",
            vec![
                col("tenant_id").uuid().not_null().to_owned(),
                col("seq").big_integer().not_null().to_owned(),
                col("hash").text().not_null().to_owned(),
            ],
            &["tenant_id"],
        ))
        .await?;
        m.alter_table(
            Table::alter()
                .table("tenants".to_owned())
                .add_column(
                    col("access_version")
                        .big_integer()
                        .not_null()
                        .default(0)
                        .to_owned(),
                )
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table("change_log".to_owned())
                .add_column(col("sealed_in").big_integer().null().to_owned())
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_change_log_unsealed",
            "change_log",
            &["tenant_id", "sealed_in", "id"],
            false,
        ))
        .await?;
        m.create_index(index("ix_users_tenant_email", "users", &["email"], false))
            .await?;
        Ok(())
    }
}
