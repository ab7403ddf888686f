//! The `WHERE` clause, split the way Lodestone reads it: time bounds (combined with AND at
//! the top level) become the read range `[start, end)`; everything else is a predicate on
//! tags, evaluated once per series, never per point.

use lodestone_engine::SeriesKey;
use regex::Regex;

use super::ast::{CmpOp, Cond, Operand, Term};
use super::time::parse_time;

/// A condition on a series' tags. A missing tag reads as the empty string, as in InfluxDB
/// (`host = ''` matches series without `host`).
#[derive(Debug, Clone)]
pub enum TagPred {
    /// Both hold.
    And(Box<TagPred>, Box<TagPred>),
    /// Either holds.
    Or(Box<TagPred>, Box<TagPred>),
    /// `tag = 'v'` (or `!=` when the flag is set).
    Eq(String, String, bool),
    /// `tag =~ /re/` (or `!~` when the flag is set).
    Re(String, Regex, bool),
}

impl PartialEq for TagPred {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (TagPred::And(a, b), TagPred::And(c, d)) | (TagPred::Or(a, b), TagPred::Or(c, d)) => {
                a == c && b == d
            }
            (TagPred::Eq(a, b, c), TagPred::Eq(d, e, f)) => a == d && b == e && c == f,
            (TagPred::Re(a, b, c), TagPred::Re(d, e, f)) => {
                a == d && b.as_str() == e.as_str() && c == f
            }
            _ => false,
        }
    }
}

impl TagPred {
    /// True when series `key` satisfies the predicate.
    pub fn matches(&self, key: &SeriesKey) -> bool {
        match self {
            TagPred::And(a, b) => a.matches(key) && b.matches(key),
            TagPred::Or(a, b) => a.matches(key) || b.matches(key),
            TagPred::Eq(tag, value, negate) => (key.label(tag).unwrap_or("") == value) != *negate,
            TagPred::Re(tag, re, negate) => re.is_match(key.label(tag).unwrap_or("")) != *negate,
        }
    }
}

impl TagPred {
    /// The `tag = 'value'` conditions (value not empty) that every series satisfying the
    /// predicate meets: those joined by AND at the top. The series index answers them
    /// without looking at other series.
    pub fn required_equalities(&self) -> Vec<(&str, &str)> {
        match self {
            TagPred::And(a, b) => {
                let mut out = a.required_equalities();
                out.extend(b.required_equalities());
                out
            }
            TagPred::Eq(tag, value, false) if !value.is_empty() => {
                vec![(tag.as_str(), value.as_str())]
            }
            _ => Vec::new(),
        }
    }
}

/// Splits a condition into the time range `[start, end)` (unbounded sides are `i64::MIN`
/// and `i64::MAX`) and the tag predicate, if any. `now` is the query's `now()`.
pub fn time_range_and_tags(c: &Cond, now: i64) -> Result<(i64, i64, Option<TagPred>), String> {
    let mut conjuncts = Vec::new();
    flatten_and(c, &mut conjuncts);
    let (mut start, mut end) = (i64::MIN, i64::MAX);
    let mut tags: Option<TagPred> = None;
    for c in conjuncts {
        if mentions_time(c) {
            let Cond::Cmp(l, op, r) = c else {
                return Err("time conditions must be combined with AND, not OR".into());
            };
            let (op, value) = if is_time(l) {
                (*op, eval_time(r, now)?)
            } else if is_time(r) {
                (op.flipped(), eval_time(l, now)?)
            } else {
                return Err("invalid time condition: compare time with a time value".into());
            };
            match op {
                CmpOp::Ge => start = start.max(value),
                CmpOp::Gt => start = start.max(value.saturating_add(1)),
                CmpOp::Lt => end = end.min(value),
                CmpOp::Le => end = end.min(value.saturating_add(1)),
                CmpOp::Eq => {
                    start = start.max(value);
                    end = end.min(value.saturating_add(1));
                }
                other => {
                    return Err(format!("time {} is not supported", other.text()));
                }
            }
        } else {
            let p = tag_pred(c)?;
            tags = Some(match tags {
                Some(t) => TagPred::And(Box::new(t), Box::new(p)),
                None => p,
            });
        }
    }
    Ok((start, end, tags))
}

