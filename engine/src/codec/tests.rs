use super::*;
use crate::point::{Point, Quality, Value, ValueType};

fn round_trip(vt: ValueType, pts: &[Point]) -> Vec<u8> {
    let bytes = encode_chunk(vt, pts).unwrap();
    let got = decode_chunk(&bytes).unwrap();
    assert_eq!(got.len(), pts.len());
    for (a, b) in got.iter().zip(pts) {
        assert_eq!(
            (a.ts, a.value.to_bits(), a.quality),
            (b.ts, b.value.to_bits(), b.quality)
        );
    }
    bytes
}

#[test]
fn special_floats_round_trip_bit_exact() {
    let specials = [
        0x7ff8_0000_0000_0001u64,
        0xfff0_dead_0000_0000,
        0x8000_0000_0000_0000,
        0,
        1,
        0x7ff0_0000_0000_0000,
        0xfff0_0000_0000_0000,
        0x000f_ffff_ffff_ffff,
        f64::MAX.to_bits(),
        f64::MIN_POSITIVE.to_bits(),
        0x8000_0000_0000_0000,
    ];
    let pts: Vec<Point> = specials
        .iter()
        .enumerate()
        .map(|(i, &b)| Point::new(i as i64, Value::F64(f64::from_bits(b))))
        .collect();
    round_trip(ValueType::F64, &pts);
}

#[test]
fn regular_second_data_costs_about_a_bit_per_timestamp() {
    let pts: Vec<Point> = (0..2048)
        .map(|i| {
            Point::new(
                1_767_225_600_000_000_000 + i * 1_000_000_000,
                Value::F64(21.5),
            )
        })
        .collect();
    let bytes = round_trip(ValueType::F64, &pts);
    assert!(bytes.len() < 2048 / 4 + 40, "{} bytes", bytes.len());
}

#[test]
fn snapshot_of_an_open_chunk_decodes_while_it_keeps_growing() {
    let mut e = ChunkEncoder::new(ValueType::I64);
    for i in 0..100i64 {
        e.push(
            i * 7,
            Value::I64(i * i - 50),
            Quality(if i % 10 == 0 { 0x8000_0000 } else { 0 }),
        )
        .unwrap();
        let got = decode_chunk(&e.snapshot()).unwrap();
        assert_eq!(got.len() as i64, i + 1);
        assert_eq!(got[i as usize].value, Value::I64(i * i - 50));
    }
    assert!(e.push(1, Value::F64(1.0), Quality::GOOD).is_err());
}

#[test]
fn every_prefix_and_every_bit_flip_is_an_error_or_a_decode_never_a_panic() {
    let pts: Vec<Point> = (0..50)
        .map(|i| {
            Point::with_quality(
                i * 1000 + (i % 3),
                Value::F64(i as f64 * 0.1),
                Quality(i as u32 % 2),
            )
        })
        .collect();
    let bytes = encode_chunk(ValueType::F64, &pts).unwrap();
    for cut in 0..bytes.len() {
        assert!(
            decode_chunk(&bytes[..cut]).is_err(),
            "prefix of {cut} bytes decoded"
        );
    }
    for i in 0..bytes.len() * 8 {
        let mut b = bytes.clone();
        b[i / 8] ^= 1 << (i % 8);
        let _ = decode_chunk(&b);
    }
}

#[test]
fn impossible_point_counts_are_refused_before_allocating() {
    let mut b = vec![1u8, 1];
    varint::put_varint(&mut b, u32::MAX as u64);
    varint::put_varint(&mut b, 2);
    varint::put_varint(&mut b, 2);
    varint::put_varint(&mut b, 1);
    b.extend([0u8; 5]);
    let err = decode_chunk(&b).unwrap_err().to_string();
    assert!(err.contains("exceeds"), "{err}");
}

#[test]
fn timestamps_sharing_a_unit_are_coded_in_it_and_come_back_exact() {
    // Whole-millisecond jitter around a 1 s period, in nanoseconds.
    let pts: Vec<Point> = (0..2048i64)
        .map(|i| {
            Point::new(
                -5_000_000_000 + i * 1_000_000_000 + (i % 5 - 2) * 1_000_000,
                Value::F64(1.0),
            )
        })
        .collect();
    let mut e = ChunkEncoder::new(ValueType::F64);
    for p in &pts {
        e.push(p.ts, p.value, p.quality).unwrap();
    }
    let plain = e.snapshot();
    let finished = e.finish();
    assert!(
        finished.len() * 2 < plain.len(),
        "{} vs {}",
        finished.len(),
        plain.len()
    );
    assert_eq!(
        chunk::read_gorilla_header(&finished).unwrap().ts_unit,
        1_000_000
    );
    assert_eq!(decode_chunk(&finished).unwrap(), pts);
    assert_eq!(decode_chunk(&plain).unwrap(), pts);
}

#[test]
fn extreme_timestamps_with_a_common_unit_wrap_back_exactly() {
    let pts: Vec<Point> = [i64::MIN, 0, i64::MAX - 1, -2, i64::MIN + 4]
        .iter()
        .map(|&t| Point::new(t, Value::I64(t)))
        .collect();
    assert_eq!(
        decode_chunk(&encode_chunk(ValueType::I64, &pts).unwrap()).unwrap(),
        pts
    );
}
