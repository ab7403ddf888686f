use super::*;
use crate::codec::decode_chunk;

fn check(vt: ValueType, pts: &[Point], plan: Option<Plan>) -> Vec<u8> {
    let bytes = encode_packed(vt, pts, plan).unwrap();
    let got = decode_chunk(&bytes).unwrap();
    assert_eq!(got.len(), pts.len());
    for (a, b) in got.iter().zip(pts) {
        assert_eq!(
            (a.ts, a.value.to_bits(), a.quality),
            (b.ts, b.value.to_bits(), b.quality),
        );
    }
    if let Some(plan) = plan {
        assert_eq!(describe(&bytes).unwrap(), plan);
    }
    bytes
}

fn all_plans(vt: ValueType) -> Vec<Plan> {
    let values: &[ValueCoding] = match vt {
        ValueType::F64 => &[ValueCoding::Xor, ValueCoding::Decimal, ValueCoding::Split],
        _ => &[ValueCoding::Int],
    };
    let mut out = Vec::new();
    for &time in &[TimeCoding::Delta, TimeCoding::Grid] {
        for &value in values {
            out.push(Plan { time, value });
        }
    }
    out
}

/// A tiny deterministic generator, so the tests need no dependency.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 11
    }
    fn jitter(&mut self, k: i64) -> i64 {
        (self.next() % (2 * k as u64 + 1)) as i64 - k
    }
}

fn jittered_seconds(n: usize, rng: &mut Lcg) -> Vec<i64> {
    let t0 = 1_767_225_600_000_000_000i64;
    (0..n as i64)
        .map(|i| t0 + i * 1_000_000_000 + rng.jitter(2) * 1_000_000)
        .collect()
}

#[test]
fn every_plan_round_trips_awkward_values() {
    let specials = [
        f64::NAN.to_bits(),
        0x7ff8_0000_dead_beef,
        (-0.0f64).to_bits(),
        0,
        1,
        f64::INFINITY.to_bits(),
        f64::MAX.to_bits(),
        (0.1f64 + 0.2).to_bits(),
        21.4f64.to_bits(),
        (-4.57f64).to_bits(),
        1e300f64.to_bits(),
        u64::MAX,
    ];
    let ts = [i64::MIN, i64::MAX, 0, 0, -5, 7, i64::MAX, 3, 1, 2, 3, 4];
    let pts: Vec<Point> = specials
        .iter()
        .zip(ts)
        .enumerate()
        .map(|(i, (&b, t))| {
            Point::with_quality(t, Value::F64(f64::from_bits(b)), Quality(i as u32 % 3))
        })
        .collect();
    for plan in all_plans(ValueType::F64) {
        for n in 0..=pts.len() {
            check(ValueType::F64, &pts[..n], Some(plan));
        }
    }
    check(ValueType::F64, &pts, None);
    let ints: Vec<Point> = [i64::MIN, i64::MAX, 0, -1, 1, i64::MIN, 5]
        .iter()
        .zip(ts)
        .map(|(&v, t)| Point::new(t, Value::I64(v)))
        .collect();
    let bools: Vec<Point> = (0..40)
        .map(|i| Point::new(i * 3, Value::Bool(i % 7 == 0)))
        .collect();
    for plan in all_plans(ValueType::I64) {
        check(ValueType::I64, &ints, Some(plan));
        check(ValueType::Bool, &bools, Some(plan));
    }
}

#[test]
fn sensor_readings_at_a_fixed_resolution_cost_a_few_bits() {
    let mut rng = Lcg(7);
    let ts = jittered_seconds(2048, &mut rng);
    // Pressure-like: a random walk at 0.01 resolution.
    let mut k = 450i64;
    let pts: Vec<Point> = ts
        .iter()
        .map(|&t| {
            k += rng.jitter(3);
            Point::new(t, Value::F64(k as f64 / 100.0))
        })
        .collect();
    let bytes = check(ValueType::F64, &pts, None);
    assert_eq!(
        describe(&bytes).unwrap(),
        Plan {
            time: TimeCoding::Grid,
            value: ValueCoding::Decimal
        }
    );
    // log2(5) bits of jitter and about log2(7) of value change per point.
    let bits = bytes.len() as f64 * 8.0 / 2048.0;
    assert!(bits < 5.6, "{bits} bits per point");
}

#[test]
fn full_precision_noise_costs_little_more_than_its_mantissa() {
    let mut rng = Lcg(9);
    let ts = jittered_seconds(2048, &mut rng);
    let pts: Vec<Point> = ts
        .iter()
        .map(|&t| {
            let v = 2.0 + (rng.next() as f64 / (1u64 << 53) as f64) * 1.9;
            Point::new(t, Value::F64(v))
        })
        .collect();
    let bytes = check(ValueType::F64, &pts, None);
    assert_eq!(describe(&bytes).unwrap().value, ValueCoding::Split);
    let bits = bytes.len() as f64 * 8.0 / 2048.0;
    // 52 bits of mantissa noise, log2(5) of time jitter, the exponent almost free.
    assert!(bits < 55.5, "{bits} bits per point");
}

#[test]
fn steady_states_and_regular_clocks_cost_almost_nothing() {
    let pts: Vec<Point> = (0..2048)
        .map(|i| {
            Point::new(
                1_000 + i * 1_000_000_000,
                Value::I64(if i < 1500 { 2 } else { 0 }),
            )
        })
        .collect();
    let bytes = check(ValueType::I64, &pts, None);
    assert!(bytes.len() < 48, "{} bytes", bytes.len());
}

#[test]
fn too_many_points_and_mismatched_plans_are_refused() {
    let pts = vec![Point::new(0, Value::F64(1.0)); MAX_POINTS as usize + 1];
    assert!(encode_packed(ValueType::F64, &pts, None).is_err());
    let plan = Plan {
        time: TimeCoding::Delta,
        value: ValueCoding::Int,
    };
    assert!(encode_packed(ValueType::F64, &pts[..3], Some(plan)).is_err());
    assert!(encode_packed(ValueType::I64, &pts[..3], None).is_err());
}

#[test]
fn damaged_chunks_are_errors_and_leave_the_output_alone() {
    let mut rng = Lcg(3);
    let ts = jittered_seconds(300, &mut rng);
    let pts: Vec<Point> = ts
        .iter()
        .enumerate()
        .map(|(i, &t)| {
            Point::new(
                t,
                Value::F64(if i % 50 == 0 {
                    f64::NAN
                } else {
                    i as f64 / 10.0
                }),
            )
        })
        .collect();
    for plan in all_plans(ValueType::F64) {
        let bytes = check(ValueType::F64, &pts, Some(plan));
        for cut in 0..bytes.len() {
            let mut out = vec![Point::new(1, Value::F64(1.0))];
            assert!(
                decode_chunk_into(&bytes[..cut], &mut out).is_err(),
                "{plan:?} cut {cut}"
            );
            assert_eq!(out.len(), 1);
        }
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0x5a;
            let _ = decode_chunk(&bad);
        }
    }
}

use crate::codec::decode_chunk_into;
