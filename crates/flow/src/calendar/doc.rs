//! The stored calendar document and its validation into a [`Calendar`].

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, NaiveDate};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use weft_meta::Problem;

use super::Calendar;

const MAX_NAME: usize = 64;
/// Holiday and workday entries per calendar.
const MAX_ENTRIES: usize = 2_000;
/// Days in one holiday range.
const MAX_RANGE_DAYS: i64 = 366;

/// The stored document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalendarDoc {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<BTreeMap<String, String>>,
    /// IANA zone, e.g. `Asia/Shanghai`.
    pub time_zone: String,
    /// ISO weekdays that are not worked (1 = Monday … 7 = Sunday).
    #[serde(default = "default_weekend")]
    pub weekend: Vec<u8>,
    /// `YYYY-MM-DD` or an inclusive range `YYYY-MM-DD/YYYY-MM-DD`.
    #[serde(default)]
    pub holidays: Vec<String>,
    /// Weekend days that are working days (调休), `YYYY-MM-DD`.
    #[serde(default)]
    pub workdays: Vec<String>,
}

fn default_weekend() -> Vec<u8> {
    vec![6, 7]
}

impl Calendar {
    /// Compile a document, every problem at once with its path.
    pub fn compile(doc: &CalendarDoc) -> Result<Calendar, Vec<Problem>> {
        let mut ps = Vec::new();
        if !name_ok(&doc.name) {
            ps.push(Problem::new(
                "/name",
                "calendar.name_invalid",
                "a calendar name is 1-64 characters of a-z, 0-9, _ and -, starting with a letter",
            ));
        }
        let tz = match doc.time_zone.parse::<Tz>() {
            Ok(tz) => tz,
            Err(_) => {
                ps.push(Problem::new(
                    "/time_zone",
                    "calendar.time_zone_unknown",
                    format!("`{}` is not an IANA time zone", doc.time_zone),
                ));
                Tz::UTC
            }
        };
        let weekend = weekend(&doc.weekend, &mut ps);
        if doc.holidays.len() + doc.workdays.len() > MAX_ENTRIES {
            ps.push(Problem::new(
                "/holidays",
                "max_items",
                format!("at most {MAX_ENTRIES} holiday and workday entries"),
            ));
            return Err(ps);
        }
        let holidays = holidays(&doc.holidays, &mut ps);
        let workdays = workdays(&doc.workdays, &weekend, &holidays, &mut ps);
        if ps.is_empty() {
            Ok(Calendar {
                tz,
                weekend,
                holidays,
                workdays,
            })
        } else {
            Err(ps)
        }
    }
}

/// The weekend as a set indexed by days from Monday; at least one day must be worked.
fn weekend(days: &[u8], ps: &mut Vec<Problem>) -> [bool; 7] {
    let mut weekend = [false; 7];
    for (i, &d) in days.iter().enumerate() {
        let path = format!("/weekend/{i}");
        if !(1..=7).contains(&d) {
            ps.push(Problem::new(
                path,
                "calendar.weekday_invalid",
                "weekdays are 1 (Monday) to 7 (Sunday)",
            ));
        } else if weekend[usize::from(d - 1)] {
            ps.push(Problem::new(
                path,
                "calendar.duplicate",
                format!("{d} is listed twice"),
            ));
        } else {
            weekend[usize::from(d - 1)] = true;
        }
    }
    if weekend.iter().all(|w| *w) {
        ps.push(Problem::new(
            "/weekend",
            "calendar.no_working_days",
            "at least one weekday must be worked",
        ));
    }
    weekend
}

