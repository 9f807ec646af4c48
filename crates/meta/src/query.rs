//! Record queries: the JSON filter language, sort, projection, expansion and cursors, parsed
//! and checked against an object's fields into a typed plan that storage turns into SQL.
//!
//! Filter grammar:
//! ```json
//! {"and": [F, ...]} | {"or": [F, ...]} | {"not": F}
//! | {"field": "amount", "op": "gte", "value": "1000"}
//! ```
//! Operators: eq, ne, gt, gte, lt, lte, in, nin, contains, starts_with, is_null, between.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{NaiveDate, TimeZone, Utc};
use serde_json::{Map, Value as Json, json};
use uuid::Uuid;

use crate::compiled::CompiledObject;
use crate::field::{FieldDef, FieldKind};
use crate::ids::FieldId;
use crate::label::Label;
use crate::name::ApiName;
use crate::problem::Problem;
use crate::value::{Value, parse_datetime, parse_decimal, parse_time, parse_uuid, to_json};

pub const MAX_LIMIT: u32 = 200;
pub const DEFAULT_LIMIT: u32 = 50;
const MAX_DEPTH: usize = 12;
const MAX_CONDITIONS: usize = 200;
const MAX_IN: usize = 1_000;
const MAX_SORT: usize = 5;

/// How storage compares a column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColKind {
    Text,
    Int,
    Decimal,
    Bool,
    Date,
    DateTime,
    Time,
    Uuid,
    Json,
}

