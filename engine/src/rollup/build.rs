//! Which buckets a flush must recompute, and computing them from merged raw points.

use std::sync::Arc;

use super::{bucket_last, bucket_start, read, Bucket};
use crate::error::Result;
use crate::point::Point;
use crate::query::summary::Summary;
use crate::query::window::QualityFilter;
use crate::segment::reader::Segment;
use crate::series::SeriesKey;

/// The bucket starts of each tier that changed, for one series.
#[derive(Debug, Clone, Default)]
pub struct Touched {
    /// Per tier (in the order of the widths given), bucket starts; sorted and unique
    /// after [`Touched::finish`].
    pub starts: Vec<Vec<i64>>,
}

impl Touched {
    /// Nothing touched yet, for `tiers` tiers.
    pub fn new(tiers: usize) -> Touched {
        Touched {
            starts: vec![Vec::new(); tiers],
        }
    }

    /// Notes the buckets of `points` (sorted by time).
    pub fn points(&mut self, widths: &[i64], points: &[Point]) {
        for (starts, &w) in self.starts.iter_mut().zip(widths) {
            for p in points {
                let b = bucket_start(p.ts, w);
                if starts.last() != Some(&b) {
                    starts.push(b);
                }
            }
        }
    }

    /// Notes the buckets a delete of `start..end` changed: those at its two edges and every
    /// stored bucket with points inside it (`files`: the rollup files of the version).
    pub fn deleted(
        &mut self,
        widths: &[i64],
        files: &[Arc<Segment>],
        series: (u32, &SeriesKey),
        start: i64,
        end: i64,
    ) -> Result<()> {
        if end <= start {
            return Ok(());
        }
        for (starts, &w) in self.starts.iter_mut().zip(widths) {
            starts.push(bucket_start(start, w));
            starts.push(bucket_start(end - 1, w));
            let stored = read::buckets(files, series, w, bucket_start(start, w), end - 1)?;
            starts.extend(
                stored
                    .iter()
                    .filter(|s| s.bucket.summary.count > 0)
                    .map(|s| s.bucket.start),
            );
        }
        Ok(())
    }

    /// Sorts and de-duplicates the starts.
    pub fn finish(&mut self) {
        for s in &mut self.starts {
            s.sort_unstable();
            s.dedup();
        }
    }

    /// True when no bucket was touched.
    pub fn is_empty(&self) -> bool {
        self.starts.iter().all(Vec::is_empty)
    }
}

/// Runs of consecutive bucket starts (`starts` sorted), at most `max` buckets each, as
/// (first start, last start).
pub fn runs(starts: &[i64], width: i64, max: usize) -> Vec<(i64, i64)> {
    let mut out: Vec<(i64, i64, usize)> = Vec::new();
    for &s in starts {
        match out.last_mut() {
            Some((_, last, n)) if *n < max && last.checked_add(width) == Some(s) => {
                *last = s;
                *n += 1;
            }
            _ => out.push((s, s, 1)),
        }
    }
    out.into_iter().map(|(a, b, _)| (a, b)).collect()
}

/// The buckets starting at `starts` (sorted) from `points` (sorted, one per timestamp,
/// covering at least those buckets): the summary of each bucket's good, numeric points.
pub fn summarise(points: &[Point], width: i64, starts: &[i64]) -> Vec<Bucket> {
    let mut at = 0;
    starts
        .iter()
        .map(|&start| {
            let last = bucket_last(start, width);
            at += points[at..].partition_point(|p| p.ts < start);
            let mut summary = Summary::EMPTY;
            while let Some(p) = points.get(at).filter(|p| p.ts <= last) {
                if let Some(x) = QualityFilter::Good.uses(p) {
                    summary.push(p.ts, x);
                }
                at += 1;
            }
            Bucket { start, summary }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::point::{Quality, Value};

    #[test]
    fn buckets_summarise_good_numeric_points_only() {
        let pts = [
            Point::new(0, Value::F64(1.0)),
            Point::new(5, Value::F64(f64::NAN)),
            Point::with_quality(7, Value::F64(100.0), Quality::BAD),
            Point::new(9, Value::F64(3.0)),
            Point::new(10, Value::F64(5.0)),
            Point::new(35, Value::F64(7.0)),
        ];
        let b = summarise(&pts, 10, &[0, 10, 20, 30]);
        assert_eq!(b[0].summary, Summary::of_points([(0, 1.0), (9, 3.0)]));
        assert_eq!(b[1].summary, Summary::of(10, 5.0));
        assert_eq!(b[2].summary.count, 0);
        assert_eq!(b[3].summary, Summary::of(35, 7.0));
    }

    #[test]
    fn runs_split_at_gaps_and_at_the_limit() {
        assert_eq!(
            runs(&[0, 10, 20, 40, 50, 60, 70], 10, 3),
            vec![(0, 20), (40, 60), (70, 70)]
        );
        assert!(runs(&[], 10, 3).is_empty());
    }

    #[test]
    fn touched_buckets_are_sorted_and_unique() {
        let mut t = Touched::new(2);
        let pts: Vec<Point> = [3, 4, 12, 29, 31]
            .map(|ts| Point::new(ts, Value::I64(1)))
            .to_vec();
        t.points(&[10, 100], &pts);
        t.points(&[10, 100], &pts[..1]);
        t.finish();
        assert_eq!(t.starts, vec![vec![0, 10, 20, 30], vec![0]]);
    }
}
