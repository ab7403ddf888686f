//! Property tests of the packed chunk encoding (encoding 2): for every forced plan and for the
//! chooser, the round trip through `decode_chunk` is bit-exact (timestamps, value bits with NaN
//! payloads and -0.0, quality codes, order and duplicates kept), and decoding into columns
//! (`decode_columns`, what aggregates read) gives the same points as decoding into rows;
//! damaged chunks decode to an error or to points, never a panic, the same either way.

#![allow(clippy::unwrap_used)]

use lodestone_engine::codec::packed::{
    describe, encode_packed, Plan, TimeCoding, ValueCoding, MAX_POINTS,
};
use lodestone_engine::codec::{
    compress, decode_chunk, decode_chunk_into, decode_columns, read_header, CodecError, Columns,
    Encoding,
};
use lodestone_engine::{Point, Quality, Value, ValueType};
use proptest::collection::vec;
use proptest::prelude::*;

/// Longest series the property tests generate: big enough for the chooser's statistics to
/// matter, small enough for CI.
const MAX_LEN: usize = 600;

const TIME_CODINGS: [TimeCoding; 2] = [TimeCoding::Delta, TimeCoding::Grid];

/// Every plan that fits values of type `vt`.
fn plans(vt: ValueType) -> Vec<Plan> {
    let values: &[ValueCoding] = match vt {
        ValueType::F64 => &[ValueCoding::Xor, ValueCoding::Decimal, ValueCoding::Split],
        ValueType::I64 | ValueType::Bool => &[ValueCoding::Int],
    };
    TIME_CODINGS
        .iter()
        .flat_map(|&time| values.iter().map(move |&value| Plan { time, value }))
        .collect()
}

/// Every plan that does not fit values of type `vt`.
fn wrong_plans(vt: ValueType) -> Vec<Plan> {
    let all = [
        ValueCoding::Xor,
        ValueCoding::Decimal,
        ValueCoding::Split,
        ValueCoding::Int,
    ];
    let fits = plans(vt);
    TIME_CODINGS
        .iter()
        .flat_map(|&time| all.iter().map(move |&value| Plan { time, value }))
        .filter(|p| !fits.contains(p))
        .collect()
}

fn assert_same(got: &[Point], want: &[Point], how: &str) -> Result<(), TestCaseError> {
    prop_assert_eq!(got.len(), want.len(), "{}: point count", how);
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        prop_assert_eq!(g.ts, w.ts, "{}: timestamp of point {}", how, i);
        prop_assert_eq!(
            g.value.value_type(),
            w.value.value_type(),
            "{}: value type of point {}",
            how,
            i
        );
        prop_assert_eq!(
            g.value.to_bits(),
            w.value.to_bits(),
            "{}: value bits of point {} (got {:?}, want {:?})",
            how,
            i,
            g.value,
            w.value
        );
        prop_assert_eq!(g.quality, w.quality, "{}: quality of point {}", how, i);
    }
    Ok(())
}

/// The header of a packed chunk holding `points` of type `vt`.
fn check_header(bytes: &[u8], vt: ValueType, n: usize, how: &str) -> Result<(), TestCaseError> {
    prop_assert_eq!(
        bytes.first().copied(),
        Some(Encoding::Packed.code()),
        "{}: encoding byte",
        how
    );
    let h = read_header(bytes).map_err(|e| TestCaseError::fail(format!("{how}: header: {e}")))?;
    prop_assert_eq!(h.encoding, Encoding::Packed, "{}: header encoding", how);
    prop_assert_eq!(h.value_type, vt, "{}: header value type", how);
    prop_assert_eq!(h.count as usize, n, "{}: header count", how);
    Ok(())
}

fn decode_checked(bytes: &[u8], how: &str) -> Result<Vec<Point>, TestCaseError> {
    let rows = decode_chunk(bytes).map_err(|e| TestCaseError::fail(format!("{how}: decode: {e}")));
    columns_agree(bytes, rows.as_ref().ok().map(Vec::as_slice), how)?;
    rows
}

/// Decodes `bytes` into columns and checks them against the rows decoding gave (`None` when
/// it failed, and then decoding into columns must fail too): timestamps, values as numbers
/// (bit for bit, once divided by the scale), quality runs; `nan_free` only when true.
fn columns_agree(bytes: &[u8], rows: Option<&[Point]>, how: &str) -> Result<(), TestCaseError> {
    let mut cols = Columns::default();
    // Start from columns of another chunk: nothing of them may remain.
    cols.set_points(&[Point::with_quality(7, Value::F64(1.5), Quality(9)); 3]);
    let got = decode_columns(bytes, &mut cols);
    let Some(rows) = rows else {
        prop_assert!(got.is_err(), "{}: columns decoded what rows refused", how);
        prop_assert!(cols.is_empty(), "{}: columns left after an error", how);
        return Ok(());
    };
    prop_assert!(
        got.is_ok(),
        "{}: columns refused what rows decoded: {:?}",
        how,
        got.err()
    );
    prop_assert!(
        !cols.nan_free || cols.values.iter().all(|v| !v.is_nan()),
        "{}: nan_free with a NaN",
        how
    );
    cols.divide();
    let mut want = Columns::default();
    want.set_points(rows);
    prop_assert_eq!(&cols.ts, &want.ts, "{}: column timestamps", how);
    prop_assert_eq!(&cols.quality, &want.quality, "{}: column quality runs", how);
    let bits = |c: &Columns| c.values.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    prop_assert_eq!(bits(&cols), bits(&want), "{}: column values", how);
    Ok(())
}

