//! From a parsed `SELECT` to a plan: which functions make which columns, the time range,
//! the window, and which Lodestone series feed which result series.
//!
//! Mapping (DESIGN.md): a measurement `m` with field `value` is the series named `m`; any
//! other field `f` is the series `m.f`. Tags are labels. Measurement regexes are matched
//! against series names for `value`, and against the part before `.f` for a field `f`.
//! Errors here are statement errors (the request itself was well-formed).

use std::collections::BTreeMap;

use lodestone_engine::{SeriesInfo, ValueType};
use regex::Regex;

use super::ast::{Expr, Fill, GroupTags, Select, Source};
use super::cond::{time_range_and_tags, TagPred};

/// An aggregate function Lodestone computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Func {
    /// Arithmetic mean (float).
    Mean,
    /// Smallest value.
    Min,
    /// Largest value.
    Max,
    /// Number of points.
    Count,
    /// Sum (integer for integer series).
    Sum,
    /// Oldest point.
    First,
    /// Newest point.
    Last,
}

impl Func {
    fn from_name(name: &str) -> Option<Func> {
        Some(match name {
            "mean" => Func::Mean,
            "min" => Func::Min,
            "max" => Func::Max,
            "count" => Func::Count,
            "sum" => Func::Sum,
            "first" => Func::First,
            "last" => Func::Last,
            _ => return None,
        })
    }

    /// The function's name, which is also its default column name.
    pub fn name(self) -> &'static str {
        match self {
            Func::Mean => "mean",
            Func::Min => "min",
            Func::Max => "max",
            Func::Count => "count",
            Func::Sum => "sum",
            Func::First => "first",
            Func::Last => "last",
        }
    }

    /// Selectors return one of the points, so alone in a query without `GROUP BY time`
    /// their row carries that point's time.
    pub fn is_selector(self) -> bool {
        matches!(self, Func::Min | Func::Max | Func::First | Func::Last)
    }

    fn accepts(self, vt: ValueType) -> bool {
        vt != ValueType::Bool || matches!(self, Func::Count | Func::First | Func::Last)
    }
}

/// InfluxDB functions that Lodestone does not compute (yet): named in the error so that the
/// user knows it is a gap, not a typo.
const KNOWN_ELSEWHERE: &[&str] = &[
    "median",
    "mode",
    "spread",
    "stddev",
    "integral",
    "distinct",
    "percentile",
    "top",
    "bottom",
    "sample",
    "derivative",
    "non_negative_derivative",
    "difference",
    "non_negative_difference",
    "moving_average",
    "cumulative_sum",
    "elapsed",
    "holt_winters",
];

/// One output column after `time`.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// The function, or `None` for a raw field.
    pub func: Option<Func>,
    /// The field it reads.
    pub field: String,
    /// Its heading.
    pub name: String,
}

/// One result series: a measurement and one tag set, and the series that feed each column.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// The measurement.
    pub measurement: String,
    /// The `GROUP BY` tags and their values (empty without tag grouping).
    pub tags: Vec<(String, String)>,
    /// For each column, indexes into the catalog snapshot of the series it reads.
    pub members: Vec<Vec<usize>>,
}

/// What to compute for one `SELECT`.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Columns after `time`.
    pub columns: Vec<Column>,
    /// True when the columns are aggregates (all of them), false for raw fields.
    pub aggregate: bool,
    /// Inclusive start, ns.
    pub start: i64,
    /// Exclusive end, ns.
    pub end: i64,
    /// `GROUP BY time`: interval and offset, ns.
    pub window: Option<(i64, i64)>,
    /// Empty-window policy.
    pub fill: Fill,
    /// Rows newest first.
    pub descending: bool,
    /// Rows per series (0: all).
    pub limit: u64,
    /// Rows skipped per series.
    pub offset: u64,
    /// Result series, in output order, after `SLIMIT`/`SOFFSET`.
    pub groups: Vec<Group>,
}

