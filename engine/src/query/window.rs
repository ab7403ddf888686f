//! Windowed aggregates over raw points: the reference path of issue 4's aggregate queries
//! (chunk summaries and rollup tiers must give the same answers).
//!
//! Windows are `[start + i × step, start + (i + 1) × step)`, the last one cut at `end`. A
//! point is used when its quality passes the request's filter (good severity by default) and
//! its value is a number: NaN readings are not used. Integers and booleans count as numbers
//! (booleans as 0 and 1).

use crate::point::{Point, Value};

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
}

/// What an empty window reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fill {
    /// Empty windows are left out.
    None,
    /// Empty windows are reported without a value.
    Null,
    /// Empty windows repeat the value of the last window that had one.
    Previous,
    /// Empty windows get the value on the straight line between the windows around them
    /// that have values (by window start); none at the edges.
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
    fn admits(self, p: &Point) -> bool {
        match self {
            QualityFilter::Good => p.quality.is_good(),
            QualityFilter::GoodOrUncertain => !p.quality.is_bad(),
            QualityFilter::All => true,
        }
    }
}

/// One window of an answer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    /// Start of the window.
    pub start: i64,
    /// Points the window used (0 for a filled window).
    pub count: u64,
    /// The aggregate, if the window has one.
    pub value: Option<f64>,
}

/// The numeric value of a point, if it has one.
fn number(v: Value) -> Option<f64> {
    let x = match v {
        Value::F64(f) => f,
        Value::I64(i) => i as f64,
        Value::Bool(b) => b as u8 as f64,
    };
    (!x.is_nan()).then_some(x)
}

/// Running state of one window.
#[derive(Default)]
struct Acc {
    count: u64,
    sum: f64,
    min: f64,
    max: f64,
    first: f64,
    last: f64,
    // Welford's running mean and sum of squared deviations.
    mean: f64,
    m2: f64,
}

impl Acc {
    fn push(&mut self, x: f64) {
        if self.count == 0 {
            (self.min, self.max, self.first) = (x, x, x);
        }
        self.count += 1;
        self.sum += x;
        self.min = self.min.min(x);
        self.max = self.max.max(x);
        self.last = x;
        let d = x - self.mean;
        self.mean += d / self.count as f64;
        self.m2 += d * (x - self.mean);
    }

    fn value(&self, agg: Aggregate) -> Option<f64> {
        if self.count == 0 {
            return (agg == Aggregate::Count).then_some(0.0);
        }
        Some(match agg {
            Aggregate::Count => self.count as f64,
            Aggregate::Sum => self.sum,
            Aggregate::Min => self.min,
            Aggregate::Max => self.max,
            Aggregate::Mean => self.sum / self.count as f64,
            Aggregate::First => self.first,
            Aggregate::Last => self.last,
            Aggregate::Stddev if self.count < 2 => return None,
            Aggregate::Stddev => (self.m2 / (self.count - 1) as f64).sqrt(),
        })
    }
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
    /// What empty windows report.
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
}

/// Aggregates `points` (sorted by time, one per timestamp) into the windows of `spec`.
/// Points outside `[start, end)` are ignored. Answers with no window when `step < 1` or
/// `end <= start`.
pub fn aggregate_windows(points: &[Point], spec: &WindowSpec) -> Vec<Window> {
    let Some(n) = spec.windows() else {
        return Vec::new();
    };
    let first = points.partition_point(|p| p.ts < spec.start);
    let mut used = points[first..]
        .iter()
        .take_while(|p| p.ts < spec.end)
        .filter(|p| spec.quality.admits(p))
        .filter_map(|p| number(p.value).map(|x| (p.ts, x)))
        .peekable();
    let mut raw: Vec<(i64, u64, Option<f64>)> = Vec::new();
    let mut i = 0u64;
    while i < n {
        // Skip empty windows quickly: jump to the window of the next used point.
        let Some(&(ts, _)) = used.peek() else {
            break;
        };
        let k = ((ts as i128 - spec.start as i128) / spec.step as i128) as u64;
        if spec.fill != Fill::None {
            for empty in i..k {
                raw.push((window_start(spec, empty), 0, None));
            }
        }
        let ws = window_start(spec, k);
        let we = (ws as i128 + spec.step as i128).min(spec.end as i128);
        let mut acc = Acc::default();
        while let Some(&(t, x)) = used.peek() {
            if (t as i128) >= we {
                break;
            }
            acc.push(x);
            used.next();
        }
        raw.push((ws, acc.count, acc.value(spec.aggregate)));
        i = k + 1;
    }
    if spec.fill != Fill::None {
        for empty in i..n {
            raw.push((window_start(spec, empty), 0, None));
        }
    }
    fill(raw, spec)
}

fn window_start(spec: &WindowSpec, i: u64) -> i64 {
    (spec.start as i128 + i as i128 * spec.step as i128) as i64
}

/// Applies the fill mode to windows in order (empty ones have count 0).
fn fill(raw: Vec<(i64, u64, Option<f64>)>, spec: &WindowSpec) -> Vec<Window> {
    let count_agg = spec.aggregate == Aggregate::Count;
    let window = |(start, count, value): (i64, u64, Option<f64>)| Window {
        start,
        count,
        value,
    };
    match spec.fill {
        // A count of an empty window is 0, not missing.
        _ if count_agg => raw
            .into_iter()
            .filter(|w| spec.fill != Fill::None || w.1 > 0)
            .map(|(s, c, _)| window((s, c, Some(c as f64))))
            .collect(),
        Fill::None => raw.into_iter().filter(|w| w.1 > 0).map(window).collect(),
        Fill::Null => raw.into_iter().map(window).collect(),
        Fill::Previous => {
            let mut last = None;
            raw.into_iter()
                .map(|(s, c, v)| {
                    if c > 0 {
                        last = v;
                        window((s, c, v))
                    } else {
                        window((s, 0, last))
                    }
                })
                .collect()
        }
        Fill::Linear => {
            let known: Vec<(i64, f64)> = raw
                .iter()
                .filter(|w| w.1 > 0)
                .filter_map(|w| w.2.map(|v| (w.0, v)))
                .collect();
            raw.into_iter()
                .map(|(s, c, v)| {
                    if c > 0 {
                        return window((s, c, v));
                    }
                    let after = known.partition_point(|k| k.0 < s);
                    let value = match (after.checked_sub(1).map(|b| known[b]), known.get(after)) {
                        (Some((t0, v0)), Some(&(t1, v1))) => {
                            let f = (s as f64 - t0 as f64) / (t1 as f64 - t0 as f64);
                            Some(v0 + (v1 - v0) * f)
                        }
                        _ => None,
                    };
                    window((s, 0, value))
                })
                .collect()
        }
    }
}

#[cfg(test)]
mod tests;