/// Every holiday, with ranges expanded; a day listed twice is a problem.
fn holidays(entries: &[String], ps: &mut Vec<Problem>) -> BTreeSet<NaiveDate> {
    let mut holidays = BTreeSet::new();
    for (i, h) in entries.iter().enumerate() {
        let path = format!("/holidays/{i}");
        let (from, to) = match h.split_once('/') {
            Some((a, b)) => (date(a), date(b)),
            None => (date(h), date(h)),
        };
        let (Some(from), Some(to)) = (from, to) else {
            ps.push(Problem::new(
                path,
                "calendar.date_invalid",
                format!("`{h}` is not a date (YYYY-MM-DD) or a range (YYYY-MM-DD/YYYY-MM-DD)"),
            ));
            continue;
        };
        let len = (to - from).num_days() + 1;
        if len < 1 {
            ps.push(Problem::new(
                path,
                "calendar.range_invalid",
                format!("`{h}`: the range ends before it starts"),
            ));
            continue;
        }
        if len > MAX_RANGE_DAYS {
            ps.push(Problem::new(
                path,
                "calendar.range_too_long",
                format!("`{h}`: a range is at most {MAX_RANGE_DAYS} days"),
            ));
            continue;
        }
        let mut dup = false;
        for d in from.iter_days().take(len as usize) {
            dup |= !holidays.insert(d);
        }
        if dup {
            ps.push(Problem::new(
                path,
                "calendar.duplicate",
                format!("`{h}` repeats a holiday listed before"),
            ));
        }
    }
    holidays
}

/// Make-up working days: weekend days that are not also holidays.
fn workdays(
    entries: &[String],
    weekend: &[bool; 7],
    holidays: &BTreeSet<NaiveDate>,
    ps: &mut Vec<Problem>,
) -> BTreeSet<NaiveDate> {
    let mut workdays = BTreeSet::new();
    for (i, w) in entries.iter().enumerate() {
        let path = format!("/workdays/{i}");
        let Some(d) = date(w) else {
            ps.push(Problem::new(
                path,
                "calendar.date_invalid",
                format!("`{w}` is not a date (YYYY-MM-DD)"),
            ));
            continue;
        };
        if !workdays.insert(d) {
            ps.push(Problem::new(
                path,
                "calendar.duplicate",
                format!("`{w}` is listed twice"),
            ));
        } else if holidays.contains(&d) {
            ps.push(Problem::new(
                path,
                "calendar.conflict",
                format!("`{w}` is also a holiday"),
            ));
        } else if !weekend[d.weekday().num_days_from_monday() as usize] {
            ps.push(Problem::new(
                path,
                "calendar.not_weekend",
                format!(
                    "`{w}` is a {} and already a working day; make-up working days are weekend days",
                    d.weekday()
                ),
            ));
        }
    }
    workdays
}

fn date(s: &str) -> Option<NaiveDate> {
    // Exactly YYYY-MM-DD (chrono alone accepts unpadded fields).
    (s.len() == 10)
        .then(|| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
        .flatten()
}

fn name_ok(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::{Value as Json, json};

    use super::*;

    fn doc(v: Json) -> CalendarDoc {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn validation_reports_every_problem_with_its_path() {
        let ps = Calendar::compile(&doc(json!({
            "name": "Bad Name", "time_zone": "Mars/Olympus",
            "weekend": [6, 6, 9],
            "holidays": ["2026-10-01", "2026-13-01", "2026-10-05/2026-10-01", "2026-09-30/2026-10-02", "2026-1-1"],
            "workdays": ["2026-10-01", "2026-10-10", "2026-10-10", "2026-10-12"]
        })))
        .unwrap_err();
        let got: Vec<String> = ps
            .iter()
            .map(|p| format!("{}:{}", p.path, p.code))
            .collect();
        assert_eq!(
            got,
            vec![
                "/name:calendar.name_invalid",
                "/time_zone:calendar.time_zone_unknown",
                "/weekend/1:calendar.duplicate",
                "/weekend/2:calendar.weekday_invalid",
                "/holidays/1:calendar.date_invalid",
                "/holidays/2:calendar.range_invalid",
                "/holidays/3:calendar.duplicate",
                "/holidays/4:calendar.date_invalid",
                "/workdays/0:calendar.conflict",
                "/workdays/2:calendar.duplicate",
                "/workdays/3:calendar.not_weekend",
            ]
        );
        let ps = Calendar::compile(&doc(json!({
            "name": "x", "time_zone": "UTC", "weekend": [1, 2, 3, 4, 5, 6, 7]
        })))
        .unwrap_err();
        assert_eq!(ps[0].code, "calendar.no_working_days");
        let ps = Calendar::compile(&doc(json!({
            "name": "x", "time_zone": "UTC", "holidays": ["2026-01-01/2027-06-01"]
        })))
        .unwrap_err();
        assert_eq!(ps[0].code, "calendar.range_too_long");
    }
}