/// A column reference: a field (or system column) and how it is compared.
#[derive(Clone, Debug, PartialEq)]
pub struct Col {
    pub name: String,
    pub kind: ColKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Gt,
    Gte,
    Lt,
    Lte,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Pred {
    And(Vec<Pred>),
    Or(Vec<Pred>),
    Not(Box<Pred>),
    Cmp {
        col: Col,
        op: CmpOp,
        value: Value,
    },
    In {
        col: Col,
        values: Vec<Value>,
        negated: bool,
    },
    Between {
        col: Col,
        lo: Value,
        hi: Value,
    },
    IsNull {
        col: Col,
        null: bool,
    },
    /// Case-insensitive substring or prefix match on text.
    Like {
        col: Col,
        text: String,
        prefix: bool,
    },
    /// A multi-select holds every one of `values`.
    HasAll {
        col: Col,
        values: Vec<String>,
    },
    /// A multi-lookup links to any of `targets`.
    LinkedTo {
        field: String,
        targets: Vec<Uuid>,
    },
    /// A multi-lookup has no links (`null = true`) or some (`null = false`).
    LinksEmpty {
        field: String,
        empty: bool,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dir {
    Asc,
    Desc,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SortKey {
    pub col: Col,
    pub dir: Dir,
}

/// Position after the last row of a page: its sort values and id.
#[derive(Clone, Debug, PartialEq)]
pub struct Cursor {
    pub values: Vec<Value>,
    pub id: Uuid,
}

#[derive(Clone, Debug, PartialEq)]
pub struct QueryPlan {
    pub filter: Option<Pred>,
    /// Sort keys; `id` in the same direction as the last key is always appended by storage.
    pub sort: Vec<SortKey>,
    pub limit: u32,
    pub cursor: Option<Cursor>,
    /// Fields to return (system columns are always returned); `None` = all.
    pub fields: Option<Vec<String>>,
    /// Lookup fields whose target record is embedded under `_expand`.
    pub expand: Vec<String>,
    /// Also return the total count of matching records.
    pub count: bool,
}

impl QueryPlan {
    pub fn all(limit: u32) -> Self {
        Self {
            filter: None,
            sort: vec![],
            limit,
            cursor: None,
            fields: None,
            expand: vec![],
            count: false,
        }
    }
}

/// System columns readable in filters and sorts, with their kinds.
pub const SYSTEM_COLUMNS: &[(&str, ColKind)] = &[
    ("id", ColKind::Uuid),
    ("owner", ColKind::Uuid),
    ("department", ColKind::Uuid),
    ("version", ColKind::Int),
    ("created_by", ColKind::Uuid),
    ("created_at", ColKind::DateTime),
    ("updated_by", ColKind::Uuid),
    ("updated_at", ColKind::DateTime),
];

/// A pseudo field definition for a system column, so values parse the same way.
fn system_field(name: &str) -> Option<FieldDef> {
    let kind = match name {
        "id" | "owner" | "created_by" | "updated_by" => FieldKind::User,
        "department" => FieldKind::Department,
        "version" => FieldKind::Integer {
            min: None,
            max: None,
        },
        "created_at" | "updated_at" => FieldKind::Datetime,
        _ => return None,
    };
    let api = ApiName::parse(name).ok()?;
    Some(FieldDef {
        id: FieldId(Uuid::nil()),
        ..FieldDef::new(api, Label::default(), kind)
    })
}

pub fn col_kind(kind: &FieldKind) -> ColKind {
    match kind {
        FieldKind::Integer { .. } => ColKind::Int,
        FieldKind::Decimal { .. } | FieldKind::Currency { .. } | FieldKind::Percent { .. } => {
            ColKind::Decimal
        }
        FieldKind::Boolean => ColKind::Bool,
        FieldKind::Date => ColKind::Date,
        FieldKind::Datetime => ColKind::DateTime,
        FieldKind::Time => ColKind::Time,
        FieldKind::Lookup { .. }
        | FieldKind::MasterDetail { .. }
        | FieldKind::User
        | FieldKind::Department => ColKind::Uuid,
        FieldKind::MultiSelect { .. }
        | FieldKind::Address
        | FieldKind::Attachment { .. }
        | FieldKind::Json { .. }
        | FieldKind::MultiLookup { .. } => ColKind::Json,
        _ => ColKind::Text,
    }
}

struct Ctx<'a> {
    obj: &'a CompiledObject,
    problems: Vec<Problem>,
    conditions: usize,
    /// Field names the caller may not filter or sort on (hidden by field security).
    hidden: &'a dyn Fn(&str) -> bool,
}

impl Ctx<'_> {
    fn resolve(&mut self, name: &str, path: &str) -> Option<FieldDef> {
        if (self.hidden)(name) {
            self.problems.push(Problem::new(
                path,
                "unknown_field",
                format!("there is no field '{name}'"),
            ));
            return None;
        }
        if let Some(f) = self.obj.field(name) {
            return Some(f.clone());
        }
        if let Some(f) = system_field(name) {
            return Some(f);
        }
        self.problems.push(Problem::new(
            path,
            "unknown_field",
            format!("there is no field '{name}'"),
        ));
        None
    }
}

/// Parse a filter value for comparisons: bounds and option lists are not enforced here.
fn filter_value(f: &FieldDef, v: &Json) -> Option<Value> {
    if v.is_null() {
        return None;
    }
    Some(match &f.kind {
        FieldKind::Integer { .. } => Value::Int(
            v.as_i64()
                .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))?,
        ),
        FieldKind::Decimal { .. } | FieldKind::Currency { .. } | FieldKind::Percent { .. } => {
            let inner = v.get("amount").unwrap_or(v);
            Value::Decimal(parse_decimal(inner)?)
        }
        FieldKind::Boolean => Value::Bool(v.as_bool()?),
        FieldKind::Date => Value::Date(NaiveDate::parse_from_str(v.as_str()?, "%Y-%m-%d").ok()?),
        FieldKind::Datetime => {
            let s = v.as_str()?;
            match parse_datetime(s) {
                Some(dt) => Value::DateTime(dt),
                // A bare date means midnight UTC, for convenience in date-range filters.
                None => {
                    let d = NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
                    Value::DateTime(Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0)?))
                }
            }
        }
        FieldKind::Time => Value::Time(parse_time(v.as_str()?)?),
        FieldKind::Lookup { .. }
        | FieldKind::MasterDetail { .. }
        | FieldKind::User
        | FieldKind::Department
        | FieldKind::MultiLookup { .. } => Value::Uuid(parse_uuid(v)?),
        _ => {
            let s = v.as_str()?;
            if s.chars().count() > 1_000 {
                return None;
            }
            Value::Text(s.to_owned())
        }
    })
}

fn type_hint(f: &FieldDef) -> &'static str {
    match col_kind(&f.kind) {
        ColKind::Int => "an integer",
        ColKind::Decimal => "a decimal number",
        ColKind::Bool => "true or false",
        ColKind::Date => "a date like 2026-03-01",
        ColKind::DateTime => "an RFC 3339 date-time",
        ColKind::Time => "a time like 09:30:00",
        ColKind::Uuid => "a record id (UUID)",
        _ => "a string",
    }
}

