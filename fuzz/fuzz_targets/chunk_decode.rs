//! Arbitrary bytes as a chunk: decoding never panics and never allocates without bound; it
//! either yields points or an error, and decoding into columns (what aggregates read) agrees
//! with decoding into rows on both.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lodestone_engine::codec::packed::{describe, MAX_POINTS};
use lodestone_engine::codec::{compress, decode_chunk, decode_columns, read_header, Columns};

fuzz_target!(|data: &[u8]| {
    let _ = read_header(data);
    let _ = describe(data);
    let rows = decode_chunk(data);
    let mut cols = Columns::default();
    let columns = decode_columns(data, &mut cols);
    assert_eq!(rows.is_ok(), columns.is_ok(), "rows and columns disagree on {data:?}");
    if let Ok(points) = &rows {
        let mut want = Columns::default();
        want.set_points(points);
        cols.divide();
        assert_eq!(cols.ts, want.ts);
        assert_eq!(cols.quality, want.quality);
        let bits = |c: &Columns| c.values.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&cols), bits(&want));
    }
    if let Ok(points) = rows {
        match data[0] {
            // A Gorilla chunk cannot hold more points than it has bits.
            1 => assert!(points.len() <= data.len() * 8),
            // A packed chunk codes a constant run in a few bytes, but never holds more than
            // MAX_POINTS.
            // A cold chunk holds a packed one.
            2 | 3 => assert!(points.len() <= MAX_POINTS as usize),
            other => panic!("decoded a chunk of unknown encoding {other}"),
        }
        // Whatever decodes is a valid series: it must survive the chooser's round trip.
        if let (Ok(h), Some(first)) = (read_header(data), points.first()) {
            assert_eq!(first.value.value_type(), h.value_type);
            let again = compress(h.value_type, &points).expect("re-encode decoded points");
            assert_eq!(decode_chunk(&again).expect("decode re-encoded"), points);
        }
    }
});