/// Builds the plan of `s` against the catalog snapshot `catalog` (sorted by key, as
/// [`lodestone_engine::Engine::list_series`] returns it); `now` is the query's `now()`.
pub fn plan(s: &Select, catalog: &[SeriesInfo], now: i64) -> Result<Plan, String> {
    if let Some(tz) = &s.tz {
        if !matches!(tz.as_str(), "UTC" | "Etc/UTC" | "utc") {
            return Err(format!(
                "tz('{tz}') is not supported: Lodestone answers in UTC"
            ));
        }
    }
    let (columns, aggregate) = columns(&s.fields)?;
    if s.group_time.is_some() && !aggregate {
        return Err("GROUP BY requires at least one aggregate function".into());
    }
    let (mut start, mut end, tags) = match &s.condition {
        Some(c) => time_range_and_tags(c, now)?,
        None => (i64::MIN, i64::MAX, None),
    };
    if let Some((interval, _)) = s.group_time {
        if start == i64::MIN {
            return Err(
                "aggregate functions with GROUP BY time require a WHERE time clause with a \
                 lower limit"
                    .into(),
            );
        }
        if end == i64::MAX {
            end = now.saturating_add(1);
        }
        if interval <= 0 {
            return Err("GROUP BY time interval must be positive".into());
        }
    }
    if start > end {
        start = end;
    }
    let mut groups = groups(s, &columns, catalog, tags.as_ref())?;
    check_types(&columns, &groups, catalog)?;
    let skip = usize::try_from(s.soffset).unwrap_or(usize::MAX);
    groups.drain(..skip.min(groups.len()));
    if s.slimit > 0 {
        groups.truncate(usize::try_from(s.slimit).unwrap_or(usize::MAX));
    }
    Ok(Plan {
        columns,
        aggregate,
        start,
        end,
        window: s.group_time,
        fill: s.fill,
        descending: s.descending,
        limit: s.limit,
        offset: s.offset,
        groups,
    })
}

/// The select list as columns, and whether it is an aggregate query.
pub(super) fn columns(fields: &[super::ast::Field]) -> Result<(Vec<Column>, bool), String> {
    let mut out: Vec<Column> = Vec::new();
    let mut calls = 0;
    for f in fields {
        let (func, field) = match &f.expr {
            Expr::Ident(name) if name.eq_ignore_ascii_case("time") => continue,
            Expr::Ident(name) => (None, name.clone()),
            Expr::Call(name, args) => {
                calls += 1;
                (Some(function(name, args)?), call_field(name, args)?)
            }
            Expr::Wildcard => {
                return Err("SELECT * is not supported: name the fields, e.g. SELECT value".into())
            }
            Expr::Literal(_) => return Err("a literal cannot be selected: name a field".into()),
        };
        let base = f
            .alias
            .clone()
            .unwrap_or_else(|| func.map_or_else(|| field.clone(), |f| f.name().to_string()));
        out.push(Column {
            func,
            field,
            name: unique_name(&out, base),
        });
    }
    if out.is_empty() {
        return Err("at least 1 non-time field must be queried".into());
    }
    if calls > 0 && calls < out.len() {
        return Err("mixing aggregate and non-aggregate queries is not supported".into());
    }
    Ok((out, calls > 0))
}

/// `mean`, `mean_1`, `mean_2`... as InfluxDB names repeated headings.
fn unique_name(existing: &[Column], base: String) -> String {
    let taken = |n: &str| existing.iter().any(|c| c.name == n);
    if !taken(&base) {
        return base;
    }
    (1..)
        .map(|i| format!("{base}_{i}"))
        .find(|n| !taken(n))
        .unwrap_or(base)
}

fn function(name: &str, args: &[Expr]) -> Result<Func, String> {
    match Func::from_name(name) {
        Some(f) => Ok(f),
        None if KNOWN_ELSEWHERE.contains(&name) => Err(format!(
            "{name}() is not supported by Lodestone; use mean, min, max, count, sum, first or last"
        )),
        None => Err(format!("undefined function {name}({})", args.len())),
    }
}

fn call_field(name: &str, args: &[Expr]) -> Result<String, String> {
    match args {
        [Expr::Ident(field)] => Ok(field.clone()),
        [Expr::Wildcard] => Err(format!(
            "{name}(*) is not supported: name the field, e.g. {name}(value)"
        )),
        _ => Err(format!(
            "invalid number of arguments for {name}, expected 1 field, got {}",
            args.len()
        )),
    }
}

