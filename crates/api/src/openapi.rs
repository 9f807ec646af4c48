//! The OpenAPI 3.1 document of the platform API, generated from the handlers. A test compares
//! it with the checked-in `openapi.json` so API changes are reviewed on purpose.

use utoipa::Modify;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

use crate::error::{ErrorBody, ErrorDetail, ErrorEnvelope};
use crate::routes::{auth, data, files, meta, org, system, views};

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

/// Every operation with a security requirement documents 401 with the error envelope: the
/// credentials are missing, wrong, expired or revoked.
struct Unauthorized;

/// A response with the error envelope as its body.
fn error_response(
    description: &str,
) -> utoipa::openapi::RefOr<utoipa::openapi::response::Response> {
    use utoipa::openapi::{Ref, RefOr, ResponseBuilder, content::ContentBuilder};
    let body = ContentBuilder::new()
        .schema(Some(RefOr::Ref(Ref::from_schema_name("ErrorEnvelope"))))
        .build();
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content("application/json", body)
            .build(),
    )
}

impl Modify for Unauthorized {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            for op in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.options,
                &mut item.head,
                &mut item.patch,
                &mut item.trace,
            ]
            .into_iter()
            .flatten()
            {
                let takes_input = op.parameters.as_ref().is_some_and(|p| !p.is_empty())
                    || op.request_body.is_some();
                if takes_input && !op.responses.responses.contains_key("400") {
                    op.responses.responses.insert(
                        "400".to_owned(),
                        error_response(
                            "Malformed request: a path or query parameter of the wrong type, \
                             or a body that is not JSON",
                        ),
                    );
                }
                let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
                if !secured || op.responses.responses.contains_key("401") {
                    continue;
                }
                op.responses.responses.insert(
                    "401".to_owned(),
                    error_response(
                        "Not signed in: no, a wrong, an expired or a revoked credential",
                    ),
                );
            }
        }
    }
}

/// Query parameters whose value is a JSON document (their schema, from
/// [`crate::params::json_filter`], is a string with `contentMediaType: application/json`) are
/// described the OpenAPI way: `content: {application/json: {schema: <the document>}}`, so a
/// client or a test generator serializes a JSON object into them.
struct JsonQueryParams;

