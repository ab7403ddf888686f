//! A chunk decoded column by column: timestamps and numeric values in two arrays, quality
//! codes as runs. This is what aggregates fold: a chunk's columns (16 bytes a point, where
//! rows take 32) stay in the cache, and a loop over one array of floats is one the compiler
//! can keep in registers.
//!
//! Values are numbers as aggregates see them: floats as they are (NaN included), integers
//! converted to floats, booleans as 0 and 1; exact decimals may be left as their integers
//! over a common `scale` (see [`Columns::scale`]), since sums, extremes and ends of the
//! integers give those of the values with one division. Timestamps are in encoded order,
//! which for every chunk a segment holds is time order.

use super::chunk::{decode_chunk_into, ChunkHeader};
use super::error::CodecError;
use super::Encoding;
use crate::point::{Point, Quality, Value};

/// The points of one chunk (or of any run of points) as columns.
#[derive(Debug, Clone)]
pub struct Columns {
    /// Timestamps, one per point.
    pub ts: Vec<i64>,
    /// Values as numbers, one per point: value `i` is `values[i] / scale`.
    pub values: Vec<f64>,
    /// What every value is divided by: 1 but for exact decimals, whose integers are left
    /// here undivided (the value is then that one IEEE division, correctly rounded).
    pub scale: f64,
    /// Quality codes as `(code, length)` runs covering every point in order.
    pub quality: Vec<(u32, u32)>,
    /// True when the decoder knows that no value is NaN (exact decimals and integers);
    /// false says nothing.
    pub nan_free: bool,
}

impl Default for Columns {
    fn default() -> Self {
        Columns {
            ts: Vec::new(),
            values: Vec::new(),
            scale: 1.0,
            quality: Vec::new(),
            nan_free: false,
        }
    }
}

impl Columns {
    /// Empties the columns, keeping their memory.
    pub fn clear(&mut self) {
        self.ts.clear();
        self.values.clear();
        self.scale = 1.0;
        self.quality.clear();
        self.nan_free = false;
    }

    /// Divides the values by the scale, which becomes 1: the values themselves.
    pub fn divide(&mut self) {
        if self.scale != 1.0 {
            let scale = self.scale;
            self.values.iter_mut().for_each(|x| *x /= scale);
            self.scale = 1.0;
        }
    }

    /// Number of points.
    pub fn len(&self) -> usize {
        self.ts.len()
    }

    /// True when there is no point.
    pub fn is_empty(&self) -> bool {
        self.ts.is_empty()
    }

    /// Replaces the columns with those of `points`.
    pub fn set_points(&mut self, points: &[Point]) {
        self.clear();
        self.ts.extend(points.iter().map(|p| p.ts));
        self.values.extend(points.iter().map(|p| number(p.value)));
        for p in points {
            match self.quality.last_mut() {
                Some((code, len)) if *code == p.quality.0 => *len += 1,
                _ => self.quality.push((p.quality.0, 1)),
            }
        }
    }

    /// The quality of every point, when they all have the same.
    pub fn single_quality(&self) -> Option<Quality> {
        match self.quality.as_slice() {
            [(code, _)] => Some(Quality(*code)),
            _ => None,
        }
    }

    /// Keeps the points for which `keep(ts, value, quality)` is true, in order.
    pub fn retain(&mut self, mut keep: impl FnMut(i64, f64, Quality) -> bool) {
        let runs = std::mem::take(&mut self.quality);
        let mut kept = 0;
        let mut i = 0;
        for (code, len) in runs {
            let mut run = 0u32;
            for _ in 0..len {
                let (t, v) = (self.ts[i], self.values[i]);
                if keep(t, v, Quality(code)) {
                    self.ts[kept] = t;
                    self.values[kept] = v;
                    kept += 1;
                    run += 1;
                }
                i += 1;
            }
            if run > 0 {
                match self.quality.last_mut() {
                    Some((c, l)) if *c == code => *l += run,
                    _ => self.quality.push((code, run)),
                }
            }
        }
        self.ts.truncate(kept);
        self.values.truncate(kept);
    }

    /// Keeps the points with `start <= ts < end`, when the timestamps are sorted.
    pub fn keep_range(&mut self, start: i64, end: i64) {
        let from = self.ts.partition_point(|&t| t < start);
        let to = self.ts.partition_point(|&t| t < end);
        if from == 0 && to == self.len() {
            return;
        }
        let mut i = 0;
        self.retain(|_, _, _| {
            let keep = (from..to).contains(&i);
            i += 1;
            keep
        });
    }
}

/// The value of a point as a number (NaN stays NaN).
#[inline]
fn number(v: Value) -> f64 {
    match v {
        Value::F64(f) => f,
        Value::I64(i) => i as f64,
        Value::Bool(b) => b as u8 as f64,
    }
}

/// Decodes a chunk of any encoding into `cols` (replacing what they held). On error the
/// columns are left empty.
pub fn decode_columns(bytes: &[u8], cols: &mut Columns) -> Result<ChunkHeader, CodecError> {
    match bytes.first().copied().and_then(Encoding::from_code) {
        Some(Encoding::Cold) => {
            cols.clear();
            let inner = super::cold::unwrap(bytes)?;
            Ok(ChunkHeader {
                encoding: Encoding::Cold,
                ..decode_columns(&inner, cols)?
            })
        }
        Some(Encoding::Packed) => {
            let (value_type, count) = super::packed::columns::decode(bytes, cols)?;
            Ok(ChunkHeader {
                encoding: Encoding::Packed,
                value_type,
                count,
            })
        }
        _ => {
            // Gorilla chunks (the head's) are decoded as rows, then turned.
            cols.clear();
            let mut rows = Vec::new();
            let h = decode_chunk_into(bytes, &mut rows)?;
            cols.set_points(&rows);
            Ok(h)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::compress;
    use crate::point::ValueType;

    fn points() -> Vec<Point> {
        (0..300)
            .map(|i| Point {
                ts: 1_000 + i * 7 + (i % 3),
                value: Value::F64(if i == 17 { f64::NAN } else { i as f64 * 0.25 }),
                quality: Quality(if i % 50 < 3 { 0x8000_0000 } else { 0 }),
            })
            .collect()
    }

    #[test]
    fn columns_hold_what_rows_hold() {
        let pts = points();
        let bytes = compress(ValueType::F64, &pts).unwrap();
        let mut cols = Columns::default();
        decode_columns(&bytes, &mut cols).unwrap();
        cols.divide();
        let mut want = Columns::default();
        want.set_points(&pts);
        assert_eq!(cols.ts, want.ts);
        assert_eq!(cols.quality, want.quality);
        let bits = |c: &Columns| c.values.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&cols), bits(&want));
    }

    #[test]
    fn retain_and_keep_range_keep_the_runs_right() {
        let pts = points();
        let mut cols = Columns::default();
        cols.set_points(&pts);
        cols.keep_range(1_100, 1_700);
        cols.retain(|_, v, q| q.is_good() && !v.is_nan());
        let kept: Vec<&Point> = pts
            .iter()
            .filter(|p| p.ts >= 1_100 && p.ts < 1_700 && p.quality.is_good())
            .filter(|p| !matches!(p.value, Value::F64(x) if x.is_nan()))
            .collect();
        assert_eq!(cols.ts, kept.iter().map(|p| p.ts).collect::<Vec<_>>());
        assert_eq!(cols.single_quality(), Some(Quality::GOOD));
        assert_eq!(cols.quality, vec![(0, kept.len() as u32)]);
    }
}
