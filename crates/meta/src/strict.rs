//! Unknown keys in object and field definitions. serde drops keys it does not know, and
//! `deny_unknown_fields` cannot be used where a field's type is flattened into it, so the
//! submitted JSON is walked here instead: every key that is not part of the definition is
//! reported at once, each at its own path, before the document is parsed. A typo such as
//! `"requried": true` must not be accepted and silently ignored.

use serde_json::Value as Json;

use crate::problem::{Problem, pointer_segment};

/// Keys every field may carry, whatever its type. `id`, `deleted_at` and `locked_by_job` are
/// server-assigned but accepted so a definition read from the API can be sent back.
const FIELD_COMMON: &[&str] = &[
    "id",
    "api_name",
    "label",
    "description",
    "help",
    "type",
    "required",
    "unique",
    "indexed",
    "default",
    "deleted_at",
    "locked_by_job",
];

/// Keys of an object definition. `deleted_fields` is what `GET` adds beside `fields`.
const OBJECT_KEYS: &[&str] = &[
    "schema",
    "id",
    "api_name",
    "label",
    "plural_label",
    "description",
    "name_field",
    "fields",
    "version",
    "deleted_fields",
    "layout",
];

const LAYOUT_KEYS: &[&str] = &["sections", "visible_when"];
const SECTION_KEYS: &[&str] = &[
    "key",
    "label",
    "columns",
    "collapsed",
    "fields",
    "visible_when",
];

const LABEL_KEYS: &[&str] = &["zh", "en"];
const OPTION_KEYS: &[&str] = &["value", "label", "color", "inactive"];

/// The type-specific keys of a field type, or `None` for an unknown type (reported by the
/// parser with the list of types).
pub fn kind_keys(type_name: &str) -> Option<&'static [&'static str]> {
    Some(match type_name {
        "text" => &["max_length", "min_length", "pattern"],
        "long_text" | "rich_text" => &["max_length"],
        "integer" => &["min", "max"],
        "decimal" => &["precision", "scale", "min", "max"],
        "currency" => &["precision", "scale", "default_currency", "min", "max"],
        "percent" => &["scale", "min", "max"],
        "boolean" | "date" | "datetime" | "time" | "email" | "url" | "address" | "user"
        | "department" => &[],
        "single_select" => &["options"],
        "multi_select" => &["options", "max_selected"],
        "phone" => &["cn_mobile"],
        "lookup" => &["target", "on_delete"],
        "master_detail" => &["target"],
        "multi_lookup" => &["target", "max_items"],
        "auto_number" => &["pattern", "start"],
        "attachment" => &["max_files", "max_file_size", "accept"],
        "json" => &["max_bytes"],
        _ => return None,
    })
}

fn unknown(path: String, key: &str, allowed: &[&str]) -> Problem {
    Problem::new(
        path,
        "unknown_key",
        format!("unknown key '{key}'; allowed here: {}", allowed.join(", ")),
    )
}

fn check_label(v: Option<&Json>, base: &str, out: &mut Vec<Problem>) {
    if let Some(Json::Object(m)) = v {
        for k in m.keys() {
            if !LABEL_KEYS.contains(&k.as_str()) {
                out.push(unknown(
                    format!("{base}/{}", pointer_segment(k)),
                    k,
                    LABEL_KEYS,
                ));
            }
        }
    }
}

/// Unknown keys of one field document at `base` (a JSON pointer, `""` for the root).
/// `type_name` is the field's type when the document does not carry one (a patch).
pub fn field_unknown_keys(v: &Json, base: &str, type_name: Option<&str>) -> Vec<Problem> {
    let mut out = Vec::new();
    let Json::Object(m) = v else { return out };
    let ty = m.get("type").and_then(Json::as_str).or(type_name);
    let Some(specific) = ty.and_then(kind_keys) else {
        // Unknown or missing type: the parser reports that; the keys cannot be judged.
        return out;
    };
    for k in m.keys() {
        if !FIELD_COMMON.contains(&k.as_str()) && !specific.contains(&k.as_str()) {
            let allowed: Vec<&str> = FIELD_COMMON.iter().chain(specific).copied().collect();
            out.push(unknown(
                format!("{base}/{}", pointer_segment(k)),
                k,
                &allowed,
            ));
        }
    }
    check_label(m.get("label"), &format!("{base}/label"), &mut out);
    check_label(m.get("help"), &format!("{base}/help"), &mut out);
    if let Some(Json::Array(opts)) = m.get("options") {
        for (i, o) in opts.iter().enumerate() {
            let ob = format!("{base}/options/{i}");
            if let Json::Object(om) = o {
                for k in om.keys() {
                    if !OPTION_KEYS.contains(&k.as_str()) {
                        out.push(unknown(
                            format!("{ob}/{}", pointer_segment(k)),
                            k,
                            OPTION_KEYS,
                        ));
                    }
                }
                check_label(om.get("label"), &format!("{ob}/label"), &mut out);
            }
        }
    }
    out
}