fn flatten_and<'a>(c: &'a Cond, out: &mut Vec<&'a Cond>) {
    match c {
        Cond::And(a, b) => {
            flatten_and(a, out);
            flatten_and(b, out);
        }
        other => out.push(other),
    }
}

fn is_time(o: &Operand) -> bool {
    o.ident().is_some_and(|n| n.eq_ignore_ascii_case("time"))
}

fn terms(o: &Operand) -> impl Iterator<Item = &Term> {
    std::iter::once(&o.first).chain(o.rest.iter().map(|(_, t)| t))
}

/// True when `c` mentions the identifier `time` anywhere.
pub fn mentions_time(c: &Cond) -> bool {
    match c {
        Cond::And(a, b) | Cond::Or(a, b) => mentions_time(a) || mentions_time(b),
        Cond::Cmp(l, _, r) => terms(l)
            .chain(terms(r))
            .any(|t| matches!(t, Term::Ident(n) if n.eq_ignore_ascii_case("time"))),
    }
}

/// The value of a time operand (`now() - 1h`, `'2026-01-01T00:00:00Z'`, `1767225600000000000`),
/// in nanoseconds.
fn eval_time(o: &Operand, now: i64) -> Result<i64, String> {
    let mut total = term_ns(&o.first, now)?;
    for (minus, t) in &o.rest {
        let v = term_ns(t, now)?;
        total = if *minus {
            total.checked_sub(v)
        } else {
            total.checked_add(v)
        }
        .ok_or("time value out of range")?;
    }
    Ok(total)
}

fn term_ns(t: &Term, now: i64) -> Result<i64, String> {
    match t {
        Term::Int(v) | Term::Duration(v) => Ok(*v),
        Term::Now => Ok(now),
        Term::Float(f) if f.is_finite() && f.abs() < 9.2e18 => Ok(*f as i64),
        Term::Str(s) => parse_time(s).ok_or_else(|| {
            format!("invalid time '{s}': expected RFC3339 like '2026-01-01T00:00:00Z'")
        }),
        Term::Float(f) => Err(format!("time value {f} out of range")),
        Term::Ident(n) => Err(format!("invalid time value: identifier {n}")),
        Term::Regex(_) => Err("invalid time value: regex".into()),
    }
}