/// The whole contract for one series: every fitting plan round-trips bit-exact and is what
/// `describe` reports; the chooser (`encode_packed(.., None)` and `compress`) round-trips, picks
/// a fitting plan and is no bigger than any forced plan; a plan that does not fit is an error.
fn check_all_plans(vt: ValueType, pts: &[Point]) -> Result<(), TestCaseError> {
    let mut smallest = usize::MAX;
    for plan in plans(vt) {
        let how = format!("{plan:?}");
        let bytes = encode_packed(vt, pts, Some(plan))
            .map_err(|e| TestCaseError::fail(format!("{how}: encode: {e}")))?;
        check_header(&bytes, vt, pts.len(), &how)?;
        assert_same(&decode_checked(&bytes, &how)?, pts, &how)?;
        let described =
            describe(&bytes).map_err(|e| TestCaseError::fail(format!("{how}: describe: {e}")))?;
        prop_assert_eq!(described, plan, "{}: describe", how);
        smallest = smallest.min(bytes.len());
    }
    for plan in wrong_plans(vt) {
        prop_assert!(
            encode_packed(vt, pts, Some(plan)).is_err(),
            "{:?} accepted for {}",
            plan,
            vt
        );
    }

    let chosen = encode_packed(vt, pts, None)
        .map_err(|e| TestCaseError::fail(format!("chooser: encode: {e}")))?;
    check_header(&chosen, vt, pts.len(), "chooser")?;
    assert_same(&decode_checked(&chosen, "chooser")?, pts, "chooser")?;
    let plan =
        describe(&chosen).map_err(|e| TestCaseError::fail(format!("chooser: describe: {e}")))?;
    prop_assert!(
        plans(vt).contains(&plan),
        "chooser picked {:?} for {}",
        plan,
        vt
    );
    prop_assert!(
        chosen.len() <= smallest,
        "chooser picked {:?} ({} bytes), a forced plan makes {} bytes",
        plan,
        chosen.len(),
        smallest
    );

    let compressed =
        compress(vt, pts).map_err(|e| TestCaseError::fail(format!("compress: {e}")))?;
    check_header(&compressed, vt, pts.len(), "compress")?;
    // decode_chunk_into appends after what the vector holds.
    let sentinel = Point::with_quality(42, Value::I64(-42), Quality(7));
    let mut out = vec![sentinel];
    decode_chunk_into(&compressed, &mut out)
        .map_err(|e| TestCaseError::fail(format!("compress: decode_chunk_into: {e}")))?;
    prop_assert_eq!(
        out[0],
        sentinel,
        "decode_chunk_into overwrote what was there"
    );
    assert_same(&out[1..], pts, "compress")?;
    Ok(())
}

fn points(ts: &[i64], vals: impl IntoIterator<Item = Value>, q: &[Quality]) -> Vec<Point> {
    ts.iter()
        .zip(vals)
        .zip(q)
        .map(|((&t, v), &q)| Point::with_quality(t, v, q))
        .collect()
}

/// The points in a compact form to paste into a reproducer: `(ts, value bits, quality)`.
fn dump(pts: &[Point]) -> String {
    let rows: Vec<String> = pts
        .iter()
        .map(|p| {
            format!(
                "({}, {:#018x}, {:#x})",
                p.ts,
                p.value.to_bits(),
                p.quality.0
            )
        })
        .collect();
    format!("{} points [{}]", pts.len(), rows.join(", "))
}

/// [`check_all_plans`], the failure message ending with the points.
fn check_series(vt: ValueType, pts: &[Point]) -> Result<(), TestCaseError> {
    check_all_plans(vt, pts).map_err(|e| match e {
        TestCaseError::Fail(why) => TestCaseError::fail(format!(
            "{why}\n{vt} points (ts, bits, quality): {}",
            dump(pts)
        )),
        other => other,
    })
}

// ---------------------------------------------------------------------------------------------
// Strategies. A series is one vector of per-point recipes (clock step, value, quality) with
// series-wide parameters beside it, so that shrinking drops whole points.

/// Floats that look decimal but are not exact decimals at a scale up to 6.
fn not_quite_decimal() -> impl Strategy<Value = u64> {
    prop_oneof![
        prop::sample::select(vec![
            (0.1f64 + 0.2).to_bits(),
            (1.0f64 / 3.0).to_bits(),
            (2.0f64 / 3.0).to_bits(),
            (0.1f64 * 3.0).to_bits(),
            (100.0f64 / 7.0).to_bits(),
            std::f64::consts::PI.to_bits(),
            1.000_000_1f64.to_bits(),
            0.000_000_1f64.to_bits(),
            123_456.789_012_345_6f64.to_bits(),
        ]),
        // An exact decimal one ulp off.
        (-10_000_000i64..10_000_000, 0u32..=6, any::<bool>()).prop_map(|(k, s, up)| {
            let b = (k as f64 / 10f64.powi(s as i32)).to_bits();
            if up {
                b.wrapping_add(1)
            } else {
                b.wrapping_sub(1)
            }
        }),
        // Decimals at scales beyond 6.
        (-1_000_000_000i64..1_000_000_000, 7u32..=17)
            .prop_map(|(k, s)| (k as f64 / 10f64.powi(s as i32)).to_bits()),
    ]
}

