//! Arbitrary bytes as the `tombstones` and `metadata` files (whole, and as a bare body):
//! reading never panics; it yields their contents or an error naming the file.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lodestone_engine::metadata::file as metadata_file;
use lodestone_engine::tombstone::file as tombstone_file;

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().expect("tempdir");
    for kind in [tombstone_file::KIND, metadata_file::KIND] {
        std::fs::write(kind.path(dir.path()), data).expect("write");
    }
    let _ = tombstone_file::read(dir.path());
    let _ = metadata_file::read(dir.path());
    let _ = tombstone_file::decode(data);
    let _ = metadata_file::decode(data);
});