fn tag_pred(c: &Cond) -> Result<TagPred, String> {
    match c {
        Cond::And(a, b) => Ok(TagPred::And(Box::new(tag_pred(a)?), Box::new(tag_pred(b)?))),
        Cond::Or(a, b) => {
            if mentions_time(a) || mentions_time(b) {
                return Err("time conditions must be combined with AND, not OR".into());
            }
            Ok(TagPred::Or(Box::new(tag_pred(a)?), Box::new(tag_pred(b)?)))
        }
        Cond::Cmp(l, op, r) => {
            let (tag, op, value) = match (l.ident(), r.ident()) {
                (Some(a), Some(b)) => {
                    return Err(format!(
                        "compare tag {a} with a 'single-quoted' string: \"{b}\" is an identifier"
                    ))
                }
                (Some(tag), None) => (tag, *op, r),
                (None, Some(tag)) => (tag, op.flipped(), l),
                (None, None) => return Err("a condition must name a tag or time".into()),
            };
            let single = if value.rest.is_empty() {
                Some(&value.first)
            } else {
                None
            };
            match (op, single) {
                (CmpOp::Eq | CmpOp::Ne, Some(Term::Str(v))) => {
                    Ok(TagPred::Eq(tag.to_string(), v.clone(), op == CmpOp::Ne))
                }
                (CmpOp::Match | CmpOp::NotMatch, Some(Term::Regex(p))) => {
                    let re = Regex::new(p).map_err(|e| format!("invalid regex /{p}/: {e}"))?;
                    Ok(TagPred::Re(tag.to_string(), re, op == CmpOp::NotMatch))
                }
                (_, Some(Term::Int(_) | Term::Float(_))) => Err(format!(
                    "conditions on field values ({tag} {} ...) are not supported: Lodestone \
                     filters by tags and time",
                    op.text()
                )),
                _ => Err(format!(
                    "tag {tag} can only be compared with =, != or <> to a 'string', or with =~, \
                     !~ to a /regex/"
                )),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::influxql::ast::{Select, Statement};
    use crate::influxql::parse::parse_query;

    fn cond(where_clause: &str) -> Cond {
        let q = format!("SELECT value FROM m WHERE {where_clause}");
        match parse_query(&q).unwrap().remove(0) {
            Statement::Select(s) => {
                let s: Select = *s;
                s.condition.unwrap()
            }
            other => panic!("{other:?}"),
        }
    }

    fn split(where_clause: &str) -> Result<(i64, i64, Option<TagPred>), String> {
        time_range_and_tags(&cond(where_clause), 1_000_000_000_000)
    }

    #[test]
    fn time_bounds_in_every_form_narrow_the_range() {
        let day = 1_767_225_600_000_000_000;
        assert_eq!(split("time >= 5 AND time < 10").unwrap().0, 5);
        assert_eq!(split("time >= 5 AND time < 10").unwrap().1, 10);
        assert_eq!(split("time > 5 AND time <= 10").unwrap().0, 6);
        assert_eq!(split("time > 5 AND time <= 10").unwrap().1, 11);
        assert_eq!(split("time = 7").unwrap().0, 7);
        assert_eq!(split("time = 7").unwrap().1, 8);
        assert_eq!(split("time >= '2026-01-01T00:00:00Z'").unwrap().0, day);
        assert_eq!(split("time >= now() - 1s").unwrap().0, 999_000_000_000);
        assert_eq!(split("5 <= time").unwrap().0, 5);
        assert_eq!(split("time >= 1 AND time >= 3").unwrap().0, 3);
        let (s, e, t) = split("a = 'x'").unwrap();
        assert_eq!((s, e), (i64::MIN, i64::MAX));
        assert!(t.is_some());
    }

    #[test]
    fn tag_predicates_follow_influxdb_semantics_for_missing_tags() {
        let k = SeriesKey::new("m", [("site", "p1")]).unwrap();
        let yes = |w: &str| split(w).unwrap().2.unwrap().matches(&k);
        assert!(yes("site = 'p1'"));
        assert!(!yes("site != 'p1'"));
        assert!(yes("line = ''"));
        assert!(yes("line != 'l1'"));
        assert!(yes("site =~ /^p/ AND line !~ /./"));
        assert!(yes("site = 'p2' OR site = 'p1'"));
        assert!(yes("(site = 'p2' OR site = 'p1') AND time > 0"));
        assert!(yes("'p1' = site"));
    }

    #[test]
    fn unsupported_conditions_are_statement_errors() {
        for (bad, want) in [
            ("time > 5 OR site = 'x'", "AND, not OR"),
            ("time != 5", "not supported"),
            ("value > 5", "field values"),
            ("site = \"p1\"", "single-quoted"),
            ("site > 'a'", "can only be compared"),
            ("site =~ /(/", "invalid regex"),
            ("time > 'yesterday'", "invalid time"),
            ("time > now() - 106751d - 106751d", "out of range"),
        ] {
            let e = match parse_query(&format!("SELECT value FROM m WHERE {bad}")) {
                Ok(mut s) => match s.remove(0) {
                    Statement::Select(s) => {
                        time_range_and_tags(s.condition.as_ref().unwrap(), 0).unwrap_err()
                    }
                    other => panic!("{other:?}"),
                },
                Err(e) => e.message,
            };
            assert!(e.contains(want), "{bad}: {e}");
        }
    }
}
