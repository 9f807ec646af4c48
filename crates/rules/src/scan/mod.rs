//! A small lexer over rule source: finds what a script reads and rewrites it for speed.
//!
//! rhai's AST walker is only public under the `internals` feature, which security.md forbids,
//! so references are found at the token level. The scan also *rewrites* the source, keeping
//! every character position (so rhai's error positions still point into what the admin wrote):
//!
//! | written            | becomes        | bound at evaluation to                     |
//! |--------------------|----------------|--------------------------------------------|
//! | `record.amount`    | `__r_amount`   | the new value of `amount`                  |
//! | `old.amount`       | `__o_amount`   | the prior value, `()` on create            |
//! | `user.roles`       | `__u_roles`    | an attribute of the acting user            |
//! | `changed("stage")` | `__c_stage`    | whether `stage` changed in this write      |
//! | `currency_of("a")` | `__k_a`        | the currency code of currency field `a`    |
//! | `today()`          | `__today`      | the tenant-local date of the evaluation    |
//! | `now()`            | `__now`        | the instant of the evaluation              |
//!
//! Each rewrite is never longer than what it replaces; the rest of the span becomes spaces.
//! Only referenced values are then pushed into the scope, one plain variable each — perf.md
//! measured building the scope from referenced fields at ~5× the throughput of converting the
//! whole record into an object map. Users may not write names starting with `__`.

mod lex;

use std::collections::HashSet;

use crate::script::ScriptProblem;
use lex::{Lexer, Tok, Token};

/// What a reference refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum RefKind {
    Record,
    Old,
    User,
    Changed,
    CurrencyOf,
}

/// One reference found in the source.
#[derive(Debug, Clone)]
pub(crate) struct Reference {
    pub kind: RefKind,
    pub name: String,
    pub line: usize,
    pub col: usize,
}

#[derive(Debug, Default)]
pub(crate) struct Scanned {
    pub rewritten: String,
    pub refs: Vec<Reference>,
    pub uses_old: bool,
    pub uses_today: bool,
    pub uses_now: bool,
    pub problems: Vec<ScriptProblem>,
}

pub(crate) fn mangled(kind: RefKind, name: &str) -> String {
    let prefix = match kind {
        RefKind::Record => "__r_",
        RefKind::Old => "__o_",
        RefKind::User => "__u_",
        RefKind::Changed => "__c_",
        RefKind::CurrencyOf => "__k_",
    };
    format!("{prefix}{name}")
}

pub(crate) const TODAY_VAR: &str = "__today";
pub(crate) const NOW_VAR: &str = "__now";
pub(crate) const OLD_VAR: &str = "old";

/// rhai keywords: never function names, never "unknown functions".
const KEYWORDS: &[&str] = &[
    "if",
    "else",
    "switch",
    "while",
    "loop",
    "for",
    "in",
    "do",
    "until",
    "return",
    "throw",
    "let",
    "const",
    "fn",
    "private",
    "this",
    "true",
    "false",
    "break",
    "continue",
    "try",
    "catch",
    "import",
    "export",
    "as",
    "global",
    "Fn",
    "call",
    "curry",
    "eval",
    "print",
    "debug",
    "type_of",
    "is_def_var",
    "is_def_fn",
    "is_shared",
];

fn is_ident(s: &str) -> bool {
    let mut c = s.chars();
    matches!(c.next(), Some(ch) if ch.is_ascii_alphabetic() || ch == '_')
        && c.all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
}

struct Analyzer<'a> {
    toks: &'a [Token],
    chars: &'a [char],
    out: Vec<char>,
    known_fns: &'a HashSet<String>,
    result: Scanned,
}

