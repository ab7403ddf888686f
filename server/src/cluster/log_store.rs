//! The Raft log store openraft drives: the entries ([`LogFile`]) and three small durable
//! files beside them, each rewritten whole (tmp, fsync, rename; a header with magic, version
//! and CRCs, see the engine's `whole_file`):
//!
//! | file | holds | written |
//! |---|---|---|
//! | `raft/vote` | the vote (term, node voted for, committed) | before openraft is told it is saved |
//! | `raft/committed` | the newest log id known committed | as openraft reports it |
//! | `raft/purged` | the newest log id purged | before the entries go |
//!
//! Every call that writes runs on the blocking pool and returns (or calls back) only once
//! the bytes are fsynced. Calls are serialized by one lock, in the order openraft makes them.

use std::fmt::Debug;
use std::io;
use std::ops::{Bound, RangeBounds};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use lodestone_engine::whole_file::Kind;
use openraft::storage::{LogFlushed, LogState, RaftLogStorage};
use openraft::{AnyError, OptionalSend, RaftLogReader, StorageIOError, Vote};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::log_file::{Entry, LogFile};
use super::types::{decode, encode, LogId, NodeId, StorageError, TypeConfig};

/// Most bytes of entries one replication message carries: a follower must take a message
/// within the heartbeat interval, which bounds AppendEntries calls.
pub const MAX_REPLICATION_BYTES: usize = 4 << 20;

const VOTE: Kind = Kind {
    name: "vote",
    magic: *b"LDSVOTE\0",
    version: 1,
};
const COMMITTED: Kind = Kind {
    name: "committed",
    magic: *b"LDSCOMMT",
    version: 1,
};
const PURGED: Kind = Kind {
    name: "purged",
    magic: *b"LDSPURGD",
    version: 1,
};

/// Reads a small durable file of the Raft folder; `None` when it was never written.
pub(super) fn read_small<T: DeserializeOwned>(kind: &Kind, dir: &Path) -> io::Result<Option<T>> {
    let found = kind
        .read(dir)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
    match found {
        None => Ok(None),
        Some((_, body)) => decode(&body).map(Some).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: {e}", kind.path(dir).display()),
            )
        }),
    }
}

/// Replaces a small durable file of the Raft folder.
pub(super) fn write_small<T: Serialize>(kind: &Kind, dir: &Path, value: &T) -> io::Result<()> {
    let body = encode(value).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    kind.write(dir, &body)
        .map_err(|e| io::Error::other(e.to_string()))
}

#[derive(Debug)]
struct Inner {
    dir: PathBuf,
    log: LogFile,
    vote: Option<Vote<NodeId>>,
    committed: Option<LogId>,
    purged: Option<LogId>,
}

/// The Raft log of this node; clones share it (openraft reads through clones while it
/// appends).
#[derive(Debug, Clone)]
pub struct LogStore {
    inner: Arc<Mutex<Inner>>,
}

