//! `GROUP BY time` aggregates from the engine's per-window summaries
//! ([`Engine::window_summaries`]): segment chunks that lie inside one window answer from
//! the summaries in their index, the rest from merged points, so a long range costs little
//! decoding (and rollup tiers will answer through the same call). Each series' summaries
//! become the accumulators the point fold ([`super::aggregate`]) would have made, and the
//! caller merges series as before, so the answer is the fold's.
//!
//! Where summaries cannot give exactly the fold's answer, [`applies`] or [`series_windows`]
//! says so and the caller folds points:
//! - a column whose series have different value types (`min` over integers and floats keeps
//!   the type of the point it chose, which a summary does not record);
//! - an integer series with a window whose values or sum reach ±2^53, beyond which the f64
//!   summary is not exact (the fold sums integers exactly, wrapping as InfluxDB does);
//! - more windows than the engine answers in one request.
//!
//! Float sums and means may differ from the fold's in the last bits when chunk summaries
//! answer part of a window, because the additions are made in another order.

use lodestone_engine::query::summary::Summary;
use lodestone_engine::query::window::{Aggregate, Fill, QualityFilter, WindowSpec};
use lodestone_engine::{AggregatePath, Engine, Error, SeriesInfo, Value, ValueType};

use super::aggregate::{window_start, Acc, Windows};
use super::exec::parallel_map;
use super::plan::{Func, Plan};

/// Integers of smaller magnitude are exact in an f64.
const EXACT: u64 = 1 << 53;

/// True when the plan is windowed and every column reads series of one value type, so that
/// summaries can answer it.
pub fn applies(plan: &Plan, catalog: &[SeriesInfo]) -> bool {
    let Some((interval, offset)) = plan.window else {
        return false;
    };
    let first = window_start(plan.start, interval, offset);
    let windows = (i128::from(plan.end) - i128::from(first)) / i128::from(interval) + 1;
    let one_type = |members: &Vec<usize>| {
        members
            .windows(2)
            .all(|w| catalog[w[0]].value_type == catalog[w[1]].value_type)
    };
    windows <= i128::from(lodestone_engine::MAX_WINDOWS)
        && plan.groups.iter().all(|g| g.members.iter().all(one_type))
}

/// For each of `series` (catalog indexes), the windows of each function of `funcs`, as the
/// fold would give them; `None` when an integer series leaves the exact range, and the
/// query must fold points instead. The plan must be windowed ([`applies`]).
pub fn series_windows(
    engine: &Engine,
    plan: &Plan,
    catalog: &[SeriesInfo],
    series: &[usize],
    funcs: &[Func],
) -> Result<Option<Vec<Vec<Windows>>>, String> {
    let Some((interval, offset)) = plan.window else {
        return Ok(None);
    };
    let per_series = parallel_map(series, |&i| -> Result<Option<Vec<Windows>>, String> {
        let info = &catalog[i];
        let sums = summaries(engine, info, plan, interval, offset)?;
        if info.value_type == ValueType::I64 && !sums.iter().all(|(_, s)| exact(s)) {
            return Ok(None);
        }
        let per_func = funcs
            .iter()
            .map(|&f| {
                sums.iter()
                    .map(|(t, s)| (*t, acc(f, *t, s, info.value_type)))
                    .collect()
            })
            .collect();
        Ok(Some(per_func))
    });
    per_series.into_iter().collect()
}

/// The summary of each InfluxQL window of `info` in the plan's range that has good points,
/// stamped with the window's start. The engine's windows start at its request's start, so
/// a first window that begins before the range (times are aligned to the interval and
/// offset, the range need not be) is asked for alone, cut at the range's start.
fn summaries(
    engine: &Engine,
    info: &SeriesInfo,
    plan: &Plan,
    interval: i64,
    offset: i64,
) -> Result<Vec<(i64, Summary)>, String> {
    let spec = |start, end| WindowSpec {
        start,
        end,
        step: interval,
        // Summaries hold every aggregate; these two do not matter here.
        aggregate: Aggregate::Count,
        fill: Fill::None,
        quality: QualityFilter::Good,
    };
    let first = window_start(plan.start, interval, offset);
    let mut out = Vec::new();
    let mut from = plan.start;
    if first < plan.start {
        let cut = first.saturating_add(interval).min(plan.end);
        let head = ask(engine, info, &spec(plan.start, cut))?;
        out.extend(head.into_iter().map(|(_, s)| (first, s)));
        from = cut;
    }
    if from < plan.end {
        out.extend(ask(engine, info, &spec(from, plan.end))?);
    }
    Ok(out)
}

/// One engine call. A series that vanished since the catalog snapshot reads as empty; other
/// engine errors are logged and reported by series only, as reads are.
fn ask(
    engine: &Engine,
    info: &SeriesInfo,
    spec: &WindowSpec,
) -> Result<Vec<(i64, Summary)>, String> {
    match engine.window_summaries(&info.key, spec, AggregatePath::Fastest) {
        Ok(windows) => Ok(windows),
        Err(Error::UnknownSeries { .. }) => Ok(Vec::new()),
        Err(e) => {
            tracing::error!(series = %info.key, error = %e, "influxql window summaries failed");
            Err(format!(
                "reading series {} failed; see the server log",
                info.key
            ))
        }
    }
}

