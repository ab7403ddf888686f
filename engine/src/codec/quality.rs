//! Quality codes, run-length coded: a chunk whose points all have the same quality stores one
//! run. Layout: `n_runs` varint, then per run `code` varint and `length` varint (length ≥ 1).

use super::error::CodecError;
use super::varint::{get_varint, put_varint};

/// Runs of equal quality codes, as the encoder collects them.
#[derive(Debug, Clone, Default)]
pub struct QualityRuns {
    runs: Vec<(u32, u32)>,
}

impl QualityRuns {
    /// Appends one point's quality.
    #[inline]
    pub fn push(&mut self, q: u32) {
        match self.runs.last_mut() {
            Some((code, len)) if *code == q && *len < u32::MAX => *len += 1,
            _ => self.runs.push((q, 1)),
        }
    }

    /// The last quality pushed.
    #[inline(always)]
    pub fn last(&self) -> Option<u32> {
        self.runs.last().map(|&(c, _)| c)
    }

    /// Bytes the encoded runs take.
    pub fn byte_len(&self) -> usize {
        let mut n = varint_len(self.runs.len() as u64);
        for &(c, l) in &self.runs {
            n += varint_len(c as u64) + varint_len(l as u64);
        }
        n
    }

    /// Appends the encoded runs to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        put_varint(out, self.runs.len() as u64);
        for &(c, l) in &self.runs {
            put_varint(out, c as u64);
            put_varint(out, l as u64);
        }
    }

    /// Decodes runs that must cover exactly `count` points and use all of `buf`.
    pub fn decode(buf: &[u8], count: u32) -> Result<Vec<(u32, u32)>, CodecError> {
        let bad = |detail: String| CodecError::Invalid {
            what: "quality stream",
            detail,
        };
        let mut pos = 0;
        let n = get_varint(buf, &mut pos, "quality stream")?;
        if n > count as u64 {
            return Err(bad(format!("{n} runs for {count} points")));
        }
        let mut runs = Vec::with_capacity(n as usize);
        let mut total = 0u64;
        for _ in 0..n {
            let code = get_varint(buf, &mut pos, "quality stream")?;
            let len = get_varint(buf, &mut pos, "quality stream")?;
            if code > u32::MAX as u64 || len == 0 || len > u32::MAX as u64 {
                return Err(bad(format!("run of {len} with code {code}")));
            }
            total += len;
            runs.push((code as u32, len as u32));
        }
        if total != count as u64 {
            return Err(bad(format!("runs cover {total} points, chunk has {count}")));
        }
        if pos != buf.len() {
            return Err(bad(format!("{} trailing bytes", buf.len() - pos)));
        }
        Ok(runs)
    }
}

fn varint_len(v: u64) -> usize {
    (64 - (v | 1).leading_zeros()).div_ceil(7) as usize
}
