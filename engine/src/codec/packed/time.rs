//! Timestamps of a packed chunk.
//!
//! ```text
//! t0 i64 LE │ when count > 1: unit varint │ period zigzag varint │
//!   Delta: residual stream                (count-1 values)
//!   Grid:  skip stream │ offset stream    (count-1 values each)
//! ```
//! All arithmetic wraps, so any sequence (decreasing, repeated, spanning all of i64) codes
//! exactly; the codings differ only in size.
//! - `unit` is the greatest common divisor of the deltas (whole milliseconds, whole seconds),
//!   and `d = delta / unit`; the `period` is the median `d`.
//! - Delta: `d - period` per point; a drifting clock costs only its drift.
//! - Grid: a regular grid starts at the first timestamp and advances by `period`; each point
//!   codes how many grid steps beyond the next one it lies (a gap) and its offset from that
//!   grid step. Jitter stays an offset from the grid instead of accumulating in deltas, so a
//!   ±2 ms jitter costs log2(5) bits, not the 3 bits of its deltas' triangle.

use super::super::error::CodecError;
use super::super::varint::{get_varint, put_varint};
use super::ints::{self, unzigzag, zigzag, IntReader};
use super::TimeCoding;

const WHAT: &str = "timestamp section";

/// Timestamps analysed for coding.
pub struct Times<'a> {
    ts: &'a [i64],
    unit: u64,
    period: i64,
    /// `delta / unit` per point after the first.
    steps: Vec<i64>,
}

impl<'a> Times<'a> {
    /// Analyses `ts` (at least one).
    pub fn new(ts: &'a [i64]) -> Times<'a> {
        let mut unit = 0u64;
        for w in ts.windows(2) {
            let d = w[1].wrapping_sub(w[0]).unsigned_abs();
            if d != 0 && unit != 1 {
                unit = gcd(unit, d);
            }
        }
        let unit = unit.max(1);
        let steps: Vec<i64> = ts
            .windows(2)
            .map(|w| w[1].wrapping_sub(w[0]).wrapping_div(unit as i64))
            .collect();
        let period = if steps.is_empty() {
            0
        } else {
            let mut sorted = steps.clone();
            let mid = sorted.len() / 2;
            *sorted.select_nth_unstable(mid).1
        };
        Times {
            ts,
            unit,
            period,
            steps,
        }
    }

    fn delta_residuals(&self, period: i64) -> Vec<u64> {
        self.steps
            .iter()
            .map(|&d| zigzag(d.wrapping_sub(period)))
            .collect()
    }

    /// Skips and offsets from the grid of `period`.
    fn grid(&self, period: i64) -> (Vec<u64>, Vec<u64>) {
        let p = period;
        let (mut x, mut g) = (0i64, 0i64);
        let mut skips = Vec::with_capacity(self.steps.len());
        let mut offsets = Vec::with_capacity(self.steps.len());
        for &d in &self.steps {
            x = x.wrapping_add(d);
            let pred = g.wrapping_add(p);
            let e = x.wrapping_sub(pred);
            let k = if p > 0 {
                // Nearest whole number of periods; fits i64 because p >= 1.
                (e as i128 + (p / 2) as i128).div_euclid(p as i128) as i64
            } else {
                0
            };
            let kp = k.wrapping_mul(p);
            skips.push(zigzag(k));
            offsets.push(zigzag(e.wrapping_sub(kp)));
            g = pred.wrapping_add(kp);
        }
        (skips, offsets)
    }

    /// The period that puts the last point on the grid's line: the median step can be off
    /// by a little when jitter is finer than the unit, and a grid drifts by that much per
    /// point.
    fn fitted_period(&self) -> Option<i64> {
        let span: i128 = self.steps.iter().map(|&d| d as i128).sum();
        let p = self.period as i128;
        if p <= 0 || span <= 0 {
            return None;
        }
        let periods = (span + p / 2) / p;
        let fitted = (span + periods / 2) / periods.max(1);
        (fitted != p && fitted > 0 && fitted <= i64::MAX as i128).then_some(fitted as i64)
    }

    /// Appends the section with `coding`, or the smaller coding when `None`; returns the one
    /// used. Candidates are coded in full and the smallest kept, so the choice is exact.
    pub fn encode(&self, coding: Option<TimeCoding>, out: &mut Vec<u8>) -> TimeCoding {
        out.extend_from_slice(&self.ts[0].to_le_bytes());
        if self.steps.is_empty() {
            return coding.unwrap_or(TimeCoding::Delta);
        }
        put_varint(out, self.unit);
        let mut best: Option<(TimeCoding, Vec<u8>)> = None;
        let mut periods = vec![self.period];
        periods.extend(self.fitted_period());
        for c in [TimeCoding::Delta, TimeCoding::Grid] {
            if coding.is_some_and(|want| want != c) {
                continue;
            }
            for &period in &periods {
                let mut body = Vec::new();
                put_varint(&mut body, zigzag(period));
                match c {
                    TimeCoding::Delta => {
                        ints::encode_counted(&self.delta_residuals(period), &mut body)
                    }
                    TimeCoding::Grid => {
                        let (skips, offsets) = self.grid(period);
                        ints::encode_counted(&skips, &mut body);
                        ints::encode_counted(&offsets, &mut body);
                    }
                }
                if best.as_ref().is_none_or(|(_, b)| body.len() < b.len()) {
                    best = Some((c, body));
                }
            }
        }
        let (c, body) = best.unwrap_or((TimeCoding::Delta, Vec::new()));
        out.extend_from_slice(&body);
        c
    }
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Reads the timestamps of a section one at a time (see [`IntReader`] for errors).
pub struct TimeReader<'a> {
    /// The last timestamp returned.
    next: i64,
    unit: i64,
    period: i64,
    mode: Mode<'a>,
}

enum Mode<'a> {
    Single,
    Delta(IntReader<'a>),
    Grid {
        t0: i64,
        g: i64,
        skips: IntReader<'a>,
        offsets: IntReader<'a>,
    },
}

impl<'a> TimeReader<'a> {
    /// Opens the section of `n` timestamps (n >= 1) coded with `coding` at `*pos`; `*pos`
    /// moves past it.
    pub fn new(
        buf: &'a [u8],
        pos: &mut usize,
        n: usize,
        coding: TimeCoding,
    ) -> Result<TimeReader<'a>, CodecError> {
        let t0 = ints::take(buf, pos, 8).map_err(|_| CodecError::Truncated { what: WHAT })?;
        let t0 = i64::from_le_bytes([t0[0], t0[1], t0[2], t0[3], t0[4], t0[5], t0[6], t0[7]]);
        let mut r = TimeReader {
            next: t0,
            unit: 1,
            period: 0,
            mode: Mode::Single,
        };
        if n <= 1 {
            return Ok(r);
        }
        let unit = get_varint(buf, pos, WHAT)?;
        if unit == 0 {
            return Err(CodecError::Invalid {
                what: WHAT,
                detail: "unit 0".into(),
            });
        }
        r.unit = unit as i64; // wrapping, as the encoder multiplies
        r.period = unzigzag(get_varint(buf, pos, WHAT)?);
        r.mode = match coding {
            TimeCoding::Delta => Mode::Delta(IntReader::new(buf, pos, n - 1)?),
            TimeCoding::Grid => Mode::Grid {
                t0,
                g: 0,
                skips: IntReader::new(buf, pos, n - 1)?,
                offsets: IntReader::new(buf, pos, n - 1)?,
            },
        };
        Ok(r)
    }