/// True when the integer values of `s` and every partial sum of them are exact in an f64.
fn exact(s: &Summary) -> bool {
    let largest = s.min.abs().max(s.max.abs());
    largest < EXACT as f64 && u128::from(largest as u64) * u128::from(s.count) < u128::from(EXACT)
}

/// The accumulator the fold makes for `func` from the points `s` summarises, in the window
/// starting at `start`, of a series of type `vt`. `min` and `max` carry the window start
/// as their point's time: only the value is shown in windowed rows, and the time only breaks
/// ties between equal values when series merge.
fn acc(func: Func, start: i64, s: &Summary, vt: ValueType) -> Acc {
    let typed = |x: f64| match vt {
        ValueType::F64 => Value::F64(x),
        // Exact: integer series come here only within ±2^53 (`exact`).
        ValueType::I64 => Value::I64(x as i64),
        ValueType::Bool => Value::Bool(x != 0.0),
    };
    let mut acc = Acc {
        count: s.count,
        ..Acc::default()
    };
    match func {
        Func::Count => {}
        Func::Mean | Func::Sum => match vt {
            ValueType::F64 => acc.fsum = s.sum,
            ValueType::I64 => {
                acc.fsum = s.sum;
                acc.isum = s.sum as i64;
            }
            ValueType::Bool => {}
        },
        Func::Min => acc.sel = Some((start, typed(s.min))),
        Func::Max => acc.sel = Some((start, typed(s.max))),
        Func::First => acc.sel = Some((s.first.0, typed(s.first.1))),
        Func::Last => acc.sel = Some((s.last.0, typed(s.last.1))),
    }
    acc
}

#[cfg(test)]
mod tests {
    use super::super::aggregate::fold;
    use super::*;
    use lodestone_engine::Point;

    const FUNCS: [Func; 7] = [
        Func::Count,
        Func::Sum,
        Func::Mean,
        Func::Min,
        Func::Max,
        Func::First,
        Func::Last,
    ];

    /// The fold's accumulator and the summary's, for one window holding `points`.
    fn both(points: &[Point], func: Func, vt: ValueType) -> (Acc, Acc) {
        let folded = fold(points, func, Some((1_000, 0)), 0);
        let summary = Summary::of_points(
            points
                .iter()
                .filter_map(|p| QualityFilter::Good.uses(p).map(|x| (p.ts, x))),
        );
        let mut from_summary = acc(func, 0, &summary, vt);
        let mut from_fold = folded[0].1;
        // min and max keep the chosen point's time in the fold and the window start here.
        if matches!(func, Func::Min | Func::Max) {
            from_fold.sel = from_fold.sel.map(|(_, v)| (0, v));
            from_summary.sel = from_summary.sel.map(|(_, v)| (0, v));
        }
        (from_fold, from_summary)
    }

    #[test]
    fn a_summary_gives_the_folds_accumulator_for_every_function_and_type() {
        let floats: Vec<Point> = [(1, 2.5), (2, -7.25), (3, f64::NAN), (4, 1e3), (5, 0.5)]
            .iter()
            .map(|&(t, v)| Point::new(t, Value::F64(v)))
            .collect();
        let ints: Vec<Point> = [(1, 7), (2, -3), (3, 1 << 40), (4, 0)]
            .iter()
            .map(|&(t, v)| Point::new(t, Value::I64(v)))
            .collect();
        let mut bools: Vec<Point> = [(1, true), (2, false), (3, true)]
            .iter()
            .map(|&(t, v)| Point::new(t, Value::Bool(v)))
            .collect();
        bools.push(Point::with_quality(
            4,
            Value::Bool(false),
            lodestone_engine::Quality::BAD,
        ));
        for func in FUNCS {
            for (points, vt) in [(&floats, ValueType::F64), (&ints, ValueType::I64)] {
                let (f, s) = both(points, func, vt);
                assert_eq!(f, s, "{func:?} of {vt}");
            }
            if matches!(func, Func::Count | Func::First | Func::Last) {
                let (f, s) = both(&bools, func, ValueType::Bool);
                assert_eq!(f, s, "{func:?} of bool");
            }
        }
    }

    #[test]
    fn integers_are_exact_only_below_two_to_the_53() {
        let of = |vals: &[i64]| {
            Summary::of_points(vals.iter().enumerate().map(|(t, &v)| (t as i64, v as f64)))
        };
        assert!(exact(&of(&[1, -5, 1 << 40])));
        assert!(exact(&of(&[(1 << 53) - 1])));
        // 2^53 + 1 reads as 2^53 in an f64: refused, as is 2^53 itself.
        assert!(!exact(&of(&[(1 << 53) + 1])));
        assert!(!exact(&of(&[-(1 << 53)])));
        // Small values whose sum could reach 2^53.
        assert!(!exact(&of(&[1 << 52, 1 << 52])));
        assert!(exact(&of(&[1 << 51, 1 << 51])));
    }
}
