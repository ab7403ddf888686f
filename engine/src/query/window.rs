//! Windowed aggregates: the request, the answer, and the one builder that turns a series'
//! used points and chunk or bucket [`Summary`]s into windows. The raw path feeds it points,
//! the faster paths feed it summaries for whole chunks or buckets; the answer is the same.
//!
//! Windows are `[start + i × step, start + (i + 1) × step)`, the last one cut at `end`. A
//! point is *used* when its quality passes the request's filter (good severity by default)
//! and its value is a number: NaN readings are never used. Integers and booleans count as
//! numbers (booleans as 0 and 1).
//!
//! Time-weighted values follow the historian convention: each used value holds from its
//! timestamp until the next used point (or the end of the window). So they also need the
//! last used point before `start` ([`Neighbours::before`]), and linear interpolation needs
//! the first one at or after `end` ([`Neighbours::after`]).

use super::summary::{span, Summary, Wanted};
use crate::point::{Point, Quality, Value};

/// What each window reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Aggregate {
    /// Points used.
    Count,
    /// Sum of their values.
    Sum,
    /// Smallest value.
    Min,
    /// Largest value.
    Max,
    /// Arithmetic mean.
    Mean,
    /// Value of the earliest point.
    First,
    /// Value of the latest point.
    Last,
    /// Sample standard deviation (n − 1 in the denominator; none for a single point).
    Stddev,
    /// Time-weighted average: the integral of the held value over the part of the window
    /// where a value is known (from the first used point of the series on), divided by the
    /// length of that part.
    TimeWeighted,
    /// The value at the window's start: that of the last used point at or before it.
    InterpolatePrevious,
    /// The value at the window's start on the straight line between the last used point at
    /// or before it and the first one after it; none when either is missing.
    InterpolateLinear,
}

impl Aggregate {
    /// Every aggregate.
    pub const ALL: [Aggregate; 11] = [
        Aggregate::Count,
        Aggregate::Sum,
        Aggregate::Min,
        Aggregate::Max,
        Aggregate::Mean,
        Aggregate::First,
        Aggregate::Last,
        Aggregate::Stddev,
        Aggregate::TimeWeighted,
        Aggregate::InterpolatePrevious,
        Aggregate::InterpolateLinear,
    ];

    /// True when the answer also depends on the used points around `[start, end)`.
    pub fn needs_neighbours(self) -> bool {
        matches!(
            self,
            Aggregate::TimeWeighted | Aggregate::InterpolatePrevious | Aggregate::InterpolateLinear
        )
    }

    /// True when a window with no point of its own may still have a value.
    fn holds_values(self) -> bool {
        self.needs_neighbours()
    }
}

/// What a window without a value reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fill {
    /// Windows without a value are left out.
    None,
    /// Windows without a value are reported without one.
    Null,
    /// Windows without a value repeat that of the last window that had one.
    Previous,
    /// Windows without a value get the value on the straight line between the windows
    /// around them that have values (by window start); none at the edges.
    Linear,
}

/// Which points an aggregate uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum QualityFilter {
    /// Points of good severity (the default).
    #[default]
    Good,
    /// Points of good or uncertain severity.
    GoodOrUncertain,
    /// Every point.
    All,
}

impl QualityFilter {
    /// True when `p` is used: its quality passes and its value is a number.
    pub fn uses(self, p: &Point) -> Option<f64> {
        self.admits(p.quality).then(|| number(p.value)).flatten()
    }

    /// True when points of quality `q` pass.
    #[inline]
    pub fn admits(self, q: Quality) -> bool {
        match self {
            QualityFilter::Good => q.is_good(),
            QualityFilter::GoodOrUncertain => !q.is_bad(),
            QualityFilter::All => true,
        }
    }
}

/// One window of an answer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    /// Start of the window.
    pub start: i64,
    /// Points of the window that were used.
    pub count: u64,
    /// The aggregate, if the window has one.
    pub value: Option<f64>,
}

/// The numeric value of a point, if it has one.
pub fn number(v: Value) -> Option<f64> {
    let x = match v {
        Value::F64(f) => f,
        Value::I64(i) => i as f64,
        Value::Bool(b) => b as u8 as f64,
    };
    (!x.is_nan()).then_some(x)
}

