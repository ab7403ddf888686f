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

    /// The summary of `points` (timestamp, value), oldest first.
    pub fn of_points(points: impl IntoIterator<Item = (i64, f64)>) -> Summary {
        let mut s = Summary::EMPTY;
        for (ts, x) in points {
            s.push(ts, x);
        }
        s
    }
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
