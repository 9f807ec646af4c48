//! What the OpenAPI document says of query parameters and a few body values, stated where the
//! server checks it: bounded integers refused outside their range (400 `bad_query` naming the
//! parameter), closed sets of words as enums, JSON-in-a-string filters, IANA time zones.

use serde::{Deserialize, Deserializer};
use utoipa::ToSchema;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaType, Type};

/// The prefix of a query error the server raises itself: `` `name` `` then the English text.
/// [`crate::error::query_error`] reads the parameter back out of it for the error's detail.
pub(crate) fn param_error(name: &str, en: &str) -> String {
    format!("`{name}` {en}")
}

/// The parameter a [`param_error`] message names, and the rest of the text.
pub(crate) fn named_param(message: &str) -> Option<(&str, &str)> {
    let rest = message.strip_prefix('`')?;
    let (name, text) = rest.split_once('`')?;
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    ok.then(|| (name, text.trim_start()))
}

fn bounded<'de, D: Deserializer<'de>>(
    d: D,
    name: &str,
    min: u32,
    max: u32,
) -> Result<Option<u32>, D::Error> {
    let raw = Option::<String>::deserialize(d)?;
    let Some(raw) = raw else { return Ok(None) };
    match raw.parse::<u32>() {
        Ok(n) if (min..=max).contains(&n) => Ok(Some(n)),
        _ => Err(serde::de::Error::custom(param_error(
            name,
            &format!("must be an integer from {min} to {max}"),
        ))),
    }
}

/// `limit` of the run, delivery, audit and history logs: 1 to 500.
pub fn limit_500<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    bounded(d, "limit", 1, 500)
}

/// `limit` of notifications and inboxes: 1 to 200.
pub fn limit_200<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    bounded(d, "limit", 1, 200)
}

/// `level` of a manager chain: 1 (the direct manager) to 20.
pub fn level_20<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    bounded(d, "level", 1, 20)
}

/// A query parameter that carries JSON, e.g. `filter={"amount":{"gt":100}}`: a string whose
/// content is a JSON document (the query language of `POST /data/{object}/query`).
pub fn json_filter() -> Schema {
    ObjectBuilder::new()
        .schema_type(SchemaType::new(Type::String))
        .content_media_type("application/json")
        .description(Some(
            "A JSON filter (same language as the query endpoint), e.g. `{\"amount\": {\"gt\": 100}}`",
        ))
        .into()
}

/// The inbox of `GET /flows/tasks`.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum TaskBox {
    /// 待我审批.
    Todo,
    Done,
    /// 我发起的.
    Started,
    /// 抄送我的.
    Cc,
}

/// A flow instance's state, as `GET /flows/instances?status=` filters it.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum InstanceStatusParam {
    Running,
    Incident,
    Approved,
    Rejected,
    Withdrawn,
    Terminated,
}

/// Which record write a JSON Schema describes.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum SchemaMode {
    Create,
    Patch,
}

/// What a type change does with values that do not convert.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum OnInvalid {
    /// Stop the job (the default).
    Fail,
    /// Store them as empty.
    Null,
}

/// An IANA time zone name, exactly as the tz database spells it (`Asia/Shanghai`).
pub struct TimeZone;

impl utoipa::PartialSchema for TimeZone {
    fn schema() -> RefOr<Schema> {
        let names: Vec<&str> = chrono_tz::TZ_VARIANTS.iter().map(|z| z.name()).collect();
        ObjectBuilder::new()
            .schema_type(SchemaType::new(Type::String))
            .enum_values(Some(names))
            .description(Some(
                "An IANA time zone, e.g. `Asia/Shanghai`, spelled as in the tz database",
            ))
            .into()
    }
}

impl ToSchema for TimeZone {}

/// An ISO weekday: 1 = Monday … 7 = Sunday.
pub struct Weekday;

impl utoipa::PartialSchema for Weekday {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(SchemaType::new(Type::Integer))
            .minimum(Some(1))
            .maximum(Some(7))
            .description(Some("An ISO weekday: 1 = Monday … 7 = Sunday"))
            .into()
    }
}

impl ToSchema for Weekday {}

/// A label in a flow definition: text (taken as Chinese), or `{zh, en}`.
pub struct TextOrLabel;

impl utoipa::PartialSchema for TextOrLabel {
    fn schema() -> RefOr<Schema> {
        use utoipa::openapi::schema::{AdditionalProperties, OneOfBuilder};
        let text =
            || ObjectBuilder::new().schema_type(SchemaType::from_iter([Type::String, Type::Null]));
        let map = ObjectBuilder::new()
            .schema_type(SchemaType::new(Type::Object))
            .property("zh", text())
            .property("en", text())
            .additional_properties(Some(AdditionalProperties::FreeForm(false)));
        OneOfBuilder::new()
            .item(ObjectBuilder::new().schema_type(SchemaType::new(Type::String)))
            .item(map)
            .description(Some("Text (taken as Chinese), or `{zh, en}`"))
            .into()
    }
}

impl ToSchema for TextOrLabel {}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct Q {
        #[serde(default, deserialize_with = "limit_500")]
        limit: Option<u32>,
    }

    /// A query string read as the handlers read it.
    fn limit(q: &str) -> Result<Option<u32>, String> {
        actix_web::web::Query::<Q>::from_query(q)
            .map(|q| q.limit)
            .map_err(|e| match e {
                actix_web::error::QueryPayloadError::Deserialize(e) => e.to_string(),
                other => other.to_string(),
            })
    }

    #[test]
    fn limits_in_range_or_refused_with_the_parameter_named() {
        assert_eq!(limit(""), Ok(None));
        assert_eq!(limit("limit=1"), Ok(Some(1)));
        assert_eq!(limit("limit=500"), Ok(Some(500)));
        for bad in [
            "limit=0",
            "limit=501",
            "limit=-1",
            "limit=x",
            "limit=4294967296",
        ] {
            let e = limit(bad).unwrap_err();
            assert_eq!(
                named_param(&e),
                Some(("limit", "must be an integer from 1 to 500")),
                "{bad}"
            );
        }
    }

    #[test]
    fn only_our_own_messages_name_a_parameter() {
        assert_eq!(named_param("missing field `object`"), None);
        assert_eq!(named_param("`a b` x"), None);
        assert_eq!(named_param("invalid digit found in string"), None);
    }

    #[test]
    fn every_time_zone_of_the_enum_parses() {
        for z in chrono_tz::TZ_VARIANTS {
            assert_eq!(z.name().parse::<chrono_tz::Tz>().ok(), Some(z));
        }
    }
}
