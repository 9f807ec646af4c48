//! Five-field cron expressions (`minute hour day-of-month month day-of-week`), evaluated on
//! the wall clock of an IANA time zone. Standard semantics: `*`, lists, ranges and steps
//! (`*/15`, `1-5`, `0,30`, `9-17/2`), month and weekday names (`JAN`, `MON`), Sunday as 0 or
//! 7, and — as in Vixie cron — when both day fields are restricted a day matches either.
//! Local times that do not exist (a DST gap) are skipped; ambiguous ones fire at the first.

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    minutes: Vec<bool>,
    hours: Vec<bool>,
    dom: Vec<bool>,
    months: Vec<bool>,
    dow: Vec<bool>,
    dom_any: bool,
    dow_any: bool,
}

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/// How far back a tick is searched: a schedule that has not fired in this long is dormant.
const LOOKBACK_DAYS: i64 = 400;

fn value(s: &str, min: u32, max: u32, names: &[&str], name_base: u32) -> Result<u32, String> {
    let up = s.to_ascii_uppercase();
    if let Some(i) = names.iter().position(|n| *n == up) {
        return Ok(i as u32 + name_base);
    }
    let v: u32 = s
        .parse()
        .map_err(|_| format!("'{s}' is not a number or a name"))?;
    if v < min || v > max {
        return Err(format!("{v} is outside {min}-{max}"));
    }
    Ok(v)
}

fn field(
    src: &str,
    min: u32,
    max: u32,
    names: &[&str],
    name_base: u32,
) -> Result<(Vec<bool>, bool), String> {
    let mut set = vec![false; max as usize + 1];
    let any = src == "*" || src == "?";
    for part in src.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => {
                let st: u32 = s.parse().map_err(|_| format!("bad step '{s}'"))?;
                if st == 0 {
                    return Err("a step must be at least 1".into());
                }
                (r, st)
            }
            None => (part, 1),
        };
        let (lo, hi) = if range == "*" || range == "?" {
            (min, max)
        } else if let Some((a, b)) = range.split_once('-') {
            let lo = value(a, min, max, names, name_base)?;
            let hi = value(b, min, max, names, name_base)?;
            if lo > hi {
                return Err(format!("range {range} runs backwards"));
            }
            (lo, hi)
        } else {
            let v = value(range, min, max, names, name_base)?;
            // `5/15` means 5, 20, 35, 50.
            (v, if part.contains('/') { max } else { v })
        };
        let mut v = lo;
        while v <= hi {
            set[v as usize] = true;
            v += step;
        }
    }
    Ok((set, any))
}

impl Cron {
    pub fn parse(src: &str) -> Result<Cron, String> {
        if src.len() > 200 {
            return Err("the expression is too long".into());
        }
        let parts: Vec<&str> = src.split_whitespace().collect();
        let [mi, h, dm, mo, dw] = parts.as_slice() else {
            return Err(
                "use five fields: minute hour day-of-month month day-of-week, e.g. '0 9 * * 1-5'"
                    .into(),
            );
        };
        let (minutes, _) = field(mi, 0, 59, &[], 0).map_err(|e| format!("minute: {e}"))?;
        let (hours, _) = field(h, 0, 23, &[], 0).map_err(|e| format!("hour: {e}"))?;
        let (dom, dom_any) = field(dm, 1, 31, &[], 0).map_err(|e| format!("day of month: {e}"))?;
        let (months, _) = field(mo, 1, 12, &MONTHS, 1).map_err(|e| format!("month: {e}"))?;
        let (mut dow, dow_any) =
            field(dw, 0, 7, &DAYS, 0).map_err(|e| format!("day of week: {e}"))?;
        if dow[7] {
            dow[0] = true;
        }
        dow.truncate(7);
        Ok(Cron {
            minutes,
            hours,
            dom,
            months,
            dow,
            dom_any,
            dow_any,
        })
    }

    /// Every day at `at` (`HH:MM`).
    pub fn daily(at: &str) -> Result<Cron, String> {
        let t = NaiveTime::parse_from_str(at, "%H:%M")
            .map_err(|_| format!("'{at}' is not a time of day (HH:MM)"))?;
        Cron::parse(&format!("{} {} * * *", t.format("%M"), t.format("%H")))
    }

    fn day_matches(&self, d: NaiveDate) -> bool {
        if !self.months[d.month() as usize] {
            return false;
        }
        let dom = self.dom[d.day() as usize];
        let dow = self.dow[d.weekday().num_days_from_sunday() as usize];
        match (self.dom_any, self.dow_any) {
            (true, true) => true,
            (true, false) => dow,
            (false, true) => dom,
            (false, false) => dom || dow,
        }
    }

