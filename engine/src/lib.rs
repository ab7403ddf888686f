//! Lodestone storage engine: an append-only time-series store for plant historians.
//!
//! Points go through a CRC-checked write-ahead log with group commit into a per-series
//! compressed head (Gorilla-style chunks), which is flushed into immutable, checksummed
//! segment files read through mmap. Open replays the WAL, cutting a torn tail and reporting
//! damage with file and offset. The engine has no network code; the server and embedded
//! gateways use this API directly.
//!
//! Besides points, a store keeps per-series metadata ([`Engine::declare_series`],
//! [`Engine::set_metadata`]) and range deletes ([`Engine::delete_range`]), both logged
//! through the WAL like writes and kept across flushes in the `metadata` and `tombstones`
//! files.
//!
//! ```no_run
//! use lodestone_engine::{Engine, Options, Point, SeriesKey, Value, WriteBatch};
//! # fn main() -> lodestone_engine::Result<()> {
//! let engine = Engine::open("/var/lib/lodestone", Options::default())?;
//! let key = SeriesKey::new("temperature", [("site", "p1"), ("asset", "a0003")])?;
//! let mut batch = WriteBatch::new();
//! batch.push(&key, Point::new(1_767_225_600_000_000_000, Value::F64(21.4)));
//! engine.write(&batch)?; // durable (fsync) and visible when this returns
//! let points = engine.read_range(&key, 0, i64::MAX)?;
//! assert_eq!(points.len(), 1);
//! engine.close()?;
//! # Ok(()) }
//! ```
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod batch;
pub mod catalog;
pub mod checksum;
pub mod codec;
pub mod coding;
mod db;
pub mod error;
pub mod fsutil;
pub mod head;
pub mod histogram;
pub mod lock;
pub mod metadata;
pub mod options;
pub mod point;
pub mod query;
pub mod retention;
pub mod rollup;
pub mod segment;
pub mod select;
pub mod series;
pub mod tombstone;
pub mod version;
pub mod wal;
pub mod whole_file;

pub use batch::WriteBatch;
pub use db::{
    AggregatePath, CheckpointInfo, CompactReport, Engine, SeriesInfo, Stats, Ticket, MAX_WINDOWS,
};
pub use error::{Error, Result};
pub use metadata::SeriesMetadata;
pub use options::{Durability, Options};
pub use point::{Point, Quality, Value, ValueType};
pub use retention::RetentionRule;
pub use select::{Matcher, Pattern, Selector};
pub use series::SeriesKey;
