//! A mergeable summary of consecutive used points: enough to answer every aggregate of
//! [`super::window`] for a time range without its points. Chunk summaries in segment
//! indexes and rollup buckets are summaries; a window merges the summaries and points it
//! covers, in time order.

/// Count, sum, extremes, ends, spread and step integral of a run of used points (good
/// enough quality, not NaN), oldest first.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// Points summarised; the other fields are meaningless when 0.
    pub count: u64,
    /// Sum of the values.
    pub sum: f64,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// Timestamp and value of the earliest point.
    pub first: (i64, f64),
    /// Timestamp and value of the latest point.
    pub last: (i64, f64),
    /// Sum of squared deviations from the mean (for the standard deviation; merged with
    /// Chan's formula, which stays accurate when the spread is small beside the mean).
    pub m2: f64,
    /// Step integral between the first and the last point: Σ vᵢ × (tᵢ₊₁ − tᵢ), in value ×
    /// nanoseconds. Each value holds until the next point (the historian convention).
    pub integral: f64,
}

impl Default for Summary {
    fn default() -> Self {
        Summary::EMPTY
    }
}

/// Nanoseconds from `a` to `b` as a float; never overflows. (The i64 path matters: a
/// 128-bit integer to float conversion is a library call, in the hottest loop there is.)
#[inline]
pub(crate) fn span(a: i64, b: i64) -> f64 {
    match b.checked_sub(a) {
        Some(d) => d as f64,
        None => (b as i128 - a as i128) as f64,
    }
}

impl Summary {
    /// The summary of no point.
    pub const EMPTY: Summary = Summary {
        count: 0,
        sum: 0.0,
        min: 0.0,
        max: 0.0,
        first: (0, 0.0),
        last: (0, 0.0),
        m2: 0.0,
        integral: 0.0,
    };

    /// The summary of one point.
    pub fn of(ts: i64, x: f64) -> Summary {
        Summary {
            count: 1,
            sum: x,
            min: x,
            max: x,
            first: (ts, x),
            last: (ts, x),
            m2: 0.0,
            integral: 0.0,
        }
    }

    /// Adds a point later than every point summarised so far.
    #[inline]
    pub fn push(&mut self, ts: i64, x: f64) {
        if self.count == 0 {
            *self = Summary::of(ts, x);
            return;
        }
        let before = self.sum / self.count as f64;
        self.count += 1;
        self.sum += x;
        let after = self.sum / self.count as f64;
        self.m2 += (x - before) * (x - after);
        self.min = self.min.min(x);
        self.max = self.max.max(x);
        self.integral += self.last.1 * span(self.last.0, ts);
        self.last = (ts, x);
    }

    /// [`Summary::push`] without keeping `m2` up to date (it is left as it was): the hot
    /// loop of aggregates that do not need the spread saves two divisions a point.
    #[inline]
    pub fn push_without_spread(&mut self, ts: i64, x: f64) {
        self.count += 1;
        self.sum += x;
        self.min = self.min.min(x);
        self.max = self.max.max(x);
        self.integral += self.last.1 * span(self.last.0, ts);
        self.last = (ts, x);
    }

    /// Appends `later`, whose points all come after this summary's.
    pub fn merge(&mut self, later: &Summary) {
        if later.count == 0 {
            return;
        }
        if self.count == 0 {
            *self = *later;
            return;
        }
        let (na, nb) = (self.count as f64, later.count as f64);
        let delta = later.sum / nb - self.sum / na;
        self.m2 += later.m2 + delta * delta * na * nb / (na + nb);
        self.count += later.count;
        self.sum += later.sum;
        self.min = self.min.min(later.min);
        self.max = self.max.max(later.max);
        self.integral += self.last.1 * span(self.last.0, later.first.0) + later.integral;
        self.last = later.last;
    }

    /// Adds the points `ts`, `values / scale` (same length; used points in time order,
    /// later than every point summarised so far), with the spread and the integral kept up
    /// only when `wanted` says so (otherwise they are meaningless, as after
    /// [`Summary::push_without_spread`]). Sums, extremes and ends are taken of `values` and
    /// divided once: for the integers of exact decimals (see `codec::Columns::scale`) the
    /// extremes and ends are exactly the values' (division is monotonic), and the sum is
    /// the values' exact sum, rounded once. The loops run with several accumulators, so
    /// sums may differ from [`Summary::push`]'s in the last bits.
    pub fn push_columns(&mut self, ts: &[i64], values: &[f64], scale: f64, wanted: Wanted) {
        let (Some(&t0), Some(&tn)) = (ts.first(), ts.last()) else {
            return;
        };
        let (v0, vn) = (values[0] / scale, values[values.len() - 1] / scale);
        let (sum, min, max) = sum_min_max(values);
        let n = values.len() as u64;
        let m2 = if wanted.spread {
            let mean = sum / n as f64;
            let m2: f64 = values.iter().map(|x| (x - mean) * (x - mean)).sum();
            m2 / (scale * scale)
        } else {
            0.0
        };
        let integral = if wanted.integral {
            step_integral(ts, values) / scale
        } else {
            0.0
        };
        self.merge(&Summary {
            count: n,
            sum: sum / scale,
            min: min / scale,
            max: max / scale,
            first: (t0, v0),
            last: (tn, vn),
            m2,
            integral,
        });
    }

