//! Encoding 3, cold: a chunk of another encoding compressed once more with zstd, for data
//! that is read rarely, when that makes it smaller.
//!
//! ```text
//! encoding u8 = 3 │ inner_len varint (≤ 8 MiB) │ zstd frame of the inner chunk
//! ```
//! The inner chunk is a packed chunk, so it holds at most [`super::packed::MAX_POINTS`]
//! points. The packed encoding is already entropy-coded, so zstd rarely finds more in it; it
//! pays on XOR-coded values and on values that repeat in patterns longer than a point.

use super::error::CodecError;
use super::varint::{get_varint, put_varint};
use super::Encoding;

/// Largest inner chunk a cold chunk may hold: a packed chunk of 65,536 points of raw
/// 64-bit values and timestamps is about 1 MiB; this bounds what a decoder allocates.
pub const MAX_INNER: u64 = 8 << 20;

/// zstd level for cold chunks: written once, read rarely.
const LEVEL: i32 = 9;

/// Smaller chunks are never wrapped: a zstd frame's own header and checksum-free framing
/// (about a dozen bytes) leave no room to save an eighth.
const MIN_INNER: usize = 96;

/// `chunk`, a packed chunk, wrapped as a cold chunk if that saves at least an eighth of its
/// size (a cold chunk costs a decompression on every read); `None` otherwise, and for chunks
/// of other encodings.
pub fn wrap(chunk: &[u8]) -> Option<Vec<u8>> {
    if chunk.first() != Some(&Encoding::Packed.code())
        || chunk.len() as u64 > MAX_INNER
        || chunk.len() < MIN_INNER
    {
        return None;
    }
    // One compression context per thread: making one costs more than compressing the small
    // chunks of a slow tag, and a flush of many tags compresses hundreds of thousands.
    thread_local! {
        static COMPRESSOR: std::cell::RefCell<Option<zstd::bulk::Compressor<'static>>> =
            const { std::cell::RefCell::new(None) };
    }
    let frame = COMPRESSOR.with(|c| {
        let mut c = c.borrow_mut();
        if c.is_none() {
            *c = zstd::bulk::Compressor::new(LEVEL).ok();
        }
        c.as_mut()?.compress(chunk).ok()
    })?;
    let mut out = Vec::with_capacity(frame.len() + 6);
    out.push(Encoding::Cold.code());
    put_varint(&mut out, chunk.len() as u64);
    out.extend_from_slice(&frame);
    (out.len() + chunk.len() / 8 <= chunk.len()).then_some(out)
}

/// The inner chunk of a cold chunk.
pub fn unwrap(bytes: &[u8]) -> Result<Vec<u8>, CodecError> {
    const WHAT: &str = "cold chunk";
    let bad = |detail: String| CodecError::Invalid { what: WHAT, detail };
    if bytes.first() != Some(&Encoding::Cold.code()) {
        return Err(bad("not a cold chunk".into()));
    }
    let mut pos = 1;
    let len = get_varint(bytes, &mut pos, WHAT)?;
    if len > MAX_INNER {
        return Err(bad(format!(
            "inner chunk of {len} bytes, above {MAX_INNER}"
        )));
    }
    let inner = zstd::bulk::decompress(&bytes[pos..], len as usize)
        .map_err(|e| bad(format!("zstd: {e}")))?;
    if inner.len() as u64 != len {
        return Err(bad(format!(
            "inner chunk of {} bytes, the header says {len}",
            inner.len()
        )));
    }
    if inner.first() != Some(&Encoding::Packed.code()) {
        return Err(bad("the inner chunk is not a packed chunk".into()));
    }
    Ok(inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{compress, decode_chunk, read_header};
    use crate::point::{Point, Value, ValueType};

    /// Full-precision values that repeat every 16 points: nothing a point-by-point coder
    /// sees, everything zstd does.
    fn patterned(n: i64) -> Vec<Point> {
        (0..n)
            .map(|i| {
                let v = 1.0 + ((i % 16) as f64 * 0.618_033_988_749_895).fract() / 3.0;
                Point::new(1_700_000_000_000_000_000 + i * 1_000_000_000, Value::F64(v))
            })
            .collect()
    }

    #[test]
    fn repeating_patterns_pay_and_decode_exactly() {
        let pts = patterned(2048);
        let warm = compress(ValueType::F64, &pts).unwrap();
        let cold = wrap(&warm).expect("zstd pays on a repeating pattern");
        assert!(
            cold.len() * 4 < warm.len(),
            "{} vs {}",
            cold.len(),
            warm.len()
        );
        assert_eq!(decode_chunk(&cold).unwrap(), pts);
        let h = read_header(&cold).unwrap();
        assert_eq!((h.encoding, h.count), (Encoding::Cold, 2048));
        assert!(wrap(&cold).is_none(), "never cold inside cold");
        let gorilla = crate::codec::encode_chunk(ValueType::F64, &pts).unwrap();
        assert!(wrap(&gorilla).is_none(), "only packed chunks go cold");
    }

    #[test]
    fn entropy_coded_noise_does_not_pay() {
        let mut x = 88172645463325252u64;
        let pts: Vec<Point> = (0..2048)
            .map(|i| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                Point::new(i, Value::F64(1.0 + (x >> 12) as f64 / (1u64 << 52) as f64))
            })
            .collect();
        assert!(wrap(&compress(ValueType::F64, &pts).unwrap()).is_none());
    }

    #[test]
    fn damaged_cold_chunks_are_errors() {
        let cold = wrap(&compress(ValueType::F64, &patterned(500)).unwrap()).unwrap();
        for cut in 0..cold.len() {
            assert!(decode_chunk(&cold[..cut]).is_err(), "cut at {cut}");
        }
        let mut lying = vec![Encoding::Cold.code()];
        put_varint(&mut lying, MAX_INNER + 1);
        lying.extend_from_slice(&cold[3..]);
        assert!(unwrap(&lying).is_err());
        // A cold chunk wrapped by hand inside another is refused.
        let mut nested = vec![Encoding::Cold.code()];
        put_varint(&mut nested, cold.len() as u64);
        nested.extend_from_slice(&zstd::bulk::compress(&cold, 1).unwrap());
        assert!(decode_chunk(&nested).is_err());
    }
}
