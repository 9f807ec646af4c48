//! The tokenizer under the scan: identifiers, strings, the punctuation the analyzer cares
//! about, and template literals with their `${…}` interpolations; whitespace and comments are
//! skipped. Every token keeps its character span and line/column.

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Tok {
    Ident(String),
    /// A `"…"` or raw string; `None` when it holds escapes we do not decode.
    Str(Option<String>),
    Punct(&'static str),
    Other,
}

#[derive(Debug, Clone)]
pub(super) struct Token {
    pub(super) tok: Tok,
    /// Char offsets into the source.
    pub(super) start: usize,
    pub(super) end: usize,
    pub(super) line: usize,
    pub(super) col: usize,
}

enum Mode {
    /// Code; `depth` counts open braces (an interpolation ends at `}` with depth 0).
    Code {
        depth: usize,
        interpolation: bool,
    },
    Backtick,
}

pub(super) struct Lexer {
    chars: Vec<char>,
    pos: usize,
    line: usize,
    col: usize,
}

impl Lexer {
    pub(super) fn new(src: &str) -> Self {
        Self {
            chars: src.chars().collect(),
            pos: 0,
            line: 1,
            col: 1,
        }
    }

    fn peek(&self, k: usize) -> Option<char> {
        self.chars.get(self.pos + k).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.chars.get(self.pos).copied()?;
        self.pos += 1;
        if c == '\n' {
            self.line += 1;
            self.col = 1;
        } else {
            self.col += 1;
        }
        Some(c)
    }

    /// The tokens of the source, and its characters (which the analyzer rewrites).
    pub(super) fn tokens(mut self) -> (Vec<Token>, Vec<char>) {
        let mut out = Vec::new();
        let mut modes = vec![Mode::Code {
            depth: 0,
            interpolation: false,
        }];
        while let Some(c) = self.peek(0) {
            let (start, line, col) = (self.pos, self.line, self.col);
            let tok = match modes.last() {
                Some(Mode::Backtick) => self.backtick(c, &mut modes),
                Some(Mode::Code { .. }) => self.code(c, &mut modes),
                None => break,
            };
            if let Some(tok) = tok {
                out.push(Token {
                    tok,
                    start,
                    end: self.pos,
                    line,
                    col,
                });
            }
        }
        (out, self.chars)
    }

    /// One step inside a template literal: its end, an interpolation, or a plain character.
    fn backtick(&mut self, c: char, modes: &mut Vec<Mode>) -> Option<Tok> {
        if c == '`' && self.peek(1) == Some('`') {
            self.bump();
            self.bump();
            None
        } else if c == '`' {
            self.bump();
            modes.pop();
            Some(Tok::Punct("`"))
        } else if c == '$' && self.peek(1) == Some('{') {
            self.bump();
            self.bump();
            modes.push(Mode::Code {
                depth: 0,
                interpolation: true,
            });
            Some(Tok::Punct("${"))
        } else {
            self.bump();
            None
        }
    }

    /// One token in code; whitespace and comments give none.
    fn code(&mut self, c: char, modes: &mut Vec<Mode>) -> Option<Tok> {
        let next = self.peek(1);
        if c.is_whitespace() {
            self.bump();
            None
        } else if c == '/' && next == Some('/') {
            while self.peek(0).is_some_and(|c| c != '\n') {
                self.bump();
            }
            None
        } else if c == '/' && next == Some('*') {
            self.block_comment();
            None
        } else if c == '"' {
            Some(self.string())
        } else if c == '\'' {
            self.char_literal();
            Some(Tok::Other)
        } else if c == '`' {
            self.bump();
            modes.push(Mode::Backtick);
            Some(Tok::Punct("`"))
        } else if c == '#' && next == Some('{') {
            self.bump();
            self.bump();
            nest(modes, "{");
            Some(Tok::Punct("{"))
        } else if c == '#' && matches!(next, Some('#' | '"')) {
            Some(self.raw_string())
        } else if c.is_ascii_alphabetic() || c == '_' || !c.is_ascii() {
            Some(self.ident())
        } else if c.is_ascii_digit() {
            self.number(c, next);
            Some(Tok::Other)
        } else {
            let p = self.punct(c, next);
            nest(modes, p);
            Some(if p.is_empty() {
                Tok::Other
            } else {
                Tok::Punct(p)
            })
        }
    }

    /// `/* … */`, nested.
    fn block_comment(&mut self) {
        self.bump();
        self.bump();
        let mut level = 1usize;
        while level > 0 {
            match (self.peek(0), self.peek(1)) {
                (None, _) => break,
                (Some('/'), Some('*')) => {
                    self.bump();
                    self.bump();
                    level += 1;
                }
                (Some('*'), Some('/')) => {
                    self.bump();
                    self.bump();
                    level -= 1;
                }
                _ => {
                    self.bump();
                }
            }
        }
    }

    /// A double-quoted string; its text only when it has no escapes.
    fn string(&mut self) -> Tok {
        self.bump();
        let mut text = String::new();
        let mut plain = true;
        while let Some(ch) = self.bump() {
            match ch {
                '"' => break,
                '\\' => {
                    plain = false;
                    self.bump();
                }
                _ => text.push(ch),
            }
        }
        Tok::Str(plain.then_some(text))
    }

    fn char_literal(&mut self) {
        self.bump();
        while let Some(ch) = self.bump() {
            match ch {
                '\'' | '\n' => break,
                '\\' => {
                    self.bump();
                }
                _ => {}
            }
        }
    }

    /// `#"…"#` with any number of hashes; hashes without a quote are some other token.
    fn raw_string(&mut self) -> Tok {
        let mut hashes = 0usize;
        while self.peek(0) == Some('#') {
            self.bump();
            hashes += 1;
        }
        if self.peek(0) != Some('"') {
            return Tok::Other;
        }
        self.bump();
        let mut text = String::new();
        loop {
            match self.bump() {
                None => break,
                Some('"') if (0..hashes).all(|k| self.peek(k) == Some('#')) => {
                    for _ in 0..hashes {
                        self.bump();
                    }
                    break;
                }
                Some(ch) => text.push(ch),
            }
        }
        Tok::Str(Some(text))
    }

    fn ident(&mut self) -> Tok {
        let mut name = String::new();
        while let Some(ch) = self.peek(0) {
            if ch.is_ascii_alphanumeric() || ch == '_' || (!ch.is_ascii() && ch.is_alphanumeric()) {
                name.push(ch);
                self.bump();
            } else {
                break;
            }
        }
        if name.is_empty() {
            self.bump();
            Tok::Other
        } else {
            Tok::Ident(name)
        }
    }

    /// A number: digits, a radix prefix, an exponent with its sign, a decimal point.
    fn number(&mut self, c: char, next: Option<char>) {
        let hex = c == '0' && matches!(next, Some('x' | 'X' | 'o' | 'O' | 'b' | 'B'));
        let mut prev = c;
        self.bump();
        while let Some(ch) = self.peek(0) {
            let exp_sign = !hex && matches!(ch, '+' | '-') && matches!(prev, 'e' | 'E');
            let dot = ch == '.' && self.peek(1).is_some_and(|d| d.is_ascii_digit());
            if ch.is_ascii_alphanumeric() || ch == '_' || exp_sign || dot {
                prev = ch;
                self.bump();
            } else {
                break;
            }
        }
    }

    /// The punctuation the analyzer cares about (empty for any other character), consumed.
    fn punct(&mut self, c: char, next: Option<char>) -> &'static str {
        let two = |a: char, b: char| c == a && next == Some(b);
        let p: &'static str = if two('?', '.') {
            "?."
        } else if two('?', '[') {
            "?["
        } else if two('.', '.') {
            ".."
        } else if two(':', ':') {
            "::"
        } else {
            match c {
                '.' => ".",
                '(' => "(",
                ')' => ")",
                '[' => "[",
                ']' => "]",
                '{' => "{",
                '}' => "}",
                ',' => ",",
                ';' => ";",
                '|' => "|",
                '=' => "=",
                _ => "",
            }
        };
        self.bump();
        if p.len() == 2 {
            self.bump();
        }
        p
    }
}

/// Braces nest inside code; the `}` that closes an interpolation returns to the template.
fn nest(modes: &mut Vec<Mode>, p: &str) {
    let Some(Mode::Code {
        depth,
        interpolation,
    }) = modes.last_mut()
    else {
        return;
    };
    match p {
        "{" => *depth += 1,
        "}" if *depth == 0 && *interpolation => {
            modes.pop();
        }
        "}" => *depth = depth.saturating_sub(1),
        _ => {}
    }
}