/// Bit patterns that break naive float handling.
fn special_float() -> impl Strategy<Value = u64> {
    prop::sample::select(vec![
        f64::NAN.to_bits(),
        0x7ff8_0000_0000_0001,
        0xfff8_dead_beef_0000,
        0x7ff0_0000_0000_0001, // signalling NaN
        0xffff_ffff_ffff_ffff,
        (-0.0f64).to_bits(),
        0,
        f64::INFINITY.to_bits(),
        f64::NEG_INFINITY.to_bits(),
        1,                     // smallest subnormal
        0x000f_ffff_ffff_ffff, // largest subnormal
        0x8000_0000_0000_0001,
        f64::MIN_POSITIVE.to_bits(),
        f64::MAX.to_bits(),
        f64::MIN.to_bits(),
        f64::EPSILON.to_bits(),
        (9_007_199_254_740_993i64 as f64).to_bits(),
        1e300f64.to_bits(),
        (-1e-300f64).to_bits(),
    ])
}

/// Numerators of decimals: small, up to 2^53, and any.
fn decimal_numerator() -> impl Strategy<Value = i64> {
    prop_oneof![
        3 => -1_000_000i64..1_000_000,
        1 => -(1i64 << 53)..(1i64 << 53),
        1 => any::<i64>(),
    ]
}

/// An exact decimal `k / 10^s`, s in 0..=6.
fn exact_decimal() -> impl Strategy<Value = u64> {
    (decimal_numerator(), 0u32..=6).prop_map(|(k, s)| (k as f64 / 10f64.powi(s as i32)).to_bits())
}

/// Any float bit pattern, the awkward ones likely.
fn float_bits() -> impl Strategy<Value = u64> {
    prop_oneof![
        3 => any::<u64>(),
        2 => special_float(),
        2 => exact_decimal(),
        2 => not_quite_decimal(),
        1 => (-1e6f64..1e6).prop_map(f64::to_bits),
    ]
}

/// What a reading does to the clock, relative to a regular grid of one period.
#[derive(Debug, Clone, Copy)]
enum Step {
    /// The next grid point, give or take the jitter.
    Next,
    /// Skips this many periods (a gap).
    Gap(u32),
    /// The same timestamp as the previous point.
    Dup,
    /// Before the previous point, by up to ten periods.
    Back(u64),
    /// This timestamp (any, an extreme); the grid carries on after it.
    At(i64),
}

/// A reading of a regular clock: mostly the next period, sometimes a gap, a duplicate, a
/// step back or a wild timestamp.
fn regular_step() -> impl Strategy<Value = Step> {
    prop_oneof![
        40 => Just(Step::Next),
        2 => prop_oneof![2u32..5, 5u32..100_000].prop_map(Step::Gap),
        2 => Just(Step::Dup),
        1 => any::<u64>().prop_map(Step::Back),
        1 => extreme_int().prop_map(Step::At),
        1 => any::<i64>().prop_map(Step::At),
    ]
}

/// Any i64 timestamps in any order, duplicates and extremes likely.
fn wild_step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => any::<i64>().prop_map(Step::At),
        1 => extreme_int().prop_map(Step::At),
        3 => (0i64..5).prop_map(Step::At),
        1 => Just(Step::Dup),
        1 => Just(Step::Next),
    ]
}

/// The steps of a series' clock: `0..4` a regular clock, `4` wild timestamps.
fn step_shape(i: usize) -> BoxedStrategy<Step> {
    if i < 4 {
        regular_step().boxed()
    } else {
        wild_step().boxed()
    }
}

/// The grid the steps follow: nanosecond timestamps, mostly 1 s ± a few ms; arithmetic wraps
/// or saturates at the ends of `i64`; `reverse` makes the series decreasing.
#[derive(Debug, Clone, Copy)]
struct Clock {
    start: i64,
    period: i64,
    jitter: u64,
    reverse: bool,
    saturate: bool,
}

fn clock() -> impl Strategy<Value = Clock> {
    let start = prop_oneof![
        4 => 1_700_000_000_000_000_000i64..1_800_000_000_000_000_000,
        1 => any::<i64>(),
        1 => prop::sample::select(vec![
            i64::MIN, i64::MIN + 1, i64::MAX, i64::MAX - 1, 0, -1,
            i64::MAX - 100_000_000_000, i64::MIN + 100_000_000_000,
        ]),
    ];
    let period = prop_oneof![
        6 => Just(1_000_000_000i64),
        1 => prop::sample::select(vec![1i64, 1_000, 1_000_000, 100_000_000, 10_000_000_000, 3_600_000_000_000]),
        1 => Just(0i64),
        1 => 1i64..100_000_000_000,
        1 => any::<i64>(),
    ];
    let jitter = prop_oneof![
        2 => Just(0u64),
        4 => prop::sample::select(vec![1_000_000u64, 3_000_000, 5_000_000]),
        1 => prop::sample::select(vec![1u64, 1_000, 50_000_000, 400_000_000, 2_000_000_000]),
        1 => any::<u64>().prop_map(|j| j >> 2),
    ];
    (
        start,
        period,
        jitter,
        prop_oneof![4 => Just(false), 1 => Just(true)],
        any::<bool>(),
    )
        .prop_map(|(start, period, jitter, reverse, saturate)| Clock {
            start,
            period,
            jitter,
            reverse,
            saturate,
        })
}

