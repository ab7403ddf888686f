//! The chunk of a rollup tier: consecutive buckets of one series, column by column, each
//! column a packed chunk (see `codec::packed`) whose timestamps are the bucket starts.
//!
//! ```text
//! 'R' u8 | version u8 (1) | n u32 | 10 × (len u32 | packed chunk of n points)
//! columns: count, first_ts − start, last_ts − start (i64); first, last, sum, min, max, m2,
//!          integral (f64)
//! ```
//! A bucket with count 0 says the bucket has no used point (it replaces an older version
//! that had some); its other fields are 0.

use super::Bucket;
use crate::codec::{compress, decode_chunk_into, CodecError};
use crate::coding::{PutLe, Reader};
use crate::point::{Point, Value, ValueType};
use crate::query::summary::Summary;

/// First byte of a rollup chunk.
pub const MAGIC: u8 = b'R';
const VERSION: u8 = 1;
const COLUMNS: usize = 10;
/// Most buckets in one chunk.
pub const MAX_BUCKETS: usize = 4096;

/// Encodes `buckets` (increasing starts, at most [`MAX_BUCKETS`]).
pub fn encode(buckets: &[Bucket]) -> Result<Vec<u8>, CodecError> {
    let mut out = vec![MAGIC, VERSION];
    out.put_u32(buckets.len() as u32);
    let int = |f: &dyn Fn(&Bucket) -> i64| -> Result<Vec<u8>, CodecError> {
        let pts: Vec<Point> = buckets
            .iter()
            .map(|b| Point::new(b.start, Value::I64(f(b))))
            .collect();
        compress(ValueType::I64, &pts)
    };
    let float = |f: &dyn Fn(&Summary) -> f64| -> Result<Vec<u8>, CodecError> {
        let pts: Vec<Point> = buckets
            .iter()
            .map(|b| {
                Point::new(
                    b.start,
                    Value::F64(if b.summary.count == 0 {
                        0.0
                    } else {
                        f(&b.summary)
                    }),
                )
            })
            .collect();
        compress(ValueType::F64, &pts)
    };
    let offset = |b: &Bucket, ts: i64| {
        if b.summary.count == 0 {
            0
        } else {
            ts.wrapping_sub(b.start)
        }
    };
    let columns = [
        int(&|b| b.summary.count as i64)?,
        int(&|b| offset(b, b.summary.first.0))?,
        int(&|b| offset(b, b.summary.last.0))?,
        float(&|s| s.first.1)?,
        float(&|s| s.last.1)?,
        float(&|s| s.sum)?,
        float(&|s| s.min)?,
        float(&|s| s.max)?,
        float(&|s| s.m2)?,
        float(&|s| s.integral)?,
    ];
    for c in columns {
        out.put_u32(c.len() as u32);
        out.extend_from_slice(&c);
    }
    Ok(out)
}

/// Decodes a chunk of buckets of width `width` nanoseconds, appending them to `out`.
/// Checks that every column has the same bucket starts, increasing, and that the first and
/// last points lie in their bucket.
pub fn decode_into(bytes: &[u8], width: i64, out: &mut Vec<Bucket>) -> Result<(), CodecError> {
    let bad = |what: &str| CodecError::Invalid {
        what: "rollup chunk",
        detail: what.to_string(),
    };
    let mut r = Reader::new(bytes);
    let head = (r.u8(), r.u8(), r.u32());
    let (Ok(MAGIC), Ok(VERSION), Ok(n)) = head else {
        return Err(bad("bad header"));
    };
    let n = n as usize;
    if n == 0 || n > MAX_BUCKETS {
        return Err(bad("bucket count out of range"));
    }
    let mut columns: Vec<Vec<Point>> = Vec::with_capacity(COLUMNS);
    for _ in 0..COLUMNS {
        let len = r.u32().map_err(|_| bad("ends early"))? as usize;
        let body = r.bytes(len).map_err(|_| bad("ends early"))?;
        let mut pts = Vec::with_capacity(n);
        decode_chunk_into(body, &mut pts)?;
        if pts.len() != n {
            return Err(bad("columns differ in length"));
        }
        if let Some(first) = columns.first() {
            if pts.iter().zip(first).any(|(a, b)| a.ts != b.ts) {
                return Err(bad("columns differ in bucket starts"));
            }
        }
        columns.push(pts);
    }
    if r.remaining() != 0 {
        return Err(bad("trailing bytes"));
    }
    let int = |c: usize, i: usize| match columns[c][i].value {
        Value::I64(v) => Ok(v),
        _ => Err(bad("column of the wrong type")),
    };
    let float = |c: usize, i: usize| match columns[c][i].value {
        Value::F64(v) => Ok(v),
        _ => Err(bad("column of the wrong type")),
    };
    out.reserve(n);
    let mut prev: Option<i64> = None;
    for (i, first) in columns[0].iter().enumerate() {
        let start = first.ts;
        if prev.is_some_and(|p| p >= start) {
            return Err(bad("bucket starts do not increase"));
        }
        prev = Some(start);
        let count = int(0, i)?;
        let (first_off, last_off) = (int(1, i)?, int(2, i)?);
        if count < 0
            || (count > 0 && !(0 <= first_off && first_off <= last_off && last_off < width))
        {
            return Err(bad("bucket fields out of range"));
        }
        let summary = if count == 0 {
            Summary::EMPTY
        } else {
            Summary {
                count: count as u64,
                first: (start.wrapping_add(first_off), float(3, i)?),
                last: (start.wrapping_add(last_off), float(4, i)?),
                sum: float(5, i)?,
                min: float(6, i)?,
                max: float(7, i)?,
                m2: float(8, i)?,
                integral: float(9, i)?,
            }
        };
        out.push(Bucket { start, summary });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_round_trip_and_damage_is_an_error() {
        let width = 60;
        let buckets: Vec<Bucket> = (0..100)
            .map(|i| Bucket {
                start: i * 60,
                summary: if i % 7 == 3 {
                    Summary::EMPTY
                } else {
                    Summary::of_points(
                        (0..5).map(|j| (i * 60 + j * 11, (i * j) as f64 * 0.5 - 3.0)),
                    )
                },
            })
            .collect();
        let bytes = encode(&buckets).unwrap();
        let mut back = Vec::new();
        decode_into(&bytes, width, &mut back).unwrap();
        assert_eq!(back, buckets);
        // A narrower width than the buckets were built for is caught.
        assert!(decode_into(&bytes, 40, &mut Vec::new()).is_err());
        for cut in [0, 1, 6, bytes.len() / 2, bytes.len() - 1] {
            assert!(
                decode_into(&bytes[..cut], width, &mut Vec::new()).is_err(),
                "cut {cut}"
            );
        }
        for i in 0..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 0x41;
            let _ = decode_into(&b, width, &mut Vec::new());
        }
    }
}
