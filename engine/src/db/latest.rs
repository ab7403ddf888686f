//! The newest visible point of a series, recomputed when a delete removes the one the
//! catalog held, and on open for segments whose newest points a tombstone hides.
//!
//! Segment chunk indexes carry each chunk's last point, so a chunk is decoded only when a
//! tombstone hides its last point but not all of it.

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::head::{Memtable, SeriesHead};
use crate::point::{Point, Quality, Value};
use crate::segment::reader::Segment;
use crate::series::SeriesKey;
use crate::tombstone::HiddenRanges;
use crate::version::Version;

/// The newest point of series `key` (id `id`) that a read would return: over the segments
/// and frozen memtables of `version`, minus what its tombstones hide, and the active head
/// (which deletes clean in place). The newer source wins on equal timestamps.
pub(super) fn newest_visible(
    key: &SeriesKey,
    id: u32,
    version: &Version,
    active: &Memtable,
) -> Result<Option<Point>> {
    let mut best: Option<Point> = None;
    let mut offer = |p: Option<Point>| {
        if let Some(p) = p {
            if best.is_none_or(|b| p.ts >= b.ts) {
                best = Some(p);
            }
        }
    };
    for seg in &version.segments {
        let hidden = version.tombstones.hidden(key, seg.seq());
        offer(newest_in_segment(seg, (id, key), &hidden)?);
    }
    for frozen in &version.frozen {
        if let Some(h) = frozen.memtable.get(id) {
            let hidden = version.tombstones.hidden(key, frozen.segment_seq);
            offer(newest_in_head(h, &hidden)?);
        }
    }
    offer(active.get(id).and_then(SeriesHead::latest));
    Ok(best)
}

/// The newest point of series `id` (key `key`) in one segment that `hidden` does not hide.
pub(super) fn newest_in_segment(
    seg: &Arc<Segment>,
    (id, key): (u32, &SeriesKey),
    hidden: &HiddenRanges,
) -> Result<Option<Point>> {
    let Some(si) = seg.get(id)? else {
        return Ok(None);
    };
    for m in si.chunks.iter().rev() {
        if !hidden.contains(m.max_ts) {
            return Ok(Some(Point::with_quality(
                m.max_ts,
                Value::from_bits(si.value_type, m.last_bits),
                Quality(m.last_quality),
            )));
        }
        if hidden.covers(m.min_ts, m.max_ts) {
            continue;
        }
        let mut pts = Vec::new();
        seg.decode_chunk(key, m, &mut pts)?;
        if let Some(p) = pts.iter().rev().find(|p| !hidden.contains(p.ts)) {
            return Ok(Some(*p));
        }
    }
    Ok(None)
}

/// The newest point of a frozen head that `hidden` does not hide.
fn newest_in_head(h: &SeriesHead, hidden: &HiddenRanges) -> Result<Option<Point>> {
    match h.latest() {
        Some(p) if hidden.contains(p.ts) => {
            let all = h
                .all_points()
                .map_err(|e| Error::corrupt("<head in memory>", 0, e.to_string()))?;
            Ok(all.into_iter().rev().find(|p| !hidden.contains(p.ts)))
        }
        other => Ok(other),
    }
}
