//! The OpenAPI 3.1 document of the platform API, generated from the handlers. A test compares
//! it with the checked-in `openapi.json` so API changes are reviewed on purpose.

use utoipa::Modify;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

use crate::error::{ErrorBody, ErrorDetail, ErrorEnvelope};
use crate::routes::{auth, data, files, meta, org, system};

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(c) = openapi.components.as_mut() {
            c.add_security_scheme(
                "api_key",
                SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(HttpAuthScheme::Bearer)
                        .bearer_format("wft_…")
                        .description(Some("An API key: `Authorization: Bearer wft_…`"))
                        .build(),
                ),
            );
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Weft API", version = "1", description = "Metadata-driven records, metadata and files. \
        Errors share one envelope: `{\"error\": {code, message, details: [{path, code, message}], request_id}}`; every response carries the id in `X-Request-Id`."),
    paths(
        system::healthz, system::me, system::field_types, system::tenant_settings, system::update_tenant_settings,
        meta::list_objects, meta::create_object, meta::get_object, meta::update_object, meta::delete_object,
        meta::object_schema, meta::object_history, meta::add_field, meta::update_field, meta::delete_field,
        meta::restore_field, meta::change_field_type, meta::get_job,
        data::create_record, data::list_records, data::query_records, data::bulk_create, data::bulk_update,
        data::recycle_bin, data::get_record, data::update_record, data::delete_record, data::restore_record,
        data::purge_record, data::record_history, data::relationships, data::related_records,
        files::upload_file, files::download_file,
        data::transfer_record, data::export_records,
        auth::login, auth::logout, auth::session, auth::create_api_key, auth::list_api_keys, auth::revoke_api_key,
        org::list_users, org::create_user, org::update_user, org::manager_of, org::list_departments,
        org::create_department, org::update_department, org::delete_department, org::list_roles, org::create_role,
        org::update_role, org::delete_role, org::audit_log, org::explain,
    ),
    components(schemas(ErrorEnvelope, ErrorBody, ErrorDetail, data::BulkBody, data::BulkResult,
        data::RecordPage, files::FileInfo, auth::LoginBody, auth::NewKeyBody)),
    modifiers(&Security),
    tags((name = "records", description = "Create, read, update, delete and query records"),
         (name = "metadata", description = "Objects and fields, changed at runtime"),
         (name = "files", description = "Attachment uploads"),
         (name = "auth", description = "Sign-in, sessions and API keys"),
         (name = "org", description = "Users, departments, roles, audit log and access explanations"),
         (name = "system", description = "Health and identity"))
)]
pub struct ApiDoc;

/// The document as pretty JSON (what `openapi.json` holds).
pub fn document() -> String {
    full().to_pretty_json().unwrap_or_default()
}

/// The whole document: the core API plus feature areas documented in their own modules.
pub fn full() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.merge(crate::routes::automation::AutomationDoc::openapi());
    doc.merge(crate::routes::flows::FlowsDoc::openapi());
    doc.merge(crate::routes::views::ViewsDoc::openapi());
    doc
}
