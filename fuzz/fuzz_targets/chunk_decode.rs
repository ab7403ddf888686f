//! Arbitrary bytes as a chunk: decoding never panics and never allocates without bound; it
//! either yields points or an error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lodestone_engine::codec::{decode_chunk, read_header};

fuzz_target!(|data: &[u8]| {
    let _ = read_header(data);
    if let Ok(points) = decode_chunk(data) {
        // A chunk cannot hold more points than it has bits.
        assert!(points.len() <= data.len() * 8);
    }
});
