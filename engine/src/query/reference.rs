//! The obvious, slow way to answer a windowed aggregate: every window looks at every used
//! point of the whole series. Every faster path (the window builder over raw points, chunk
//! summaries, rollup tiers) is checked against it in tests; it is public so that the
//! engine's integration tests can use it too. Quadratic: not for real queries.

use super::window::{fill, Aggregate, Neighbours, QualityFilter, Window, WindowSpec};
use crate::point::Point;

/// The used points of `points`, in time order.
pub fn used(points: &[Point], q: QualityFilter) -> Vec<(i64, f64)> {
    points
        .iter()
        .filter_map(|p| q.uses(p).map(|x| (p.ts, x)))
        .collect()
}

/// The neighbours of `spec`'s range among `points`, as the engine finds them.
pub fn around(points: &[Point], spec: &WindowSpec) -> Neighbours {
    let u = used(points, spec.quality);
    Neighbours {
        before: u.iter().rev().find(|p| p.0 < spec.start).copied(),
        after: u.iter().find(|p| p.0 >= spec.end).copied(),
    }
}

/// The windows of `spec` over `points` (the whole series, sorted, one per timestamp).
pub fn naive(points: &[Point], spec: &WindowSpec) -> Vec<Window> {
    let Some(n) = spec.windows() else {
        return Vec::new();
    };
    let all = used(points, spec.quality);
    let mut raw = Vec::new();
    for i in 0..n {
        let ws = spec.start as i128 + i as i128 * spec.step as i128;
        let we = (ws + spec.step as i128).min(spec.end as i128);
        let xs: Vec<f64> = all
            .iter()
            .filter(|p| (p.0 as i128) >= ws && (p.0 as i128) < we)
            .map(|p| p.1)
            .collect();
        let c = xs.len() as u64;
        let at_or_before = |t: i128| all.iter().rev().find(|p| p.0 as i128 <= t).copied();
        let value = match spec.aggregate {
            Aggregate::Count => Some(c as f64),
            Aggregate::TimeWeighted => {
                // Integrate the held value piece by piece.
                let mut integral = 0.0;
                let mut known = 0.0;
                for (j, &(t, v)) in all.iter().enumerate() {
                    let until = all.get(j + 1).map_or(i128::MAX, |n| n.0 as i128);
                    let lo = (t as i128).max(ws);
                    let hi = until.min(we);
                    if hi > lo {
                        integral += v * (hi - lo) as f64;
                        known += (hi - lo) as f64;
                    }
                }
                (known > 0.0).then(|| integral / known)
            }
            Aggregate::InterpolatePrevious => at_or_before(ws).map(|p| p.1),
            Aggregate::InterpolateLinear => match at_or_before(ws) {
                Some(p) if p.0 as i128 == ws => Some(p.1),
                Some((t0, v0)) => all.iter().find(|p| p.0 as i128 > ws).map(|&(t1, v1)| {
                    v0 + (v1 - v0) * ((ws - t0 as i128) as f64 / (t1 as i128 - t0 as i128) as f64)
                }),
                None => None,
            },
            _ if xs.is_empty() => None,
            Aggregate::Sum => Some(xs.iter().sum()),
            Aggregate::Min => xs.iter().copied().reduce(f64::min),
            Aggregate::Max => xs.iter().copied().reduce(f64::max),
            Aggregate::Mean => Some(xs.iter().sum::<f64>() / c as f64),
            Aggregate::First => xs.first().copied(),
            Aggregate::Last => xs.last().copied(),
            Aggregate::Stddev if c < 2 => None,
            Aggregate::Stddev => {
                let mean = xs.iter().sum::<f64>() / c as f64;
                Some(
                    (xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (c - 1) as f64)
                        .sqrt(),
                )
            }
        };
        raw.push(Window {
            start: ws as i64,
            count: c,
            value,
        });
    }
    fill(raw, spec)
}