fn parse_pred(ctx: &mut Ctx<'_>, v: &Json, path: &str, depth: usize) -> Option<Pred> {
    if depth > MAX_DEPTH {
        ctx.problems.push(Problem::new(
            path,
            "too_deep",
            format!("filters nest at most {MAX_DEPTH} levels"),
        ));
        return None;
    }
    let Some(obj) = v.as_object() else {
        ctx.problems
            .push(Problem::new(path, "type", "a filter must be an object"));
        return None;
    };
    for (key, ctor) in [("and", true), ("or", false)] {
        if let Some(list) = obj.get(key) {
            if obj.len() != 1 {
                ctx.problems.push(Problem::new(
                    path,
                    "invalid_filter",
                    format!("'{key}' must be the only key of its object"),
                ));
                return None;
            }
            let Some(items) = list.as_array() else {
                ctx.problems.push(Problem::new(
                    format!("{path}/{key}"),
                    "type",
                    "must be an array of filters",
                ));
                return None;
            };
            let parts: Vec<Pred> = items
                .iter()
                .enumerate()
                .filter_map(|(i, x)| parse_pred(ctx, x, &format!("{path}/{key}/{i}"), depth + 1))
                .collect();
            return Some(if ctor {
                Pred::And(parts)
            } else {
                Pred::Or(parts)
            });
        }
    }
    if let Some(inner) = obj.get("not") {
        if obj.len() != 1 {
            ctx.problems.push(Problem::new(
                path,
                "invalid_filter",
                "'not' must be the only key of its object",
            ));
            return None;
        }
        return parse_pred(ctx, inner, &format!("{path}/not"), depth + 1)
            .map(|p| Pred::Not(Box::new(p)));
    }
    ctx.conditions += 1;
    if ctx.conditions > MAX_CONDITIONS {
        ctx.problems.push(Problem::new(
            path,
            "too_many_conditions",
            format!("at most {MAX_CONDITIONS} conditions"),
        ));
        return None;
    }
    for k in obj.keys() {
        if !matches!(k.as_str(), "field" | "op" | "value") {
            ctx.problems.push(Problem::new(
                format!("{path}/{k}"),
                "unknown_key",
                "a condition has only field, op and value (or use and/or/not)",
            ));
        }
    }
    let Some(name) = obj.get("field").and_then(Json::as_str) else {
        ctx.problems.push(Problem::new(
            format!("{path}/field"),
            "required",
            "field is required",
        ));
        return None;
    };
    let Some(op) = obj.get("op").and_then(Json::as_str) else {
        ctx.problems.push(Problem::new(
            format!("{path}/op"),
            "required",
            "op is required",
        ));
        return None;
    };
    let field = ctx.resolve(name, &format!("{path}/field"))?;
    let value = obj.get("value").unwrap_or(&Json::Null);
    let vpath = format!("{path}/value");
    let col = Col {
        name: field.name().to_owned(),
        kind: col_kind(&field.kind),
    };
    let is_multi_lookup = matches!(field.kind, FieldKind::MultiLookup { .. });
    let is_multi_select = matches!(field.kind, FieldKind::MultiSelect { .. });
    let comparable = !matches!(col.kind, ColKind::Json);
    let bad_op = |ctx: &mut Ctx<'_>| {
        ctx.problems.push(Problem::new(
            format!("{path}/op"),
            "unsupported_op",
            format!(
                "'{op}' is not supported for a {} field",
                field.kind.type_name()
            ),
        ));
    };
    let one = |ctx: &mut Ctx<'_>, v: &Json, p: &str| -> Option<Value> {
        let r = filter_value(&field, v);
        if r.is_none() {
            ctx.problems.push(Problem::new(
                p,
                "type",
                format!("must be {}", type_hint(&field)),
            ));
        }
        r
    };
    match op {
        "eq" | "ne" | "gt" | "gte" | "lt" | "lte" => {
            let ordered = !matches!(op, "eq" | "ne");
            if !comparable || (ordered && matches!(col.kind, ColKind::Bool | ColKind::Uuid)) {
                bad_op(ctx);
                return None;
            }
            let cmp = match op {
                "eq" => CmpOp::Eq,
                "ne" => CmpOp::Ne,
                "gt" => CmpOp::Gt,
                "gte" => CmpOp::Gte,
                "lt" => CmpOp::Lt,
                _ => CmpOp::Lte,
            };
            if value.is_null() && matches!(cmp, CmpOp::Eq | CmpOp::Ne) {
                return Some(Pred::IsNull {
                    col,
                    null: cmp == CmpOp::Eq,
                });
            }
            let v = one(ctx, value, &vpath)?;
            Some(Pred::Cmp {
                col,
                op: cmp,
                value: v,
            })
        }
        "in" | "nin" => {
            if !comparable {
                bad_op(ctx);
                return None;
            }
            let Some(items) = value.as_array() else {
                ctx.problems
                    .push(Problem::new(vpath, "type", "must be an array"));
                return None;
            };
            if items.len() > MAX_IN {
                ctx.problems.push(Problem::new(
                    vpath,
                    "max_items",
                    format!("at most {MAX_IN} values"),
                ));
                return None;
            }
            let vals: Vec<Value> = items
                .iter()
                .enumerate()
                .filter_map(|(i, x)| one(ctx, x, &format!("{vpath}/{i}")))
                .collect();
            Some(Pred::In {
                col,
                values: vals,
                negated: op == "nin",
            })
        }
        "between" => {
            if !comparable || matches!(col.kind, ColKind::Bool | ColKind::Uuid) {
                bad_op(ctx);
                return None;
            }
            match value.as_array().map(Vec::as_slice) {
                Some([lo, hi]) => {
                    let lo = one(ctx, lo, &format!("{vpath}/0"))?;
                    let hi = one(ctx, hi, &format!("{vpath}/1"))?;
                    Some(Pred::Between { col, lo, hi })
                }
                _ => {
                    ctx.problems
                        .push(Problem::new(vpath, "type", "must be an array [low, high]"));
                    None
                }
            }
        }
        "is_null" => {
            let null = match value {
                Json::Null => true,
                Json::Bool(b) => *b,
                _ => {
                    ctx.problems
                        .push(Problem::new(vpath, "type", "must be true or false"));
                    return None;
                }
            };
            if is_multi_lookup {
                return Some(Pred::LinksEmpty {
                    field: col.name,
                    empty: null,
                });
            }
            Some(Pred::IsNull { col, null })
        }
        "contains" | "starts_with" => {
            if is_multi_select && op == "contains" {
                let vals: Option<Vec<String>> = match value {
                    Json::String(s) => Some(vec![s.clone()]),
                    Json::Array(a) => a.iter().map(|x| x.as_str().map(str::to_owned)).collect(),
                    _ => None,
                };
                return match vals {
                    Some(v) if !v.is_empty() && v.len() <= MAX_IN => {
                        Some(Pred::HasAll { col, values: v })
                    }
                    _ => {
                        ctx.problems.push(Problem::new(
                            vpath,
                            "type",
                            "must be an option value or an array of them",
                        ));
                        None
                    }
                };
            }
            if is_multi_lookup && op == "contains" {
                let ids: Option<Vec<Uuid>> = match value {
                    Json::Array(a) => a.iter().map(parse_uuid).collect(),
                    other => parse_uuid(other).map(|u| vec![u]),
                };
                return match ids {
                    Some(v) if !v.is_empty() && v.len() <= MAX_IN => Some(Pred::LinkedTo {
                        field: col.name,
                        targets: v,
                    }),
                    _ => {
                        ctx.problems.push(Problem::new(
                            vpath,
                            "type",
                            "must be a record id or an array of them",
                        ));
                        None
                    }
                };
            }
            if col.kind != ColKind::Text {
                bad_op(ctx);
                return None;
            }
            match value.as_str() {
                Some(s) if !s.is_empty() && s.chars().count() <= 1_000 => Some(Pred::Like {
                    col,
                    text: s.to_owned(),
                    prefix: op == "starts_with",
                }),
                _ => {
                    ctx.problems
                        .push(Problem::new(vpath, "type", "must be a non-empty string"));
                    None
                }
            }
        }
        other => {
            ctx.problems.push(Problem::new(
                format!("{path}/op"),
                "unknown_op",
                format!(
                    "unknown operator '{other}' (eq, ne, gt, gte, lt, lte, in, nin, contains, starts_with, is_null, between)"
                ),
            ));
            None
        }
    }
}

