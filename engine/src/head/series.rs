//! The head of one series.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::ChunkLimits;
use crate::codec::{cold, compress, decode_chunk_into, ChunkEncoder, CodecError};
use crate::point::{Point, Quality, Value, ValueType};
use crate::query::merge::merge_newer_wins;
use crate::segment::ChunkSummary;

/// Memory a series' head takes before its points: the struct in the memtable's table
/// (with the table's spare room) and the first allocations of its encoder's buffers.
const HEAD_OVERHEAD_BYTES: usize = std::mem::size_of::<SeriesHead>() * 8 / 7 + 3 * 32;

/// Approximate memory of one out-of-order entry (B-tree node share included).
const OOO_ENTRY_BYTES: usize = 48;

/// A closed, immutable chunk of one series: compressed points in increasing time order.
#[derive(Debug, Clone)]
pub struct ClosedChunk {
    /// The encoded chunk (see `codec`).
    pub bytes: Arc<[u8]>,
    /// Points in it.
    pub count: u32,
    /// First timestamp.
    pub min_ts: i64,
    /// Last timestamp.
    pub max_ts: i64,
    /// Last point (for "latest" without decoding).
    pub last: Point,
    /// Aggregates of its points, for a segment's index; the head's own chunks have none.
    pub summary: Option<ChunkSummary>,
}

impl ClosedChunk {
    /// Builds a closed chunk for a segment from sorted, de-duplicated points of one type, in
    /// the smallest encoding ([`compress`]); compressed again with zstd ([`cold`]) when its
    /// last point is older than `cold_before` and that pays.
    pub fn encode(
        vt: ValueType,
        points: &[Point],
        cold_before: i64,
    ) -> Result<Option<ClosedChunk>, CodecError> {
        let (Some(first), Some(last)) = (points.first(), points.last()) else {
            return Ok(None);
        };
        let mut bytes = compress(vt, points)?;
        if last.ts < cold_before {
            bytes = cold::wrap(&bytes).unwrap_or(bytes);
        }
        Ok(Some(ClosedChunk {
            bytes: bytes.into(),
            count: points.len() as u32,
            min_ts: first.ts,
            max_ts: last.ts,
            last: *last,
            summary: Some(ChunkSummary::of(points)),
        }))
    }
}

/// Recent points of one series.
///
/// Points that arrive in time order go into the open chunk; a point at or before the newest
/// in-order timestamp goes into the out-of-order map, which wins over chunk points with the
/// same timestamp (it can only hold newer writes of them).
#[derive(Debug)]
pub struct SeriesHead {
    vt: ValueType,
    closed: Vec<ClosedChunk>,
    closed_bytes: usize,
    open: ChunkEncoder,
    ooo: BTreeMap<i64, (u64, Quality)>,
}

impl SeriesHead {
    /// An empty head for a series of type `vt`.
    pub fn new(vt: ValueType) -> SeriesHead {
        SeriesHead {
            vt,
            closed: Vec::new(),
            closed_bytes: 0,
            open: ChunkEncoder::new(vt),
            ooo: BTreeMap::new(),
        }
    }

    /// The series' value type.
    pub fn value_type(&self) -> ValueType {
        self.vt
    }

    /// Approximate memory held, in bytes: the encoded points, and what the series' head
    /// costs whatever it holds (its slot in the memtable, the open chunk's encoder state
    /// and buffers), which is most of it for a slow tag with a point or two.
    pub fn mem_bytes(&self) -> usize {
        HEAD_OVERHEAD_BYTES
            + self.closed_bytes
            + self.open.encoded_len()
            + self.ooo.len() * OOO_ENTRY_BYTES
    }

    fn last_in_order_ts(&self) -> Option<i64> {
        self.open
            .last_ts()
            .or_else(|| self.closed.last().map(|c| c.max_ts))
    }

    /// Adds one point. Its type has been checked by the caller.
    pub fn append(&mut self, p: Point, limits: ChunkLimits) {
        if self.last_in_order_ts().is_some_and(|last| p.ts <= last) {
            self.ooo.insert(p.ts, (p.value.to_bits(), p.quality));
            return;
        }
        if self.open.push(p.ts, p.value, p.quality).is_err() {
            // Unreachable after validation; keep the point rather than lose it.
            self.ooo.insert(p.ts, (p.value.to_bits(), p.quality));
            return;
        }
        if self.open.len() >= limits.max_points || self.open.encoded_len() >= limits.max_bytes {
            self.close_open();
        }
    }

    fn close_open(&mut self) {
        let open = std::mem::replace(&mut self.open, ChunkEncoder::new(self.vt));
        let (Some(min_ts), Some(max_ts), Some(last)) =
            (open.first_ts(), open.last_ts(), open.last_point())
        else {
            return;
        };
        let count = open.len() as u32;
        let bytes: Arc<[u8]> = open.finish().into();
        self.closed_bytes += bytes.len();
        self.closed.push(ClosedChunk {
            bytes,
            count,
            min_ts,
            max_ts,
            last,
            summary: None,
        });
    }

