//! The form layout of an object: sections in order, each with a label, a column count and the
//! fields it shows in order. It is part of the object document, so it is versioned with the
//! fields it names. Live fields no section names are shown after the last section, so a
//! field added through the API without a layout change is never lost from a form.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};

use crate::compiled::CompiledObject;
use crate::label::Label;
use crate::object::ObjectDef;
use crate::problem::Problem;
use crate::query::parse_query;

pub const MAX_SECTIONS: usize = 50;
pub const MAX_COLUMNS: u8 = 4;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FormLayout {
    #[serde(default)]
    pub sections: Vec<Section>,
    /// Display conditions of single fields: a field is shown in the form only while the
    /// values being entered match its filter (the list filter language). They shape the
    /// form only; permissions and rules still decide what may be read or written.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub visible_when: BTreeMap<String, Json>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Section {
    /// Stable key within the layout (`[a-z][a-z0-9_]*`, at most 40 characters).
    pub key: String,
    #[serde(default)]
    pub label: Label,
    /// Columns on a wide screen, 1–4; a phone shows one.
    #[serde(default = "two")]
    pub columns: u8,
    /// Shown folded until the user opens it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub collapsed: bool,
    /// Field API names, in order.
    #[serde(default)]
    pub fields: Vec<String>,
    /// The section is shown only while the form's values match this filter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visible_when: Option<Json>,
}

fn two() -> u8 {
    2
}

fn valid_key(k: &str) -> bool {
    let mut c = k.chars();
    matches!(c.next(), Some('a'..='z'))
        && k.len() <= 40
        && c.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_'))
}

/// Problems of `def.layout`, at paths under `/layout`.
pub fn validate_layout(def: &ObjectDef) -> Vec<Problem> {
    let mut out = Vec::new();
    let Some(layout) = &def.layout else {
        return out;
    };
    if layout.sections.len() > MAX_SECTIONS {
        out.push(Problem::new(
            "/layout/sections",
            "max_items",
            format!("at most {MAX_SECTIONS} sections"),
        ));
    }
    let mut keys = HashSet::new();
    let mut placed = HashSet::new();
    for (i, s) in layout.sections.iter().enumerate() {
        let base = format!("/layout/sections/{i}");
        if !valid_key(&s.key) {
            out.push(Problem::new(
                format!("{base}/key"),
                "pattern",
                "a section key is a lowercase letter followed by letters, digits or _ (at most 40)",
            ));
        } else if !keys.insert(s.key.as_str()) {
            out.push(Problem::new(
                format!("{base}/key"),
                "duplicate",
                format!("section '{}' is defined twice", s.key),
            ));
        }
        if s.columns == 0 || s.columns > MAX_COLUMNS {
            out.push(Problem::new(
                format!("{base}/columns"),
                "range",
                format!("must be 1..={MAX_COLUMNS}"),
            ));
        }
        for (j, name) in s.fields.iter().enumerate() {
            let path = format!("{base}/fields/{j}");
            if def.live_field(name).is_none() {
                out.push(Problem::new(
                    path,
                    "unknown_field",
                    format!("no field '{name}'"),
                ));
            } else if !placed.insert(name.as_str()) {
                out.push(Problem::new(
                    path,
                    "duplicate",
                    format!("field '{name}' is placed twice"),
                ));
            }
        }
    }
    for name in layout.visible_when.keys() {
        if def.live_field(name).is_none() {
            out.push(Problem::new(
                format!(
                    "/layout/visible_when/{}",
                    crate::problem::pointer_segment(name)
                ),
                "unknown_field",
                format!("no field '{name}'"),
            ));
        }
    }
    out
}

/// Problems of the layout's display conditions, checked as list filters of the compiled
/// object (unknown fields, wrong operators or values), at their paths under `/layout`.
pub fn condition_problems(def: &ObjectDef, compiled: &CompiledObject) -> Vec<Problem> {
    let mut out = Vec::new();
    let Some(layout) = &def.layout else {
        return out;
    };
    let mut check = |filter: &Json, at: String| {
        if let Err(ps) = parse_query(compiled, &json!({ "filter": filter }), &|_| false) {
            for p in ps {
                let rest = p.path.strip_prefix("/filter").unwrap_or(&p.path).to_owned();
                out.push(Problem::new(format!("{at}{rest}"), &p.code, p.message));
            }
        }
    };
    for (i, s) in layout.sections.iter().enumerate() {
        if let Some(f) = &s.visible_when {
            check(f, format!("/layout/sections/{i}/visible_when"));
        }
    }
    for (name, f) in &layout.visible_when {
        check(
            f,
            format!(
                "/layout/visible_when/{}",
                crate::problem::pointer_segment(name)
            ),
        );
    }
    out
}

