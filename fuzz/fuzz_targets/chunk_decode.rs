//! Arbitrary bytes as a chunk: decoding never panics and never allocates without bound; it
//! either yields points or an error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lodestone_engine::codec::packed::{describe, MAX_POINTS};
use lodestone_engine::codec::{compress, decode_chunk, read_header};

fuzz_target!(|data: &[u8]| {
    let _ = read_header(data);
    let _ = describe(data);
    if let Ok(points) = decode_chunk(data) {
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