/// Parse a query body `{filter, sort, limit, cursor, fields, expand, count}`.
pub fn parse_query(
    obj: &CompiledObject,
    body: &Json,
    hidden: &dyn Fn(&str) -> bool,
) -> Result<QueryPlan, Vec<Problem>> {
    let mut ctx = Ctx {
        obj,
        problems: vec![],
        conditions: 0,
        hidden,
    };
    let empty = Map::new();
    let m = match body {
        Json::Object(m) => m,
        Json::Null => &empty,
        _ => {
            return Err(vec![Problem::new(
                "",
                "type",
                "the query must be a JSON object",
            )]);
        }
    };
    for k in m.keys() {
        if !matches!(
            k.as_str(),
            "filter" | "sort" | "limit" | "cursor" | "fields" | "expand" | "count"
        ) {
            ctx.problems.push(Problem::new(
                format!("/{k}"),
                "unknown_key",
                "expected filter, sort, limit, cursor, fields, expand or count",
            ));
        }
    }
    let filter = match m.get("filter") {
        None | Some(Json::Null) => None,
        Some(f) => parse_pred(&mut ctx, f, "/filter", 0),
    };
    let mut sort = Vec::new();
    match m.get("sort") {
        None | Some(Json::Null) => {}
        Some(Json::Array(items)) => {
            if items.len() > MAX_SORT {
                ctx.problems.push(Problem::new(
                    "/sort",
                    "max_items",
                    format!("at most {MAX_SORT} sort keys"),
                ));
            }
            for (i, item) in items.iter().enumerate().take(MAX_SORT) {
                let p = format!("/sort/{i}");
                let (name, dir) = match item {
                    Json::String(s) => match s.strip_prefix('-') {
                        Some(n) => (n, Dir::Desc),
                        None => (s.as_str(), Dir::Asc),
                    },
                    Json::Object(o) => {
                        let Some(n) = o.get("field").and_then(Json::as_str) else {
                            ctx.problems.push(Problem::new(
                                format!("{p}/field"),
                                "required",
                                "field is required",
                            ));
                            continue;
                        };
                        let dir = match o.get("dir").and_then(Json::as_str) {
                            None | Some("asc") => Dir::Asc,
                            Some("desc") => Dir::Desc,
                            Some(_) => {
                                ctx.problems.push(Problem::new(
                                    format!("{p}/dir"),
                                    "invalid",
                                    "dir is asc or desc",
                                ));
                                continue;
                            }
                        };
                        (n, dir)
                    }
                    _ => {
                        ctx.problems.push(Problem::new(
                            p,
                            "type",
                            "a sort key is \"field\", \"-field\" or {\"field\", \"dir\"}",
                        ));
                        continue;
                    }
                };
                let Some(f) = ctx.resolve(name, &p) else {
                    continue;
                };
                if !f.kind.is_sortable() {
                    ctx.problems.push(Problem::new(
                        p,
                        "not_sortable",
                        format!("a {} field cannot be sorted", f.kind.type_name()),
                    ));
                    continue;
                }
                if f.name() == "id" {
                    // id is the implicit tie-breaker; an explicit id key only sets the direction.
                    sort.push(SortKey {
                        col: Col {
                            name: "id".into(),
                            kind: ColKind::Uuid,
                        },
                        dir,
                    });
                    continue;
                }
                sort.push(SortKey {
                    col: Col {
                        name: f.name().to_owned(),
                        kind: col_kind(&f.kind),
                    },
                    dir,
                });
            }
        }
        Some(_) => ctx
            .problems
            .push(Problem::new("/sort", "type", "must be an array")),
    }
    let limit = match m.get("limit") {
        None | Some(Json::Null) => DEFAULT_LIMIT,
        Some(v) => match v.as_u64() {
            Some(n) if (1..=u64::from(MAX_LIMIT)).contains(&n) => n as u32,
            _ => {
                ctx.problems.push(Problem::new(
                    "/limit",
                    "range",
                    format!("must be an integer 1..={MAX_LIMIT}"),
                ));
                DEFAULT_LIMIT
            }
        },
    };
    let fields = match m.get("fields") {
        None | Some(Json::Null) => None,
        Some(Json::Array(items)) => {
            let mut out = Vec::new();
            for (i, item) in items.iter().enumerate() {
                match item.as_str() {
                    Some(n) if obj.field(n).is_some() && !hidden(n) => out.push(n.to_owned()),
                    Some(n) if system_field(n).is_some() => {}
                    Some(n) => ctx.problems.push(Problem::new(
                        format!("/fields/{i}"),
                        "unknown_field",
                        format!("there is no field '{n}'"),
                    )),
                    None => ctx.problems.push(Problem::new(
                        format!("/fields/{i}"),
                        "type",
                        "must be a string",
                    )),
                }
            }
            Some(out)
        }
        Some(_) => {
            ctx.problems.push(Problem::new(
                "/fields",
                "type",
                "must be an array of field names",
            ));
            None
        }
    };
    let mut expand = Vec::new();
    match m.get("expand") {
        None | Some(Json::Null) => {}
        Some(Json::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                let p = format!("/expand/{i}");
                match item
                    .as_str()
                    .and_then(|n| obj.field(n).filter(|_| !hidden(n)))
                {
                    Some(f)
                        if matches!(
                            f.kind,
                            FieldKind::Lookup { .. } | FieldKind::MasterDetail { .. }
                        ) =>
                    {
                        expand.push(f.name().to_owned());
                    }
                    Some(_) => ctx.problems.push(Problem::new(
                        p,
                        "not_expandable",
                        "only lookup and master-detail fields can be expanded",
                    )),
                    None => {
                        ctx.problems
                            .push(Problem::new(p, "unknown_field", "no such lookup field"))
                    }
                }
            }
        }
        Some(_) => ctx.problems.push(Problem::new(
            "/expand",
            "type",
            "must be an array of field names",
        )),
    }
    let count = match m.get("count") {
        None | Some(Json::Null) => false,
        Some(Json::Bool(b)) => *b,
        Some(_) => {
            ctx.problems
                .push(Problem::new("/count", "type", "must be true or false"));
            false
        }
    };
    let cursor = match m.get("cursor") {
        None | Some(Json::Null) => None,
        Some(Json::String(s)) => match decode_cursor(obj, s, &sort) {
            Some(c) => Some(c),
            None => {
                ctx.problems.push(Problem::new(
                    "/cursor",
                    "invalid_cursor",
                    "the cursor is malformed or belongs to a different sort",
                ));
                None
            }
        },
        Some(_) => {
            ctx.problems
                .push(Problem::new("/cursor", "type", "must be a string"));
            None
        }
    };
    if ctx.problems.is_empty() {
        Ok(QueryPlan {
            filter,
            sort,
            limit,
            cursor,
            fields,
            expand,
            count,
        })
    } else {
        Err(ctx.problems)
    }
}

