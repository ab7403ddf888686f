//! The InfluxQL parser: statements separated by `;`, recursive descent over [`Lexer`]
//! tokens. Errors read like InfluxDB's (`found FOO, expected SELECT, SHOW, CREATE at line 1,
//! char 1`) so that clients and people see familiar messages.
//!
//! Grammar of the subset (keywords case-insensitive, identifiers bare or `"quoted"`):
//!
//! ```text
//! query     = statement { ";" statement } [ ";" ]
//! statement = select | "CREATE DATABASE" ident | "SHOW DATABASES"
//!           | "SHOW MEASUREMENTS" [ "ON" ident ] [ "LIMIT" int ] [ "OFFSET" int ]
//!           | "SHOW" ( "TAG KEYS" | "FIELD KEYS" | "SERIES" ) [ "ON" ident ] [ "FROM" sources ]
//!             [ "LIMIT" int ] [ "OFFSET" int ]
//!           | "SHOW TAG VALUES" [ "ON" ident ] [ "FROM" sources ]
//!             "WITH KEY" ( "=" ident | "IN" "(" ident { "," ident } ")" )
//!             [ "LIMIT" int ] [ "OFFSET" int ]
//! select    = "SELECT" field { "," field } "FROM" source { "," source }
//!             [ "WHERE" cond ] [ "GROUP BY" dim { "," dim } [ fill ] ]
//!             [ "ORDER BY" "time" [ "ASC" | "DESC" ] ] [ "LIMIT" int ] [ "OFFSET" int ]
//!             [ "SLIMIT" int ] [ "SOFFSET" int ] [ "tz(" string ")" ]
//! field     = expr [ "AS" ident ]
//! expr      = "*" | ident [ "::" ident ] | ident "(" [ expr { "," expr } ] ")" | literal
//! source    = ident [ "." [ ident ] [ "." ident ] ] | regex
//! dim       = "time(" duration [ "," duration ] ")" | "*" | ident
//! fill      = "fill(" ( "null" | "none" | "previous" | "linear" | number ) ")"
//! cond      = and { "OR" and } ;  and = unary { "AND" unary }
//! unary     = "(" cond ")" | operand op operand | operand ( "=~" | "!~" ) regex
//! operand   = term { ( "+" | "-" ) term }
//! term      = ident | string | number | duration | "now()" | "-" term
//! ```

use super::ast::{Expr, Field, Fill, GroupTags, Literal, SchemaListing, Select, Source, Statement};
use super::lex::{LexError, Lexer, Tok, Token};

mod where_clause;

/// A syntax error, in InfluxDB's words and with the position.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ParseError {
    /// The message, ending with `at line L, char C`.
    pub message: String,
}

/// Keywords that cannot be bare identifiers (quote them to use them as names).
const RESERVED: &[&str] = &[
    "ALL",
    "ALTER",
    "AND",
    "AS",
    "ASC",
    "BY",
    "CREATE",
    "DATABASE",
    "DATABASES",
    "DELETE",
    "DESC",
    "DISTINCT",
    "DROP",
    "EXPLAIN",
    "FIELD",
    "FILL",
    "FROM",
    "GRANT",
    "GROUP",
    "INTO",
    "KEY",
    "KEYS",
    "LIMIT",
    "MEASUREMENT",
    "MEASUREMENTS",
    "OFFSET",
    "ON",
    "OR",
    "ORDER",
    "REVOKE",
    "SELECT",
    "SERIES",
    "SHOW",
    "SLIMIT",
    "SOFFSET",
    "TAG",
    "WHERE",
    "WITH",
];

/// Deepest nesting of parentheses and calls: later passes walk the tree recursively, and a
/// hostile query must not overflow the stack.
pub const MAX_DEPTH: usize = 64;

/// Most comparisons in one `WHERE` clause (a long `AND` chain is a deep tree too).
pub const MAX_COMPARISONS: usize = 1_000;

/// Parses every statement of a query.
pub fn parse_query(src: &str) -> Result<Vec<Statement>, ParseError> {
    let mut p = Parser {
        lex: Lexer::new(src),
        peeked: None,
        depth: 0,
        comparisons: 0,
    };
    let mut out = Vec::new();
    loop {
        out.push(p.statement()?);
        let t = p.next()?;
        match t.tok {
            Tok::Eof => return Ok(out),
            Tok::Op(";") => {
                if p.peek()?.tok == Tok::Eof {
                    return Ok(out);
                }
            }
            _ => return Err(p.error(&t, ";")),
        }
    }
}

struct Parser<'a> {
    lex: Lexer<'a>,
    peeked: Option<Token>,
    /// Current nesting of parentheses and calls.
    depth: usize,
    /// Comparisons read in the current `WHERE` clause.
    comparisons: usize,
}

