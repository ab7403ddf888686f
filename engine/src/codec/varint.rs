//! LEB128 variable-length unsigned integers for chunk headers and quality runs.

use super::error::CodecError;

/// Appends `v` as LEB128.
pub fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Reads a LEB128 value at `*pos`, advancing it. At most 10 bytes; overlong is an error.
pub fn get_varint(buf: &[u8], pos: &mut usize, what: &'static str) -> Result<u64, CodecError> {
    let mut v = 0u64;
    for i in 0..10 {
        let b = *buf.get(*pos).ok_or(CodecError::Truncated { what })?;
        *pos += 1;
        if i == 9 && b > 1 {
            return Err(CodecError::Invalid {
                what,
                detail: "varint overflows 64 bits".into(),
            });
        }
        v |= ((b & 0x7f) as u64) << (7 * i);
        if b & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err(CodecError::Invalid {
        what,
        detail: "varint longer than 10 bytes".into(),
    })
}
