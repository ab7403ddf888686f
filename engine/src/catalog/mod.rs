//! The series catalog: every known series, its in-memory id, value type, latest point and
//! metadata.
//!
//! The catalog is rebuilt on open from the `metadata` and `tombstones` files, segment indexes
//! and WAL records (all carry full series keys and types). Ids are process-local and never
//! written to disk except as WAL-file-local names.

mod postings;

use std::hash::BuildHasher;
use std::sync::Arc;

use hashbrown::{DefaultHashBuilder, HashTable};
use parking_lot::Mutex;

use postings::Postings;

use crate::metadata::SeriesMetadata;
use crate::point::{Point, ValueType};
use crate::select::Selector;
use crate::series::SeriesKey;

/// One known series.
#[derive(Debug)]
pub struct SeriesEntry {
    /// In-memory id.
    pub id: u32,
    /// The key.
    pub key: SeriesKey,
    /// The type all its points have.
    pub value_type: ValueType,
    latest: Mutex<Option<Point>>,
    metadata: Mutex<Option<Arc<SeriesMetadata>>>,
    /// Set when retention or compaction dropped the last file naming the series: the
    /// `metadata` file then lists it, so that it stays known after a restart.
    kept: std::sync::atomic::AtomicBool,
}

impl SeriesEntry {
    /// The newest point by timestamp (on equal timestamps, the last written).
    pub fn latest(&self) -> Option<Point> {
        *self.latest.lock()
    }

    /// Offers a point as the latest; kept if its timestamp is not older than the current one.
    pub fn offer_latest(&self, p: Point) {
        let mut cur = self.latest.lock();
        if cur.is_none_or(|c| p.ts >= c.ts) {
            *cur = Some(p);
        }
    }

    /// Replaces the latest point, after a delete removed the old one.
    pub fn set_latest(&self, p: Option<Point>) {
        *self.latest.lock() = p;
    }

    /// The metadata, if any was set.
    pub fn metadata(&self) -> Option<Arc<SeriesMetadata>> {
        self.metadata.lock().clone()
    }

    /// True when only the `metadata` file keeps the series known (see [`SeriesEntry::keep`]).
    pub fn is_kept(&self) -> bool {
        self.kept.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Marks the series as known though no data file names it any more.
    pub fn keep(&self) {
        self.kept.store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Replaces the metadata.
    pub fn set_metadata(&self, m: Arc<SeriesMetadata>) {
        *self.metadata.lock() = Some(m);
    }
}

/// All known series, findable by key (a hash table of ids) and by name and labels (the
/// inverted index in [`postings`]).
#[derive(Debug, Default)]
pub struct Catalog {
    /// Ids, hashed by their entry's key: each key is stored once, in its entry.
    by_key: HashTable<u32>,
    hasher: DefaultHashBuilder,
    entries: Vec<Arc<SeriesEntry>>,
    postings: Postings,
}

impl Catalog {
    /// Looks a series up by key.
    pub fn get(&self, key: &SeriesKey) -> Option<&Arc<SeriesEntry>> {
        let hash = self.hasher.hash_one(key);
        self.by_key
            .find(hash, |&id| self.entries[id as usize].key == *key)
            .map(|&id| &self.entries[id as usize])
    }

    /// Looks a series up by its key's canonical text ([`SeriesKey::as_text`]).
    pub fn get_text(&self, text: &str) -> Option<&Arc<SeriesEntry>> {
        // A key hashes as its text does: its one field is that text.
        let hash = self.hasher.hash_one(text);
        self.by_key
            .find(hash, |&id| self.entries[id as usize].key.as_text() == text)
            .map(|&id| &self.entries[id as usize])
    }

    /// Looks a series up by id.
    pub fn by_id(&self, id: u32) -> Option<&Arc<SeriesEntry>> {
        self.entries.get(id as usize)
    }

    /// Registers a new series; the caller has checked it is not known yet.
    pub fn insert(&mut self, key: SeriesKey, value_type: ValueType) -> Arc<SeriesEntry> {
        let id = self.entries.len() as u32;
        let hash = self.hasher.hash_one(&key);
        self.postings.add(id, &key);
        let entry = Arc::new(SeriesEntry {
            id,
            key,
            value_type,
            latest: Mutex::new(None),
            metadata: Mutex::new(None),
            kept: std::sync::atomic::AtomicBool::new(false),
        });
        let entries = &self.entries;
        let hasher = &self.hasher;
        self.by_key
            .insert_unique(hash, id, |&i| hasher.hash_one(&entries[i as usize].key));
        self.entries.push(entry.clone());
        entry
    }

    /// Number of series.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when no series is known.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every series, in id order.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<SeriesEntry>> {
        self.entries.iter()
    }

    /// Every id, in order.
    pub fn all_ids(&self) -> Vec<u32> {
        (0..self.entries.len() as u32).collect()
    }

    /// The ids, in order, of the series `selector` selects, found through the inverted
    /// index: the work grows with the series that the selector's exact matchers leave, not
    /// with the store.
    pub fn select(&self, selector: &Selector) -> Vec<u32> {
        self.postings
            .select(selector, |id| self.by_id(id).map(|e| &e.key))
    }

    /// Approximate bytes held by the catalog (entries, keys, the key table) and, separately,
    /// by its inverted index.
    pub fn mem_bytes(&self) -> (usize, usize) {
        let entries: usize = self
            .entries
            .iter()
            .map(|e| std::mem::size_of::<SeriesEntry>() + 16 + e.key.mem_bytes())
            .sum();
        let table = self.by_key.capacity() * 5 + self.entries.capacity() * 8;
        (entries + table, self.postings.mem_bytes())
    }
}
