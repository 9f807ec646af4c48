//! ISO-8601 durations (`P3D`, `PT24H`, `P1W`) and repeating intervals (`R3/PT24H`).
//! Years and months are rejected: their length depends on the calendar, and business
//! calendars are the environment's job.

use chrono::{DateTime, Duration, Utc};

/// The longest duration accepted (about 100 years).
pub const MAX_DAYS: i64 = 36_600;

/// Parse an ISO-8601 duration of weeks/days/hours/minutes/seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let rest = s
        .strip_prefix('P')
        .ok_or_else(|| format!("`{s}`: a duration starts with `P`"))?;
    if rest.is_empty() {
        return Err(format!("`{s}`: empty duration"));
    }
    let mut total = Duration::zero();
    let mut in_time = false;
    let mut num = String::new();
    let mut any = false;
    for c in rest.chars() {
        match c {
            'T' if !in_time && num.is_empty() => in_time = true,
            '0'..='9' => num.push(c),
            unit => {
                let n: i64 = num
                    .parse()
                    .map_err(|_| format!("`{s}`: number expected before `{unit}`"))?;
                num.clear();
                any = true;
                let part = match (in_time, unit) {
                    (false, 'W') => Duration::try_weeks(n),
                    (false, 'D') => Duration::try_days(n),
                    (true, 'H') => Duration::try_hours(n),
                    (true, 'M') => Duration::try_minutes(n),
                    (true, 'S') => Duration::try_seconds(n),
                    (false, 'Y' | 'M') => {
                        return Err(format!(
                            "`{s}`: years and months are not supported, use days"
                        ));
                    }
                    _ => return Err(format!("`{s}`: unexpected `{unit}`")),
                }
                .ok_or_else(|| format!("`{s}`: out of range"))?;
                total += part;
            }
        }
    }
    if !num.is_empty() || !any {
        return Err(format!("`{s}`: incomplete duration"));
    }
    if total <= Duration::zero() {
        return Err(format!("`{s}`: duration must be positive"));
    }
    // Bounded, so that adding it to a date (or counting it on a business calendar) can never
    // overflow.
    if total > Duration::days(MAX_DAYS) {
        return Err(format!("`{s}`: at most {MAX_DAYS} days"));
    }
    Ok(total)
}

/// A repeating interval: `R<n>/<duration>`; `R/<duration>` repeats forever (`None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cycle {
    pub repetitions: Option<u32>,
    pub interval: String,
}

pub fn parse_cycle(s: &str) -> Result<Cycle, String> {
    let (r, d) = s
        .split_once('/')
        .ok_or_else(|| format!("`{s}`: a cycle looks like `R3/PT24H`"))?;
    let n = r
        .strip_prefix('R')
        .ok_or_else(|| format!("`{s}`: a cycle starts with `R`"))?;
    let repetitions = if n.is_empty() {
        None
    } else {
        let n: u32 = n
            .parse()
            .map_err(|_| format!("`{s}`: bad repetition count"))?;
        if n == 0 {
            return Err(format!("`{s}`: zero repetitions"));
        }
        Some(n)
    };
    parse_duration(d)?;
    Ok(Cycle {
        repetitions,
        interval: d.to_string(),
    })
}

/// Parse an RFC 3339 instant or a `YYYY-MM-DD` date (midnight UTC).
pub fn parse_instant(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    let d = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
    Some(d.and_hms_opt(0, 0, 0)?.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("P3D"), Ok(Duration::days(3)));
        assert_eq!(parse_duration("PT24H"), Ok(Duration::hours(24)));
        assert_eq!(
            parse_duration("P1DT2H30M5S"),
            Ok(Duration::seconds(86400 + 7200 + 1805))
        );
        assert_eq!(parse_duration("P2W"), Ok(Duration::days(14)));
        assert!(parse_duration("P1M").is_err());
        assert!(parse_duration("PT").is_err());
        assert!(parse_duration("3D").is_err());
        assert!(parse_duration("P0D").is_err());
        assert!(parse_duration("P36600D").is_ok());
        assert!(parse_duration("P36601D").is_err());
        assert!(parse_duration("P100000000D").is_err());
        assert!(parse_duration("PT99999999999S").is_err());
        assert_eq!(
            parse_cycle("R3/PT24H"),
            Ok(Cycle {
                repetitions: Some(3),
                interval: "PT24H".into()
            })
        );
        assert_eq!(parse_cycle("R/PT1H").map(|c| c.repetitions), Ok(None));
        assert!(parse_cycle("PT1H").is_err());
    }
}
