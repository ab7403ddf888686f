//! The InfluxQL scanner: turns query text into tokens, each with its line and character so
//! that parse errors can say `at line 1, char 8` as InfluxDB does.
//!
//! Keywords are plain identifiers here (the parser compares them case-insensitively), and a
//! `/` is a division token unless the parser asks for a regex at that point
//! ([`Lexer::regex`]): only the parser knows whether `/.*/` is a pattern, as in InfluxDB.

use super::time::parse_duration;

/// Where a token starts: 1-based line and 1-based character within the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pos {
    /// Line number, from 1.
    pub line: u32,
    /// Character (not byte) within the line, from 1.
    pub col: u32,
}

/// One token of InfluxQL.
#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    /// A bare identifier or keyword (`SELECT`, `temperature`, `mean`).
    Ident(String),
    /// A double-quoted identifier (`"temperature"`); never a keyword.
    Quoted(String),
    /// A single-quoted string literal.
    Str(String),
    /// An integer literal (a leading `-` is the parser's business).
    Int(i64),
    /// A number with a fraction.
    Float(f64),
    /// A duration literal (`1h30m`), in nanoseconds.
    Duration(i64),
    /// A `/pattern/` read at the parser's request.
    Regex(String),
    /// Punctuation or an operator: `= != <> < <= > >= =~ !~ + - * / ( ) , ; . ::`.
    Op(&'static str),
    /// End of input.
    Eof,
}

/// A token, its position, and the text it was read from (for error messages).
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    /// What was read.
    pub tok: Tok,
    /// Where it starts.
    pub pos: Pos,
    /// Byte offset of its first byte in the query.
    pub start: usize,
    /// Byte offset just past it.
    pub end: usize,
}

/// A scanning error: the message and where it happened.
#[derive(Debug, Clone, PartialEq)]
pub struct LexError {
    /// What is wrong.
    pub message: String,
    /// Where.
    pub pos: Pos,
}

/// Scans query text one token at a time.
#[derive(Debug)]
pub struct Lexer<'a> {
    src: &'a str,
    at: usize,
    line: u32,
    line_start: usize,
}

const OPS: [&str; 19] = [
    "!=", "<>", "<=", ">=", "=~", "!~", "::", "=", "<", ">", "+", "-", "*", "/", "(", ")", ",",
    ";", ".",
];

impl<'a> Lexer<'a> {
    /// A lexer at the start of `src`.
    pub fn new(src: &'a str) -> Lexer<'a> {
        Lexer {
            src,
            at: 0,
            line: 1,
            line_start: 0,
        }
    }

    /// The query text.
    pub fn src(&self) -> &'a str {
        self.src
    }

    fn pos_of(&self, at: usize) -> Pos {
        let col = self.src[self.line_start..at].chars().count() as u32 + 1;
        Pos {
            line: self.line,
            col,
        }
    }

