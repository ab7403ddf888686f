use super::*;
use crate::point::Quality;
use proptest::prelude::*;

/// The obvious way: every window filters every point.
fn naive(points: &[Point], spec: &WindowSpec) -> Vec<Window> {
    let Some(n) = spec.windows() else {
        return Vec::new();
    };
    let mut raw = Vec::new();
    for i in 0..n {
        let ws = spec.start as i128 + i as i128 * spec.step as i128;
        let we = (ws + spec.step as i128).min(spec.end as i128);
        let xs: Vec<f64> = points
            .iter()
            .filter(|p| (p.ts as i128) >= ws && (p.ts as i128) < we)
            .filter(|p| spec.quality.admits(p))
            .filter_map(|p| number(p.value))
            .collect();
        let c = xs.len() as u64;
        let value = if xs.is_empty() {
            None
        } else {
            let sum: f64 = xs.iter().sum();
            let mean = sum / c as f64;
            match spec.aggregate {
                Aggregate::Count => Some(c as f64),
                Aggregate::Sum => Some(sum),
                Aggregate::Min => xs.iter().copied().reduce(f64::min),
                Aggregate::Max => xs.iter().copied().reduce(f64::max),
                Aggregate::Mean => Some(mean),
                Aggregate::First => xs.first().copied(),
                Aggregate::Last => xs.last().copied(),
                Aggregate::Stddev if c < 2 => None,
                Aggregate::Stddev => Some(
                    (xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (c - 1) as f64)
                        .sqrt(),
                ),
            }
        };
        raw.push((ws as i64, c, value));
    }
    fill(raw, spec)
}

fn close(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (Some(x), Some(y)) => {
            x == y
                || (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1e-300)
                || (x - y).abs() < 1e-9
        }
        (None, None) => true,
        _ => false,
    }
}

fn spec(start: i64, end: i64, step: i64, aggregate: Aggregate, fill: Fill) -> WindowSpec {
    WindowSpec {
        start,
        end,
        step,
        aggregate,
        fill,
        quality: QualityFilter::Good,
    }
}

#[test]
fn hourly_means_with_gaps_and_every_fill() {
    // Points at 0..10 and 30..40 (value = ts), windows of 10 over [0, 50).
    let pts: Vec<Point> = (0..10)
        .chain(30..40)
        .map(|t| Point::new(t, Value::F64(t as f64)))
        .collect();
    let s = |fill| spec(0, 50, 10, Aggregate::Mean, fill);
    let values = |w: Vec<Window>| w.iter().map(|w| (w.start, w.value)).collect::<Vec<_>>();
    assert_eq!(
        values(aggregate_windows(&pts, &s(Fill::None))),
        vec![(0, Some(4.5)), (30, Some(34.5))]
    );
    assert_eq!(
        values(aggregate_windows(&pts, &s(Fill::Null))),
        vec![
            (0, Some(4.5)),
            (10, None),
            (20, None),
            (30, Some(34.5)),
            (40, None)
        ]
    );
    assert_eq!(
        values(aggregate_windows(&pts, &s(Fill::Previous))),
        vec![
            (0, Some(4.5)),
            (10, Some(4.5)),
            (20, Some(4.5)),
            (30, Some(34.5)),
            (40, Some(34.5))
        ]
    );
    assert_eq!(
        values(aggregate_windows(&pts, &s(Fill::Linear))),
        vec![
            (0, Some(4.5)),
            (10, Some(14.5)),
            (20, Some(24.5)),
            (30, Some(34.5)),
            (40, None)
        ]
    );
    let counts = aggregate_windows(&pts, &spec(0, 50, 10, Aggregate::Count, Fill::Null));
    assert_eq!(
        counts.iter().map(|w| w.value).collect::<Vec<_>>(),
        vec![Some(10.0), Some(0.0), Some(0.0), Some(10.0), Some(0.0)]
    );
}

#[test]
fn bad_quality_and_nan_readings_are_not_used() {
    let pts = vec![
        Point::new(0, Value::F64(1.0)),
        Point::with_quality(1, Value::F64(100.0), Quality::BAD),
        Point::with_quality(2, Value::F64(3.0), Quality::UNCERTAIN),
        Point::new(3, Value::F64(f64::NAN)),
        Point::new(4, Value::I64(5)),
    ];
    let mut s = spec(0, 10, 10, Aggregate::Sum, Fill::None);
    let w = aggregate_windows(&pts, &s);
    assert_eq!((w[0].count, w[0].value), (2, Some(6.0)));
    s.quality = QualityFilter::GoodOrUncertain;
    assert_eq!(aggregate_windows(&pts, &s)[0].value, Some(9.0));
    s.quality = QualityFilter::All;
    assert_eq!(aggregate_windows(&pts, &s)[0].value, Some(109.0));
}

#[test]
fn empty_and_invalid_requests_have_no_windows() {
    let pts = [Point::new(5, Value::F64(1.0))];
    assert!(aggregate_windows(&pts, &spec(0, 10, 0, Aggregate::Sum, Fill::Null)).is_empty());
    assert!(aggregate_windows(&pts, &spec(10, 10, 1, Aggregate::Sum, Fill::Null)).is_empty());
    // The extremes of i64 do not overflow.
    let w = aggregate_windows(
        &pts,
        &spec(i64::MIN, i64::MAX, i64::MAX, Aggregate::Last, Fill::Null),
    );
    assert_eq!(w.len(), 3);
    assert_eq!(w[1].value, Some(1.0));
}

const AGGS: [Aggregate; 8] = [
    Aggregate::Count,
    Aggregate::Sum,
    Aggregate::Min,
    Aggregate::Max,
    Aggregate::Mean,
    Aggregate::First,
    Aggregate::Last,
    Aggregate::Stddev,
];
const FILLS: [Fill; 4] = [Fill::None, Fill::Null, Fill::Previous, Fill::Linear];

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn every_aggregate_and_fill_equals_the_naive_reference(
        raw in prop::collection::btree_map(-500i64..500, (prop_oneof![
            8 => (-1e6f64..1e6).prop_map(Value::F64),
            1 => Just(Value::F64(f64::NAN)),
            1 => (-1000i64..1000).prop_map(Value::I64),
        ], prop_oneof![6 => Just(Quality::GOOD), 1 => Just(Quality::UNCERTAIN), 1 => Just(Quality::BAD)]), 0..200),
        start in -600i64..100,
        len in 0i64..1200,
        step in 1i64..200,
        agg in 0usize..8,
        fill in 0usize..4,
        quality in 0usize..3,
    ) {
        let pts: Vec<Point> = raw.iter().map(|(&t, &(v, q))| Point::with_quality(t, v, q)).collect();
        let mut s = spec(start, start + len, step, AGGS[agg], FILLS[fill]);
        s.quality = [QualityFilter::Good, QualityFilter::GoodOrUncertain, QualityFilter::All][quality];
        let got = aggregate_windows(&pts, &s);
        let want = naive(&pts, &s);
        prop_assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(&want) {
            prop_assert_eq!((g.start, g.count), (w.start, w.count));
            prop_assert!(close(g.value, w.value), "{:?} vs {:?}", g, w);
        }
    }
}