impl Analyzer<'_> {
    fn ident(&self, i: usize) -> Option<&str> {
        match &self.toks.get(i)?.tok {
            Tok::Ident(s) => Some(s),
            _ => None,
        }
    }

    fn punct(&self, i: usize) -> Option<&'static str> {
        match self.toks.get(i)?.tok {
            Tok::Punct(p) => Some(p),
            _ => None,
        }
    }

    fn after_dot(&self, i: usize) -> bool {
        i > 0 && matches!(self.punct(i - 1), Some("." | "?."))
    }

    fn problem(&mut self, t: usize, code: &'static str, message: String) {
        let tok = &self.toks[t];
        self.result.problems.push(ScriptProblem {
            line: tok.line,
            column: tok.col,
            code,
            message,
        });
    }

    /// Replaces tokens `first..=last` by `ident`, or reports why it cannot.
    fn rewrite(&mut self, first: usize, last: usize, ident: &str) -> bool {
        let (start, end) = (self.toks[first].start, self.toks[last].end);
        let inner_ok = (first..last).all(|k| {
            let gap = &self.chars[self.toks[k].end..self.toks[k + 1].start];
            gap.iter().all(|c| *c == ' ' || *c == '\t')
        });
        if !inner_ok || ident.chars().count() > end - start {
            self.problem(
                first,
                "syntax",
                "write field references on one line without comments inside, e.g. record.amount"
                    .into(),
            );
            return false;
        }
        for c in &mut self.out[start..end] {
            *c = ' ';
        }
        for (k, c) in ident.chars().enumerate() {
            self.out[start + k] = c;
        }
        true
    }

    fn reference(&mut self, t: usize, kind: RefKind, name: &str) {
        let tok = &self.toks[t];
        self.result.refs.push(Reference {
            kind,
            name: name.to_string(),
            line: tok.line,
            col: tok.col,
        });
    }

    fn run(mut self) -> Scanned {
        let mut i = 0;
        while i < self.toks.len() {
            i = self.step(i);
        }
        self.result.rewritten = self.out.iter().collect();
        self.result
    }

    /// Handles the token at `i`; returns the index of the next unhandled token.
    fn step(&mut self, i: usize) -> usize {
        let Some(name) = self.ident(i).map(str::to_string) else {
            return i + 1;
        };
        let after_dot = self.after_dot(i);
        if name.starts_with("__") {
            self.problem(
                i,
                "forbidden",
                format!("`{name}`: names starting with __ are reserved"),
            );
            return i + 1;
        }
        if !after_dot {
            match name.as_str() {
                "record" | "old" | "user" => return self.object(i, &name),
                "changed" | "currency_of" => return self.field_call(i, &name),
                "today" | "now" if self.punct(i + 1) == Some("(") => {
                    if self.punct(i + 2) != Some(")") {
                        self.problem(i, "syntax", format!("{name}() takes no arguments"));
                        return i + 1;
                    }
                    let var = if name == "today" { TODAY_VAR } else { NOW_VAR };
                    if self.rewrite(i, i + 2, var) {
                        if name == "today" {
                            self.result.uses_today = true;
                        } else {
                            self.result.uses_now = true;
                        }
                    }
                    return i + 3;
                }
                _ => {}
            }
        }
        if crate::sandbox::FORBIDDEN.contains(&name.as_str()) {
            self.problem(i, "forbidden", forbidden_message(&name));
            return i + 1;
        }
        if self.punct(i + 1) == Some("(")
            && !KEYWORDS.contains(&name.as_str())
            && !self.known_fns.contains(&name)
        {
            let hint = if self.known_fns.contains(&name.to_lowercase()) {
                format!(" (function names are lower case: {})", name.to_lowercase())
            } else {
                crate::catalog::closest(&name, self.known_fns.iter().map(String::as_str))
                    .map(|s| format!(" (did you mean {s}?)"))
                    .unwrap_or_default()
            };
            self.problem(
                i,
                "unknown_function",
                format!("unknown function `{name}`{hint}"),
            );
        }
        i + 1
    }

    /// `record`, `old` or `user` at token `i`.
    fn object(&mut self, i: usize, obj: &str) -> usize {
        let declared = i > 0 && matches!(self.ident(i - 1), Some("let" | "const"));
        if declared {
            self.problem(i, "forbidden", format!("`{obj}` is a reserved name"));
            return i + 1;
        }
        match (self.punct(i + 1), self.ident(i + 2).map(str::to_string)) {
            (Some("." | "?."), Some(field)) => {
                if self.punct(i + 3) == Some("(") {
                    self.problem(
                        i,
                        "syntax",
                        format!("`{obj}.{field}(…)`: {obj} has fields, not methods"),
                    );
                    return i + 3;
                }
                let kind = match obj {
                    "record" => RefKind::Record,
                    "old" => RefKind::Old,
                    _ => RefKind::User,
                };
                if self.rewrite(i, i + 2, &mangled(kind, &field)) {
                    self.reference(i + 2, kind, &field);
                }
                i + 3
            }
            (Some("[" | "?["), _) => {
                self.problem(
                    i,
                    "syntax",
                    format!("write {obj}.field_name; {obj}[…] is not supported"),
                );
                i + 1
            }
            _ if obj == "old" => {
                // Bare `old`, as in `old == ()` to tell a create from an update.
                self.result.uses_old = true;
                i + 1
            }
            _ => {
                self.problem(
                    i,
                    "syntax",
                    format!("use {obj}.field_name; `{obj}` on its own is not a value"),
                );
                i + 1
            }
        }
    }

    /// `changed("field")` or `currency_of("field")` at token `i`.
    fn field_call(&mut self, i: usize, func: &str) -> usize {
        let arg = match (
            &self.toks.get(i + 2).map(|t| &t.tok),
            self.punct(i + 1),
            self.punct(i + 3),
        ) {
            (Some(Tok::Str(Some(s))), Some("("), Some(")")) => Some(s.clone()),
            _ => None,
        };
        let Some(field) = arg else {
            self.problem(
                i,
                "syntax",
                format!("{func}() takes one field name in double quotes, e.g. {func}(\"stage\")"),
            );
            return i + 1;
        };
        if !is_ident(&field) {
            self.problem(i + 2, "unknown_field", format!("unknown field \"{field}\""));
            return i + 4;
        }
        let kind = if func == "changed" {
            RefKind::Changed
        } else {
            RefKind::CurrencyOf
        };
        if self.rewrite(i, i + 3, &mangled(kind, &field)) {
            self.reference(i + 2, kind, &field);
        }
        i + 4
    }
}