    /// The latest tick at or before `at`, on `tz`'s wall clock.
    pub fn prev(&self, tz: Tz, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let local = at.with_timezone(&tz).naive_local();
        for back in 0..LOOKBACK_DAYS {
            let day = local.date() - Duration::days(back);
            if !self.day_matches(day) {
                continue;
            }
            for h in (0..24u32).rev().filter(|h| self.hours[*h as usize]) {
                for m in (0..60u32).rev().filter(|m| self.minutes[*m as usize]) {
                    let Some(t) = day.and_hms_opt(h, m, 0) else {
                        continue;
                    };
                    if t > local {
                        continue;
                    }
                    let utc = match tz.from_local_datetime(&t) {
                        LocalResult::Single(x) => x.with_timezone(&Utc),
                        LocalResult::Ambiguous(a, _) => a.with_timezone(&Utc),
                        LocalResult::None => continue,
                    };
                    if utc <= at {
                        return Some(utc);
                    }
                }
            }
        }
        None
    }

    /// The first tick strictly after `at` (for showing the next run).
    pub fn next(&self, tz: Tz, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let local = at.with_timezone(&tz).naive_local();
        for fwd in 0..LOOKBACK_DAYS {
            let day = local.date() + Duration::days(fwd);
            if !self.day_matches(day) {
                continue;
            }
            for h in (0..24u32).filter(|h| self.hours[*h as usize]) {
                for m in (0..60u32).filter(|m| self.minutes[*m as usize]) {
                    let Some(t) = day.and_hms_opt(h, m, 0) else {
                        continue;
                    };
                    let utc = match tz.from_local_datetime(&t) {
                        LocalResult::Single(x) => x.with_timezone(&Utc),
                        LocalResult::Ambiguous(a, _) => a.with_timezone(&Utc),
                        LocalResult::None => continue,
                    };
                    if utc > at {
                        return Some(utc);
                    }
                }
            }
        }
        None
    }
}

/// An IANA zone name, `UTC` when none is given.
pub fn zone(name: Option<&str>) -> Result<Tz, String> {
    match name {
        None => Ok(Tz::UTC),
        Some(n) => n
            .parse::<Tz>()
            .map_err(|_| format!("'{n}' is not an IANA time zone such as Asia/Shanghai")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("time")
            .with_timezone(&Utc)
    }

    #[test]
    fn weekdays_at_nine_in_shanghai() {
        let c = Cron::parse("0 9 * * 1-5").expect("cron");
        let tz: Tz = "Asia/Shanghai".parse().expect("tz");
        // Wednesday 2026-12-02 10:00 in Shanghai = 02:00 UTC: the tick was 09:00 local.
        assert_eq!(
            c.prev(tz, utc("2026-12-02T02:00:00Z")),
            Some(utc("2026-12-02T01:00:00Z"))
        );
        // Monday 08:00 local: the last tick was Friday 09:00.
        assert_eq!(
            c.prev(tz, utc("2026-11-30T00:00:00Z")),
            Some(utc("2026-11-27T01:00:00Z"))
        );
        assert_eq!(
            c.next(tz, utc("2026-11-28T00:00:00Z")),
            Some(utc("2026-11-30T01:00:00Z"))
        );
    }

    #[test]
    fn fields_steps_names_and_sunday() {
        let c = Cron::parse("*/15 0 1 JAN SUN").expect("cron");
        // 2027-01-03 is a Sunday; with both day fields restricted either matches.
        assert_eq!(
            c.prev(Tz::UTC, utc("2027-01-03T00:50:00Z")),
            Some(utc("2027-01-03T00:45:00Z"))
        );
        let seven = Cron::parse("0 0 * * 7").expect("cron");
        assert_eq!(
            seven.prev(Tz::UTC, utc("2027-01-04T00:00:00Z")),
            Some(utc("2027-01-03T00:00:00Z"))
        );
        for bad in [
            "",
            "* * * *",
            "60 * * * *",
            "*/0 * * * *",
            "5-1 * * * *",
            "0 0 * FOO *",
        ] {
            assert!(Cron::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_dst_gap_is_skipped() {
        // New York: 2027-03-14 02:30 local does not exist.
        let c = Cron::parse("30 2 * * *").expect("cron");
        let tz: Tz = "America/New_York".parse().expect("tz");
        let t = c.prev(tz, utc("2027-03-14T12:00:00Z")).expect("tick");
        assert_eq!(t, utc("2027-03-13T07:30:00Z"));
    }

    #[test]
    fn daily_at() {
        let c = Cron::daily("09:30").expect("daily");
        assert_eq!(
            c.prev(Tz::UTC, utc("2027-01-03T09:29:00Z")),
            Some(utc("2027-01-02T09:30:00Z"))
        );
        assert!(Cron::daily("25:00").is_err());
    }
}
