//! The `WHERE` clause: conditions joined by `AND` / `OR`, parentheses, comparisons whose
//! sides are sums of terms (`now() - 1h`), and `/regex/` after `=~` and `!~`.

use super::{is_reserved, ParseError, Parser, MAX_COMPARISONS};
use crate::influxql::ast::{CmpOp, Cond, Operand, Term};
use crate::influxql::lex::Tok;

impl Parser<'_> {
    pub(super) fn cond(&mut self) -> Result<Cond, ParseError> {
        let mut left = self.and()?;
        while self.eat_kw("OR")? {
            left = Cond::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Cond, ParseError> {
        let mut left = self.unary()?;
        while self.eat_kw("AND")? {
            left = Cond::And(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Cond, ParseError> {
        if self.peek()?.tok == Tok::Op("(") {
            let open = self.next()?;
            self.enter(&open)?;
            let c = self.cond()?;
            self.expect_op(")")?;
            self.depth -= 1;
            return Ok(c);
        }
        self.comparisons += 1;
        if self.comparisons > MAX_COMPARISONS {
            let t = self.peek()?.clone();
            return Err(ParseError {
                message: format!(
                    "more than {MAX_COMPARISONS} comparisons in WHERE at line {}, char {}",
                    t.pos.line, t.pos.col
                ),
            });
        }
        let lhs = self.operand()?;
        let t = self.next()?;
        let op = match t.tok {
            Tok::Op("=") => CmpOp::Eq,
            Tok::Op("!=") | Tok::Op("<>") => CmpOp::Ne,
            Tok::Op("<") => CmpOp::Lt,
            Tok::Op("<=") => CmpOp::Le,
            Tok::Op(">") => CmpOp::Gt,
            Tok::Op(">=") => CmpOp::Ge,
            Tok::Op("=~") => CmpOp::Match,
            Tok::Op("!~") => CmpOp::NotMatch,
            _ => return Err(self.error(&t, "=, !=, <>, <, <=, >, >=, =~, !~")),
        };
        let rhs = if matches!(op, CmpOp::Match | CmpOp::NotMatch) {
            match self.regex_if_next()? {
                Some(re) => Operand {
                    first: Term::Regex(re),
                    rest: Vec::new(),
                },
                None => {
                    let t = self.next()?;
                    return Err(self.error(&t, "regex"));
                }
            }
        } else {
            self.operand()?
        };
        Ok(Cond::Cmp(lhs, op, rhs))
    }

    fn operand(&mut self) -> Result<Operand, ParseError> {
        let first = self.term()?;
        let mut rest = Vec::new();
        loop {
            let minus = match self.peek()?.tok {
                Tok::Op("+") => false,
                Tok::Op("-") => true,
                _ => return Ok(Operand { first, rest }),
            };
            self.next()?;
            rest.push((minus, self.term()?));
        }
    }

    fn term(&mut self) -> Result<Term, ParseError> {
        let t = self.next()?;
        let term = match t.tok {
            Tok::Op("-") => {
                let n = self.next()?;
                match n.tok {
                    Tok::Int(v) => Term::Int(-v),
                    Tok::Float(v) => Term::Float(-v),
                    Tok::Duration(v) => Term::Duration(-v),
                    _ => return Err(self.error(&n, "number or duration")),
                }
            }
            Tok::Ident(ref s) if s.eq_ignore_ascii_case("now") && self.eat_op("(")? => {
                self.expect_op(")")?;
                Term::Now
            }
            Tok::Ident(s) if !is_reserved(&s) => {
                self.cast()?;
                Term::Ident(s)
            }
            Tok::Quoted(s) => {
                self.cast()?;
                Term::Ident(s)
            }
            Tok::Str(s) => Term::Str(s),
            Tok::Int(v) => Term::Int(v),
            Tok::Float(v) => Term::Float(v),
            Tok::Duration(v) => Term::Duration(v),
            _ => return Err(self.error(&t, "identifier, string, number, bool")),
        };
        Ok(term)
    }
}
