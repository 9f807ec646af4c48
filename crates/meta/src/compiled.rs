//! An object definition compiled once per metadata version: field index, write schemas
//! compiled into validators. Writes are parsed here into typed values, all problems at once.

use std::collections::HashMap;

use indexmap::IndexMap;
use jsonschema::error::ValidationErrorKind;
use jsonschema::{PatternOptions, Validator};
use serde_json::Value as Json;
use uuid::Uuid;

use crate::field::FieldDef;
use crate::name::SYSTEM_FIELDS;
use crate::object::ObjectDef;
use crate::problem::{Problem, pointer_segment};
use crate::schema::{WriteMode, write_schema};
use crate::value::{Value, coerce, parse_uuid};

/// Typed values keyed by field API name, in submission order.
pub type Values = IndexMap<String, Value>;

/// A write after parsing: system columns a client may set, and typed field values.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ParsedWrite {
    pub id: Option<Uuid>,
    pub owner: Option<Uuid>,
    /// `Some(None)` clears the department.
    pub department: Option<Option<Uuid>>,
    pub values: Values,
}

#[derive(Debug)]
pub struct CompiledObject {
    pub def: ObjectDef,
    index: HashMap<String, usize>,
    create: Validator,
    patch: Validator,
}

#[derive(Debug, thiserror::Error)]
#[error("write schema failed to compile: {0}")]
pub struct CompileError(String);

fn build_validator(schema: &Json) -> Result<Validator, CompileError> {
    jsonschema::draft202012::options()
        .with_pattern_options(PatternOptions::regex().size_limit(1 << 20))
        .should_validate_formats(false)
        .build(schema)
        .map_err(|e| CompileError(e.to_string()))
}

impl CompiledObject {
    pub fn compile(def: ObjectDef) -> Result<Self, CompileError> {
        let index = def
            .fields
            .iter()
            .enumerate()
            .map(|(i, f)| (f.name().to_owned(), i))
            .collect();
        let create = build_validator(&write_schema(&def, WriteMode::Create))?;
        let patch = build_validator(&write_schema(&def, WriteMode::Patch))?;
        Ok(Self {
            def,
            index,
            create,
            patch,
        })
    }

    pub fn api_name(&self) -> &str {
        self.def.api_name.as_str()
    }

    pub fn version(&self) -> i64 {
        self.def.version
    }

    /// A live (not deleted) field by API name.
    pub fn field(&self, name: &str) -> Option<&FieldDef> {
        self.index
            .get(name)
            .map(|i| &self.def.fields[*i])
            .filter(|f| f.is_live())
    }

    /// Any field, deleted ones included (their columns still exist).
    pub fn any_field(&self, name: &str) -> Option<&FieldDef> {
        self.index.get(name).map(|i| &self.def.fields[*i])
    }

    pub fn live_fields(&self) -> impl Iterator<Item = &FieldDef> {
        self.def.live_fields()
    }