impl Clock {
    fn timestamps(&self, steps: impl IntoIterator<Item = (Step, u64)>) -> Vec<i64> {
        let fit = |t: i128| -> i64 {
            if self.saturate {
                t.clamp(i64::MIN as i128, i64::MAX as i128) as i64
            } else {
                t as i64 // wraps
            }
        };
        let at = |grid: i128, seed: u64| -> i64 {
            let j = if self.jitter == 0 {
                0
            } else {
                (seed as u128 % (2 * self.jitter as u128 + 1)) as i128 - self.jitter as i128
            };
            fit(self.start as i128 + grid * self.period as i128 + j)
        };
        let mut grid: i128 = 0;
        let mut prev: Option<i64> = None;
        let mut out = Vec::new();
        for (step, seed) in steps {
            let t = match (step, prev) {
                (Step::Dup, Some(p)) => p,
                (Step::Back(b), Some(p)) => {
                    let by = (b as u128 % (10 * self.period.unsigned_abs() as u128 + 2)) as i128;
                    fit(p as i128 - by)
                }
                (Step::At(t), _) => t,
                (Step::Gap(k), _) => {
                    grid += k as i128;
                    at(grid, seed)
                }
                _ => {
                    if prev.is_some() {
                        grid += 1;
                    }
                    at(grid, seed)
                }
            };
            out.push(t);
            prev = Some(t);
        }
        if self.reverse {
            out.reverse();
        }
        out
    }
}

/// A quality code: `None` repeats the previous point's (good at first). Shapes: `0` all good,
/// `1` mostly good point by point, `2` runs.
fn quality_shape(i: usize) -> BoxedStrategy<Option<Quality>> {
    let code = || {
        prop_oneof![
            12 => Just(Quality::GOOD),
            1 => prop::sample::select(vec![Quality::UNCERTAIN, Quality::BAD, Quality(0x8034_0000), Quality(u32::MAX)]),
            1 => any::<u32>().prop_map(Quality),
        ]
    };
    match i {
        0 => Just(Some(Quality::GOOD)).boxed(),
        1 => code().prop_map(Some).boxed(),
        _ => prop_oneof![20 => Just(None), 1 => code().prop_map(Some)].boxed(),
    }
}

/// One point: a clock step, the seed of its jitter, how its value comes about, its quality.
type Row<R> = (Step, u64, R, Option<Quality>);

/// The rows of a series: one clock shape, one value shape (of `value_shapes`, made by
/// `value_shape`), one quality shape for all its points; one vector, so that shrinking drops
/// whole points.
fn rows<R: Clone + std::fmt::Debug + 'static>(
    value_shapes: usize,
    value_shape: fn(usize) -> BoxedStrategy<R>,
    max_len: usize,
) -> impl Strategy<Value = Vec<Row<R>>> {
    (0..5usize, 0..value_shapes, 0..3usize).prop_flat_map(move |(t, v, q)| {
        vec(
            (
                step_shape(t),
                any::<u64>(),
                value_shape(v),
                quality_shape(q),
            ),
            1..max_len,
        )
    })
}

/// The timestamps, value recipes and quality codes of rows.
fn split<R: Copy>(clock: &Clock, rows: &[Row<R>]) -> (Vec<i64>, Vec<R>, Vec<Quality>) {
    let ts = clock.timestamps(rows.iter().map(|r| (r.0, r.1)));
    let mut q = Quality::GOOD;
    let qs = rows
        .iter()
        .map(|r| {
            q = r.3.unwrap_or(q);
            q
        })
        .collect();
    (ts, rows.iter().map(|r| r.2).collect(), qs)
}

/// How one float comes about.
#[derive(Debug, Clone, Copy)]
enum F {
    /// These bits.
    Bits(u64),
    /// The previous value again.
    Same,
    /// The series' decimal numerator moved by this much, at the series' scale.
    Dec(i64),
    /// The series' level plus this times its noise amplitude.
    Noise(f64),
}

/// Series-wide parameters of the float recipes.
#[derive(Debug, Clone, Copy)]
struct FloatSeries {
    scale: u32,
    k0: i64,
    level: f64,
    amp: f64,
}

fn float_series() -> impl Strategy<Value = FloatSeries> {
    (
        0u32..=6,
        prop_oneof![3 => -100_000i64..100_000, 1 => -(1i64 << 52)..(1i64 << 52), 1 => any::<i64>()],
        -1e4f64..1e4,
        prop::sample::select(vec![0.0f64, 1e-3, 1.0, 100.0]),
    )
        .prop_map(|(scale, k0, level, amp)| FloatSeries {
            scale,
            k0,
            level,
            amp,
        })
}

/// Float shapes that make each value coding worth choosing: `0..2` anything, `2..5` a random
/// walk of exact decimals at one scale with exceptions, `5..7` a noisy signal around a level
/// (full mantissas, similar exponents) with exceptions, `7` runs of repeated values.
const FLOAT_SHAPES: usize = 8;