impl LogStore {
    /// Opens the log in the Raft folder `dir` (its entries in `dir/log`).
    pub fn open(dir: &Path) -> io::Result<LogStore> {
        std::fs::create_dir_all(dir)?;
        for kind in [&VOTE, &COMMITTED, &PURGED] {
            kind.remove_leftover(dir)
                .map_err(|e| io::Error::other(e.to_string()))?;
        }
        let mut log = LogFile::open(&dir.join("log"))?;
        let purged: Option<LogId> = read_small(&PURGED, dir)?;
        if let Some(p) = purged {
            // A crash between writing `purged` and deleting files leaves entries to forget.
            log.purge(p.index)?;
        }
        Ok(LogStore {
            inner: Arc::new(Mutex::new(Inner {
                dir: dir.to_path_buf(),
                log,
                vote: read_small(&VOTE, dir)?,
                committed: read_small::<Option<LogId>>(&COMMITTED, dir)?.flatten(),
                purged,
            })),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves the files as they were on disk: go on.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` over the store on the blocking pool: it may fsync.
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Inner) -> io::Result<T> + Send + 'static,
    ) -> io::Result<T> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || f(&mut this.lock()))
            .await
            .map_err(|e| io::Error::other(format!("Raft log task failed: {e}")))?
    }

    /// The newest committed log id recorded, for status reports.
    pub fn committed(&self) -> Option<LogId> {
        self.lock().committed
    }
}

fn bounds(range: &impl RangeBounds<u64>) -> (u64, u64) {
    let start = match range.start_bound() {
        Bound::Included(&s) => s,
        Bound::Excluded(&s) => s.saturating_add(1),
        Bound::Unbounded => 0,
    };
    let end = match range.end_bound() {
        Bound::Included(&e) => e.saturating_add(1),
        Bound::Excluded(&e) => e,
        Bound::Unbounded => u64::MAX,
    };
    (start, end)
}

fn read_err(e: io::Error) -> StorageError {
    StorageIOError::read_logs(AnyError::new(&e)).into()
}

fn write_err(e: io::Error) -> StorageError {
    StorageIOError::write_logs(AnyError::new(&e)).into()
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, StorageError> {
        let (start, end) = bounds(&range);
        self.blocking(move |s| s.log.read(start, end, usize::MAX))
            .await
            .map_err(read_err)
    }

    async fn limited_get_log_entries(
        &mut self,
        start: u64,
        end: u64,
    ) -> Result<Vec<Entry>, StorageError> {
        self.blocking(move |s| s.log.read(start, end, MAX_REPLICATION_BYTES))
            .await
            .map_err(read_err)
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogStore;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, StorageError> {
        let s = self.lock();
        Ok(LogState {
            last_purged_log_id: s.purged,
            last_log_id: s.log.last().or(s.purged),
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<NodeId>) -> Result<(), StorageError> {
        let vote = *vote;
        self.blocking(move |s| {
            write_small(&VOTE, &s.dir, &vote)?;
            s.vote = Some(vote);
            Ok(())
        })
        .await
        .map_err(|e| StorageIOError::write_vote(AnyError::new(&e)).into())
    }

    async fn read_vote(&mut self) -> Result<Option<Vote<NodeId>>, StorageError> {
        Ok(self.lock().vote)
    }

    async fn save_committed(&mut self, committed: Option<LogId>) -> Result<(), StorageError> {
        self.blocking(move |s| {
            if s.committed != committed {
                write_small(&COMMITTED, &s.dir, &committed)?;
                s.committed = committed;
            }
            Ok(())
        })
        .await
        .map_err(write_err)
    }

    async fn read_committed(&mut self) -> Result<Option<LogId>, StorageError> {
        Ok(self.lock().committed)
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: LogFlushed<TypeConfig>,
    ) -> Result<(), StorageError>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let entries: Vec<Entry> = entries.into_iter().collect();
        let appended = self.blocking(move |s| s.log.append(&entries)).await;
        // Durable (fsynced) or failed: only now is openraft told.
        match appended {
            Ok(()) => {
                callback.log_io_completed(Ok(()));
                Ok(())
            }
            Err(e) => {
                let err = write_err(io::Error::new(e.kind(), e.to_string()));
                callback.log_io_completed(Err(e));
                Err(err)
            }
        }
    }

    async fn truncate(&mut self, log_id: LogId) -> Result<(), StorageError> {
        self.blocking(move |s| s.log.truncate(log_id.index))
            .await
            .map_err(write_err)
    }

    async fn purge(&mut self, log_id: LogId) -> Result<(), StorageError> {
        self.blocking(move |s| {
            // Recorded first: after a crash the log still knows where it begins.
            write_small(&PURGED, &s.dir, &log_id)?;
            s.purged = Some(log_id);
            s.log.purge(log_id.index)
        })
        .await
        .map_err(write_err)
    }
}