/// Unknown keys of an object document and of each of its fields.
pub fn object_unknown_keys(v: &Json) -> Vec<Problem> {
    let mut out = Vec::new();
    let Json::Object(m) = v else { return out };
    for k in m.keys() {
        if !OBJECT_KEYS.contains(&k.as_str()) {
            out.push(unknown(format!("/{}", pointer_segment(k)), k, OBJECT_KEYS));
        }
    }
    check_label(m.get("label"), "/label", &mut out);
    check_label(m.get("plural_label"), "/plural_label", &mut out);
    if let Some(Json::Object(l)) = m.get("layout") {
        for k in l.keys() {
            if !LAYOUT_KEYS.contains(&k.as_str()) {
                out.push(unknown(
                    format!("/layout/{}", pointer_segment(k)),
                    k,
                    LAYOUT_KEYS,
                ));
            }
        }
        if let Some(Json::Array(sections)) = l.get("sections") {
            for (i, sec) in sections.iter().enumerate() {
                let base = format!("/layout/sections/{i}");
                if let Json::Object(sm) = sec {
                    for k in sm.keys() {
                        if !SECTION_KEYS.contains(&k.as_str()) {
                            out.push(unknown(
                                format!("{base}/{}", pointer_segment(k)),
                                k,
                                SECTION_KEYS,
                            ));
                        }
                    }
                    check_label(sm.get("label"), &format!("{base}/label"), &mut out);
                }
            }
        }
    }
    for list in ["fields", "deleted_fields"] {
        if let Some(Json::Array(fields)) = m.get(list) {
            for (i, f) in fields.iter().enumerate() {
                out.extend(field_unknown_keys(f, &format!("/{list}/{i}"), None));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field::{FieldDef, FieldKind, OnDelete, SelectOption};
    use crate::label::Label;
    use crate::name::ApiName;
    use rust_decimal::Decimal;
    use serde_json::json;

    fn every_kind() -> Vec<FieldKind> {
        let d = Some(Decimal::ONE);
        let t = || ApiName::parse("account").expect("name");
        let opt = SelectOption {
            value: "a".into(),
            label: Label::new("甲", "A"),
            color: Some("blue".into()),
            inactive: true,
        };
        vec![
            FieldKind::Text {
                max_length: Some(1),
                min_length: Some(1),
                pattern: Some("a".into()),
            },
            FieldKind::LongText {
                max_length: Some(1),
            },
            FieldKind::RichText {
                max_length: Some(1),
            },
            FieldKind::Integer {
                min: Some(1),
                max: Some(2),
            },
            FieldKind::Decimal {
                precision: 1,
                scale: 1,
                min: d,
                max: d,
            },
            FieldKind::Currency {
                precision: 1,
                scale: 1,
                default_currency: "CNY".into(),
                min: d,
                max: d,
            },
            FieldKind::Percent {
                scale: 1,
                min: d,
                max: d,
            },
            FieldKind::Boolean,
            FieldKind::Date,
            FieldKind::Datetime,
            FieldKind::Time,
            FieldKind::SingleSelect {
                options: vec![opt.clone()],
            },
            FieldKind::MultiSelect {
                options: vec![opt],
                max_selected: Some(1),
            },
            FieldKind::Email,
            FieldKind::Phone { cn_mobile: true },
            FieldKind::Url,
            FieldKind::Address,
            FieldKind::Lookup {
                target: t(),
                on_delete: OnDelete::Cascade,
            },
            FieldKind::MasterDetail { target: t() },
            FieldKind::MultiLookup {
                target: t(),
                max_items: Some(1),
            },
            FieldKind::User,
            FieldKind::Department,
            FieldKind::AutoNumber {
                pattern: "A-{0000}".into(),
                start: 1,
            },
            FieldKind::Attachment {
                max_files: 1,
                max_file_size: 1,
                accept: vec!["image/*".into()],
            },
            FieldKind::Json { max_bytes: Some(1) },
        ]
    }

    /// The allow-lists cover every key the definitions serialize, so a definition read back
    /// from the API is always accepted again.
    #[test]
    fn every_serialized_key_is_allowed() {
        for kind in every_kind() {
            let mut f = FieldDef::new(
                ApiName::parse("f").expect("name"),
                Label::new("字段", "Field"),
                kind,
            );
            f.description = Some("d".into());
            f.help = Some(Label::new("帮助", "Help"));
            f.default = Some(json!(1));
            f.deleted_at = Some(chrono::Utc::now());
            f.locked_by_job = Some(uuid::Uuid::nil());
            let v = serde_json::to_value(&f).expect("serialize");
            assert_eq!(
                field_unknown_keys(&v, "", None),
                vec![],
                "{}",
                f.kind.type_name()
            );
        }
    }

    #[test]
    fn a_serialized_layout_is_allowed() {
        let v = json!({"api_name": "deal", "layout": {"sections": [
            {"key": "a", "label": {"zh": "甲", "en": "A"}, "columns": 2, "collapsed": true, "fields": ["x"]}
        ]}});
        assert_eq!(object_unknown_keys(&v), vec![]);
    }

    #[test]
    fn typos_are_reported_each_at_its_path() {
        let v = json!({
            "api_name": "deal", "labl": {"en": "Deal"}, "label": {"fr": "Affaire"},
            "fields": [
                {"api_name": "amount", "type": "decimal", "requried": true},
                {"api_name": "stage", "type": "single_select",
                 "options": [{"value": "won", "colour": "green"}]},
                {"api_name": "notes", "type": "text", "max_files": 3}
            ],
            "layout": {"rows": 1, "sections": [{"key": "a", "cols": 2, "label": {"de": "x"}}]}
        });
        let paths: Vec<String> = object_unknown_keys(&v)
            .into_iter()
            .map(|p| p.path)
            .collect();
        assert_eq!(
            paths,
            vec![
                "/labl",
                "/label/fr",
                "/layout/rows",
                "/layout/sections/0/cols",
                "/layout/sections/0/label/de",
                "/fields/0/requried",
                "/fields/1/options/0/colour",
                "/fields/2/max_files"
            ]
        );
    }

    #[test]
    fn a_patch_is_judged_by_the_stored_type() {
        let v = json!({"max_length": 3, "on_delete": "cascade"});
        let p = field_unknown_keys(&v, "", Some("text"));
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].path, "/on_delete");
        assert_eq!(p[0].code, "unknown_key");
    }
}