    /// When every step is the same (a regular clock), the step in nanoseconds.
    pub fn regular_step(&self) -> Option<i64> {
        let step = match &self.mode {
            Mode::Single => return Some(0),
            Mode::Delta(r) => unzigzag(r.constant()?).wrapping_add(self.period),
            Mode::Grid { skips, offsets, .. } => {
                if unzigzag(offsets.constant()?) != 0 {
                    return None;
                }
                let k = unzigzag(skips.constant()?);
                self.period.wrapping_add(k.wrapping_mul(self.period))
            }
        };
        Some(step.wrapping_mul(self.unit))
    }

    /// The first timestamp.
    pub fn first(&self) -> i64 {
        self.next
    }

    /// The timestamp after the last one returned (by [`TimeReader::first`] first); call it
    /// `n - 1` times.
    #[inline(always)]
    pub fn next_ts(&mut self) -> i64 {
        let t = self.next;
        match &mut self.mode {
            Mode::Single => {}
            Mode::Delta(r) => {
                let d = unzigzag(r.next_value()).wrapping_add(self.period);
                self.next = t.wrapping_add(d.wrapping_mul(self.unit));
            }
            Mode::Grid {
                t0,
                g,
                skips,
                offsets,
            } => {
                let k = unzigzag(skips.next_value());
                let p = self.period;
                *g = g.wrapping_add(p).wrapping_add(k.wrapping_mul(p));
                let x = g.wrapping_add(unzigzag(offsets.next_value()));
                self.next = t0.wrapping_add(x.wrapping_mul(self.unit));
            }
        }
        self.next
    }

    /// Checks the streams, after all timestamps were read.
    pub fn finish(&self) -> Result<(), CodecError> {
        match &self.mode {
            Mode::Single => Ok(()),
            Mode::Delta(r) => r.finish(),
            Mode::Grid { skips, offsets, .. } => {
                skips.finish()?;
                offsets.finish()
            }
        }
    }
}
