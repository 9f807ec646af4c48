//! Business calendars for timers: a tenant names calendars with a time zone, weekend days,
//! holidays (single dates or `from/to` ranges) and make-up working days (调休: weekend days
//! that are worked). A timer's whole days count working days of its calendar in the calendar's
//! zone and land at the same local wall-clock time; the rest of the duration (hours, minutes)
//! is added as elapsed time.
//!
//! The built-in `weekdays` (Monday to Friday, UTC, no holidays) needs no document; a tenant
//! calendar of the same name replaces it. Storing and caching calendars is the runtime's job;
//! this module is the document, its validation and the arithmetic.

mod doc;

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

pub use doc::CalendarDoc;

use crate::definition::{Definition, NodeKind, WaitUntil};

/// The built-in calendar: Monday to Friday in UTC.
pub const BUILTIN: &str = "weekdays";

/// A validated calendar.
#[derive(Debug, Clone, PartialEq)]
pub struct Calendar {
    pub tz: Tz,
    /// Indexed by days from Monday.
    weekend: [bool; 7],
    holidays: BTreeSet<NaiveDate>,
    workdays: BTreeSet<NaiveDate>,
}

impl Calendar {
    /// Monday to Friday in UTC, no holidays.
    pub fn weekdays() -> Self {
        Self {
            tz: Tz::UTC,
            weekend: [false, false, false, false, false, true, true],
            holidays: BTreeSet::new(),
            workdays: BTreeSet::new(),
        }
    }

    pub fn is_working_day(&self, d: NaiveDate) -> bool {
        if self.workdays.contains(&d) {
            return true;
        }
        !self.weekend[d.weekday().num_days_from_monday() as usize] && !self.holidays.contains(&d)
    }

    /// `start + days working days + rest`: the days are counted in the calendar's zone and
    /// land at the same local wall-clock time (a start on a day off counts from the next
    /// working day); `rest` is elapsed time.
    pub fn add(&self, start: DateTime<Utc>, days: i64, rest: Duration) -> DateTime<Utc> {
        if days <= 0 {
            return start + rest;
        }
        let local = start.with_timezone(&self.tz).naive_local();
        let mut date = local.date();
        let mut left = days;
        // Validation guarantees a working day in every week outside the holidays.
        let mut budget = days * 7 + self.holidays.len() as i64 + 14;
        while left > 0 {
            let Some(next) = date.succ_opt() else {
                return start + Duration::days(days) + rest;
            };
            date = next;
            if self.is_working_day(date) {
                left -= 1;
            }
            budget -= 1;
            if budget < 0 {
                return start + Duration::days(days) + rest;
            }
        }
        local_to_utc(self.tz, date.and_time(local.time())) + rest
    }

    /// `start + iso`: the date part of the ISO duration (`P2D`, `P1W`) counts working days,
    /// the time part (`T4H`) elapsed time. `None` if the duration does not parse.
    pub fn add_iso(&self, start: DateTime<Utc>, iso: &str) -> Option<DateTime<Utc>> {
        let total = crate::duration::parse_duration(iso).ok()?;
        let date_part = iso.split('T').next().unwrap_or("P");
        let days = if date_part == "P" {
            0
        } else {
            crate::duration::parse_duration(date_part).ok()?.num_days()
        };
        Some(self.add(start, days, total - Duration::days(days)))
    }
}

/// A local wall-clock time as an instant: the earlier one when the clock falls back, and the
/// time just after the gap when it springs forward.
fn local_to_utc(tz: Tz, wall: NaiveDateTime) -> DateTime<Utc> {
    if let Some(t) = tz.from_local_datetime(&wall).earliest() {
        return t.with_timezone(&Utc);
    }
    // In a gap (at most a few hours in real zones): the first valid minute after it.
    let mut w = wall;
    for _ in 0..(24 * 60) {
        w += Duration::minutes(1);
        if let Some(t) = tz.from_local_datetime(&w).earliest() {
            return t.with_timezone(&Utc);
        }
    }
    wall.and_utc()
}

/// A tenant's calendars by name, with the built-in as a fallback.
#[derive(Debug, Default)]
pub struct Calendars {
    map: HashMap<String, Calendar>,
}

impl Calendars {
    pub fn new(map: HashMap<String, Calendar>) -> Self {
        Self { map }
    }

    /// A tenant calendar, else the built-in of that name.
    pub fn get(&self, name: &str) -> Option<Calendar> {
        self.map
            .get(name)
            .cloned()
            .or_else(|| (name == BUILTIN).then(Calendar::weekdays))
    }

    pub fn knows(&self, name: &str) -> bool {
        self.map.contains_key(name) || name == BUILTIN
    }
}

