//! Aggregation: one pass over a series' points (in time order, as the engine returns them)
//! that folds them into per-window accumulators, keeping only the windows that hold points.
//! Several series feeding one result series merge their accumulators window by window.
//!
//! Aggregates read good-quality points only (DESIGN.md: "Aggregates use good points unless
//! asked otherwise"), and never NaN readings, as the engine's own aggregates
//! ([`lodestone_engine::query::window`]) do, so that `GROUP BY time` answered from the
//! engine's summaries ([`super::summaries`]) and this fold agree; raw selects return every
//! point.

use lodestone_engine::{Point, Value};

use super::plan::Func;

/// What a window has seen: enough for every supported function.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Acc {
    /// Points folded in.
    pub count: u64,
    /// Sum as a float (integers converted), for `mean` and float `sum`.
    pub fsum: f64,
    /// Sum of integer points, wrapping on overflow as InfluxDB's Go code does.
    pub isum: i64,
    /// The point a selector (`min`, `max`, `first`, `last`) chose: time and value.
    pub sel: Option<(i64, Value)>,
}

/// Windows and their accumulators, in time order, empty windows left out.
pub type Windows = Vec<(i64, Acc)>;

/// Start of the `GROUP BY time(interval, offset)` window holding `ts`: windows are aligned to
/// multiples of the interval since the epoch, shifted by the offset, as in InfluxDB.
pub fn window_start(ts: i64, interval: i64, offset: i64) -> i64 {
    // The i64 path is the common one; i128 only where `ts - offset` or the result would
    // leave the i64 range (times near the ends of it).
    let fast = ts
        .checked_sub(offset)
        .and_then(|rel| rel.div_euclid(interval).checked_mul(interval))
        .and_then(|floor| floor.checked_add(offset));
    if let Some(start) = fast {
        return start;
    }
    let (ts, interval, offset) = (i128::from(ts), i128::from(interval), i128::from(offset));
    let start = (ts - offset).div_euclid(interval) * interval + offset;
    start.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

/// Folds `points` for `func`. With `window` (interval, offset) each point goes to its
/// window; without, all points make one window stamped `whole_start`.
pub fn fold(points: &[Point], func: Func, window: Option<(i64, i64)>, whole_start: i64) -> Windows {
    match func {
        Func::Count => fold_with::<CountFold>(points, window, whole_start),
        Func::Mean | Func::Sum => fold_with::<SumFold>(points, window, whole_start),
        Func::Min => fold_with::<SelFold<MinWins>>(points, window, whole_start),
        Func::Max => fold_with::<SelFold<MaxWins>>(points, window, whole_start),
        Func::First => fold_with::<SelFold<FirstWins>>(points, window, whole_start),
        Func::Last => fold_with::<SelFold<LastWins>>(points, window, whole_start),
    }
}

/// A window's running state for one function: a few scalars that stay in registers in the
/// per-point loop (the general [`Acc`], with its optional selected point, would not).
trait Fold: Default {
    fn add(&mut self, p: &Point);
    fn into_acc(self) -> Acc;
}

#[derive(Default)]
struct CountFold(u64);

impl Fold for CountFold {
    #[inline]
    fn add(&mut self, _: &Point) {
        self.0 += 1;
    }

    fn into_acc(self) -> Acc {
        Acc {
            count: self.0,
            ..Acc::default()
        }
    }
}

#[derive(Default)]
struct SumFold {
    count: u64,
    fsum: f64,
    isum: i64,
}

impl Fold for SumFold {
    #[inline]
    fn add(&mut self, p: &Point) {
        self.count += 1;
        match p.value {
            Value::F64(v) => self.fsum += v,
            Value::I64(v) => {
                self.fsum += v as f64;
                self.isum = self.isum.wrapping_add(v);
            }
            Value::Bool(_) => {}
        }
    }

    fn into_acc(self) -> Acc {
        Acc {
            count: self.count,
            fsum: self.fsum,
            isum: self.isum,
            sel: None,
        }
    }
}

/// Which of two points a selector keeps.
trait Wins {
    /// True when the new point `(t, v)` replaces the current `(ct, cv)`.
    fn wins(t: i64, v: Value, ct: i64, cv: Value) -> bool;
}

struct MinWins;
struct MaxWins;
struct FirstWins;
struct LastWins;

impl Wins for MinWins {
    #[inline]
    fn wins(_: i64, v: Value, _: i64, cv: Value) -> bool {
        match (v, cv) {
            // The common cases first, without the general path's type dispatch.
            (Value::F64(a), Value::F64(b)) => a < b || (b.is_nan() && !a.is_nan()),
            (Value::I64(a), Value::I64(b)) => a < b,
            _ => better(v, cv, less),
        }
    }
}

impl Wins for MaxWins {
    #[inline]
    fn wins(_: i64, v: Value, _: i64, cv: Value) -> bool {
        match (v, cv) {
            (Value::F64(a), Value::F64(b)) => a > b || (b.is_nan() && !a.is_nan()),
            (Value::I64(a), Value::I64(b)) => a > b,
            _ => better(v, cv, greater),
        }
    }
}

impl Wins for FirstWins {
    #[inline]
    fn wins(t: i64, _: Value, ct: i64, _: Value) -> bool {
        t < ct
    }
}

impl Wins for LastWins {
    #[inline]
    fn wins(t: i64, _: Value, ct: i64, _: Value) -> bool {
        t >= ct
    }
}

struct SelFold<W> {
    count: u64,
    ts: i64,
    value: Value,
    wins: std::marker::PhantomData<W>,
}

impl<W> Default for SelFold<W> {
    fn default() -> Self {
        SelFold {
            count: 0,
            ts: 0,
            value: Value::I64(0),
            wins: std::marker::PhantomData,
        }
    }
}

impl<W: Wins> Fold for SelFold<W> {
    #[inline]
    fn add(&mut self, p: &Point) {
        if self.count == 0 || W::wins(p.ts, p.value, self.ts, self.value) {
            self.ts = p.ts;
            self.value = p.value;
        }
        self.count += 1;
    }

    fn into_acc(self) -> Acc {
        Acc {
            count: self.count,
            sel: (self.count > 0).then_some((self.ts, self.value)),
            ..Acc::default()
        }
    }
}

/// The one loop, monomorphized per function; a window's bounds are computed once per
/// window, not per point. Points come in time order (the engine's contract), so each window
/// is one run of the slice.
fn fold_with<F: Fold>(points: &[Point], window: Option<(i64, i64)>, whole_start: i64) -> Windows {
    let Some((interval, offset)) = window else {
        let acc = fold_run::<F>(points);
        return if acc.count > 0 {
            vec![(whole_start, acc)]
        } else {
            Vec::new()
        };
    };
    let mut out = Vec::with_capacity(window_estimate(points, interval));
    let mut rest = points;
    while let Some(first) = rest.first() {
        let start = window_start(first.ts, interval, offset);
        let end = start.saturating_add(interval);
        // `first` is always in its own window, so at least one point is consumed.
        let len = rest
            .iter()
            .position(|p| p.ts >= end || p.ts < start)
            .unwrap_or(rest.len())
            .max(1);
        let (run, after) = rest.split_at(len);
        let acc = fold_run::<F>(run);
        if acc.count > 0 {
            out.push((start, acc));
        }
        rest = after;
    }
    out
}

/// Folds the good, non-NaN points of one window. Kept out of line on purpose: inlined into
/// the window loop, the accumulator was spilled to the stack and the loop ran 3-4x slower.
#[inline(never)]
fn fold_run<F: Fold>(run: &[Point]) -> Acc {
    let mut f = F::default();
    for p in run
        .iter()
        .filter(|p| p.quality.is_good() && !is_nan(p.value))
    {
        f.add(p);
    }
    f.into_acc()
}

/// How many windows `points` fill at most: one allocation instead of a dozen regrowths.
fn window_estimate(points: &[Point], interval: i64) -> usize {
    match (points.first(), points.last()) {
        (Some(a), Some(b)) => {
            let span = (i128::from(b.ts) - i128::from(a.ts)) / i128::from(interval) + 2;
            usize::try_from(span)
                .unwrap_or(usize::MAX)
                .min(points.len())
        }
        _ => 0,
    }
}

/// Whether `new` beats `cur` under `wins` (`less` for min, `greater` for max). A NaN never
/// beats a number and is replaced by one, so NaN is chosen only when nothing else is there.
fn better(new: Value, cur: Value, wins: fn(Value, Value) -> bool) -> bool {
    match (is_nan(new), is_nan(cur)) {
        (true, _) => false,
        (false, true) => true,
        (false, false) => wins(new, cur),
    }
}

fn is_nan(v: Value) -> bool {
    matches!(v, Value::F64(f) if f.is_nan())
}

/// `a < b`: integers exactly, mixed types as floats, false when either is NaN.
fn less(a: Value, b: Value) -> bool {
    match (a, b) {
        (Value::I64(x), Value::I64(y)) => x < y,
        (Value::Bool(x), Value::Bool(y)) => !x & y,
        _ => as_f64(a) < as_f64(b),
    }
}

fn greater(a: Value, b: Value) -> bool {
    less(b, a)
}

fn as_f64(v: Value) -> f64 {
    match v {
        Value::F64(v) => v,
        Value::I64(v) => v as f64,
        Value::Bool(v) => f64::from(u8::from(v)),
    }
}

/// Merges `b` into `a` (the same window of another series).
fn merge(func: Func, a: &mut Acc, b: &Acc) {
    a.count += b.count;
    a.fsum += b.fsum;
    a.isum = a.isum.wrapping_add(b.isum);
    let (Some((ta, va)), Some((tb, vb))) = (a.sel, b.sel) else {
        a.sel = a.sel.or(b.sel);
        return;
    };
    let take_b = match func {
        Func::Min => better(vb, va, less) || (!better(va, vb, less) && tb < ta),
        Func::Max => better(vb, va, greater) || (!better(va, vb, greater) && tb < ta),
        Func::First => tb < ta,
        Func::Last => tb > ta,
        Func::Mean | Func::Sum | Func::Count => false,
    };
    if take_b {
        a.sel = b.sel;
    }
}

/// Merges the windows of several series into one list, window by window.
pub fn merge_all(func: Func, mut parts: Vec<Windows>) -> Windows {
    if parts.len() <= 1 {
        return parts.pop().unwrap_or_default();
    }
    let mut all: Windows = parts.into_iter().flatten().collect();
    all.sort_by_key(|(t, _)| *t);
    let mut out: Windows = Vec::with_capacity(all.len());
    for (t, acc) in all {
        match out.last_mut() {
            Some((lt, la)) if *lt == t => merge(func, la, &acc),
            _ => out.push((t, acc)),
        }
    }
    out
}

/// The value `func` gives for a window. `int_sum`: the column reads integer series only, so
/// `sum` stays an integer.
pub fn finish(func: Func, acc: &Acc, int_sum: bool) -> Option<Value> {
    if acc.count == 0 {
        return None;
    }
    Some(match func {
        Func::Mean => Value::F64(acc.fsum / acc.count as f64),
        Func::Sum if int_sum => Value::I64(acc.isum),
        Func::Sum => Value::F64(acc.fsum),
        Func::Count => Value::I64(i64::try_from(acc.count).unwrap_or(i64::MAX)),
        Func::Min | Func::Max | Func::First | Func::Last => return acc.sel.map(|(_, v)| v),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use lodestone_engine::Quality;

    fn pts(vals: &[(i64, f64)]) -> Vec<Point> {
        vals.iter()
            .map(|&(t, v)| Point::new(t, Value::F64(v)))
            .collect()
    }

    #[test]
    fn windows_align_to_epoch_multiples_and_offsets() {
        assert_eq!(window_start(0, 10, 0), 0);
        assert_eq!(window_start(9, 10, 0), 0);
        assert_eq!(window_start(10, 10, 0), 10);
        assert_eq!(window_start(-1, 10, 0), -10);
        assert_eq!(window_start(12, 10, 3), 3);
        assert_eq!(window_start(13, 10, 3), 13);
        assert_eq!(window_start(2, 10, -3), -3);
        assert_eq!(window_start(i64::MIN, 7, 0), i64::MIN);
        assert_eq!(window_start(i64::MAX, 10, 0), i64::MAX - 7);
    }

    #[test]
    fn one_pass_gives_each_function_per_window() {
        let p = pts(&[(0, 1.0), (5, 3.0), (10, 2.0), (25, 4.0), (29, -1.0)]);
        let w = Some((10, 0));
        let get = |f: Func| -> Vec<(i64, Option<Value>)> {
            fold(&p, f, w, 0)
                .iter()
                .map(|(t, a)| (*t, finish(f, a, false)))
                .collect()
        };
        assert_eq!(
            get(Func::Mean),
            vec![
                (0, Some(Value::F64(2.0))),
                (10, Some(Value::F64(2.0))),
                (20, Some(Value::F64(1.5)))
            ]
        );
        assert_eq!(get(Func::Count)[0].1, Some(Value::I64(2)));
        assert_eq!(get(Func::Min)[2].1, Some(Value::F64(-1.0)));
        assert_eq!(get(Func::Max)[2].1, Some(Value::F64(4.0)));
        assert_eq!(get(Func::First)[0].1, Some(Value::F64(1.0)));
        assert_eq!(get(Func::Last)[0].1, Some(Value::F64(3.0)));
        assert_eq!(get(Func::Sum)[2].1, Some(Value::F64(3.0)));
    }

    #[test]
    fn whole_range_selectors_keep_the_point_time_and_skip_bad_quality() {
        let mut p = pts(&[(1, 5.0), (2, 9.0), (3, 7.0)]);
        p.push(Point::with_quality(4, Value::F64(100.0), Quality::BAD));
        let w = fold(&p, Func::Max, None, 0);
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].1.sel, Some((2, Value::F64(9.0))));
        assert!(fold(&p[3..], Func::Max, None, 0).is_empty());
    }

    #[test]
    fn nan_readings_are_not_used_as_in_the_engines_aggregates() {
        let p = pts(&[(0, f64::NAN), (1, 2.0), (2, 4.0), (3, f64::NAN)]);
        let get = |f| finish(f, &fold(&p, f, None, 0)[0].1, false);
        assert_eq!(get(Func::Count), Some(Value::I64(2)));
        assert_eq!(get(Func::Mean), Some(Value::F64(3.0)));
        assert_eq!(get(Func::First), Some(Value::F64(2.0)));
        assert_eq!(get(Func::Last), Some(Value::F64(4.0)));
        assert!(fold(&p[..1], Func::Count, None, 0).is_empty());
    }

    #[test]
    fn integer_sums_stay_integers_and_nan_is_never_preferred() {
        let p = vec![
            Point::new(0, Value::I64(i64::MAX)),
            Point::new(1, Value::I64(1)),
        ];
        let w = fold(&p, Func::Sum, None, 0);
        assert_eq!(finish(Func::Sum, &w[0].1, true), Some(Value::I64(i64::MIN)));
        let p = pts(&[(0, f64::NAN), (1, 2.0), (2, f64::NAN)]);
        let min = fold(&p, Func::Min, None, 0);
        assert_eq!(finish(Func::Min, &min[0].1, false), Some(Value::F64(2.0)));
        let max = fold(&p, Func::Max, None, 0);
        assert_eq!(finish(Func::Max, &max[0].1, false), Some(Value::F64(2.0)));
    }

    #[test]
    fn merging_series_combines_windows_as_if_one_series() {
        let a = pts(&[(0, 1.0), (10, 5.0)]);
        let b = pts(&[(3, 3.0), (20, 7.0)]);
        let w = Some((10, 0));
        let m = merge_all(
            Func::Mean,
            vec![fold(&a, Func::Mean, w, 0), fold(&b, Func::Mean, w, 0)],
        );
        let vals: Vec<_> = m
            .iter()
            .map(|(t, a)| (*t, finish(Func::Mean, a, false)))
            .collect();
        assert_eq!(
            vals,
            vec![
                (0, Some(Value::F64(2.0))),
                (10, Some(Value::F64(5.0))),
                (20, Some(Value::F64(7.0)))
            ]
        );
        let last = merge_all(
            Func::Last,
            vec![fold(&a, Func::Last, None, 0), fold(&b, Func::Last, None, 0)],
        );
        assert_eq!(last[0].1.sel, Some((20, Value::F64(7.0))));
        let first = merge_all(
            Func::First,
            vec![
                fold(&b, Func::First, None, 0),
                fold(&a, Func::First, None, 0),
            ],
        );
        assert_eq!(first[0].1.sel, Some((0, Value::F64(1.0))));
    }
}