fn float_shape(i: usize) -> BoxedStrategy<F> {
    match i {
        0 | 1 => prop_oneof![4 => float_bits().prop_map(F::Bits), 1 => Just(F::Same)].boxed(),
        2..=4 => prop_oneof![
            6 => Just(F::Dec(0)),
            12 => (-20i64..20).prop_map(F::Dec),
            2 => (-100_000i64..100_000).prop_map(F::Dec),
            1 => float_bits().prop_map(F::Bits),
        ]
        .boxed(),
        5 | 6 => prop_oneof![
            20 => (-1.0f64..1.0).prop_map(F::Noise),
            1 => float_bits().prop_map(F::Bits),
        ]
        .boxed(),
        _ => prop_oneof![30 => Just(F::Same), 1 => float_bits().prop_map(F::Bits)].boxed(),
    }
}

impl FloatSeries {
    fn values(&self, recipes: &[F]) -> Vec<Value> {
        let div = 10f64.powi(self.scale as i32);
        let mut k = self.k0;
        let mut prev = (k as f64 / div).to_bits();
        recipes
            .iter()
            .map(|&r| {
                prev = match r {
                    F::Bits(b) => b,
                    F::Same => prev,
                    F::Dec(d) => {
                        k = k.saturating_add(d);
                        (k as f64 / div).to_bits()
                    }
                    F::Noise(x) => (self.level + x * self.amp).to_bits(),
                };
                Value::F64(f64::from_bits(prev))
            })
            .collect()
    }
}

/// How one integer comes about.
#[derive(Debug, Clone, Copy)]
enum I {
    /// This value.
    Val(i64),
    /// The previous value plus this (wrapping).
    Add(i64),
}

/// The i64 values at the edges: extremes of timestamps and integers alike.
fn extreme_int() -> impl Strategy<Value = i64> {
    prop::sample::select(vec![
        i64::MIN,
        i64::MAX,
        i64::MIN + 1,
        i64::MAX - 1,
        0,
        -1,
        1,
    ])
}

/// Integer shapes: `0` anything with extremes likely, `1` counters and random walks wrapping
/// past the ends, `2` alternating extremes (every delta overflows), `3` runs of states.
const INT_SHAPES: usize = 4;

fn int_shape(i: usize) -> BoxedStrategy<I> {
    match i {
        0 => prop_oneof![3 => any::<i64>(), 2 => extreme_int(), 3 => -3i64..3]
            .prop_map(I::Val)
            .boxed(),
        1 => prop_oneof![
            1 => prop_oneof![any::<i64>(), extreme_int()].prop_map(I::Val),
            9 => prop_oneof![3 => 0i64..3, 2 => -50i64..50, 1 => any::<i64>()].prop_map(I::Add),
        ]
        .boxed(),
        2 => prop::sample::select(vec![i64::MIN, i64::MAX, 0])
            .prop_map(I::Val)
            .boxed(),
        _ => prop_oneof![
            30 => Just(I::Add(0)),
            1 => prop_oneof![extreme_int(), -5i64..5, any::<i64>()].prop_map(I::Val),
        ]
        .boxed(),
    }
}

fn int_values(start: i64, recipes: &[I]) -> Vec<Value> {
    let mut v = start;
    recipes
        .iter()
        .map(|&r| {
            v = match r {
                I::Val(x) => x,
                I::Add(d) => v.wrapping_add(d),
            };
            Value::I64(v)
        })
        .collect()
}

/// Boolean shapes (`None` repeats the previous value, false at first): `0` any, `1` runs.
const BOOL_SHAPES: usize = 2;

fn bool_shape(i: usize) -> BoxedStrategy<Option<bool>> {
    match i {
        0 => any::<bool>().prop_map(Some).boxed(),
        _ => prop_oneof![40 => Just(None), 1 => any::<bool>().prop_map(Some)].boxed(),
    }
}

fn bool_values(recipes: &[Option<bool>]) -> Vec<Value> {
    let mut b = false;
    recipes
        .iter()
        .map(|&r| {
            b = r.unwrap_or(b);
            Value::Bool(b)
        })
        .collect()
}

/// An exact decimal at the series' scale (`k / 10^s`), or an exception.
fn decimal_or_exception() -> impl Strategy<Value = Result<i64, u64>> {
    prop_oneof![
        40 => decimal_numerator().prop_map(Ok),
        1 => prop_oneof![special_float(), not_quite_decimal()].prop_map(Err),
    ]
}

fn exact_decimal_shape(_: usize) -> BoxedStrategy<Result<i64, u64>> {
    decimal_or_exception().boxed()
}

