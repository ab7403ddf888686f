//! Deleting a time range of one series.
//!
//! A delete is a WAL record like a write: durable under the same mode, acknowledged after the
//! same group-commit fsync, and applied by the committer in WAL order, so it removes exactly
//! the points written before it and none written after. Applying it removes the points of
//! the active head in place and records a tombstone that hides the points of segments and
//! frozen memtables up to the newest segment sequence number given out (see
//! [`crate::tombstone`]). A flush writes the tombstones to the `tombstones` file before it
//! deletes the WAL files holding the delete records, so a delete survives every restart.

use super::commit::{Pending, Ticket};
use super::write::append_and_queue;
use super::Engine;
use crate::error::{Error, Result};
use crate::series::SeriesKey;
use crate::wal::record::DeleteRecord;

impl Engine {
    /// Deletes every point of series `key` with `start <= ts < end` that was written before
    /// this call; points written afterwards, in the same range, stay. Returns once the
    /// delete is durable under the configured [`crate::Durability`] and visible to readers,
    /// [`Engine::latest`] and [`Engine::list_series`] included.
    ///
    /// The series stays known with its value type even when every point is gone (deleting
    /// `i64::MIN..i64::MAX` empties it; a point at `i64::MAX` lies outside any range).
    /// Errors: [`Error::InvalidRange`] when `start > end`, [`Error::UnknownSeries`]. An empty
    /// range (`start == end`) deletes nothing and logs nothing.
    pub fn delete_range(&self, key: &SeriesKey, start: i64, end: i64) -> Result<()> {
        match self.submit_delete(key, start, end)? {
            Some(ticket) => ticket.wait(),
            None => Ok(()),
        }
    }

    /// Like [`Engine::delete_range`], but awaits the acknowledgement instead of blocking.
    pub async fn delete_range_async(&self, key: &SeriesKey, start: i64, end: i64) -> Result<()> {
        match self.submit_delete(key, start, end)? {
            Some(ticket) => ticket.await,
            None => Ok(()),
        }
    }

    /// Validates and logs a delete; `None` when the range is empty.
    fn submit_delete(&self, key: &SeriesKey, start: i64, end: i64) -> Result<Option<Ticket>> {
        let inner = &self.inner;
        inner.check_writable()?;
        if start > end {
            return Err(Error::InvalidRange { start, end });
        }
        let entry = self.entry(key)?;
        if start == end {
            return Ok(None);
        }
        let record = DeleteRecord {
            key: key.clone(),
            value_type: entry.value_type,
            start,
            end,
        };
        let mut payload = Vec::with_capacity(64);
        record.encode(&mut payload);
        let wal = inner.wal.lock();
        if wal.shutdown {
            return Err(Error::Closed);
        }
        let ticket = append_and_queue(
            inner,
            wal,
            &payload,
            |_| {},
            |seq| Pending::Delete {
                seq,
                id: entry.id,
                key: record.key,
                value_type: record.value_type,
                start,
                end,
            },
        )?;
        Ok(Some(ticket))
    }
}
