//! Points built from arbitrary bytes: `compress`, `encode_packed` with the chooser and with
//! every forced plan that fits the value type decode back bit-exact (timestamps, value bits
//! with NaN payloads and -0.0, quality codes; any order, duplicates kept); `describe` names the
//! forced plan; a plan that does not fit the type is refused.
#![no_main]

use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use lodestone_engine::codec::packed::{describe, encode_packed, Plan, TimeCoding, ValueCoding};
use lodestone_engine::codec::{compress, decode_chunk};
use lodestone_engine::{Point, Quality, Value, ValueType};

const FLOAT_CODINGS: [ValueCoding; 3] =
    [ValueCoding::Xor, ValueCoding::Decimal, ValueCoding::Split];
const ALL_CODINGS: [ValueCoding; 4] = [
    ValueCoding::Xor,
    ValueCoding::Decimal,
    ValueCoding::Split,
    ValueCoding::Int,
];

/// Builds a series from the bytes: a few series-wide parameters, then per point one control
/// byte choosing how the timestamp, the value and the quality come about, and their operands.
fn series(u: &mut Unstructured<'_>) -> Result<(ValueType, Vec<Point>)> {
    let vt = match u.int_in_range(0u8..=2)? {
        0 => ValueType::F64,
        1 => ValueType::I64,
        _ => ValueType::Bool,
    };
    let mut ts: i64 = u.arbitrary()?;
    let period: i64 = match u.int_in_range(0u8..=3)? {
        0 => 1_000_000_000,
        1 => 1_000_000,
        2 => u.int_in_range(0i64..=100_000_000_000)?,
        _ => u.arbitrary()?,
    };
    let jitter: i64 = match u.int_in_range(0u8..=3)? {
        0 => 0,
        1 => 3_000_000,
        2 => 1,
        _ => u.int_in_range(0i64..=1_000_000_000)?,
    };
    let scale = 10f64.powi(u.int_in_range(0i32..=6)?);
    let mut k: i64 = u.int_in_range(-1_000_000i64..=1_000_000)?;
    let mut bits: u64 = 0;
    let mut quality = Quality::GOOD;
    let mut points = Vec::new();
    while !u.is_empty() && points.len() < 4096 {
        let c: u8 = u.arbitrary()?;
        // Timestamp: bits 0-1.
        ts = match c & 3 {
            0 | 1 => {
                let j = if jitter == 0 {
                    0
                } else {
                    u.int_in_range(-jitter..=jitter)?
                };
                ts.wrapping_add(period).wrapping_add(j)
            }
            2 => match u.int_in_range(0u8..=3)? {
                0 => ts,                                                                 // duplicate
                1 => ts.wrapping_sub(u.int_in_range(0i64..=10_000_000_000)?),            // back
                2 => ts.wrapping_add(period.wrapping_mul(u.int_in_range(2i64..=1000)?)), // gap
                _ => *u.choose(&[i64::MIN, i64::MAX, 0, -1])?,
            },
            _ => u.arbitrary()?,
        };
        // Value: bits 2-4.
        bits = match (c >> 2) & 7 {
            0 | 1 => bits, // unchanged
            2 | 3 => {
                k = k.wrapping_add(u.int_in_range(-50i64..=50)?);
                match vt {
                    ValueType::F64 => (k as f64 / scale).to_bits(),
                    _ => k as u64,
                }
            }
            4 => *u.choose(&[
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
                f64::MAX.to_bits(),
                f64::MIN.to_bits(),
                (0.1f64 + 0.2).to_bits(),
                (1.0f64 / 3.0).to_bits(),
                i64::MIN as u64,
                i64::MAX as u64,
            ])?,
            5 => bits ^ (1u64 << u.int_in_range(0u32..=63)?),
            _ => u.arbitrary()?,
        };
        // Quality: bits 5-7, mostly unchanged.
        quality = match c >> 5 {
            0..=4 => quality,
            5 => Quality::GOOD,
            6 => *u.choose(&[Quality::BAD, Quality::UNCERTAIN])?,
            _ => Quality(u.arbitrary()?),
        };
        let value = match vt {
            ValueType::F64 => Value::F64(f64::from_bits(bits)),
            ValueType::I64 => Value::I64(bits as i64),
            ValueType::Bool => Value::Bool(bits & 1 == 1),
        };
        points.push(Point::with_quality(ts, value, quality));
    }
    Ok((vt, points))
}

fn same(got: &[Point], want: &[Point], how: &str) {
    assert_eq!(got.len(), want.len(), "{how}: point count");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            g.ts == w.ts
                && g.value.value_type() == w.value.value_type()
                && g.value.to_bits() == w.value.to_bits()
                && g.quality == w.quality,
            "{how}: point {i}: got ({}, {:?} {:#018x}, {:#x}), want ({}, {:?} {:#018x}, {:#x})",
            g.ts,
            g.value.value_type(),
            g.value.to_bits(),
            g.quality.0,
            w.ts,
            w.value.value_type(),
            w.value.to_bits(),
            w.quality.0,
        );
    }
}

fn round_trip(bytes: &[u8], pts: &[Point], how: &str) {
    match decode_chunk(bytes) {
        Ok(got) => same(&got, pts, how),
        Err(e) => panic!("{how}: decode failed: {e}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok((vt, pts)) = series(&mut u) else {
        return;
    };
    let fits = |c: ValueCoding| match vt {
        ValueType::F64 => FLOAT_CODINGS.contains(&c),
        ValueType::I64 | ValueType::Bool => c == ValueCoding::Int,
    };
    for time in [TimeCoding::Delta, TimeCoding::Grid] {
        for value in ALL_CODINGS {
            let plan = Plan { time, value };
            let how = format!("{vt} {plan:?}");
            let encoded = encode_packed(vt, &pts, Some(plan));
            if !fits(value) {
                assert!(encoded.is_err(), "{how}: accepted a plan that does not fit");
                continue;
            }
            let bytes = encoded.unwrap_or_else(|e| panic!("{how}: encode failed: {e}"));
            round_trip(&bytes, &pts, &how);
            assert_eq!(describe(&bytes).ok(), Some(plan), "{how}: describe");
        }
    }
    let chosen = encode_packed(vt, &pts, None)
        .unwrap_or_else(|e| panic!("{vt} chooser: encode failed: {e}"));
    round_trip(&chosen, &pts, &format!("{vt} chooser"));
    let plan = describe(&chosen).unwrap_or_else(|e| panic!("{vt} chooser: describe: {e}"));
    assert!(fits(plan.value), "{vt} chooser picked {plan:?}");
    let compressed = compress(vt, &pts).unwrap_or_else(|e| panic!("{vt} compress failed: {e}"));
    round_trip(&compressed, &pts, &format!("{vt} compress"));
});