// ---------------------------------------------------------------------------------------------
// Properties

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn floats_round_trip_bit_exact_with_every_plan(
        clock in clock(),
        params in float_series(),
        rows in rows(FLOAT_SHAPES, float_shape, MAX_LEN),
    ) {
        let (ts, recipes, q) = split(&clock, &rows);
        let pts = points(&ts, params.values(&recipes), &q);
        check_series(ValueType::F64, &pts)?;
    }

    #[test]
    fn exact_decimals_at_each_scale_round_trip_with_every_plan(
        clock in clock(),
        scale in 0u32..=6,
        rows in rows(1, exact_decimal_shape, MAX_LEN),
    ) {
        let (ts, ks, q) = split(&clock, &rows);
        let div = 10f64.powi(scale as i32);
        let vals = ks.iter().map(|k| Value::F64(match *k {
            Ok(k) => k as f64 / div,
            Err(bits) => f64::from_bits(bits),
        }));
        let pts = points(&ts, vals, &q);
        check_series(ValueType::F64, &pts)?;
    }

    #[test]
    fn integers_round_trip_exact_with_every_plan(
        clock in clock(),
        start in prop_oneof![any::<i64>(), extreme_int()],
        rows in rows(INT_SHAPES, int_shape, MAX_LEN),
    ) {
        let (ts, recipes, q) = split(&clock, &rows);
        let pts = points(&ts, int_values(start, &recipes), &q);
        check_series(ValueType::I64, &pts)?;
    }

    #[test]
    fn booleans_round_trip_with_every_plan(
        clock in clock(),
        rows in rows(BOOL_SHAPES, bool_shape, MAX_LEN),
    ) {
        let (ts, recipes, q) = split(&clock, &rows);
        let pts = points(&ts, bool_values(&recipes), &q);
        check_series(ValueType::Bool, &pts)?;
    }

    #[test]
    fn damaged_packed_chunks_decode_to_an_error_or_points_never_a_panic(
        clock in clock(),
        params in float_series(),
        rows in rows(FLOAT_SHAPES, float_shape, 200),
        vt in prop::sample::select(vec![ValueType::F64, ValueType::I64, ValueType::Bool]),
        plan_pick in any::<prop::sample::Index>(),
        damage in vec((any::<prop::sample::Index>(), 1u8..=255), 1..4),
    ) {
        let (ts, recipes, q) = split(&clock, &rows);
        let vals: Vec<Value> = params.values(&recipes).into_iter().map(|v| match vt {
            ValueType::F64 => v,
            ValueType::I64 => Value::I64(v.to_bits() as i64),
            ValueType::Bool => Value::Bool(v.to_bits() & 1 == 1),
        }).collect();
        let pts = points(&ts, vals, &q);
        let all = plans(vt);
        let plan = all[plan_pick.index(all.len())];
        let mut bytes = encode_packed(vt, &pts, Some(plan)).unwrap();
        for (at, x) in damage {
            let i = at.index(bytes.len());
            bytes[i] ^= x;
        }
        let rows = decode_chunk(&bytes);
        if let Ok(got) = &rows {
            prop_assert!(got.len() <= MAX_POINTS as usize);
        }
        columns_agree(&bytes, rows.as_ref().ok().map(Vec::as_slice), "damaged")?;
        let _ = describe(&bytes);
        let _ = read_header(&bytes);
        for cut in 0..bytes.len() {
            let rows = decode_chunk(&bytes[..cut]);
            columns_agree(&bytes[..cut], rows.as_ref().ok().map(Vec::as_slice), "cut")?;
        }
    }

    #[test]
    fn arbitrary_bytes_after_the_packed_encoding_byte_never_panic(
        vt in 0u8..5,
        rest in vec(any::<u8>(), 0..300),
    ) {
        let mut bytes = vec![Encoding::Packed.code(), vt];
        bytes.extend_from_slice(&rest);
        let rows = decode_chunk(&bytes);
        if let Ok(got) = &rows {
            prop_assert!(got.len() <= MAX_POINTS as usize);
        }
        columns_agree(&bytes, rows.as_ref().ok().map(Vec::as_slice), "arbitrary")?;
        let _ = describe(&bytes);
    }
}

// ---------------------------------------------------------------------------------------------
// Unit tests

/// xorshift64: deterministic noise for the unit tests.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Uniform in `-r..=r`.
    fn within(&mut self, r: i64) -> i64 {
        (self.next() % (2 * r as u64 + 1)) as i64 - r
    }
}

const T0: i64 = 1_767_225_600_000_000_000;
const SECOND: i64 = 1_000_000_000;

/// 1 s period in nanoseconds with ±3 ms jitter at nanosecond resolution.
fn jittered_seconds(n: usize, rng: &mut Rng) -> Vec<i64> {
    (0..n as i64)
        .map(|i| T0 + i * SECOND + rng.within(3_000_000))
        .collect()
}

/// A temperature-like signal rounded to 0.01.
fn hundredths(n: usize, rng: &mut Rng) -> Vec<f64> {
    let mut x = 21.5f64;
    (0..n)
        .map(|_| {
            x += rng.within(50) as f64 / 1000.0;
            (x * 100.0).round() / 100.0
        })
        .collect()
}

