//! Settings of an engine instance, with defaults suited to a plant historian.

use std::time::Duration;

/// When a write is acknowledged relative to the WAL reaching stable storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Acknowledge only after the WAL record is fsynced (the default). Group commit makes it
    /// cheap: one fsync covers every batch waiting at that moment.
    SyncEachBatch,
    /// Acknowledge once written to the OS; fsync at most this long after. A crash of the
    /// machine (not of the process) may lose up to this much acknowledged data.
    Interval(Duration),
    /// Never fsync except on flush and close. A machine crash may lose acknowledged data.
    None,
}

/// Engine settings. `Options::default()` is what `lodestone serve` uses.
#[derive(Debug, Clone)]
pub struct Options {
    /// Durability mode of acknowledged writes.
    pub durability: Durability,
    /// Flush the head to a segment file when its in-memory size passes this many bytes.
    pub head_flush_bytes: usize,
    /// Refuse writes with [`crate::Error::Overloaded`] while the head (active plus frozen
    /// parts not yet flushed) holds more than this many bytes.
    pub head_max_bytes: usize,
    /// Most series the store may hold: a write or declaration that would add a series past
    /// it is refused with [`crate::Error::SeriesLimit`], so that a misbehaving collector
    /// (a timestamp or a counter in a tag) cannot exhaust memory. Series already stored
    /// always open, even past a lowered limit. On a cluster every node needs the same value.
    pub max_series: usize,
    /// Close a head chunk once it holds this many points.
    pub chunk_max_points: usize,
    /// Close a head chunk once its encoded size passes this many bytes.
    pub chunk_max_bytes: usize,
    /// Flush the head when the WAL grows past this many bytes, so that replay stays short.
    pub wal_flush_bytes: u64,
    /// Flush everything on [`crate::Engine::close`], so that the next open replays nothing.
    pub flush_on_close: bool,
    /// A flush also compresses a chunk with zstd (the cold encoding) when its newest point is
    /// older than this by the wall clock and that makes it an eighth smaller or more; such
    /// data is read rarely, and each read pays a decompression. `None`: never.
    pub cold_after: Option<Duration>,
    /// Length of a time partition of raw points: each segment file holds one partition, so
    /// that retention drops whole files. Partitions are aligned to multiples of it since
    /// the Unix epoch. Changing it later is safe (each file records its own range).
    pub partition: Duration,
    /// Bucket widths of the rollup tiers kept beside raw points: aggregates over long
    /// ranges read these buckets instead of every point. A bucket takes about 19 bytes, so
    /// the default (one hour, one day) costs about 0.005 bytes per point of a 1 Hz series; a
    /// one-minute tier would cost about 0.3. A tier added to a store with data covers what
    /// is flushed from then on (older data is answered from points).
    pub tiers: Vec<Duration>,
    /// How long each tier of which series is kept (see [`crate::retention`]); empty:
    /// everything forever.
    pub retention: Vec<crate::retention::RetentionRule>,
    /// The background compaction merges a time partition's files once it has this many
    /// (and once more when the partition is over, into one file).
    pub compact_files: usize,
    /// Most bytes per second the background compaction writes; 0 for no limit.
    pub compact_bytes_per_sec: u64,
    /// Run compaction and retention in the background: after flushes, and every minute.
    /// Off, they run only when [`crate::Engine::compact`] and
    /// [`crate::Engine::apply_retention`] are called.
    pub background_compaction: bool,
}

/// The default of [`Options::max_series`]: four million, about 4 GiB of series state.
pub const DEFAULT_MAX_SERIES: usize = 4_000_000;

impl Default for Options {
    fn default() -> Self {
        Options {
            durability: Durability::SyncEachBatch,
            head_flush_bytes: 64 << 20,
            head_max_bytes: 512 << 20,
            max_series: DEFAULT_MAX_SERIES,
            chunk_max_points: 2048,
            chunk_max_bytes: 16 << 10,
            wal_flush_bytes: 256 << 20,
            flush_on_close: true,
            cold_after: Some(Duration::from_secs(7 * 24 * 3600)),
            partition: Duration::from_secs(24 * 3600),
            tiers: vec![Duration::from_secs(3600), Duration::from_secs(86_400)],
            retention: Vec::new(),
            compact_files: 4,
            compact_bytes_per_sec: 64 << 20,
            background_compaction: true,
        }
    }
}

/// Nanoseconds since the Unix epoch by the system clock (0 before the epoch): the time
/// retention and the cold cut-off are measured against.
pub fn wall_clock_nanos() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos().min(i64::MAX as u128) as i64)
}

impl Options {
    /// The rollup bucket widths in nanoseconds, ascending, without repeats or zeros.
    pub fn tier_widths(&self) -> Vec<i64> {
        let mut w: Vec<i64> = self
            .tiers
            .iter()
            .map(|d| d.as_nanos().min(i64::MAX as u128) as i64)
            .filter(|&n| n > 0)
            .collect();
        w.sort_unstable();
        w.dedup();
        w
    }

    /// The chunk limits these options set, the cold cut-off taken from the wall clock now.
    pub(crate) fn chunk_limits(&self) -> crate::head::ChunkLimits {
        let nanos = |d: Duration| d.as_nanos().min(i64::MAX as u128) as i64;
        let cold_before = self.cold_after.map_or(i64::MIN, |age| {
            wall_clock_nanos().saturating_sub(nanos(age))
        });
        crate::head::ChunkLimits {
            max_points: self.chunk_max_points,
            max_bytes: self.chunk_max_bytes,
            cold_before,
            partition: nanos(self.partition).max(1),
        }
    }
}
