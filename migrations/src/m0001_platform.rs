//! The platform tables: tenants, identity, metadata, change log, counters, jobs, files and
//! idempotency keys. Every key leads with `tenant_id` (except `tenants` itself), so each
//! table can be distributed by tenant (Citus) and guarded by row-level security.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0001_platform"
    }
}

fn uuid(name: &str) -> ColumnDef {
    ColumnDef::new(name.to_owned()).uuid().not_null().to_owned()
}
fn uuid_null(name: &str) -> ColumnDef {
    ColumnDef::new(name.to_owned()).uuid().null().to_owned()
}
fn text(name: &str) -> ColumnDef {
    ColumnDef::new(name.to_owned()).text().not_null().to_owned()
}
fn text_null(name: &str) -> ColumnDef {
    ColumnDef::new(name.to_owned()).text().null().to_owned()
}
fn ts(name: &str) -> ColumnDef {
    ColumnDef::new(name.to_owned())
        .timestamp_with_time_zone()
        .not_null()
        .to_owned()
}
fn ts_null(name: &str) -> ColumnDef {
    ColumnDef::new(name.to_owned())
        .timestamp_with_time_zone()
        .null()
        .to_owned()
}
fn json(name: &str) -> ColumnDef {
    ColumnDef::new(name.to_owned())
        .json_binary()
        .not_null()
        .to_owned()
}
fn big(name: &str) -> ColumnDef {
    ColumnDef::new(name.to_owned())
        .big_integer()
        .not_null()
        .to_owned()
}
fn boolean(name: &str) -> ColumnDef {
    ColumnDef::new(name.to_owned())
        .boolean()
        .not_null()
        .to_owned()
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
            "tenants",
            vec![
                uuid("id"),
                text("name"),
                text("db_key"),
                text("status"),
                big("meta_version"),
                ts("created_at"),
            ],
            &["id"],
        ))
        .await?;
        m.create_index(index("ux_tenants_db_key", "tenants", &["db_key"], true))
            .await?;

        m.create_table(table(
            "users",
            vec![
                uuid("tenant_id"),
                uuid("id"),
                text("name"),
                text_null("email"),
                text_null("mobile"),
                text("status"),
                boolean("is_admin"),
                text_null("password_hash"),
                uuid_null("primary_department"),
                ts("created_at"),
            ],
            &["tenant_id", "id"],
        ))
        .await?;
        m.create_index(index(
            "ix_users_email",
            "users",
            &["tenant_id", "email"],
            false,
        ))
        .await?;

        m.create_table(table(
            "departments",
            vec![
                uuid("tenant_id"),
                uuid("id"),
                uuid_null("parent_id"),
                text("name"),
                uuid_null("leader_id"),
                big("sort"),
                ts("created_at"),
            ],
            &["tenant_id", "id"],
        ))
        .await?;

        m.create_table(table(
            "api_keys",
            vec![
                uuid("tenant_id"),
                uuid("id"),
                uuid("user_id"),
                text("name"),
                text("prefix"),
                text("key_hash"),
                ts("created_at"),
                ts_null("last_used_at"),
                ts_null("revoked_at"),
                ts_null("expires_at"),
            ],
            &["tenant_id", "id"],
        ))
        .await?;
        m.create_index(index("ux_api_keys_hash", "api_keys", &["key_hash"], true))
            .await?;

        m.create_table(table(
            "meta_objects",
            vec![
                uuid("tenant_id"),
                uuid("id"),
                text("api_name"),
                big("version"),
                json("doc"),
                ts("created_at"),
                ts("updated_at"),
            ],
            &["tenant_id", "id"],
        ))
        .await?;
        m.create_index(index(
            "ux_meta_objects_name",
            "meta_objects",
            &["tenant_id", "api_name"],
            true,
        ))
        .await?;

        m.create_table(table(
            "meta_revisions",
            vec![
                uuid("tenant_id"),
                uuid("id"),
                uuid("object_id"),
                text("object"),
                big("version"),
                text("action"),
                uuid("actor"),
                ts("at"),
                json("summary"),
                json("doc"),
            ],
            &["tenant_id", "id"],
        ))
        .await?;
        m.create_index(index(
            "ix_meta_revisions_object",
            "meta_revisions",
            &["tenant_id", "object", "id"],
            false,
        ))
        .await?;

        m.create_table(table(
            "change_log",
            vec![
                uuid("tenant_id"),
                uuid("id"),
                text("object"),
                uuid("record_id"),
                text("op"),
                uuid("actor"),
                text("source"),
                ts("at"),
                big("version"),
                json("diff"),
            ],
            &["tenant_id", "id"],
        ))
        .await?;
        m.create_index(index(
            "ix_change_log_record",
            "change_log",
            &["tenant_id", "object", "record_id", "id"],
            false,
        ))
        .await?;

        m.create_table(table(
            "counters",
            vec![uuid("tenant_id"), text("key"), big("value")],
            &["tenant_id", "key"],
        ))
        .await?;

        m.create_table(table(
            "jobs",
            vec![
                uuid("tenant_id"),
                uuid("id"),
                text("kind"),
                json("payload"),
                text("status"),
                json("progress"),
                ColumnDef::new("attempts".to_owned())
                    .integer()
                    .not_null()
                    .to_owned(),
                text_null("error"),
                ts("run_at"),
                ts_null("lease_until"),
                text_null("lease_owner"),
                uuid("created_by"),
                ts("created_at"),
                ts("updated_at"),
            ],
            &["tenant_id", "id"],
        ))
        .await?;
        m.create_index(index("ix_jobs_due", "jobs", &["status", "run_at"], false))
            .await?;

        m.create_table(table(
            "files",
            vec![
                uuid("tenant_id"),
                uuid("id"),
                text("name"),
                text("content_type"),
                big("size"),
                text("sha256"),
                text("storage_key"),
                uuid("created_by"),
                ts("created_at"),
            ],
            &["tenant_id", "id"],
        ))
        .await?;

        m.create_table(table(
            "idempotency_keys",
            vec![
                uuid("tenant_id"),
                text("key"),
                text("fingerprint"),
                ColumnDef::new("status".to_owned())
                    .integer()
                    .not_null()
                    .to_owned(),
                json("body"),
                ts("created_at"),
            ],
            &["tenant_id", "key"],
        ))
        .await?;
        Ok(())
    }
}
