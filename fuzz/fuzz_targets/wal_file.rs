//! Arbitrary bytes as a WAL file: reading never panics; it yields records, a torn tail, or an
//! error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lodestone_engine::wal::reader::read_file;

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("00000000000000000001.wal");
    std::fs::write(&path, data).expect("write");
    let _ = read_file(&path, 1, true);
    let _ = read_file(&path, 1, false);
    let _ = lodestone_engine::wal::record::decode_batch(data);
    let _ = lodestone_engine::wal::record::decode_record(data);
});