    /// The summary of `points` (timestamp, value), oldest first.
    pub fn of_points(points: impl IntoIterator<Item = (i64, f64)>) -> Summary {
        let mut s = Summary::EMPTY;
        for (ts, x) in points {
            s.push(ts, x);
        }
        s
    }
}

/// Which of the costlier fields of a [`Summary`] an answer needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Wanted {
    /// The spread (`m2`), for the standard deviation.
    pub spread: bool,
    /// The step integral, for time-weighted averages.
    pub integral: bool,
}

/// Sum, minimum and maximum of `values` (at least one, none NaN), with four accumulators of
/// each so that the additions do not wait for one another. Without NaN a plain comparison
/// is the minimum (and compiles to one instruction, where `f64::min` needs three).
fn sum_min_max(values: &[f64]) -> (f64, f64, f64) {
    #[inline(always)]
    fn lower(a: f64, b: f64) -> f64 {
        if b < a {
            b
        } else {
            a
        }
    }
    #[inline(always)]
    fn higher(a: f64, b: f64) -> f64 {
        if b > a {
            b
        } else {
            a
        }
    }
    let mut sum = [0.0f64; 4];
    let mut min = [values[0]; 4];
    let mut max = [values[0]; 4];
    let quads = values.chunks_exact(4);
    let rest = quads.remainder();
    for q in quads {
        for k in 0..4 {
            sum[k] += q[k];
            min[k] = lower(min[k], q[k]);
            max[k] = higher(max[k], q[k]);
        }
    }
    for (k, &x) in rest.iter().enumerate() {
        sum[k] += x;
        min[k] = lower(min[k], x);
        max[k] = higher(max[k], x);
    }
    (
        (sum[0] + sum[1]) + (sum[2] + sum[3]),
        lower(lower(min[0], min[1]), lower(min[2], min[3])),
        higher(higher(max[0], max[1]), higher(max[2], max[3])),
    )
}

/// Σ vᵢ × (tᵢ₊₁ − tᵢ) over consecutive points.
fn step_integral(ts: &[i64], values: &[f64]) -> f64 {
    let mut acc = [0.0f64; 2];
    for (i, (w, v)) in ts.windows(2).zip(values).enumerate() {
        acc[i & 1] += v * span(w[0], w[1]);
    }
    acc[0] + acc[1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merging_halves_equals_pushing_every_point() {
        let pts: Vec<(i64, f64)> = (0..100)
            .map(|i| (i * 7 + (i % 3), 1e6 + (i as f64 * 0.37).sin()))
            .collect();
        let whole = Summary::of_points(pts.iter().copied());
        for cut in [1, 37, 99] {
            let mut a = Summary::of_points(pts[..cut].iter().copied());
            a.merge(&Summary::of_points(pts[cut..].iter().copied()));
            assert_eq!((a.count, a.min, a.max, a.first, a.last), {
                let w = whole;
                (w.count, w.min, w.max, w.first, w.last)
            });
            for (x, y) in [
                (a.sum, whole.sum),
                (a.m2, whole.m2),
                (a.integral, whole.integral),
            ] {
                assert!((x - y).abs() <= 1e-9 * y.abs(), "{x} vs {y}");
            }
        }
        // The spread of values near 1e6 that vary by ±1 survives (no sum-of-squares loss).
        let mean = whole.sum / 100.0;
        let direct: f64 = pts.iter().map(|p| (p.1 - mean) * (p.1 - mean)).sum();
        assert!((whole.m2 - direct).abs() <= 1e-6 * direct);
    }

    #[test]
    fn integral_holds_each_value_until_the_next_point() {
        let s = Summary::of_points([(0, 2.0), (10, 5.0), (15, 1.0)]);
        assert_eq!(s.integral, 2.0 * 10.0 + 5.0 * 5.0);
        let extreme = Summary::of_points([(i64::MIN, 1.0), (i64::MAX, 1.0)]);
        assert_eq!(extreme.integral, 2f64.powi(64) - 1.0);
    }
}
