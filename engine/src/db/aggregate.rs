//! Windowed aggregates of one series, answered from its raw points (see
//! [`crate::query::window`]); chunk summaries and rollup tiers will answer the same
//! questions faster, with the same answers.

use super::Engine;
use crate::error::{Error, Result};
use crate::query::window::{aggregate_windows, Window, WindowSpec};
use crate::series::SeriesKey;

/// Most windows one request may produce: a year of one-second windows is 31.5 M, and a
/// request for more is almost certainly a mistake that would exhaust memory.
pub const MAX_WINDOWS: u64 = 50_000_000;

impl Engine {
    /// The windows of `spec` over series `key`. Errors: [`Error::InvalidRange`] when
    /// `spec.start > spec.end`, [`Error::InvalidQuery`] when `spec.step < 1` or the request
    /// has more than [`MAX_WINDOWS`] windows, and those of [`Engine::read_range`].
    pub fn aggregate(&self, key: &SeriesKey, spec: &WindowSpec) -> Result<Vec<Window>> {
        if spec.start > spec.end {
            return Err(Error::InvalidRange {
                start: spec.start,
                end: spec.end,
            });
        }
        if spec.step < 1 {
            return Err(Error::InvalidQuery {
                reason: format!("window step {} ns: it must be at least 1", spec.step),
            });
        }
        if let Some(n) = spec.windows().filter(|&n| n > MAX_WINDOWS) {
            return Err(Error::InvalidQuery {
                reason: format!(
                    "{n} windows asked for, more than the {MAX_WINDOWS} one request may have"
                ),
            });
        }
        let points = self.read_range(key, spec.start, spec.end)?;
        Ok(aggregate_windows(&points, spec))
    }
}