fn sort_signature(sort: &[SortKey]) -> String {
    sort.iter()
        .map(|k| {
            format!(
                "{}{}",
                if k.dir == Dir::Desc { "-" } else { "" },
                k.col.name
            )
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn field_for(obj: &CompiledObject, name: &str) -> Option<FieldDef> {
    obj.field(name).cloned().or_else(|| system_field(name))
}

/// Encode the cursor after a row, given the row's sort values (JSON form) and id.
pub fn encode_cursor(sort: &[SortKey], values: &[Json], id: Uuid) -> String {
    let doc = json!({"s": sort_signature(sort), "v": values, "id": id});
    URL_SAFE_NO_PAD.encode(doc.to_string())
}

fn decode_cursor(obj: &CompiledObject, s: &str, sort: &[SortKey]) -> Option<Cursor> {
    if s.len() > 4_096 {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(s).ok()?;
    let doc: Json = serde_json::from_slice(&bytes).ok()?;
    if doc.get("s")?.as_str()? != sort_signature(sort) {
        return None;
    }
    let id = parse_uuid(doc.get("id")?)?;
    let vals = doc.get("v")?.as_array()?;
    if vals.len() != sort.len() {
        return None;
    }
    let mut values = Vec::with_capacity(vals.len());
    for (k, v) in sort.iter().zip(vals) {
        if v.is_null() {
            values.push(Value::Null);
            continue;
        }
        let f = field_for(obj, &k.col.name)?;
        values.push(filter_value(&f, v)?);
    }
    Some(Cursor { values, id })
}

/// JSON form of a value used in a cursor.
pub fn cursor_value(obj: &CompiledObject, name: &str, v: &Value) -> Json {
    match (v, field_for(obj, name)) {
        (Value::Money { amount, .. }, _) => Json::String(amount.to_string()),
        (v, Some(f)) => to_json(&f.kind, v),
        (_, None) => Json::Null,
    }
}
