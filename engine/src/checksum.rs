//! Checksums: CRC-32 (IEEE 802.3 polynomial, as computed by `crc32fast`) over every record,
//! block, index and header the engine writes.

/// CRC-32 of `bytes`.
pub fn crc32(bytes: &[u8]) -> u32 {
    crc32fast::hash(bytes)
}

/// CRC-32 over several slices, as if they were concatenated.
pub fn crc32_parts(parts: &[&[u8]]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    for p in parts {
        h.update(p);
    }
    h.finalize()
}