/// The request.
#[derive(Debug, Clone, Copy)]
pub struct WindowSpec {
    /// Start of the first window.
    pub start: i64,
    /// End of the last window (exclusive).
    pub end: i64,
    /// Window length, at least 1.
    pub step: i64,
    /// What each window reports.
    pub aggregate: Aggregate,
    /// What windows without a value report.
    pub fill: Fill,
    /// Which points are used.
    pub quality: QualityFilter,
}

impl WindowSpec {
    /// Number of windows, or `None` when the request is empty or invalid (`step < 1`).
    pub fn windows(&self) -> Option<u64> {
        if self.step < 1 || self.end <= self.start {
            return None;
        }
        let span = (self.end as i128 - self.start as i128) as u128;
        Some(span.div_ceil(self.step as u128) as u64)
    }

    /// Index of the window holding `ts`, which is in `[start, end)`.
    #[inline]
    pub fn index(&self, ts: i64) -> u64 {
        ((ts as i128 - self.start as i128) / self.step as i128) as u64
    }

    /// Start of window `i`.
    pub fn window_start(&self, i: u64) -> i64 {
        (self.start as i128 + i as i128 * self.step as i128) as i64
    }

    /// End of window `i` (exclusive; the last one is cut at `end`).
    pub fn window_end(&self, i: u64) -> i64 {
        (self.start as i128 + (i as i128 + 1) * self.step as i128).min(self.end as i128) as i64
    }
}

/// The used points just outside `[start, end)` that time-weighted and interpolated values
/// depend on, as (timestamp, value).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Neighbours {
    /// The last used point before `start`.
    pub before: Option<(i64, f64)>,
    /// The first used point at or after `end`.
    pub after: Option<(i64, f64)>,
}

/// Builds the windows of one request from used points and summaries given in time order.
pub struct WindowBuilder<'a> {
    spec: &'a WindowSpec,
    n: u64,
    out: Vec<Window>,
    /// The window being filled and its summary so far.
    current: Option<(u64, Summary)>,
    /// Windows below this index are in `out` (or skipped).
    done: u64,
    /// The last used point before the current window.
    held: Option<(i64, f64)>,
    /// When set, windows with points are kept as summaries instead of values.
    summaries: Option<Vec<(i64, Summary)>>,
    /// Exclusive end of the current window (`i64::MIN` when there is none): a point before
    /// it joins the current window without an index computed.
    current_end: i64,
    /// The spread (`Summary::m2`) is kept up: the answer needs it.
    spread: bool,
    /// What [`WindowBuilder::push_columns`] keeps up.
    wanted: Wanted,
}

