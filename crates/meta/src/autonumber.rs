//! Auto-number patterns such as `QT-{YYYY}-{0000}`: literal text, date parts and one counter.
//! The counter restarts whenever the rendered date parts change (yearly for `{YYYY}`).

use chrono::{Datelike, NaiveDate};

#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Lit(String),
    Year4,
    Year2,
    Month,
    Day,
    Counter(usize),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AutoNumberPattern {
    parts: Vec<Part>,
}

impl AutoNumberPattern {
    pub fn parse(src: &str) -> Result<Self, String> {
        if src.is_empty() || src.len() > 64 {
            return Err("pattern must be 1 to 64 characters".into());
        }
        let mut parts = Vec::new();
        let mut rest = src;
        let mut counters = 0;
        while !rest.is_empty() {
            if let Some(open) = rest.find('{') {
                if open > 0 {
                    parts.push(Part::Lit(rest[..open].to_owned()));
                }
                let close = rest[open..].find('}').ok_or("unclosed '{' in pattern")? + open;
                let token = &rest[open + 1..close];
                let part = match token {
                    "YYYY" => Part::Year4,
                    "YY" => Part::Year2,
                    "MM" => Part::Month,
                    "DD" => Part::Day,
                    t if !t.is_empty() && t.len() <= 12 && t.chars().all(|c| c == '0') => {
                        counters += 1;
                        Part::Counter(t.len())
                    }
                    t => {
                        return Err(format!(
                            "unknown token '{{{t}}}' (use YYYY, YY, MM, DD or 0000)"
                        ));
                    }
                };
                parts.push(part);
                rest = &rest[close + 1..];
            } else {
                if rest.contains('}') {
                    return Err("unmatched '}' in pattern".into());
                }
                parts.push(Part::Lit(rest.to_owned()));
                rest = "";
            }
        }
        if counters != 1 {
            return Err("pattern needs exactly one counter such as {0000}".into());
        }
        Ok(Self { parts })
    }

    /// The counter's period: the date parts of the pattern rendered for `date` ("" = never resets).
    pub fn period(&self, date: NaiveDate) -> String {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Year4 | Part::Year2 => out.push_str(&format!("{:04}", date.year())),
                Part::Month => out.push_str(&format!("{:02}", date.month())),
                Part::Day => out.push_str(&format!("{:02}", date.day())),
                _ => {}
            }
        }
        out
    }

    pub fn render(&self, date: NaiveDate, n: i64) -> String {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Lit(s) => out.push_str(s),
                Part::Year4 => out.push_str(&format!("{:04}", date.year())),
                Part::Year2 => out.push_str(&format!("{:02}", date.year() % 100)),
                Part::Month => out.push_str(&format!("{:02}", date.month())),
                Part::Day => out.push_str(&format!("{:02}", date.day())),
                Part::Counter(w) => out.push_str(&format!("{n:0w$}", w = *w)),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_and_periods() {
        let p = AutoNumberPattern::parse("QT-{YYYY}-{0000}").unwrap();
        let d = NaiveDate::from_ymd_opt(2026, 3, 9).unwrap();
        assert_eq!(p.render(d, 7), "QT-2026-0007");
        assert_eq!(p.render(d, 12345), "QT-2026-12345");
        assert_eq!(p.period(d), "2026");
        let p = AutoNumberPattern::parse("{YY}{MM}{DD}-{000}").unwrap();
        assert_eq!(p.render(d, 1), "260309-001");
        assert_eq!(p.period(d), "20260309");
        assert_eq!(AutoNumberPattern::parse("C{00000}").unwrap().period(d), "");
        for bad in ["", "QT", "{0}{0}", "{X}", "{00", "a}"] {
            assert!(AutoNumberPattern::parse(bad).is_err(), "{bad}");
        }
    }
}