/// Calendar names a definition refers to, with the JSON pointer of each reference.
pub fn referenced(def: &Definition) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(c) = &def.settings.calendar {
        out.push(("/settings/calendar".to_string(), c.clone()));
    }
    for (i, n) in def.nodes.iter().enumerate() {
        let timers = match &n.kind {
            NodeKind::Approval(a) => a.timers.as_slice(),
            NodeKind::Wait { timers, until } => {
                if let WaitUntil::Duration {
                    calendar: Some(c), ..
                } = until
                {
                    out.push((format!("/nodes/{i}/until/calendar"), c.clone()));
                }
                timers.as_slice()
            }
            _ => &[],
        };
        for (j, t) in timers.iter().enumerate() {
            if let Some(c) = &t.calendar {
                out.push((format!("/nodes/{i}/timers/{j}/calendar"), c.clone()));
            }
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::{Value as Json, json};

    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn doc(v: Json) -> CalendarDoc {
        serde_json::from_value(v).unwrap()
    }

    /// China 2026: National Day and Mid-Autumn holiday 1–8 October (Thu–Thu), with the
    /// Sunday 27 September and the Saturday 10 October worked (调休).
    fn cn() -> Calendar {
        Calendar::compile(&doc(json!({
            "name": "cn", "time_zone": "Asia/Shanghai",
            "holidays": ["2026-10-01/2026-10-08"],
            "workdays": ["2026-09-27", "2026-10-10"]
        })))
        .unwrap()
    }

    #[test]
    fn national_day_week_with_make_up_days() {
        let c = cn();
        let day = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert!(c.is_working_day(day("2026-09-27")), "调休 Sunday is worked");
        assert!(!c.is_working_day(day("2026-10-01")));
        assert!(
            !c.is_working_day(day("2026-10-05")),
            "Monday inside the holiday"
        );
        assert!(!c.is_working_day(day("2026-10-08")));
        assert!(
            c.is_working_day(day("2026-10-09")),
            "Friday after the holiday"
        );
        assert!(
            c.is_working_day(day("2026-10-10")),
            "调休 Saturday is worked"
        );
        assert!(!c.is_working_day(day("2026-10-11")));
        // Wednesday 30 Sep, 10:00 Beijing (02:00 UTC) + P2D: Fri 9 Oct, Sat 10 Oct (worked).
        assert_eq!(
            c.add_iso(utc("2026-09-30T02:00:00Z"), "P2D").unwrap(),
            utc("2026-10-10T02:00:00Z")
        );
        // + P1D from Wednesday: Friday 9 October.
        assert_eq!(
            c.add_iso(utc("2026-09-30T02:00:00Z"), "P1D").unwrap(),
            utc("2026-10-09T02:00:00Z")
        );
        // Friday 25 Sep + P1D: the make-up Sunday 27 Sep.
        assert_eq!(
            c.add_iso(utc("2026-09-25T02:00:00Z"), "P1D").unwrap(),
            utc("2026-09-27T02:00:00Z")
        );
        // + P1DT4H: the hours are elapsed time after the working day.
        assert_eq!(
            c.add_iso(utc("2026-09-30T02:00:00Z"), "P1DT4H").unwrap(),
            utc("2026-10-09T06:00:00Z")
        );
        // Hours alone are not stretched over holidays.
        assert_eq!(
            c.add_iso(utc("2026-09-30T02:00:00Z"), "PT30H").unwrap(),
            utc("2026-10-01T08:00:00Z")
        );
    }

    #[test]
    fn days_are_counted_in_the_calendar_zone() {
        let c = cn();
        // Friday 23:30 UTC is already Saturday 07:30 in Beijing: P1D lands on Monday 07:30
        // Beijing, not on Monday 23:30 UTC.
        assert_eq!(
            c.add_iso(utc("2026-03-06T23:30:00Z"), "P1D").unwrap(),
            utc("2026-03-08T23:30:00Z")
        );
        let utc_cal = Calendar::weekdays();
        assert_eq!(
            utc_cal.add_iso(utc("2026-03-06T23:30:00Z"), "P1D").unwrap(),
            utc("2026-03-09T23:30:00Z")
        );
    }

    #[test]
    fn daylight_saving_keeps_the_wall_clock() {
        let ny = Calendar::compile(&doc(json!({
            "name": "us", "time_zone": "America/New_York", "holidays": ["2026-03-09"]
        })))
        .unwrap();
        // Friday 6 March 2026 09:00 EST (14:00 UTC) + P2D: Monday 9 is a holiday, so Tuesday
        // 10 and Wednesday 11 March, 09:00 EDT (13:00 UTC) after the 8 March switch.
        assert_eq!(
            ny.add_iso(utc("2026-03-06T14:00:00Z"), "P2D").unwrap(),
            utc("2026-03-11T13:00:00Z")
        );
        // A wall time inside the spring-forward gap lands just after it.
        let every_day = Calendar::compile(&doc(json!({
            "name": "all", "time_zone": "America/New_York", "weekend": [], "holidays": []
        })))
        .unwrap();
        // Saturday 7 March 02:30 EST (07:30 UTC) + P1D: 02:30 on 8 March does not exist.
        assert_eq!(
            every_day
                .add_iso(utc("2026-03-07T07:30:00Z"), "P1D")
                .unwrap(),
            utc("2026-03-08T07:00:00Z")
        );
        // Falling back (1 November 2026, 01:30 happens twice): the earlier one, EDT.
        assert_eq!(
            every_day
                .add_iso(utc("2026-10-31T05:30:00Z"), "P1D")
                .unwrap(),
            utc("2026-11-01T05:30:00Z")
        );
    }

    #[test]
    fn builtin_and_lookup() {
        let cals = Calendars::new(HashMap::from([("cn".to_string(), cn())]));
        assert!(cals.knows("cn") && cals.knows(BUILTIN) && !cals.knows("cn-workdays"));
        assert_eq!(cals.get(BUILTIN), Some(Calendar::weekdays()));
        assert!(cals.get("nope").is_none());
    }
}