    /// Appends the points with `start <= ts < end` to `out`, sorted, newest write winning.
    pub fn read_range(&self, start: i64, end: i64, out: &mut Vec<Point>) -> Result<(), CodecError> {
        if end > start {
            self.read_inclusive(start, end - 1, out)?;
        }
        Ok(())
    }

    /// Appends the points with `first <= ts <= last` to `out`, sorted, newest write winning.
    fn read_inclusive(
        &self,
        first: i64,
        last: i64,
        out: &mut Vec<Point>,
    ) -> Result<(), CodecError> {
        let mut in_order = Vec::new();
        for c in self
            .closed
            .iter()
            .filter(|c| c.max_ts >= first && c.min_ts <= last)
        {
            decode_chunk_into(&c.bytes, &mut in_order)?;
        }
        let open_overlaps = self.open.last_ts().is_some_and(|t| t >= first)
            && self.open.first_ts().is_some_and(|t| t <= last);
        if open_overlaps {
            decode_chunk_into(&self.open.snapshot(), &mut in_order)?;
        }
        in_order.retain(|p| p.ts >= first && p.ts <= last);
        let late: Vec<Point> = self
            .ooo
            .range(first..=last)
            .map(|(&ts, &(bits, q))| Point::with_quality(ts, Value::from_bits(self.vt, bits), q))
            .collect();
        out.extend(merge_newer_wins(in_order, late));
        Ok(())
    }

    /// Every point, sorted, newest write winning (`i64::MAX` included).
    pub fn all_points(&self) -> Result<Vec<Point>, CodecError> {
        let mut out = Vec::new();
        self.read_inclusive(i64::MIN, i64::MAX, &mut out)?;
        Ok(out)
    }

    /// This head without its points in `start <= ts < end`, rebuilt from the rest; `None`
    /// when no point is in that range. Deletes are rare, so decoding the series' head and
    /// encoding it again is an acceptable price for keeping chunks simple and immutable.
    pub fn without_range(
        &self,
        start: i64,
        end: i64,
        limits: ChunkLimits,
    ) -> Result<Option<SeriesHead>, CodecError> {
        let all = self.all_points()?;
        if !all.iter().any(|p| p.ts >= start && p.ts < end) {
            return Ok(None);
        }
        let mut head = SeriesHead::new(self.vt);
        for p in all.into_iter().filter(|p| p.ts < start || p.ts >= end) {
            head.append(p, limits);
        }
        Ok(Some(head))
    }

    /// True when the head holds no point.
    pub fn is_empty(&self) -> bool {
        self.closed.is_empty() && self.open.is_empty() && self.ooo.is_empty()
    }

    /// The newest point by timestamp.
    pub fn latest(&self) -> Option<Point> {
        let in_order = self
            .open
            .last_point()
            .or_else(|| self.closed.last().map(|c| c.last));
        let late = self
            .ooo
            .last_key_value()
            .map(|(&ts, &(bits, q))| Point::with_quality(ts, Value::from_bits(self.vt, bits), q));
        match (in_order, late) {
            (Some(a), Some(b)) => Some(if b.ts >= a.ts { b } else { a }),
            (a, b) => a.or(b),
        }
    }

    /// The whole series as closed chunks ready for a segment: sorted, non-overlapping, every
    /// late point merged in, each chunk in the smallest encoding. The head keeps its own
    /// chunks in the Gorilla encoding, which takes points one at a time; a segment's chunks
    /// are written once and read many times, so each is coded afresh from all its points.
    /// `visit` sees every point once, in time order (rollup tiers note their buckets).
    pub fn to_chunks(
        &self,
        limits: ChunkLimits,
        visit: &mut dyn FnMut(&[Point]),
    ) -> Result<Vec<ClosedChunk>, CodecError> {
        let mut chunks = Vec::with_capacity(self.closed.len() + 1);
        if self.ooo.is_empty() {
            let mut points = Vec::new();
            let open = (!self.open.is_empty()).then(|| self.open.snapshot());
            for bytes in self
                .closed
                .iter()
                .map(|c| &c.bytes[..])
                .chain(open.as_deref())
            {
                points.clear();
                decode_chunk_into(bytes, &mut points)?;
                visit(&points);
                encode_parts(self.vt, &points, limits, &mut chunks)?;
            }
            return Ok(chunks);
        }
        let mut all = Vec::new();
        self.read_inclusive(i64::MIN, i64::MAX, &mut all)?;
        visit(&all);
        encode_parts(self.vt, &all, limits, &mut chunks)?;
        Ok(chunks)
    }
}

/// Encodes sorted `points` into chunks of at most `limits.max_points`, never mixing two
/// time partitions in one chunk.
pub fn encode_parts(
    vt: ValueType,
    points: &[Point],
    limits: ChunkLimits,
    out: &mut Vec<ClosedChunk>,
) -> Result<(), CodecError> {
    let mut rest = points;
    while let Some(first) = rest.first() {
        let (_, last_ts) = crate::segment::partition(first.ts, limits.partition);
        let in_part = rest.partition_point(|p| p.ts <= last_ts);
        let (part, after) = rest.split_at(in_part);
        for piece in part.chunks(limits.max_points.max(1)) {
            out.extend(ClosedChunk::encode(vt, piece, limits.cold_before)?);
        }
        rest = after;
    }
    Ok(())
}
