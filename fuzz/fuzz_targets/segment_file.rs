//! Arbitrary bytes as a segment file: opening and reading every chunk never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lodestone_engine::codec::decode_chunk;
use lodestone_engine::segment::reader::Segment;

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("00000000000000000001.seg");
    std::fs::write(&path, data).expect("write");
    let mut ids = std::collections::HashMap::new();
    let mut resolve = |text: &str, _| {
        let next = ids.len() as u32;
        Ok(*ids.entry(text.to_string()).or_insert(next))
    };
    if let Ok(seg) = Segment::open(&path, 1, &mut resolve) {
        for series in seg.series().flatten() {
            for m in &series.1.chunks {
                if let Ok(bytes) = seg.chunk_bytes(m) {
                    let _ = decode_chunk(bytes);
                }
            }
        }
    }
});