    /// Parse a create or patch body. `old` holds the stored values on patch. The values that
    /// parsed come back beside the problems found, so later checks (references, uniqueness)
    /// can still run and every problem is reported in one answer.
    pub fn parse_write(
        &self,
        body: &Json,
        mode: WriteMode,
        old: Option<&Values>,
    ) -> (ParsedWrite, Vec<Problem>) {
        let Some(obj) = body.as_object() else {
            return (
                ParsedWrite::default(),
                vec![Problem::new("", "type", "the body must be a JSON object")],
            );
        };
        let mut problems = Vec::new();
        let mut checked = obj.clone();
        for k in obj.keys() {
            let read_only = SYSTEM_FIELDS.contains(&k.as_str())
                && !matches!(k.as_str(), "owner" | "department")
                && !(k == "id" && mode == WriteMode::Create);
            let generated = self.field(k).is_some_and(FieldDef::is_generated);
            if self.field(k).is_some_and(|f| f.locked_by_job.is_some()) {
                problems.push(Problem::new(
                    format!("/{}", pointer_segment(k)),
                    "field_locked",
                    format!("'{k}' is being converted to a new type; try again when the job ends"),
                ));
            }
            if read_only || generated {
                problems.push(Problem::new(
                    format!("/{}", pointer_segment(k)),
                    "read_only",
                    format!("'{k}' is set by the platform and cannot be written"),
                ));
                checked.remove(k);
            }
        }
        let validator = match mode {
            WriteMode::Create => &self.create,
            WriteMode::Patch => &self.patch,
        };
        let checked = Json::Object(checked);
        for e in validator.iter_errors(&checked) {
            problems.extend(map_schema_error(&e));
        }
        // Field-level checks run for every field the schema did not already flag, so one
        // answer lists every problem of the write.
        let flagged: Vec<String> = problems.iter().map(|p| p.path.clone()).collect();
        let is_flagged = |k: &str| {
            let base = format!("/{}", pointer_segment(k));
            flagged
                .iter()
                .any(|f| f == &base || f.starts_with(&format!("{base}/")))
        };
        let mut out = ParsedWrite::default();
        for (k, v) in obj {
            if is_flagged(k) {
                continue;
            }
            match k.as_str() {
                "id" => out.id = parse_uuid(v),
                "owner" => out.owner = parse_uuid(v),
                "department" => out.department = Some(parse_uuid(v)),
                _ => {
                    let Some(f) = self.field(k) else { continue };
                    match coerce(f, v, old.and_then(|o| o.get(k))) {
                        Ok(val) => {
                            if val.is_null() && f.is_required() {
                                problems.push(Problem::new(
                                    format!("/{}", pointer_segment(k)),
                                    "required",
                                    format!("'{k}' is required"),
                                ));
                            }
                            out.values.insert(k.clone(), val);
                        }
                        Err(p) => problems.push(p),
                    }
                }
            }
        }
        problems.sort_by(|a, b| a.path.cmp(&b.path));
        problems.dedup_by(|a, b| a.path == b.path && a.code == b.code);
        (out, problems)
    }
}

fn map_schema_error(e: &jsonschema::ValidationError<'_>) -> Vec<Problem> {
    let path = e.instance_path().as_str().to_owned();
    let (code, message) = match e.kind() {
        ValidationErrorKind::Required { property } => {
            let name = property.as_str().unwrap_or_default();
            return vec![Problem::new(
                format!("{path}/{}", pointer_segment(name)),
                "required",
                format!("'{name}' is required"),
            )];
        }
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            return unexpected
                .iter()
                .map(|u| {
                    Problem::new(
                        format!("{path}/{}", pointer_segment(u)),
                        "unknown_field",
                        format!("there is no field '{u}'"),
                    )
                })
                .collect();
        }
        ValidationErrorKind::Type { .. } => ("type", format!("wrong type: {}", e.masked())),
        ValidationErrorKind::MaxLength { limit } => {
            ("max_length", format!("must be at most {limit} characters"))
        }
        ValidationErrorKind::MinLength { limit } => {
            ("min_length", format!("must be at least {limit} characters"))
        }
        ValidationErrorKind::Pattern { .. } => {
            ("pattern", "does not match the required pattern".to_owned())
        }
        ValidationErrorKind::Enum { .. } => {
            ("invalid_option", "is not one of the options".to_owned())
        }
        ValidationErrorKind::Minimum { limit }
        | ValidationErrorKind::ExclusiveMinimum { limit } => {
            ("min", format!("must be at least {limit}"))
        }
        ValidationErrorKind::Maximum { limit }
        | ValidationErrorKind::ExclusiveMaximum { limit } => {
            ("max", format!("must be at most {limit}"))
        }
        ValidationErrorKind::MaxItems { limit } => ("max_items", format!("at most {limit} items")),
        ValidationErrorKind::UniqueItems => ("duplicate", "items must be unique".to_owned()),
        _ => ("invalid", e.masked().to_string()),
    };
    vec![Problem::new(path, code, message)]
}
