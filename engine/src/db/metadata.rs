//! Series metadata (unit, description) and declaring a series before its first point.
//!
//! An update is a WAL record like a write: durable under the same mode and applied by the
//! committer in WAL order. A flush writes the metadata of every series to the `metadata`
//! file before it deletes the WAL files holding the updates.

use std::sync::Arc;

use super::commit::Pending;
use super::write::append_and_queue;
use super::Engine;
use crate::catalog::SeriesEntry;
use crate::error::{Error, Result};
use crate::metadata::SeriesMetadata;
use crate::point::ValueType;
use crate::series::SeriesKey;
use crate::wal::record::MetadataRecord;

impl Engine {
    /// Replaces the metadata of a known series; returns once durable and visible.
    /// Errors: [`Error::UnknownSeries`] (declare it with [`Engine::declare_series`]), and
    /// [`Error::InvalidMetadata`] naming the field and limit (unit at most
    /// [`crate::metadata::MAX_UNIT_LEN`] bytes, description at most
    /// [`crate::metadata::MAX_DESCRIPTION_LEN`]).
    pub fn set_metadata(&self, key: &SeriesKey, metadata: SeriesMetadata) -> Result<()> {
        check(key, &metadata)?;
        let entry = self.entry(key)?;
        self.log_metadata(&entry, metadata)
    }

    /// Declares series `key` with value type `value_type` and sets its metadata, so that a
    /// plant engineer can register a tag before data arrives. A series that is already known
    /// keeps its points and gets the new metadata; declaring it with another type is
    /// [`Error::TypeConflict`], and a later write of another type is refused as
    /// [`Error::TypeMismatch`], as for any series. Returns once durable and visible.
    pub fn declare_series(
        &self,
        key: &SeriesKey,
        value_type: ValueType,
        metadata: SeriesMetadata,
    ) -> Result<()> {
        check(key, &metadata)?;
        self.inner.check_writable()?;
        let known = self.inner.catalog.read().get(key).cloned();
        let entry = match known {
            Some(e) => e,
            None => {
                let mut catalog = self.inner.catalog.write();
                match catalog.get(key) {
                    Some(e) => e.clone(),
                    None => {
                        check_room(&self.inner, &catalog, 1, key)?;
                        catalog.insert(key.clone(), value_type)
                    }
                }
            }
        };
        if entry.value_type != value_type {
            return Err(Error::TypeConflict {
                series: key.to_string(),
                existing: entry.value_type,
                requested: value_type,
            });
        }
        self.log_metadata(&entry, metadata)
    }

    /// The metadata of series `key`; `None` when none was ever set.
    /// Errors: [`Error::UnknownSeries`].
    pub fn metadata(&self, key: &SeriesKey) -> Result<Option<SeriesMetadata>> {
        Ok(self
            .entry(key)?
            .metadata()
            .map(|m| SeriesMetadata::clone(&m)))
    }

    /// The value type of series `key`, fixed by its declaration or first write.
    /// Errors: [`Error::UnknownSeries`].
    pub fn value_type(&self, key: &SeriesKey) -> Result<ValueType> {
        Ok(self.entry(key)?.value_type)
    }

    /// The catalog entry of `key`, or [`Error::UnknownSeries`].
    pub(super) fn entry(&self, key: &SeriesKey) -> Result<Arc<SeriesEntry>> {
        self.inner
            .catalog
            .read()
            .get(key)
            .cloned()
            .ok_or_else(|| Error::UnknownSeries {
                series: key.to_string(),
            })
    }

    fn log_metadata(&self, entry: &SeriesEntry, metadata: SeriesMetadata) -> Result<()> {
        let inner = &self.inner;
        inner.check_writable()?;
        let record = MetadataRecord {
            key: entry.key.clone(),
            value_type: entry.value_type,
            metadata,
        };
        let mut payload = Vec::with_capacity(64);
        record.encode(&mut payload);
        let wal = inner.wal.lock();
        if wal.shutdown {
            return Err(Error::Closed);
        }
        append_and_queue(
            inner,
            wal,
            &payload,
            |_| {},
            |seq| Pending::Metadata {
                seq,
                id: entry.id,
                metadata: Arc::new(record.metadata),
            },
        )?
        .wait()
    }
}

fn check(key: &SeriesKey, metadata: &SeriesMetadata) -> Result<()> {
    metadata
        .validate()
        .map_err(|reason| Error::InvalidMetadata {
            series: key.to_string(),
            reason,
        })
}

/// Refuses `new` more series when they would take `catalog` past `max_series`; `first`
/// names one of them in the error.
pub(super) fn check_room(
    inner: &super::Inner,
    catalog: &crate::catalog::Catalog,
    new: usize,
    first: &SeriesKey,
) -> Result<()> {
    let limit = inner.opts.max_series;
    if catalog.len().saturating_add(new) > limit {
        return Err(Error::SeriesLimit {
            limit,
            series: first.to_string(),
        });
    }
    Ok(())
}
