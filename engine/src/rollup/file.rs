//! The `rollups` file: which tiers the store keeps, and since when. A tier configured when
//! the store already held segments covers only data flushed after that (its `since` seq);
//! the planner answers older data from raw points. Rewritten whole (see
//! [`crate::whole_file`]).
//!
//! ```text
//! body: n u32 | n × (width i64 | since u64), widths increasing
//! ```

use std::path::Path;

use crate::coding::{PutLe, Reader};
use crate::error::{Error, Result};
use crate::whole_file::{Kind, HEADER_LEN};

/// The rollups file kind: `DATA_DIR/rollups`, magic `LDSTROLL`, version 1.
pub const KIND: Kind = Kind {
    name: "rollups",
    magic: *b"LDSTROLL",
    version: 1,
};

/// One kept tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tier {
    /// Bucket width in nanoseconds.
    pub width: i64,
    /// Raw segments with a lower seq may hold points this tier's buckets do not include.
    pub since: u64,
}

/// Replaces the file in data folder `dir`.
pub fn write(dir: &Path, tiers: &[Tier]) -> Result<()> {
    let mut body = Vec::new();
    body.put_u32(tiers.len() as u32);
    for t in tiers {
        body.put_i64(t.width);
        body.put_u64(t.since);
    }
    KIND.write(dir, &body)
}

/// Reads the file in `dir`; `None` when there is none (a store from before tiers, or new).
pub fn read(dir: &Path) -> Result<Option<Vec<Tier>>> {
    let Some((_version, body)) = KIND.read(dir)? else {
        return Ok(None);
    };
    let bad =
        |at: usize, what: &str| Error::corrupt(KIND.path(dir), (HEADER_LEN + at) as u64, what);
    let mut r = Reader::new(&body);
    let n = r.u32().map_err(|_| bad(0, "rollups file ends early"))? as usize;
    if n.saturating_mul(16) != r.remaining() {
        return Err(bad(0, "rollups file length does not match its tier count"));
    }
    let mut tiers: Vec<Tier> = Vec::with_capacity(n);
    for _ in 0..n {
        let at = r.position();
        let short = |_| bad(at, "rollups file ends early");
        let t = Tier {
            width: r.i64().map_err(short)?,
            since: r.u64().map_err(short)?,
        };
        if t.width < 1 || tiers.last().is_some_and(|p| p.width >= t.width) {
            return Err(bad(at, "tier widths must be positive and increasing"));
        }
        tiers.push(t);
    }
    Ok(Some(tiers))
}