impl Modify for JsonQueryParams {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaType, Type};
        use utoipa::openapi::{RefOr, content::ContentBuilder, path::ParameterIn};
        for item in openapi.paths.paths.values_mut() {
            for op in [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                for p in op.parameters.iter_mut().flatten() {
                    let RefOr::T(p) = p else { continue };
                    let Some(RefOr::T(Schema::Object(o))) = &p.schema else {
                        continue;
                    };
                    if p.parameter_in != ParameterIn::Query
                        || o.content_media_type != "application/json"
                    {
                        continue;
                    }
                    let doc = ObjectBuilder::new()
                        .schema_type(SchemaType::new(Type::Object))
                        .description(o.description.clone())
                        .build();
                    let content = ContentBuilder::new().schema(Some(doc)).build();
                    p.content
                        .insert("application/json".to_owned(), RefOr::T(content));
                    p.schema = None;
                    p.style = None;
                    p.explode = None;
                }
            }
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Weft API", version = "1", description = "Metadata-driven records, metadata and files. \
        Errors share one envelope: `{\"error\": {code, message, details: [{path, code, message}], request_id}}`; every response carries the id in `X-Request-Id`."),
    paths(
        system::healthz, system::me, system::field_types, system::tenant_settings, system::update_tenant_settings,
        system::tenant_usage,
        meta::list_objects, meta::create_object, meta::get_object, meta::update_object, meta::delete_object,
        meta::object_schema, meta::object_history, meta::add_field, meta::update_field, meta::delete_field,
        meta::restore_field, meta::change_field_type, meta::get_job,
        data::create_record, data::list_records, data::query_records, data::bulk_create, data::bulk_update,
        data::recycle_bin, data::get_record, data::update_record, data::delete_record, data::restore_record,
        data::purge_record, data::record_history, data::relationships, data::related_records,
        files::upload_file, files::storage_usage, files::download_file,
        data::transfer_record, data::export_records,
        auth::login, auth::logout, auth::session, auth::create_api_key, auth::list_api_keys, auth::revoke_api_key, auth::change_password,
        org::list_users, org::create_user, org::update_user, org::manager_of, org::list_departments,
        org::create_department, org::update_department, org::delete_department, org::list_roles, org::create_role,
        org::update_role, org::delete_role, org::audit_log, org::explain,
        views::list_views, views::create_view, views::get_view, views::update_view, views::delete_view,
        // Rules, automation and notifications; flows, calendars and approvals (typed-b).
        crate::routes::automation::list_rules, crate::routes::automation::create_rule,
        crate::routes::automation::check_rule, crate::routes::automation::dry_run_rule,
        crate::routes::automation::get_rule, crate::routes::automation::update_rule,
        crate::routes::automation::delete_rule, crate::routes::automation::list_runs,
        crate::routes::automation::get_run, crate::routes::automation::retry_run,
        crate::routes::automation::list_deliveries, crate::routes::automation::resend_delivery,
        crate::routes::automation::list_notifications, crate::routes::automation::mark_notification_read,
        crate::routes::automation::list_manual_actions, crate::routes::automation::run_manual_action,
        crate::routes::flows::list_flows, crate::routes::flows::create_flow, crate::routes::flows::get_flow,
        crate::routes::flows::update_flow, crate::routes::flows::delete_flow, crate::routes::flows::validate_flow,
        crate::routes::flows::publish_flow, crate::routes::flows::flow_versions,
        crate::routes::flows::migrate_instances, crate::routes::flows::list_calendars,
        crate::routes::flows::get_calendar, crate::routes::flows::put_calendar,
        crate::routes::flows::delete_calendar, crate::routes::flows::start_instance,
        crate::routes::flows::list_instances, crate::routes::flows::get_instance,
        crate::routes::flows::act_on_instance, crate::routes::flows::startable_flows,
        crate::routes::flows::list_tasks, crate::routes::flows::act_on_task,
    ),
    components(schemas(ErrorEnvelope, ErrorBody, ErrorDetail, data::BulkBody, files::FileInfo,
        auth::LoginBody, auth::NewKeyBody, auth::ChangePasswordBody, auth::PasswordChanged,
        crate::params::SchemaMode, crate::params::OnInvalid,
        crate::params::TaskBox, crate::params::InstanceStatusParam)),
    modifiers(&Security),
    tags((name = "records", description = "Create, read, update, delete and query records"),
         (name = "metadata", description = "Objects and fields, changed at runtime"),
         (name = "files", description = "Attachment uploads"),
         (name = "auth", description = "Sign-in, sessions and API keys"),
         (name = "org", description = "Users, departments, roles, audit log and access explanations"),
         (name = "views", description = "Saved list views: filter, sort, columns and mode of an object's list, \
            personal or shared"),
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
    Unauthorized.modify(&mut doc);
    JsonQueryParams.modify(&mut doc);
    doc
}

/// The methods the document lists for the route template `path` matches (upper case), or
/// none when no template matches. Templates are read once from the document.
pub fn methods_of(path: &str) -> Vec<&'static str> {
    use std::sync::OnceLock;
    type Routes = Vec<(Vec<String>, Vec<&'static str>)>;
    static ROUTES: OnceLock<Routes> = OnceLock::new();
    let routes = ROUTES.get_or_init(|| {
        let doc = full();
        doc.paths
            .paths
            .iter()
            .map(|(template, item)| {
                let segs = template.split('/').map(str::to_owned).collect();
                let mut ms = Vec::new();
                for (m, present) in [
                    ("GET", item.get.is_some()),
                    ("PUT", item.put.is_some()),
                    ("POST", item.post.is_some()),
                    ("DELETE", item.delete.is_some()),
                    ("PATCH", item.patch.is_some()),
                ] {
                    if present {
                        ms.push(m);
                    }
                }
                (segs, ms)
            })
            .collect()
    });
    let want: Vec<&str> = path.split('/').collect();
    for (segs, ms) in routes {
        if segs.len() == want.len()
            && segs
                .iter()
                .zip(&want)
                .all(|(t, w)| t == w || (t.starts_with('{') && !w.is_empty()))
        {
            return ms.clone();
        }
    }
    Vec::new()
}