impl FormLayout {
    /// Drop a field from every section (the field was deleted).
    pub fn remove_field(&mut self, name: &str) {
        for s in &mut self.sections {
            s.fields.retain(|f| f != name);
        }
        self.visible_when.remove(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn def(layout: serde_json::Value) -> ObjectDef {
        serde_json::from_value(json!({
            "api_name": "deal",
            "label": {"en": "Deal"},
            "fields": [
                {"api_name": "name", "type": "text", "label": {"en": "Name"}},
                {"api_name": "amount", "type": "integer", "label": {"en": "Amount"}}
            ],
            "layout": layout
        }))
        .expect("def")
    }

    #[test]
    fn a_good_layout_has_no_problems_and_round_trips() {
        let d = def(json!({"sections": [
            {"key": "main", "label": {"zh": "基本信息"}, "columns": 2, "fields": ["name"]},
            {"key": "money", "columns": 1, "collapsed": true, "fields": ["amount"]}
        ]}));
        assert!(validate_layout(&d).is_empty());
        let back: ObjectDef =
            serde_json::from_value(serde_json::to_value(&d).expect("ser")).expect("de");
        assert_eq!(back, d);
    }

    #[test]
    fn every_problem_is_reported_at_its_path() {
        let d = def(json!({"sections": [
            {"key": "Main", "columns": 0, "fields": ["name", "nope"]},
            {"key": "b", "columns": 5, "fields": ["name"]},
            {"key": "b", "fields": []}
        ]}));
        let got: Vec<(String, String)> = validate_layout(&d)
            .into_iter()
            .map(|p| (p.path, p.code))
            .collect();
        let want = [
            ("/layout/sections/0/key", "pattern"),
            ("/layout/sections/0/columns", "range"),
            ("/layout/sections/0/fields/1", "unknown_field"),
            ("/layout/sections/1/columns", "range"),
            ("/layout/sections/1/fields/0", "duplicate"),
            ("/layout/sections/2/key", "duplicate"),
        ];
        assert_eq!(
            got,
            want.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn display_conditions_are_checked_as_filters() {
        let d = def(json!({
            "sections": [{"key": "a", "fields": ["name"], "visible_when": {"field": "amount", "op": "gt", "value": "x"}}],
            "visible_when": {
                "amount": {"field": "name", "op": "eq", "value": "big"},
                "ghost": {"field": "name", "op": "eq", "value": "x"},
                "name": {"field": "nope", "op": "eq", "value": 1}
            }
        }));
        let paths: Vec<String> = validate_layout(&d).into_iter().map(|p| p.path).collect();
        assert_eq!(paths, vec!["/layout/visible_when/ghost"]);
        let compiled = CompiledObject::compile(d.clone()).expect("compile");
        let paths: Vec<String> = condition_problems(&d, &compiled)
            .into_iter()
            .map(|p| p.path)
            .collect();
        assert!(
            paths
                .iter()
                .any(|p| p.starts_with("/layout/sections/0/visible_when")),
            "{paths:?}"
        );
        assert!(
            paths
                .iter()
                .any(|p| p.starts_with("/layout/visible_when/name")),
            "{paths:?}"
        );
        assert!(
            !paths
                .iter()
                .any(|p| p.starts_with("/layout/visible_when/amount")),
            "{paths:?}"
        );
    }

    #[test]
    fn removing_a_field_drops_it_everywhere() {
        let mut d = def(json!({"sections": [{"key": "a", "fields": ["name", "amount"]}]}));
        if let Some(l) = d.layout.as_mut() {
            l.remove_field("name");
        }
        assert_eq!(
            d.layout.map(|l| l.sections[0].fields.clone()),
            Some(vec!["amount".to_owned()])
        );
    }
}
