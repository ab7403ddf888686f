//! Aggregate selects (`SELECT mean(value) ... GROUP BY time(1m)`): each series is read once
//! and folded for every function that uses it; the windows of the series in one result
//! series are merged; then empty windows are filled and rows laid out.
//!
//! With `GROUP BY time` the per-series windows come from the engine's window summaries
//! ([`summaries`]: chunk summaries answer whole chunks without decoding them) unless only
//! the point fold gives the exact answer; without it, from the fold.
//!
//! `last()` over the whole range skips the read when the catalog's latest point answers it
//! (O(1) per series from memory), which is what `SELECT last(value) FROM /.*/` needs.

use lodestone_engine::{Engine, SeriesInfo, Value, ValueType};

use super::aggregate::{finish, fold, merge_all, window_start, Acc, Windows};
use super::ast::Fill;
use super::exec::{distinct_series, parallel_map, read, Shared};
use super::fill;
use super::plan::{Func, Plan};
use super::result::{Rows, Table};
use super::summaries;

/// Most `GROUP BY time` windows one result series may have (unless `fill(none)` leaves the
/// empty ones out): bounds the memory a careless `time(1s)` over years would take.
pub const MAX_WINDOWS: i128 = 1_000_000;

/// The result series of an aggregate select.
pub fn run(engine: &Engine, plan: &Plan, catalog: &[SeriesInfo]) -> Result<Vec<Table>, String> {
    let funcs: Vec<Func> = plan.columns.iter().filter_map(|c| c.func).collect();
    let mut distinct = funcs.clone();
    distinct.sort_by_key(|f| f.name());
    distinct.dedup();
    let whole_start = if plan.start == i64::MIN {
        0
    } else {
        plan.start
    };
    let mut folded = fold_series(engine, plan, catalog, &distinct, whole_start)?;
    let mut columns = vec!["time".to_string()];
    columns.extend(plan.columns.iter().map(|c| c.name.clone()));
    let mut out = Vec::with_capacity(plan.groups.len());
    for g in &plan.groups {
        // Per column: the merged windows of its series, and whether `sum` stays integer.
        let mut cols: Vec<Windows> = Vec::with_capacity(funcs.len());
        let mut int_sums = Vec::with_capacity(funcs.len());
        for (&func, members) in funcs.iter().zip(&g.members) {
            let k = distinct.iter().position(|&f| f == func).unwrap_or(0);
            let parts = members
                .iter()
                .filter_map(|&i| {
                    folded
                        .take(i)
                        .and_then(|mut w| w.get_mut(k).map(std::mem::take))
                })
                .collect();
            cols.push(merge_all(func, parts));
            let ints = members
                .iter()
                .all(|&i| catalog[i].value_type == ValueType::I64);
            int_sums.push(!members.is_empty() && ints);
        }
        if cols.iter().all(Vec::is_empty) {
            continue;
        }
        let rows = match plan.window {
            None => whole_range_row(&funcs, &cols, &int_sums, whole_start),
            Some((interval, offset)) => {
                windowed_rows(plan, &funcs, &cols, &int_sums, interval, offset)?
            }
        };
        out.push(Table {
            name: g.measurement.clone(),
            tags: g.tags.clone(),
            columns: columns.clone(),
            rows,
        });
    }
    Ok(out)
}

/// Every series the plan reads, folded once for each of the statement's distinct functions
/// (`distinct`; statements have one or a few): from window summaries where they give the
/// fold's answer, else from points. `last()` over the whole range is answered from memory
/// where possible; only the other series are read, in parallel.
fn fold_series(
    engine: &Engine,
    plan: &Plan,
    catalog: &[SeriesInfo],
    distinct: &[Func],
    whole_start: i64,
) -> Result<Shared<Vec<Windows>>, String> {
    let (series, uses) = distinct_series(
        plan.groups
            .iter()
            .flat_map(|g| g.members.iter().flatten().copied()),
    );
    if summaries::applies(plan, catalog) {
        if let Some(windows) = summaries::series_windows(engine, plan, catalog, &series, distinct)?
        {
            return Ok(Shared::new(series, uses, windows));
        }
    }
    let only_last = plan.window.is_none() && distinct == [Func::Last];
    let mut folded: Vec<Option<Vec<Windows>>> = series
        .iter()
        .map(|&i| {
            only_last
                .then(|| latest_shortcut(&catalog[i], plan, whole_start))
                .flatten()
                .map(|w| vec![w])
        })
        .collect();
    let to_read: Vec<usize> = (0..series.len()).filter(|&k| folded[k].is_none()).collect();
    let read = parallel_map(&to_read, |&k| -> Result<Vec<Windows>, String> {
        let points = read(engine, &catalog[series[k]], plan.start, plan.end)?;
        Ok(distinct
            .iter()
            .map(|&f| fold(&points, f, plan.window, whole_start))
            .collect())
    });
    for (k, r) in to_read.into_iter().zip(read) {
        folded[k] = Some(r?);
    }
    let folded = folded.into_iter().map(Option::unwrap_or_default).collect();
    Ok(Shared::new(series, uses, folded))
}