/// The series name for `field` of `measurement`.
pub(super) fn series_name(measurement: &str, field: &str) -> String {
    if field == "value" {
        measurement.to_string()
    } else {
        format!("{measurement}.{field}")
    }
}

/// The measurement a series named `name` belongs to when read as `field`, if any.
fn measurement_of<'a>(name: &'a str, field: &str) -> Option<&'a str> {
    if field == "value" {
        return Some(name);
    }
    name.strip_suffix(field)?
        .strip_suffix('.')
        .filter(|m| !m.is_empty())
}

/// The measurements the sources name, in order and without repeats.
fn measurements(
    s: &Select,
    columns: &[Column],
    catalog: &[SeriesInfo],
) -> Result<Vec<String>, String> {
    let mut out = std::collections::BTreeSet::new();
    for source in &s.sources {
        match source {
            Source::Name(m) => {
                out.insert(m.clone());
            }
            Source::Regex(pattern) => {
                let re =
                    Regex::new(pattern).map_err(|e| format!("invalid regex /{pattern}/: {e}"))?;
                for info in catalog {
                    for c in columns {
                        if let Some(m) = measurement_of(info.key.name(), &c.field) {
                            if re.is_match(m) && !out.contains(m) {
                                out.insert(m.to_string());
                            }
                        }
                    }
                }
            }
        }
    }
    Ok(out.into_iter().collect())
}

/// The result series: every measurement × tag set that has a series for some column.
fn groups(
    s: &Select,
    columns: &[Column],
    catalog: &[SeriesInfo],
    tags: Option<&TagPred>,
) -> Result<Vec<Group>, String> {
    let mut out = Vec::new();
    for m in measurements(s, columns, catalog)? {
        // For each column, the matching series of this measurement.
        let per_column: Vec<Vec<usize>> = columns
            .iter()
            .map(|c| {
                let name = series_name(&m, &c.field);
                let first = catalog.partition_point(|i| i.key.name() < name.as_str());
                (first..catalog.len())
                    .take_while(|&i| catalog[i].key.name() == name)
                    .filter(|&i| tags.is_none_or(|t| t.matches(&catalog[i].key)))
                    .collect()
            })
            .collect();
        let keys: Vec<String> = match &s.group_tags {
            GroupTags::None => Vec::new(),
            GroupTags::List(list) => {
                let mut keys = list.clone();
                keys.sort();
                keys.dedup();
                keys
            }
            GroupTags::All => {
                let mut keys: Vec<String> = per_column
                    .iter()
                    .flatten()
                    .flat_map(|&i| catalog[i].key.labels().map(|(k, _)| k.to_string()))
                    .collect();
                keys.sort();
                keys.dedup();
                keys
            }
        };
        let mut by_tags: BTreeMap<Vec<&str>, Vec<Vec<usize>>> = BTreeMap::new();
        for (col, members) in per_column.iter().enumerate() {
            for &i in members {
                let key = &catalog[i].key;
                let values = keys.iter().map(|k| key.label(k).unwrap_or("")).collect();
                by_tags
                    .entry(values)
                    .or_insert_with(|| vec![Vec::new(); columns.len()])[col]
                    .push(i);
            }
        }
        for (values, members) in by_tags {
            out.push(Group {
                measurement: m.clone(),
                tags: keys
                    .iter()
                    .zip(values)
                    .map(|(k, v)| (k.clone(), v.to_string()))
                    .collect(),
                members,
            });
        }
    }
    Ok(out)
}

/// Bool series only count, first and last; anything else names the function and series.
fn check_types(columns: &[Column], groups: &[Group], catalog: &[SeriesInfo]) -> Result<(), String> {
    for g in groups {
        for (c, members) in columns.iter().zip(&g.members) {
            let Some(func) = c.func else { continue };
            for &i in members {
                let info = &catalog[i];
                if !func.accepts(info.value_type) {
                    return Err(format!(
                        "{}() is not supported for {} values (series {})",
                        func.name(),
                        info.value_type,
                        info.key
                    ));
                }
            }
        }
    }
    Ok(())
}
