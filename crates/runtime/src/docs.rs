//! Named JSON documents whose shape is defined by tenant metadata, not by Rust types: a record
//! body, an object or field definition, a generated JSON Schema. Each is a transparent wrapper
//! around the JSON (so the wire shape is the document itself) with a named OpenAPI schema that
//! says where its per-tenant shape is described.

use serde_json::Value as Json;

/// Declares a transparent JSON document type with a named, described OpenAPI schema.
macro_rules! dynamic_doc {
    ($(#[$m:meta])* $name:ident, $desc:expr) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Json);

        impl std::ops::Deref for $name {
            type Target = Json;
            fn deref(&self) -> &Json {
                &self.0
            }
        }

        impl From<Json> for $name {
            fn from(v: Json) -> Self {
                Self(v)
            }
        }

        impl From<$name> for Json {
            fn from(v: $name) -> Json {
                v.0
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, Type};
                ObjectBuilder::new()
                    .schema_type(Type::Object)
                    .additional_properties(Some(AdditionalProperties::FreeForm(true)))
                    .description(Some($desc))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {
            fn name() -> std::borrow::Cow<'static, str> {
                std::borrow::Cow::Borrowed(stringify!($name))
            }
        }
    };
}

dynamic_doc!(
    /// One record in its API JSON form.
    Record,
    "A record: the system fields `id`, `version`, `owner`, `department`, `created_by`, \
     `created_at`, `updated_by`, `updated_at` (and `deleted_at`, `deleted_by` in the recycle \
     bin), then the object's visible fields by API name; lookups named in `expand` are embedded \
     under `_expand`. The fields of each object are described by its generated JSON Schema at \
     `GET /api/v1/meta/objects/{name}/schema`."
);

dynamic_doc!(
    /// The field values of a record write (create or PATCH).
    RecordInput,
    "Field values by API name. What each object accepts is the JSON Schema at \
     `GET /api/v1/meta/objects/{name}/schema` (`?mode=create` or `?mode=update`)."
);

dynamic_doc!(
    /// An object definition as clients see it.
    ObjectDefinition,
    "An object definition (`weft.object/1`): `api_name`, `label`, `plural_label`, \
     `description`, `name_field`, `layout`, `version`, the live `fields` and the \
     `deleted_fields` (each a field definition, see `FieldDefinition`)."
);

dynamic_doc!(
    /// One field definition.
    FieldDefinition,
    "A field definition: `name`, `label`, `type` (one of `GET /api/v1/meta/field-types`) and \
     that type's options, `required`, `unique`, `indexed`, `help`, `default`."
);

dynamic_doc!(
    /// A JSON Schema document.
    JsonSchemaDoc,
    "A JSON Schema (2020-12) document generated from the object's metadata."
);

/// Wrap a list of JSON values as `T`s.
pub fn wrap_all<T: From<Json>>(v: Vec<Json>) -> Vec<T> {
    v.into_iter().map(T::from).collect()
}

/// One problem with a submitted document (the schema of `weft_meta::Problem`).
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ProblemView {
    /// JSON pointer into the submitted document, e.g. `/amount` or `/fields/3/options/0/value`.
    pub path: String,
    /// Stable, machine-readable code such as `required`, `type`, `max_length`.
    pub code: String,
    /// A human-readable explanation.
    pub message: String,
}

/// A label in the tenant's languages (the schema of `weft_meta::Label`).
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct LabelView {
    /// Chinese.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zh: Option<String>,
    /// English.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub en: Option<String>,
}

/// Declares a transparent JSON view whose OpenAPI schema is the one of `$schema`, a struct
/// that documents the shape. For views that callers still read as JSON.
macro_rules! described_json {
    ($(#[$m:meta])* $name:ident, $schema:ty) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub serde_json::Value);

        impl std::ops::Deref for $name {
            type Target = serde_json::Value;
            fn deref(&self) -> &serde_json::Value {
                &self.0
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                <$schema as utoipa::PartialSchema>::schema()
            }
        }

        impl utoipa::ToSchema for $name {
            fn name() -> std::borrow::Cow<'static, str> {
                std::borrow::Cow::Borrowed(stringify!($name))
            }
            fn schemas(
                schemas: &mut Vec<(
                    String,
                    utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
                )>,
            ) {
                <$schema as utoipa::ToSchema>::schemas(schemas);
            }
        }
    };
}
pub(crate) use described_json;