    fn rest(&self) -> &'a str {
        &self.src[self.at..]
    }

    fn skip_space_and_comments(&mut self) {
        loop {
            let rest = self.rest();
            if let Some(c) = rest.chars().next().filter(|c| c.is_whitespace()) {
                self.at += c.len_utf8();
                if c == '\n' {
                    self.line += 1;
                    self.line_start = self.at;
                }
            } else if rest.starts_with("--") {
                self.at += rest.find('\n').unwrap_or(rest.len());
            } else if let Some(body) = rest.strip_prefix("/*") {
                let len = body.find("*/").map_or(rest.len(), |i| i + 4);
                for (i, c) in rest[..len].char_indices() {
                    if c == '\n' {
                        self.line += 1;
                        self.line_start = self.at + i + 1;
                    }
                }
                self.at += len;
            } else {
                return;
            }
        }
    }

    /// The next token.
    pub fn next_token(&mut self) -> Result<Token, LexError> {
        self.skip_space_and_comments();
        let start = self.at;
        let pos = self.pos_of(start);
        let rest = self.rest();
        let Some(c) = rest.chars().next() else {
            // InfluxDB reports the end one character past the last one; so do we, so that
            // messages match theirs.
            let end = Pos {
                col: pos.col + 1,
                ..pos
            };
            return Ok(self.token(Tok::Eof, start, end));
        };
        let tok = if c.is_alphabetic() || c == '_' {
            let len = rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            self.at += len;
            Tok::Ident(rest[..len].to_string())
        } else if c.is_ascii_digit()
            || (c == '.' && rest[1..].starts_with(|d: char| d.is_ascii_digit()))
        {
            self.number(pos)?
        } else if c == '"' || c == '\'' {
            let text = self.quoted(c, pos)?;
            if c == '"' {
                Tok::Quoted(text)
            } else {
                Tok::Str(text)
            }
        } else if let Some(op) = OPS.iter().find(|op| rest.starts_with(**op)) {
            self.at += op.len();
            Tok::Op(op)
        } else {
            return Err(LexError {
                message: format!("found {c}, expected a token"),
                pos,
            });
        };
        Ok(self.token(tok, start, pos))
    }

    fn token(&self, tok: Tok, start: usize, pos: Pos) -> Token {
        Token {
            tok,
            pos,
            start,
            end: self.at,
        }
    }

    /// An integer, a float, or (digits followed by a unit) a duration.
    fn number(&mut self, pos: Pos) -> Result<Tok, LexError> {
        let rest = self.rest();
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let mut len = int_len;
        let mut is_float = false;
        if rest[len..].starts_with('.') {
            let frac = rest[len + 1..]
                .bytes()
                .take_while(u8::is_ascii_digit)
                .count();
            if frac > 0 {
                len += 1 + frac;
                is_float = true;
            }
        }
        let unit_len = rest[len..]
            .find(|c: char| !(c.is_alphanumeric() || c == 'µ'))
            .unwrap_or(rest.len() - len);
        let text = &rest[..len + unit_len];
        self.at += text.len();
        let bad = |what: &str| LexError {
            message: format!("unable to parse {what} {text}"),
            pos,
        };
        if unit_len > 0 {
            if is_float {
                return Err(bad("duration"));
            }
            return parse_duration(text)
                .map(Tok::Duration)
                .ok_or_else(|| bad("duration"));
        }
        if is_float {
            text.parse().map(Tok::Float).map_err(|_| bad("number"))
        } else {
            text.parse().map(Tok::Int).map_err(|_| bad("integer"))
        }
    }

    /// A quoted string or identifier, with `\` escapes (`\'`, `\"`, `\\`, `\n`, `\t`).
    fn quoted(&mut self, quote: char, pos: Pos) -> Result<String, LexError> {
        let mut out = String::new();
        let mut chars = self.rest().char_indices().skip(1);
        while let Some((i, c)) = chars.next() {
            match c {
                c if c == quote => {
                    self.at += i + 1;
                    return Ok(out);
                }
                '\\' => match chars.next() {
                    Some((_, 'n')) => out.push('\n'),
                    Some((_, 't')) => out.push('\t'),
                    Some((_, e)) => out.push(e),
                    None => break,
                },
                '\n' => break,
                c => out.push(c),
            }
        }
        Err(LexError {
            message: format!(
                "unterminated {} starting with {quote}",
                if quote == '"' {
                    "quoted identifier"
                } else {
                    "string"
                }
            ),
            pos,
        })
    }

    /// Reads a regex whose opening `/` starts at byte `slash`: the parser calls this after it
    /// received a `/` token where a pattern belongs. `\/` stands for a literal slash.
    pub fn regex(&mut self, slash: usize, pos: Pos) -> Result<Token, LexError> {
        let body = &self.src[slash + 1..];
        let mut out = String::new();
        let mut chars = body.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '/' => {
                    self.at = slash + 1 + i + 1;
                    return Ok(self.token(Tok::Regex(out), slash, pos));
                }
                '\\' => match chars.next() {
                    Some((_, '/')) => out.push('/'),
                    Some((_, e)) => {
                        out.push('\\');
                        out.push(e);
                    }
                    None => break,
                },
                '\n' => break,
                c => out.push(c),
            }
        }
        Err(LexError {
            message: "unterminated regex".to_string(),
            pos,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(src: &str) -> Vec<Tok> {
        let mut l = Lexer::new(src);
        let mut out = Vec::new();
        loop {
            let t = l.next_token().unwrap();
            if t.tok == Tok::Eof {
                return out;
            }
            out.push(t.tok);
        }
    }

    #[test]
    fn tokens_of_a_typical_query() {
        assert_eq!(
            toks(r#"SELECT mean("value") FROM m WHERE a='x\'y' AND time >= now() - 1h30m"#),
            vec![
                Tok::Ident("SELECT".into()),
                Tok::Ident("mean".into()),
                Tok::Op("("),
                Tok::Quoted("value".into()),
                Tok::Op(")"),
                Tok::Ident("FROM".into()),
                Tok::Ident("m".into()),
                Tok::Ident("WHERE".into()),
                Tok::Ident("a".into()),
                Tok::Op("="),
                Tok::Str("x'y".into()),
                Tok::Ident("AND".into()),
                Tok::Ident("time".into()),
                Tok::Op(">="),
                Tok::Ident("now".into()),
                Tok::Op("("),
                Tok::Op(")"),
                Tok::Op("-"),
                Tok::Duration(5_400_000_000_000),
            ]
        );
        assert_eq!(
            toks("1.5 .5 42 -- comment"),
            vec![Tok::Float(1.5), Tok::Float(0.5), Tok::Int(42)]
        );
    }

    #[test]
    fn positions_count_lines_and_characters() {
        let mut l = Lexer::new("SELECT\n  µx");
        l.next_token().unwrap();
        let t = l.next_token().unwrap();
        assert_eq!(t.pos, Pos { line: 2, col: 3 });
    }

    #[test]
    fn bad_tokens_are_errors_not_panics() {
        for bad in [
            "'open",
            "\"open",
            "1.5h",
            "99999999999999999999",
            "1xyz",
            "#",
            "é'",
        ] {
            let mut l = Lexer::new(bad);
            let mut failed = false;
            for _ in 0..5 {
                match l.next_token() {
                    Err(_) => {
                        failed = true;
                        break;
                    }
                    Ok(t) if t.tok == Tok::Eof => break,
                    Ok(_) => {}
                }
            }
            assert!(failed, "{bad}");
        }
    }

    #[test]
    fn regex_is_read_on_request_with_escaped_slashes() {
        let mut l = Lexer::new(r"/a\/b.*/ x");
        let slash = l.next_token().unwrap();
        assert_eq!(slash.tok, Tok::Op("/"));
        let re = l.regex(slash.start, slash.pos).unwrap();
        assert_eq!(re.tok, Tok::Regex("a/b.*".into()));
        assert_eq!(l.next_token().unwrap().tok, Tok::Ident("x".into()));
        assert!(Lexer::new("/abc")
            .regex(0, Pos { line: 1, col: 1 })
            .is_err());
    }
}