/// A few chunks of every plan and the chooser's, to damage.
fn sample_chunks() -> Vec<(String, Vec<u8>)> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let ts = jittered_seconds(120, &mut rng);
    let floats: Vec<Point> = ts
        .iter()
        .zip(hundredths(120, &mut rng))
        .enumerate()
        .map(|(i, (&t, v))| {
            let v = if i % 17 == 5 { 1.0 / 3.0 } else { v };
            let q = if i % 31 == 0 {
                Quality::BAD
            } else {
                Quality::GOOD
            };
            Point::with_quality(t, Value::F64(v), q)
        })
        .collect();
    let ints: Vec<Point> = ts
        .iter()
        .enumerate()
        .map(|(i, &t)| Point::new(t, Value::I64(1000 + (i as i64 / 7) - (i as i64 % 3))))
        .collect();
    let bools: Vec<Point> = ts
        .iter()
        .enumerate()
        .map(|(i, &t)| Point::new(t, Value::Bool(i % 11 < 4)))
        .collect();
    let mut out = Vec::new();
    for (vt, pts) in [
        (ValueType::F64, &floats),
        (ValueType::I64, &ints),
        (ValueType::Bool, &bools),
    ] {
        for plan in plans(vt) {
            let bytes = encode_packed(vt, pts, Some(plan)).unwrap();
            assert_eq!(&decode_chunk(&bytes).unwrap(), pts, "{plan:?}");
            out.push((format!("{vt} {plan:?}"), bytes));
        }
        let bytes = compress(vt, pts).unwrap();
        assert_eq!(&decode_chunk(&bytes).unwrap(), pts, "{vt} chooser");
        out.push((format!("{vt} chooser"), bytes));
        // A single point and no point at all.
        out.push((format!("{vt} one point"), compress(vt, &pts[..1]).unwrap()));
        out.push((format!("{vt} empty"), compress(vt, &[]).unwrap()));
    }
    out
}

#[test]
fn chooser_picks_decimal_for_values_rounded_to_hundredths() {
    let mut rng = Rng(42);
    let ts: Vec<i64> = (0..1000).map(|i| T0 + i * SECOND).collect();
    let pts: Vec<Point> = ts
        .iter()
        .zip(hundredths(1000, &mut rng))
        .map(|(&t, v)| Point::new(t, Value::F64(v)))
        .collect();
    let bytes = compress(ValueType::F64, &pts).unwrap();
    assert_eq!(decode_chunk(&bytes).unwrap(), pts);
    assert_eq!(describe(&bytes).unwrap().value, ValueCoding::Decimal);
    let chosen = encode_packed(ValueType::F64, &pts, None).unwrap();
    assert_eq!(describe(&chosen).unwrap().value, ValueCoding::Decimal);
}

#[test]
fn chooser_picks_grid_for_jittered_one_second_timestamps() {
    let mut rng = Rng(7);
    let ts = jittered_seconds(1000, &mut rng);
    for (vt, value) in [
        (ValueType::F64, Value::F64(50.0)),
        (ValueType::I64, Value::I64(3)),
        (ValueType::Bool, Value::Bool(true)),
    ] {
        let pts: Vec<Point> = ts.iter().map(|&t| Point::new(t, value)).collect();
        let bytes = compress(vt, &pts).unwrap();
        assert_eq!(decode_chunk(&bytes).unwrap(), pts);
        assert_eq!(describe(&bytes).unwrap().time, TimeCoding::Grid, "{vt}");
    }
}

#[test]
fn chooser_picks_int_for_integers_and_booleans() {
    let mut rng = Rng(99);
    let ts: Vec<i64> = (0..500).map(|i| T0 + i * SECOND).collect();
    let mut counter = 0i64;
    let ints: Vec<Point> = ts
        .iter()
        .map(|&t| {
            counter += rng.within(3).abs();
            Point::new(t, Value::I64(counter))
        })
        .collect();
    let bytes = compress(ValueType::I64, &ints).unwrap();
    assert_eq!(decode_chunk(&bytes).unwrap(), ints);
    assert_eq!(describe(&bytes).unwrap().value, ValueCoding::Int);
    let bools: Vec<Point> = ts
        .iter()
        .map(|&t| Point::new(t, Value::Bool(rng.next().is_multiple_of(5))))
        .collect();
    let bytes = compress(ValueType::Bool, &bools).unwrap();
    assert_eq!(decode_chunk(&bytes).unwrap(), bools);
    assert_eq!(describe(&bytes).unwrap().value, ValueCoding::Int);
}

#[test]
fn more_than_max_points_is_refused_and_max_points_round_trips() {
    let mut rng = Rng(3);
    let n = MAX_POINTS as usize;
    let pts: Vec<Point> = (0..n as i64 + 1)
        .map(|i| {
            Point::new(
                T0 + i * SECOND,
                Value::F64((rng.within(1000) as f64) / 10.0),
            )
        })
        .collect();
    for plan in plans(ValueType::F64).into_iter().map(Some).chain([None]) {
        assert!(
            encode_packed(ValueType::F64, &pts, plan).is_err(),
            "{plan:?} accepted {} points",
            pts.len()
        );
    }
    // Exactly MAX_POINTS fit.
    let bytes = encode_packed(ValueType::F64, &pts[..n], None).unwrap();
    assert_eq!(decode_chunk(&bytes).unwrap(), &pts[..n]);
    // compress falls back to a Gorilla chunk beyond MAX_POINTS.
    let bytes = compress(ValueType::F64, &pts).unwrap();
    assert_eq!(bytes[0], Encoding::Gorilla.code());
    assert_eq!(decode_chunk(&bytes).unwrap(), pts);
}