/// `last()` of a series from its in-memory latest point, when that is the answer: `None`
/// when only a read can tell (the latest point is past the range, not of good quality, or
/// NaN).
fn latest_shortcut(info: &SeriesInfo, plan: &Plan, whole_start: i64) -> Option<Windows> {
    let used = |p: &lodestone_engine::Point| {
        p.quality.is_good() && !matches!(p.value, Value::F64(v) if v.is_nan())
    };
    match info.latest {
        None => Some(Vec::new()),
        Some(p) if p.ts < plan.start => Some(Vec::new()),
        Some(p) if p.ts < plan.end && used(&p) => {
            let acc = Acc {
                count: 1,
                sel: Some((p.ts, p.value)),
                ..Acc::default()
            };
            Some(vec![(whole_start, acc)])
        }
        Some(_) => None,
    }
}

/// Without `GROUP BY time`: one row. Its time is the chosen point's when the only column is
/// a selector, else the start of the range (the epoch when unbounded), as in InfluxDB.
fn whole_range_row(funcs: &[Func], cols: &[Windows], int_sums: &[bool], whole_start: i64) -> Rows {
    let time = match (funcs, cols) {
        ([f], [w]) if f.is_selector() => w
            .first()
            .and_then(|(_, a)| a.sel)
            .map_or(whole_start, |(t, _)| t),
        _ => whole_start,
    };
    let cells = funcs
        .iter()
        .zip(cols)
        .zip(int_sums)
        .map(|((&f, w), &int_sum)| match w.first() {
            Some((_, acc)) => finish(f, acc, int_sum),
            None if f == Func::Count => Some(Value::I64(0)),
            None => None,
        })
        .collect();
    Rows::Grid {
        times: vec![time],
        cells,
    }
}

/// With `GROUP BY time`: every window of the range (or, with `fill(none)`, those with data),
/// empty ones filled.
fn windowed_rows(
    plan: &Plan,
    funcs: &[Func],
    cols: &[Windows],
    int_sums: &[bool],
    interval: i64,
    offset: i64,
) -> Result<Rows, String> {
    let times: Vec<i64> = if plan.fill == Fill::None {
        let mut t: Vec<i64> = cols.iter().flatten().map(|(t, _)| *t).collect();
        t.sort_unstable();
        t.dedup();
        t
    } else {
        let first = window_start(plan.start, interval, offset);
        let last = window_start(plan.end.saturating_sub(1), interval, offset);
        let n = (i128::from(last) - i128::from(first)) / i128::from(interval) + 1;
        if n > MAX_WINDOWS {
            return Err(format!(
                "GROUP BY time gives {n} windows per series, more than {MAX_WINDOWS}: narrow the \
                 time range, widen the interval, or use fill(none)"
            ));
        }
        (0..n as i64).map(|k| first + k * interval).collect()
    };
    let width = funcs.len();
    let mut cells = vec![None; times.len() * width];
    for (c, ((&func, windows), &int_sum)) in funcs.iter().zip(cols).zip(int_sums).enumerate() {
        let mut column: Vec<Option<Value>> = vec![None; times.len()];
        let mut r = 0;
        for (t, acc) in windows {
            // Both lists are ascending; windows outside `times` cannot occur.
            while r < times.len() && times[r] < *t {
                r += 1;
            }
            if r < times.len() && times[r] == *t {
                column[r] = finish(func, acc, int_sum);
            }
        }
        fill::apply(&mut column, plan.fill, func);
        for (r, v) in column.into_iter().enumerate() {
            cells[r * width + c] = v;
        }
    }
    Ok(Rows::Grid { times, cells })
}