fn lex_error(e: LexError) -> ParseError {
    ParseError {
        message: format!("{} at line {}, char {}", e.message, e.pos.line, e.pos.col),
    }
}

fn is_kw(t: &Token, kw: &str) -> bool {
    matches!(&t.tok, Tok::Ident(s) if s.eq_ignore_ascii_case(kw))
}

impl Parser<'_> {
    fn peek(&mut self) -> Result<&Token, ParseError> {
        if self.peeked.is_none() {
            self.peeked = Some(self.lex.next_token().map_err(lex_error)?);
        }
        // Filled just above; a `match` keeps this free of unwrap.
        match &self.peeked {
            Some(t) => Ok(t),
            None => unreachable!("peeked was just filled"),
        }
    }

    fn next(&mut self) -> Result<Token, ParseError> {
        match self.peeked.take() {
            Some(t) => Ok(t),
            None => self.lex.next_token().map_err(lex_error),
        }
    }

    fn error(&self, t: &Token, expected: &str) -> ParseError {
        // As InfluxDB: strings and quoted identifiers by their contents.
        let found = match &t.tok {
            Tok::Eof => "EOF",
            Tok::Str(s) | Tok::Quoted(s) => s,
            _ => &self.lex.src()[t.start..t.end],
        };
        ParseError {
            message: format!(
                "found {found}, expected {expected} at line {}, char {}",
                t.pos.line, t.pos.col
            ),
        }
    }

    /// Consumes the next token if it is keyword `kw`.
    fn eat_kw(&mut self, kw: &str) -> Result<bool, ParseError> {
        let hit = is_kw(self.peek()?, kw);
        if hit {
            self.next()?;
        }
        Ok(hit)
    }

    fn eat_op(&mut self, op: &'static str) -> Result<bool, ParseError> {
        let hit = self.peek()?.tok == Tok::Op(op);
        if hit {
            self.next()?;
        }
        Ok(hit)
    }

    fn expect_kw(&mut self, kw: &str) -> Result<(), ParseError> {
        let t = self.next()?;
        if is_kw(&t, kw) {
            Ok(())
        } else {
            Err(self.error(&t, kw))
        }
    }

    fn expect_op(&mut self, op: &'static str) -> Result<(), ParseError> {
        let t = self.next()?;
        if t.tok == Tok::Op(op) {
            Ok(())
        } else {
            Err(self.error(&t, op))
        }
    }

    /// An identifier: bare (not a reserved keyword) or double-quoted.
    fn ident(&mut self) -> Result<String, ParseError> {
        let t = self.next()?;
        match t.tok {
            Tok::Quoted(s) => Ok(s),
            Tok::Ident(s) if !is_reserved(&s) => Ok(s),
            _ => Err(self.error(&t, "identifier")),
        }
    }

    fn unsigned(&mut self) -> Result<u64, ParseError> {
        let t = self.next()?;
        match t.tok {
            Tok::Int(n) if n >= 0 => Ok(n as u64),
            _ => Err(self.error(&t, "a non-negative integer")),
        }
    }

    /// Enters one level of nesting at token `t`, refusing past [`MAX_DEPTH`].
    fn enter(&mut self, t: &Token) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ParseError {
                message: format!(
                    "nested more than {MAX_DEPTH} levels deep at line {}, char {}",
                    t.pos.line, t.pos.col
                ),
            });
        }
        Ok(())
    }

    fn statement(&mut self) -> Result<Statement, ParseError> {
        let t = self.next()?;
        if is_kw(&t, "SELECT") {
            return Ok(Statement::Select(Box::new(self.select()?)));
        }
        if is_kw(&t, "CREATE") {
            self.expect_kw("DATABASE")?;
            return Ok(Statement::CreateDatabase(self.ident()?));
        }
        if is_kw(&t, "SHOW") {
            let what = self.next()?;
            if is_kw(&what, "DATABASES") {
                return Ok(Statement::ShowDatabases);
            }
            if is_kw(&what, "MEASUREMENTS") {
                if self.eat_kw("ON")? {
                    self.ident()?;
                }
                let (limit, offset) = self.limit_offset()?;
                return Ok(Statement::ShowMeasurements { limit, offset });
            }
            let listing = if is_kw(&what, "TAG") {
                let kind = self.next()?;
                if is_kw(&kind, "KEYS") {
                    Some(SchemaListing::TagKeys)
                } else if is_kw(&kind, "VALUES") {
                    Some(SchemaListing::TagValues(Vec::new()))
                } else {
                    return Err(self.error(&kind, "KEYS, VALUES"));
                }
            } else if is_kw(&what, "FIELD") {
                self.expect_kw("KEYS")?;
                Some(SchemaListing::FieldKeys)
            } else if is_kw(&what, "SERIES") {
                Some(SchemaListing::Series)
            } else {
                None
            };
            if let Some(mut what) = listing {
                if self.eat_kw("ON")? {
                    self.ident()?;
                }
                let mut sources = Vec::new();
                if self.eat_kw("FROM")? {
                    sources.push(self.source()?);
                    while self.eat_op(",")? {
                        sources.push(self.source()?);
                    }
                }
                if let SchemaListing::TagValues(keys) = &mut what {
                    self.expect_kw("WITH")?;
                    self.expect_kw("KEY")?;
                    if self.eat_op("=")? {
                        keys.push(self.ident()?);
                    } else {
                        self.expect_kw("IN")?;
                        self.expect_op("(")?;
                        keys.push(self.ident()?);
                        while self.eat_op(",")? {
                            keys.push(self.ident()?);
                        }
                        self.expect_op(")")?;
                    }
                }
                let (limit, offset) = self.limit_offset()?;
                return Ok(Statement::ShowSchema {
                    what,
                    sources,
                    limit,
                    offset,
                });
            }
            return Err(self.error(
                &what,
                "DATABASES, MEASUREMENTS, TAG KEYS, TAG VALUES, FIELD KEYS, SERIES",
            ));
        }
        Err(self.error(&t, "SELECT, SHOW, CREATE"))
    }

    /// `[ "LIMIT" int ] [ "OFFSET" int ]` of a SHOW statement; 0 for each one left out.
    fn limit_offset(&mut self) -> Result<(u64, u64), ParseError> {
        let limit = if self.eat_kw("LIMIT")? {
            self.unsigned()?
        } else {
            0
        };
        let offset = if self.eat_kw("OFFSET")? {
            self.unsigned()?
        } else {
            0
        };
        Ok((limit, offset))
    }

    fn select(&mut self) -> Result<Select, ParseError> {
        let mut fields = vec![self.field()?];
        while self.eat_op(",")? {
            fields.push(self.field()?);
        }
        self.expect_kw("FROM")?;
        let mut sources = vec![self.source()?];
        while self.eat_op(",")? {
            sources.push(self.source()?);
        }
        let mut s = Select {
            fields,
            sources,
            condition: None,
            group_time: None,
            group_tags: GroupTags::None,
            fill: Fill::Null,
            descending: false,
            limit: 0,
            offset: 0,
            slimit: 0,
            soffset: 0,
            tz: None,
        };
        if self.eat_kw("WHERE")? {
            self.comparisons = 0;
            s.condition = Some(self.cond()?);
        }
        if self.eat_kw("GROUP")? {
            self.expect_kw("BY")?;
            self.dimensions(&mut s)?;
            if is_kw(self.peek()?, "fill") {
                self.next()?;
                s.fill = self.fill()?;
            }
        }
        if self.eat_kw("ORDER")? {
            self.expect_kw("BY")?;
            let t = self.next()?;
            if !is_kw(&t, "time") {
                return Err(self.error(&t, "time"));
            }
            if self.eat_kw("DESC")? {
                s.descending = true;
            } else {
                self.eat_kw("ASC")?;
            }
        }
        for (kw, slot) in [
            ("LIMIT", &mut s.limit),
            ("OFFSET", &mut s.offset),
            ("SLIMIT", &mut s.slimit),
            ("SOFFSET", &mut s.soffset),
        ] {
            if self.eat_kw(kw)? {
                *slot = self.unsigned()?;
            }
        }
        if is_kw(self.peek()?, "tz") {
            self.next()?;
            self.expect_op("(")?;
            let t = self.next()?;
            let Tok::Str(zone) = t.tok else {
                return Err(self.error(&t, "string"));
            };
            s.tz = Some(zone);
            self.expect_op(")")?;
        }
        Ok(s)
    }

    fn field(&mut self) -> Result<Field, ParseError> {
        let expr = self.expr()?;
        let alias = if self.eat_kw("AS")? {
            Some(self.ident()?)
        } else {
            None
        };
        Ok(Field { expr, alias })
    }

    fn expr(&mut self) -> Result<Expr, ParseError> {
        if self.eat_op("*")? {
            return Ok(Expr::Wildcard);
        }
        let t = self.next()?;
        let bare = matches!(t.tok, Tok::Ident(_));
        let at = Token { tok: Tok::Eof, ..t };
        let name = match t.tok {
            Tok::Quoted(s) => s,
            Tok::Ident(s) if !is_reserved(&s) => s,
            Tok::Int(n) => return Ok(Expr::Literal(Literal::Int(n))),
            Tok::Float(f) => return Ok(Expr::Literal(Literal::Float(f))),
            Tok::Duration(d) => return Ok(Expr::Literal(Literal::Int(d))),
            _ => return Err(self.error(&t, "identifier, string, number, bool")),
        };
        if bare && self.eat_op("(")? {
            self.enter(&at)?;
            let mut args = Vec::new();
            if !self.eat_op(")")? {
                args.push(self.expr()?);
                while self.eat_op(",")? {
                    args.push(self.expr()?);
                }
                self.expect_op(")")?;
            }
            self.depth -= 1;
            return Ok(Expr::Call(name.to_ascii_lowercase(), args));
        }
        self.cast()?;
        Ok(Expr::Ident(name))
    }

    /// Skips an `::field` / `::tag` / `::float` type hint: Lodestone knows each series' type.
    fn cast(&mut self) -> Result<(), ParseError> {
        if self.eat_op("::")? {
            let t = self.next()?;
            if !matches!(t.tok, Tok::Ident(_)) {
                return Err(self.error(&t, "float, integer, string, boolean, field, tag"));
            }
        }
        Ok(())
    }

    fn source(&mut self) -> Result<Source, ParseError> {
        if let Some(re) = self.regex_if_next()? {
            return Ok(Source::Regex(re));
        }
        // "db"."rp"."m", "db".."m", "rp"."m" or "m": the measurement is the last part.
        let mut name = self.ident()?;
        for _ in 0..2 {
            if !self.eat_op(".")? {
                break;
            }
            if self.eat_op(".")? {
                name = self.ident()?;
                break;
            }
            if let Some(re) = self.regex_if_next()? {
                return Ok(Source::Regex(re));
            }
            name = self.ident()?;
        }
        Ok(Source::Name(name))
    }

    /// Reads a `/regex/` if the next token opens one.
    fn regex_if_next(&mut self) -> Result<Option<String>, ParseError> {
        if self.peek()?.tok != Tok::Op("/") {
            return Ok(None);
        }
        let Some(slash) = self.peeked.take() else {
            return Ok(None);
        };
        let t = self.lex.regex(slash.start, slash.pos).map_err(lex_error)?;
        match t.tok {
            Tok::Regex(re) => Ok(Some(re)),
            _ => Err(self.error(&t, "regex")),
        }
    }

    fn dimensions(&mut self, s: &mut Select) -> Result<(), ParseError> {
        let mut tags = Vec::new();
        let mut all = false;
        loop {
            if self.eat_op("*")? {
                all = true;
            } else if is_kw(self.peek()?, "time") {
                let t = self.next()?;
                if !self.eat_op("(")? {
                    tags.push(match t.tok {
                        Tok::Ident(s) => s,
                        _ => String::from("time"),
                    });
                } else {
                    if s.group_time.is_some() {
                        return Err(self.error(&t, "only one time dimension"));
                    }
                    s.group_time = Some(self.time_dimension()?);
                }
            } else {
                tags.push(self.ident()?);
            }
            if !self.eat_op(",")? {
                break;
            }
        }
        s.group_tags = if all {
            GroupTags::All
        } else if tags.is_empty() {
            GroupTags::None
        } else {
            GroupTags::List(tags)
        };
        Ok(())
    }

    /// `time(` already read: `interval [, offset])`.
    fn time_dimension(&mut self) -> Result<(i64, i64), ParseError> {
        let t = self.next()?;
        let Tok::Duration(interval) = t.tok else {
            return Err(self.error(&t, "duration"));
        };
        if interval <= 0 {
            return Err(self.error(&t, "a positive duration"));
        }
        let mut offset = 0;
        if self.eat_op(",")? {
            let negative = self.eat_op("-")?;
            let t = self.next()?;
            let Tok::Duration(d) = t.tok else {
                return Err(self.error(&t, "duration"));
            };
            offset = if negative { -d } else { d };
        }
        self.expect_op(")")?;
        Ok((interval, offset))
    }

    /// `fill` already read: `(option)`.
    fn fill(&mut self) -> Result<Fill, ParseError> {
        self.expect_op("(")?;
        let negative = self.eat_op("-")?;
        let t = self.next()?;
        let fill = match &t.tok {
            Tok::Int(n) if negative => Fill::Number(Literal::Int(-n)),
            Tok::Int(n) => Fill::Number(Literal::Int(*n)),
            Tok::Float(f) => Fill::Number(Literal::Float(if negative { -f } else { *f })),
            Tok::Ident(s) if !negative => match s.to_ascii_lowercase().as_str() {
                "null" => Fill::Null,
                "none" => Fill::None,
                "previous" => Fill::Previous,
                "linear" => Fill::Linear,
                _ => return Err(self.error(&t, "null, none, previous, linear, number")),
            },
            _ => return Err(self.error(&t, "null, none, previous, linear, number")),
        };
        self.expect_op(")")?;
        Ok(fill)
    }
}

fn is_reserved(s: &str) -> bool {
    RESERVED.iter().any(|k| k.eq_ignore_ascii_case(s))
}