fn forbidden_message(name: &str) -> String {
    match name {
        "while" | "loop" | "for" | "do" => {
            format!(
                "`{name}`: loops are not available in rules; use list helpers such as contains, filter or map"
            )
        }
        "fn" | "private" => "defining functions is not available in rules".into(),
        "sleep" | "timestamp" => {
            format!("`{name}` is not available; use today() or now() for the current date and time")
        }
        _ => format!("`{name}` is not allowed in rules"),
    }
}

/// Scans and rewrites `src`. Problems about names are reported here; syntax is left to rhai.
pub(crate) fn scan(src: &str, known_fns: &HashSet<String>) -> Scanned {
    let (toks, chars) = Lexer::new(src).tokens();
    Analyzer {
        toks: &toks,
        chars: &chars,
        out: chars.clone(),
        known_fns,
        result: Scanned::default(),
    }
    .run()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(src: &str, expected_rewrite: &str, expected_refs: &[(RefKind, &str)]) {
        let fns: HashSet<String> = ["contains", "len", "round"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let s = scan(src, &fns);
        assert!(s.problems.is_empty(), "{src}: {:?}", s.problems);
        assert_eq!(s.rewritten, expected_rewrite, "{src}");
        let refs: Vec<_> = s.refs.iter().map(|r| (r.kind, r.name.as_str())).collect();
        assert_eq!(refs, expected_refs, "{src}");
    }

    #[test]
    fn rewrites_references_in_place() {
        use RefKind::*;
        check(
            "record.amount > 5",
            "__r_amount    > 5",
            &[(Record, "amount")],
        );
        check(
            "old.stage != record.stage",
            "__o_stage != __r_stage   ",
            &[(Old, "stage"), (Record, "stage")],
        );
        check("record . amount", "__r_amount     ", &[(Record, "amount")]);
        check("record?.amount", "__r_amount    ", &[(Record, "amount")]);
        check(
            "changed(\"stage\")",
            "__c_stage       ",
            &[(Changed, "stage")],
        );
        check("today() - 1", "__today - 1", &[]);
        check("now()", "__now", &[]);
        check("x.record.amount", "x.record.amount", &[]);
        check("\"record.amount\"", "\"record.amount\"", &[]);
        check("// record.amount\n1", "// record.amount\n1", &[]);
        check("/* /* record.a */ */ 1", "/* /* record.a */ */ 1", &[]);
        check("`a ${record.b} c`", "`a ${__r_b   } c`", &[(Record, "b")]);
        check(
            "`a ${#{x: record.b}.x}`",
            "`a ${#{x: __r_b   }.x}`",
            &[(Record, "b")],
        );
        check(
            "#\"record.a\"# + record.type",
            "#\"record.a\"# + __r_type   ",
            &[(Record, "type")],
        );
        check(
            "user.roles.contains(\"admin\")",
            "__u_roles .contains(\"admin\")",
            &[(User, "roles")],
        );
        check("old == ()", "old == ()", &[]);
        check("1.5e-3 + record.x", "1.5e-3 + __r_x   ", &[(Record, "x")]);
    }

    #[test]
    fn reports_names_it_cannot_accept() {
        let fns = HashSet::new();
        for (src, code) in [
            ("let record = 1; 2", "forbidden"),
            ("record", "syntax"),
            ("record[\"a\"]", "syntax"),
            ("record.keys()", "syntax"),
            ("changed(x)", "syntax"),
            ("changed(\"a b\")", "unknown_field"),
            ("__r_x", "forbidden"),
            ("eval(\"1\")", "forbidden"),
            ("while true {}", "forbidden"),
            ("x.call(1)", "forbidden"),
            ("record\n.amount", "syntax"),
            ("uper(\"a\")", "unknown_function"),
            ("today(1)", "syntax"),
        ] {
            let s = scan(src, &fns);
            assert_eq!(
                s.problems.first().map(|p| p.code),
                Some(code),
                "{src}: {:?}",
                s.problems
            );
        }
    }
}