#[test]
fn a_plan_that_does_not_fit_the_value_type_is_refused() {
    let f = [
        Point::new(1, Value::F64(1.5)),
        Point::new(2, Value::F64(2.5)),
    ];
    let i = [Point::new(1, Value::I64(1)), Point::new(2, Value::I64(2))];
    let b = [
        Point::new(1, Value::Bool(true)),
        Point::new(2, Value::Bool(false)),
    ];
    for (vt, pts) in [
        (ValueType::F64, &f[..]),
        (ValueType::I64, &i[..]),
        (ValueType::Bool, &b[..]),
    ] {
        for plan in wrong_plans(vt) {
            assert!(
                encode_packed(vt, pts, Some(plan)).is_err(),
                "{plan:?} accepted for {vt}"
            );
        }
    }
}

#[test]
fn values_of_another_type_are_refused() {
    let mixed = [Point::new(1, Value::F64(1.5)), Point::new(2, Value::I64(2))];
    for vt in [ValueType::F64, ValueType::I64, ValueType::Bool] {
        assert!(compress(vt, &mixed).is_err(), "{vt}");
        for plan in plans(vt).into_iter().map(Some).chain([None]) {
            assert!(encode_packed(vt, &mixed, plan).is_err(), "{vt} {plan:?}");
        }
    }
}

#[test]
fn empty_and_single_point_chunks_round_trip_with_every_plan() {
    let one = |v| vec![Point::with_quality(i64::MIN, v, Quality(u32::MAX))];
    for (vt, pts) in [
        (
            ValueType::F64,
            one(Value::F64(f64::from_bits(0xfff8_dead_beef_0001))),
        ),
        (ValueType::I64, one(Value::I64(i64::MAX))),
        (ValueType::Bool, one(Value::Bool(true))),
    ] {
        for pts in [&[][..], &pts[..]] {
            for plan in plans(vt).into_iter().map(Some).chain([None]) {
                let bytes = encode_packed(vt, pts, plan).unwrap();
                assert_eq!(decode_chunk(&bytes).unwrap(), pts, "{vt} {plan:?}");
                if let Some(plan) = plan {
                    assert_eq!(describe(&bytes).unwrap(), plan);
                }
            }
            let bytes = compress(vt, pts).unwrap();
            assert_eq!(decode_chunk(&bytes).unwrap(), pts, "{vt} compress");
        }
    }
}

#[test]
fn special_floats_and_extreme_timestamps_round_trip_with_every_plan() {
    let specials = [
        f64::NAN.to_bits(),
        0x7ff8_0000_0000_0001,
        0xfff8_dead_beef_0000,
        0x7ff0_0000_0000_0001,
        (-0.0f64).to_bits(),
        0,
        f64::INFINITY.to_bits(),
        f64::NEG_INFINITY.to_bits(),
        1,
        0x000f_ffff_ffff_ffff,
        0x8000_0000_0000_0001,
        f64::MAX.to_bits(),
        f64::MIN.to_bits(),
        (0.1f64 + 0.2).to_bits(),
        (1.0f64 / 3.0).to_bits(),
        0.01f64.to_bits(),
        (-0.01f64).to_bits(),
    ];
    let ts = [
        i64::MIN,
        i64::MAX,
        0,
        i64::MAX,
        i64::MIN,
        -1,
        i64::MIN + 1,
        i64::MAX - 1,
    ];
    let pts: Vec<Point> = specials
        .iter()
        .cycle()
        .take(3 * specials.len())
        .zip(ts.iter().cycle())
        .enumerate()
        .map(|(i, (&b, &t))| {
            Point::with_quality(
                t,
                Value::F64(f64::from_bits(b)),
                Quality(i as u32 * 0x0101_0101),
            )
        })
        .collect();
    for plan in plans(ValueType::F64).into_iter().map(Some).chain([None]) {
        let bytes = encode_packed(ValueType::F64, &pts, plan).unwrap();
        let got = decode_chunk(&bytes).unwrap();
        assert_eq!(got, pts, "{plan:?}");
    }
}

#[test]
fn every_truncation_of_a_packed_chunk_is_an_error() {
    for (what, bytes) in sample_chunks() {
        assert!(decode_chunk(&bytes).is_ok(), "{what}");
        for cut in 0..bytes.len() {
            let got = decode_chunk(&bytes[..cut]);
            assert!(
                got.is_err(),
                "{what}: the first {cut} of {} bytes decode to {} points",
                bytes.len(),
                got.map(|p| p.len()).unwrap_or(0)
            );
            let _ = describe(&bytes[..cut]);
            let _ = read_header(&bytes[..cut]);
        }
    }
}

#[test]
fn changing_any_single_byte_of_a_packed_chunk_never_panics() {
    for (what, bytes) in sample_chunks() {
        for at in 0..bytes.len() {
            let b = bytes[at];
            let mut seen = [false; 256];
            for new in [
                b ^ 0x01,
                b ^ 0x80,
                b ^ 0xff,
                b.wrapping_add(1),
                b.wrapping_sub(1),
                0x00,
                0xff,
                0x7f,
                0x80,
            ] {
                if new == b || std::mem::replace(&mut seen[new as usize], true) {
                    continue;
                }
                let mut damaged = bytes.clone();
                damaged[at] = new;
                let got: Result<Vec<Point>, CodecError> = decode_chunk(&damaged);
                if let Ok(points) = got {
                    assert!(
                        points.len() <= MAX_POINTS as usize,
                        "{what}: byte {at} set to {new:#04x}: {} points",
                        points.len()
                    );
                }
                let _ = describe(&damaged);
            }
        }
    }
}
