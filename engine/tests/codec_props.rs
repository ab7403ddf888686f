//! Property tests of the chunk codec: the round trip is bit-exact for arbitrary inputs.

#![allow(clippy::unwrap_used)]

use lodestone_engine::codec::{decode_chunk, encode_chunk, ChunkEncoder};
use lodestone_engine::{Point, Quality, Value, ValueType};
use proptest::prelude::*;

fn assert_same(got: &[Point], want: &[Point]) -> Result<(), TestCaseError> {
    prop_assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(want) {
        prop_assert_eq!(g.ts, w.ts);
        prop_assert_eq!(g.value.value_type(), w.value.value_type());
        prop_assert_eq!(g.value.to_bits(), w.value.to_bits());
        prop_assert_eq!(g.quality, w.quality);
    }
    Ok(())
}

/// Any f64 bit pattern, with the awkward ones made likely.
fn float_bits() -> impl Strategy<Value = u64> {
    prop_oneof![
        4 => any::<u64>(),
        1 => prop::sample::select(vec![
            f64::NAN.to_bits(), 0x7ff8_0000_0000_0001, 0xfff8_dead_beef_0000, 0x7ff0_0000_0000_0001,
            (-0.0f64).to_bits(), 0, f64::INFINITY.to_bits(), f64::NEG_INFINITY.to_bits(),
            1, 0x000f_ffff_ffff_ffff, 0x8000_0000_0000_0001, f64::MIN_POSITIVE.to_bits(),
            f64::MAX.to_bits(), f64::MIN.to_bits(), f64::EPSILON.to_bits(),
        ]),
        2 => (-100_000i64..100_000).prop_map(|v| (v as f64 / 10.0).to_bits()),
    ]
}

/// Any i64 timestamps in any order, with duplicates and extremes likely.
fn timestamps(n: usize) -> impl Strategy<Value = Vec<i64>> {
    let one = prop_oneof![
        3 => any::<i64>(),
        1 => prop::sample::select(vec![i64::MIN, i64::MAX, 0, -1, 1, i64::MIN + 1, i64::MAX - 1]),
        3 => 0i64..5,
    ];
    prop::collection::vec(one, 1..n)
}

fn quality() -> impl Strategy<Value = Quality> {
    prop_oneof![4 => Just(Quality::GOOD), 1 => any::<u32>().prop_map(Quality)]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn floats_round_trip_bit_exact_with_any_timestamps(
        ts in timestamps(300),
        bits in prop::collection::vec(float_bits(), 300),
        q in prop::collection::vec(quality(), 300),
    ) {
        let pts: Vec<Point> = ts.iter().zip(&bits).zip(&q)
            .map(|((&t, &b), &q)| Point::with_quality(t, Value::F64(f64::from_bits(b)), q)).collect();
        let bytes = encode_chunk(ValueType::F64, &pts).unwrap();
        assert_same(&decode_chunk(&bytes).unwrap(), &pts)?;
    }

    #[test]
    fn integers_round_trip_exact_including_extremes(
        ts in timestamps(300),
        vals in prop::collection::vec(prop_oneof![any::<i64>(), Just(i64::MIN), Just(i64::MAX), -3i64..3], 300),
    ) {
        let pts: Vec<Point> = ts.iter().zip(&vals).map(|(&t, &v)| Point::new(t, Value::I64(v))).collect();
        let bytes = encode_chunk(ValueType::I64, &pts).unwrap();
        assert_same(&decode_chunk(&bytes).unwrap(), &pts)?;
    }

    #[test]
    fn increasing_timestamps_sharing_a_unit_round_trip_exact(
        start in any::<i64>(),
        unit in prop_oneof![Just(1u64), Just(1_000), Just(1_000_000), 1u64..5_000_000],
        steps in prop::collection::vec(1u64..3_000, 2..400),
    ) {
        let mut t = start;
        let mut pts = Vec::new();
        for (i, step) in steps.iter().enumerate() {
            pts.push(Point::new(t, Value::I64(i as i64)));
            match t.checked_add((step * unit) as i64) {
                Some(next) => t = next,
                None => break,
            }
        }
        let bytes = encode_chunk(ValueType::I64, &pts).unwrap();
        assert_same(&decode_chunk(&bytes).unwrap(), &pts)?;
    }

    #[test]
    fn booleans_round_trip(ts in timestamps(300), vals in prop::collection::vec(any::<bool>(), 300)) {
        let pts: Vec<Point> = ts.iter().zip(&vals).map(|(&t, &v)| Point::new(t, Value::Bool(v))).collect();
        let bytes = encode_chunk(ValueType::Bool, &pts).unwrap();
        assert_same(&decode_chunk(&bytes).unwrap(), &pts)?;
    }

    #[test]
    fn snapshots_of_a_growing_chunk_hold_exactly_the_points_pushed_so_far(
        bits in prop::collection::vec(float_bits(), 1..100),
        cut in 0usize..100,
    ) {
        let mut e = ChunkEncoder::new(ValueType::F64);
        let pts: Vec<Point> = bits.iter().enumerate()
            .map(|(i, &b)| Point::new(i as i64 * 1_000_000_000, Value::F64(f64::from_bits(b)))).collect();
        let cut = cut.min(pts.len());
        for p in &pts[..cut] {
            e.push(p.ts, p.value, p.quality).unwrap();
        }
        assert_same(&decode_chunk(&e.snapshot()).unwrap(), &pts[..cut])?;
        for p in &pts[cut..] {
            e.push(p.ts, p.value, p.quality).unwrap();
        }
        assert_same(&decode_chunk(&e.finish()).unwrap(), &pts)?;
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_decoder(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        if let Ok(points) = decode_chunk(&bytes) {
            prop_assert!(points.len() <= 1 + bytes.len() * 8);
        }
    }

    #[test]
    fn damaged_chunks_decode_to_an_error_or_points_never_a_panic(
        bits in prop::collection::vec(float_bits(), 1..60),
        flips in prop::collection::vec((any::<prop::sample::Index>(), 0u8..8), 1..4),
    ) {
        let pts: Vec<Point> = bits.iter().enumerate()
            .map(|(i, &b)| Point::new(i as i64 * 1000, Value::F64(f64::from_bits(b)))).collect();
        let mut bytes = encode_chunk(ValueType::F64, &pts).unwrap();
        for (i, bit) in flips {
            let at = i.index(bytes.len());
            bytes[at] ^= 1 << bit;
        }
        let _ = decode_chunk(&bytes);
        for cut in 0..bytes.len() {
            let _ = decode_chunk(&bytes[..cut]);
        }
    }
}

#[test]
fn jittered_nanosecond_timestamps_fit_the_24_bit_bucket() {
    // 1 s period with ±2 ms jitter in whole milliseconds: every delta of delta fits 24 bits,
    // so a point with an unchanged value costs at most 28 + 1 bits.
    let mut x = 0x1234_5678u64;
    let pts: Vec<Point> = (0..2048i64)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let jitter = (x % 5) as i64 - 2;
            let v = if i % 100 == 0 { 50.1 } else { 50.0 };
            Point::new(
                1_767_225_600_000_000_000 + i * 1_000_000_000 + jitter * 1_000_000,
                Value::F64(v),
            )
        })
        .collect();
    let bytes = encode_chunk(ValueType::F64, &pts).unwrap();
    let per_point = bytes.len() as f64 / pts.len() as f64;
    assert!(per_point < 4.0, "{per_point} bytes per point");
    assert_eq!(decode_chunk(&bytes).unwrap(), pts);
}