impl<'a> WindowBuilder<'a> {
    /// A builder for `spec`; `before` is the last used point before `spec.start`, needed
    /// only when [`Aggregate::needs_neighbours`].
    pub fn new(spec: &'a WindowSpec, before: Option<(i64, f64)>) -> WindowBuilder<'a> {
        WindowBuilder {
            spec,
            n: spec.windows().unwrap_or(0),
            out: Vec::new(),
            current: None,
            done: 0,
            held: before,
            summaries: None,
            current_end: i64::MIN,
            spread: spec.aggregate == Aggregate::Stddev,
            wanted: Wanted {
                spread: spec.aggregate == Aggregate::Stddev,
                integral: spec.aggregate == Aggregate::TimeWeighted,
            },
        }
    }

    /// A builder that keeps the summary of each window with points instead of its value,
    /// for callers that merge windows of several series (fill and neighbours do not apply).
    /// The spread (`m2`) is kept only when `spec.aggregate` is [`Aggregate::Stddev`], the
    /// integral only when it is [`Aggregate::TimeWeighted`].
    pub fn summaries(spec: &'a WindowSpec) -> WindowBuilder<'a> {
        let mut b = WindowBuilder::new(spec, None);
        b.summaries = Some(Vec::new());
        b
    }

    /// The start and summary of each window with points, in time order (for a builder made
    /// by [`WindowBuilder::summaries`]; empty otherwise).
    pub fn finish_summaries(mut self) -> Vec<(i64, Summary)> {
        if let Some((c, s)) = self.current.take() {
            if let Some(out) = &mut self.summaries {
                out.push((self.spec.window_start(c), s));
            }
        }
        self.summaries.unwrap_or_default()
    }

    /// Adds a used point in `[start, end)`, later than everything added before.
    #[inline]
    pub fn push(&mut self, ts: i64, x: f64) {
        if ts < self.current_end {
            if let Some((_, s)) = &mut self.current {
                if self.spread {
                    s.push(ts, x);
                } else {
                    s.push_without_spread(ts, x);
                }
                return;
            }
        }
        let k = self.spec.index(ts);
        match &mut self.current {
            Some((c, s)) if *c == k => s.push(ts, x),
            _ => {
                self.close_before(k, Some((ts, x)));
                self.open(k, Summary::of(ts, x));
            }
        }
    }

    /// Adds the used points of `pts` (sorted, in `[start, end)`, later than everything added
    /// before; `quality` says which are used). Points that fall in the current window are
    /// summed in a tight loop over a local copy of its summary.
    pub fn push_points(&mut self, pts: &[Point], quality: QualityFilter) {
        let mut rest = pts;
        while let Some(p) = rest.first() {
            let end = self.current_end;
            match &mut self.current {
                Some((_, s)) if p.ts < end => {
                    let n = rest.partition_point(|p| p.ts < end);
                    let mut local = *s;
                    if self.spread {
                        for p in &rest[..n] {
                            if let Some(x) = quality.uses(p) {
                                local.push(p.ts, x);
                            }
                        }
                    } else {
                        for p in &rest[..n] {
                            if let Some(x) = quality.uses(p) {
                                local.push_without_spread(p.ts, x);
                            }
                        }
                    }
                    *s = local;
                    rest = &rest[n..];
                }
                _ => {
                    if let Some(x) = quality.uses(p) {
                        self.push(p.ts, x);
                    }
                    rest = &rest[1..];
                }
            }
        }
    }

    /// Adds used points given as columns: timestamps `ts` (sorted, in `[start, end)`,
    /// later than everything added before) and values `values[i] / scale` (none NaN; see
    /// `codec::Columns::scale`). The points of each window are folded in one call over the
    /// arrays.
    pub fn push_columns(&mut self, ts: &[i64], values: &[f64], scale: f64) {
        let mut i = 0;
        while i < ts.len() {
            let end = self.current_end;
            match &mut self.current {
                Some((_, s)) if ts[i] < end => {
                    let n = i + ts[i..].partition_point(|&t| t < end);
                    s.push_columns(&ts[i..n], &values[i..n], scale, self.wanted);
                    i = n;
                }
                _ => {
                    self.push(ts[i], values[i] / scale);
                    i += 1;
                }
            }
        }
    }

    /// Makes window `k` the current one, with summary `s`.
    fn open(&mut self, k: u64, s: Summary) {
        self.current = Some((k, s));
        self.current_end = self.spec.window_end(k);
    }

    /// Adds the summary of used points that all lie in one window of `[start, end)`, later
    /// than everything added before.
    pub fn push_summary(&mut self, s: &Summary) {
        if s.count == 0 {
            return;
        }
        let k = self.spec.index(s.first.0);
        match &mut self.current {
            Some((c, cur)) if *c == k => cur.merge(s),
            _ => {
                self.close_before(k, Some(s.first));
                self.open(k, *s);
            }
        }
    }

    /// The windows, filled; `after` is the first used point at or after `spec.end`, needed
    /// only for [`Aggregate::InterpolateLinear`].
    pub fn finish(mut self, after: Option<(i64, f64)>) -> Vec<Window> {
        self.close_before(self.n, after);
        fill(self.out, self.spec)
    }

    /// Closes the current window and every empty one below window `k`; `next` is the first
    /// used point at or after window `k`'s start.
    fn close_before(&mut self, k: u64, next: Option<(i64, f64)>) {
        let spec = self.spec;
        if let Some(out) = &mut self.summaries {
            if let Some((c, s)) = self.current.take() {
                out.push((spec.window_start(c), s));
            }
            return;
        }
        if let Some((c, s)) = self.current.take() {
            let w = self.close(c, &s, next);
            self.out.push(w);
            self.held = Some(s.last);
            self.done = c + 1;
        }
        let keep_empty = spec.fill != Fill::None || spec.aggregate.holds_values();
        if keep_empty {
            for i in self.done..k {
                let w = self.close(i, &Summary::EMPTY, next);
                self.out.push(w);
            }
        }
        self.done = k;
    }

    /// The window `i` with summary `s` of its points.
    fn close(&self, i: u64, s: &Summary, next: Option<(i64, f64)>) -> Window {
        let spec = self.spec;
        let (a, b) = (spec.window_start(i), spec.window_end(i));
        let held = self.held;
        let has = s.count > 0;
        let value = match spec.aggregate {
            Aggregate::Count => Some(s.count as f64),
            _ if !has && !spec.aggregate.holds_values() => None,
            Aggregate::Sum => Some(s.sum),
            Aggregate::Min => Some(s.min),
            Aggregate::Max => Some(s.max),
            Aggregate::Mean => Some(s.sum / s.count as f64),
            Aggregate::First => Some(s.first.1),
            Aggregate::Last => Some(s.last.1),
            Aggregate::Stddev if s.count < 2 => None,
            Aggregate::Stddev => Some((s.m2 / (s.count - 1) as f64).sqrt()),
            Aggregate::TimeWeighted => time_weighted(a, b, held, has.then_some(s)),
            Aggregate::InterpolatePrevious if has && s.first.0 == a => Some(s.first.1),
            Aggregate::InterpolatePrevious => held.map(|h| h.1),
            Aggregate::InterpolateLinear if has && s.first.0 == a => Some(s.first.1),
            Aggregate::InterpolateLinear => {
                let after = if has { Some(s.first) } else { next };
                match (held, after) {
                    (Some((t0, v0)), Some((t1, v1))) => {
                        Some(v0 + (v1 - v0) * (span(t0, a) / span(t0, t1)))
                    }
                    _ => None,
                }
            }
        };
        Window {
            start: a,
            count: s.count,
            value,
        }
    }
}

/// The time-weighted average over `[a, b)` given the value held from before `a` and the
/// summary of the window's own points.
fn time_weighted(a: i64, b: i64, held: Option<(i64, f64)>, s: Option<&Summary>) -> Option<f64> {
    let (integral, from) = match (held, s) {
        (None, None) => return None,
        (Some((_, h)), None) => return Some(h),
        (Some((_, h)), Some(s)) => (h * span(a, s.first.0) + s.integral, a),
        (None, Some(s)) => (s.integral, s.first.0),
    };
    let s = s.expect("matched above");
    let integral = integral + s.last.1 * span(s.last.0, b);
    Some(integral / span(from, b))
}

/// Aggregates `points` (sorted by time, one per timestamp) into the windows of `spec`.
/// Points outside `[start, end)` are ignored; `around` gives the used points just outside
/// it (see [`Neighbours`]). Answers with no window when `step < 1` or `end <= start`.
pub fn aggregate_windows(points: &[Point], around: Neighbours, spec: &WindowSpec) -> Vec<Window> {
    if spec.windows().is_none() {
        return Vec::new();
    }
    let first = points.partition_point(|p| p.ts < spec.start);
    let mut b = WindowBuilder::new(spec, around.before);
    let last = first + points[first..].partition_point(|p| p.ts < spec.end);
    b.push_points(&points[first..last], spec.quality);
    b.finish(around.after)
}

/// Applies the fill mode to windows in order.
pub(crate) fn fill(raw: Vec<Window>, spec: &WindowSpec) -> Vec<Window> {
    if spec.aggregate == Aggregate::Count {
        // A count of an empty window is 0, not missing; only `Fill::None` leaves it out.
        return raw
            .into_iter()
            .filter(|w| spec.fill != Fill::None || w.count > 0)
            .collect();
    }
    match spec.fill {
        Fill::None => raw.into_iter().filter(|w| w.value.is_some()).collect(),
        Fill::Null => raw,
        Fill::Previous => {
            let mut last = None;
            raw.into_iter()
                .map(|mut w| {
                    match w.value {
                        Some(v) => last = Some(v),
                        None => w.value = last,
                    }
                    w
                })
                .collect()
        }
        Fill::Linear => {
            let known: Vec<(i64, f64)> = raw
                .iter()
                .filter_map(|w| w.value.map(|v| (w.start, v)))
                .collect();
            raw.into_iter()
                .map(|mut w| {
                    if w.value.is_none() {
                        let after = known.partition_point(|k| k.0 < w.start);
                        let before = after.checked_sub(1).map(|b| known[b]);
                        if let (Some((t0, v0)), Some(&(t1, v1))) = (before, known.get(after)) {
                            w.value = Some(v0 + (v1 - v0) * (span(t0, w.start) / span(t0, t1)));
                        }
                    }
                    w
                })
                .collect()
        }
    }
}

#[cfg(test)]
mod tests;
