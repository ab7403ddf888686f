use super::*;
use crate::point::Quality;
use crate::query::reference::{around, naive};
use proptest::prelude::*;

/// Windows of `spec` over `points` through the builder, neighbours found as the engine does.
fn windows(points: &[Point], spec: &WindowSpec) -> Vec<Window> {
    aggregate_windows(points, around(points, spec), spec)
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
        values(windows(&pts, &s(Fill::None))),
        vec![(0, Some(4.5)), (30, Some(34.5))]
    );
    assert_eq!(
        values(windows(&pts, &s(Fill::Null))),
        vec![
            (0, Some(4.5)),
            (10, None),
            (20, None),
            (30, Some(34.5)),
            (40, None)
        ]
    );
    assert_eq!(
        values(windows(&pts, &s(Fill::Previous))),
        vec![
            (0, Some(4.5)),
            (10, Some(4.5)),
            (20, Some(4.5)),
            (30, Some(34.5)),
            (40, Some(34.5))
        ]
    );
    assert_eq!(
        values(windows(&pts, &s(Fill::Linear))),
        vec![
            (0, Some(4.5)),
            (10, Some(14.5)),
            (20, Some(24.5)),
            (30, Some(34.5)),
            (40, None)
        ]
    );
    let counts = windows(&pts, &spec(0, 50, 10, Aggregate::Count, Fill::Null));
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
    let w = windows(&pts, &s);
    assert_eq!((w[0].count, w[0].value), (2, Some(6.0)));
    s.quality = QualityFilter::GoodOrUncertain;
    assert_eq!(windows(&pts, &s)[0].value, Some(9.0));
    s.quality = QualityFilter::All;
    assert_eq!(windows(&pts, &s)[0].value, Some(109.0));
}

#[test]
fn empty_and_invalid_requests_have_no_windows() {
    let pts = [Point::new(5, Value::F64(1.0))];
    assert!(windows(&pts, &spec(0, 10, 0, Aggregate::Sum, Fill::Null)).is_empty());
    assert!(windows(&pts, &spec(10, 10, 1, Aggregate::Sum, Fill::Null)).is_empty());
    // The extremes of i64 do not overflow.
    let w = windows(
        &pts,
        &spec(i64::MIN, i64::MAX, i64::MAX, Aggregate::Last, Fill::Null),
    );
    assert_eq!(w.len(), 3);
    assert_eq!(w[1].value, Some(1.0));
}

#[test]
fn time_weighted_and_interpolated_values_hold_each_reading() {
    // 10 held over [0, 4), 20 over [4, 10), 30 from 10 on; one value before the range.
    let pts = [
        Point::new(-5, Value::F64(10.0)),
        Point::new(4, Value::F64(20.0)),
        Point::new(10, Value::F64(30.0)),
        Point::new(25, Value::F64(0.0)),
    ];
    let run = |agg| {
        windows(&pts, &spec(0, 20, 5, agg, Fill::None))
            .iter()
            .map(|w| (w.start, w.count, w.value))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        run(Aggregate::TimeWeighted),
        vec![
            (0, 1, Some((10.0 * 4.0 + 20.0) / 5.0)),
            (5, 0, Some(20.0)),
            (10, 1, Some(30.0)),
            (15, 0, Some(30.0)),
        ]
    );
    assert_eq!(
        run(Aggregate::InterpolatePrevious)
            .iter()
            .map(|w| w.2)
            .collect::<Vec<_>>(),
        vec![Some(10.0), Some(20.0), Some(30.0), Some(30.0)]
    );
    // At 0: between (-5, 10) and (4, 20); at 15: between (10, 30) and (25, 0), which lies
    // after the range.
    let linear = run(Aggregate::InterpolateLinear);
    assert_eq!(linear[0].2, Some(10.0 + 10.0 * 5.0 / 9.0));
    assert_eq!(linear[2].2, Some(30.0));
    assert_eq!(linear[3].2, Some(30.0 - 30.0 * 5.0 / 15.0));
    // Without the point before the range, the first window is known only from 4 on.
    let later = windows(
        &pts[1..],
        &spec(0, 5, 5, Aggregate::TimeWeighted, Fill::None),
    );
    assert_eq!(later[0].value, Some(20.0));
    let none = windows(
        &pts[1..],
        &spec(0, 4, 2, Aggregate::InterpolateLinear, Fill::Null),
    );
    assert_eq!(
        none.iter().map(|w| w.value).collect::<Vec<_>>(),
        vec![None, None]
    );
}

const AGGS: [Aggregate; 11] = Aggregate::ALL;
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
        agg in 0usize..11,
        fill in 0usize..4,
        quality in 0usize..3,
    ) {
        let pts: Vec<Point> = raw.iter().map(|(&t, &(v, q))| Point::with_quality(t, v, q)).collect();
        let mut s = spec(start, start + len, step, AGGS[agg], FILLS[fill]);
        s.quality = [QualityFilter::Good, QualityFilter::GoodOrUncertain, QualityFilter::All][quality];
        let got = windows(&pts, &s);
        let want = naive(&pts, &s);
        prop_assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(&want) {
            prop_assert_eq!((g.start, g.count), (w.start, w.count));
            prop_assert!(close(g.value, w.value), "{:?} vs {:?}", g, w);
        }
    }
}
