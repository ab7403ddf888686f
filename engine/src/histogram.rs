//! A lock-free latency histogram with fixed exponential buckets, for fsync and query
//! latencies: recording is two relaxed atomic adds, so hot paths can afford it, and a
//! snapshot is what Prometheus's histogram type wants (cumulative buckets, sum, count).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the buckets, in seconds: 10 µs to about 42 s, doubling (23 buckets), plus
/// the implicit `+Inf`.
pub const BUCKET_BOUNDS_SECONDS: [f64; 23] = {
    let mut b = [0.0; 23];
    let mut i = 0;
    while i < 23 {
        // From integer nanoseconds, so that the bounds print as short decimals.
        b[i] = (10_000u64 << i) as f64 / 1e9;
        i += 1;
    }
    b
};

/// Counts of durations per bucket, their sum and their count.
#[derive(Debug, Default)]
pub struct Histogram {
    buckets: [AtomicU64; 24],
    sum_nanos: AtomicU64,
    count: AtomicU64,
}

/// A copy of a [`Histogram`] at one moment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HistogramSnapshot {
    /// Observations per bucket (not cumulative); the last is `+Inf`.
    pub buckets: Vec<u64>,
    /// Sum of all observations, in seconds.
    pub sum_seconds: f64,
    /// Number of observations.
    pub count: u64,
}

impl Histogram {
    /// An empty histogram.
    pub fn new() -> Histogram {
        Histogram::default()
    }

    /// Records one duration.
    pub fn record(&self, d: Duration) {
        let secs = d.as_secs_f64();
        let i = BUCKET_BOUNDS_SECONDS
            .iter()
            .position(|&b| secs <= b)
            .unwrap_or(BUCKET_BOUNDS_SECONDS.len());
        self.buckets[i].fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    /// The current counts.
    pub fn snapshot(&self) -> HistogramSnapshot {
        HistogramSnapshot {
            buckets: self
                .buckets
                .iter()
                .map(|b| b.load(Ordering::Relaxed))
                .collect(),
            sum_seconds: self.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9,
            count: self.count.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_land_in_the_first_bucket_that_holds_them() {
        let h = Histogram::new();
        h.record(Duration::from_micros(5)); // <= 10 µs
        h.record(Duration::from_micros(10)); // <= 10 µs
        h.record(Duration::from_micros(15)); // <= 20 µs
        h.record(Duration::from_secs(100)); // +Inf
        let s = h.snapshot();
        assert_eq!(s.buckets[0], 2);
        assert_eq!(s.buckets[1], 1);
        assert_eq!(s.buckets[23], 1);
        assert_eq!(s.count, 4);
        assert!((s.sum_seconds - 100.00003).abs() < 1e-9);
    }
}
