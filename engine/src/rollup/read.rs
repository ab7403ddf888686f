//! Reading the buckets of one series from a tier's segment files: the newest version of
//! each bucket wins.

use std::sync::Arc;

use super::{chunk, Bucket};
use crate::error::{Error, Result};
use crate::segment::reader::Segment;
use crate::series::SeriesKey;

/// A bucket and the seq of the file that holds it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stored {
    /// The bucket.
    pub bucket: Bucket,
    /// The seq of the file it came from: writes and deletes after it are not in it.
    pub seq: u64,
}

/// The buckets of series `id` (key `key`) in the tier of `width` whose starts lie in `first..=last`, sorted,
/// one per start (the newest version). `files` are the rollup files in version order
/// (oldest first).
pub fn buckets(
    files: &[Arc<Segment>],
    (id, key): (u32, &SeriesKey),
    width: i64,
    first: i64,
    last: i64,
) -> Result<Vec<Stored>> {
    let mut out = Vec::new();
    let mut decoded = Vec::new();
    for seg in files {
        let info = seg.info();
        if info.tier != width || info.last_ts < first || info.first_ts > last {
            continue;
        }
        let Some(si) = seg.get(id)? else { continue };
        for m in si
            .chunks
            .iter()
            .filter(|m| m.max_ts >= first && m.min_ts <= last)
        {
            let bytes = seg.chunk_bytes(m)?;
            decoded.clear();
            chunk::decode_into(bytes, width, &mut decoded).map_err(|e| {
                Error::corrupt(seg.path(), m.offset, format!("rollup chunk of {key}: {e}"))
            })?;
            if decoded.len() != m.count as usize {
                return Err(Error::corrupt(
                    seg.path(),
                    m.offset,
                    format!("rollup chunk of {key}: bucket count differs from the index"),
                ));
            }
            out.extend(
                decoded
                    .iter()
                    .filter(|b| b.start >= first && b.start <= last)
                    .map(|&bucket| Stored {
                        bucket,
                        seq: seg.seq(),
                    }),
            );
        }
    }
    // Stable: of equal starts the one read last (the newest file) comes last and is kept.
    out.sort_by_key(|s| s.bucket.start);
    let mut newest: Vec<Stored> = Vec::with_capacity(out.len());
    for s in out {
        match newest.last_mut() {
            Some(last) if last.bucket.start == s.bucket.start => *last = s,
            _ => newest.push(s),
        }
    }
    Ok(newest)
}
