//! The state machine: the engine. Applying an entry runs its command against the engine
//! (see `apply.rs`); a snapshot is a checkpoint of the engine.
//!
//! The engine runs without fsyncs of its own here: the Raft log is what makes a write
//! durable. What the engine holds after a crash is therefore a prefix of the applied
//! entries, at least up to the last checkpoint, whose log position `raft/applied` records.
//! On start openraft applies again from there; since a write replaces points and a delete
//! removes them, applying again, in order, entries whose effect is already there changes
//! nothing in the end.
//!
//! ```text
//! raft/applied                       applied log id and membership at the last checkpoint
//! raft/snapshots/<id>/               a checkpoint of the engine (segments, side files)
//! raft/snapshots/<id>/snapshot-meta  its log position, membership and id
//! raft/snapshots/incoming-<n>/       a snapshot being received
//! raft/installing                    present while a received snapshot is being installed
//! ```

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use lodestone_engine::whole_file::Kind;
use lodestone_engine::Engine;
use openraft::storage::RaftStateMachine;
use openraft::{
    AnyError, EntryPayload, OptionalSend, RaftSnapshotBuilder, Snapshot, StorageIOError,
};

use super::apply::execute;
use super::log_file::Entry;
use super::log_store::{read_small, write_small};
use super::restore::restore;
use super::types::{
    Applied, LogId, SnapshotDir, SnapshotMeta, StorageError, StoredMembership, TypeConfig,
};

const APPLIED: Kind = Kind {
    name: "applied",
    magic: *b"LDSAPPLD",
    version: 1,
};
/// The metadata file inside a snapshot folder.
pub const SNAPSHOT_META: Kind = Kind {
    name: "snapshot-meta",
    magic: *b"LDSSNAPM",
    version: 1,
};
const INSTALLING: &str = "installing";

#[derive(Debug)]
struct State {
    applied: Option<LogId>,
    membership: StoredMembership,
    /// The newest snapshot and its folder.
    current: Option<(SnapshotMeta, PathBuf)>,
}

#[derive(Debug)]
struct Shared {
    engine: Arc<Engine>,
    dir: PathBuf,
    state: Mutex<State>,
    next_snapshot: AtomicU64,
    stats: Arc<SnapshotStats>,
}

/// What the state machine tells about snapshots, shared with the node's status report.
#[derive(Debug, Default)]
pub struct SnapshotStats {
    /// Snapshots installed since start.
    pub installed: AtomicU64,
    /// A snapshot install was cut short by a crash and has not been redone: the engine may
    /// hold a partial copy.
    pub half_installed: std::sync::atomic::AtomicBool,
}

/// The engine as openraft's state machine; clones share it.
#[derive(Debug, Clone)]
pub struct StateMachine {
    shared: Arc<Shared>,
}

fn sm_err(e: impl std::fmt::Display) -> StorageError {
    StorageIOError::write_state_machine(AnyError::error(e.to_string())).into()
}

fn snapshot_err(e: impl std::fmt::Display) -> StorageError {
    StorageIOError::write_snapshot(None, AnyError::error(e.to_string())).into()
}

impl StateMachine {
    /// The state machine over `engine`, with its Raft state in `dir`.
    pub fn open(engine: Arc<Engine>, dir: &Path) -> std::io::Result<StateMachine> {
        let snapshots = dir.join("snapshots");
        std::fs::create_dir_all(&snapshots)?;
        APPLIED
            .remove_leftover(dir)
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        let (applied, membership): (Option<LogId>, StoredMembership) =
            read_small(&APPLIED, dir)?.unwrap_or_default();
        // The newest complete snapshot stays; unfinished and older ones go.
        let mut current: Option<(SnapshotMeta, PathBuf)> = None;
        let mut others = Vec::new();
        for e in std::fs::read_dir(&snapshots)? {
            let path = e?.path();
            match read_small::<SnapshotMeta>(&SNAPSHOT_META, &path) {
                Ok(Some(meta)) => {
                    if current
                        .as_ref()
                        .is_none_or(|(m, _)| m.last_log_id < meta.last_log_id)
                    {
                        if let Some((_, old)) = current.replace((meta, path)) {
                            others.push(old);
                        }
                    } else {
                        others.push(path);
                    }
                }
                _ => others.push(path),
            }
        }
        for p in others {
            tracing::info!(folder = %p.display(), "removing an old or unfinished snapshot");
            std::fs::remove_dir_all(&p)?;
        }
        let half = dir.join(INSTALLING).exists();
        if half {
            tracing::warn!(
                "a snapshot install was interrupted; this node holds a partial copy until \
                 the leader sends the snapshot again, and refuses stale reads meanwhile"
            );
        }
        let (applied, membership) = match &current {
            // A snapshot newer than the recorded position was installed, but the record of
            // it was not written: the engine holds it.
            Some((m, _)) if m.last_log_id > applied => (m.last_log_id, m.last_membership.clone()),
            _ => (applied, membership),
        };
        Ok(StateMachine {
            shared: Arc::new(Shared {
                engine,
                dir: dir.to_path_buf(),
                state: Mutex::new(State {
                    applied,
                    membership,
                    current,
                }),
                next_snapshot: AtomicU64::new(1),
                stats: Arc::new(SnapshotStats {
                    installed: AtomicU64::new(0),
                    half_installed: std::sync::atomic::AtomicBool::new(half),
                }),
            }),
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.shared.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The snapshot counters, which outlive the state machine.
    pub fn stats(&self) -> Arc<SnapshotStats> {
        self.shared.stats.clone()
    }

    /// Removes snapshot folders other than `keep`.
    fn remove_others(&self, keep: &Path) {
        let Ok(entries) = std::fs::read_dir(self.shared.dir.join("snapshots")) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p != keep
                && !p
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("incoming-"))
            {
                if let Err(err) = std::fs::remove_dir_all(&p) {
                    tracing::warn!(folder = %p.display(), error = %err, "could not remove an old snapshot");
                }
            }
        }
    }
}

impl RaftSnapshotBuilder<TypeConfig> for StateMachine {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, StorageError> {
        // Read before the checkpoint: it holds at least every entry applied up to here.
        let (applied, membership) = {
            let s = self.state();
            (s.applied, s.membership.clone())
        };
        let n = self.shared.next_snapshot.fetch_add(1, Ordering::Relaxed);
        let index = applied.map_or(0, |l| l.index);
        let id = format!("{index:020}-{}-{n}", std::process::id());
        let dir = self.shared.dir.join("snapshots").join(&id);
        let meta = SnapshotMeta {
            last_log_id: applied,
            last_membership: membership.clone(),
            snapshot_id: id,
        };
        let (engine, raft_dir, folder, m) = (
            self.shared.engine.clone(),
            self.shared.dir.clone(),
            dir.clone(),
            meta.clone(),
        );
        tokio::task::spawn_blocking(move || -> Result<(), String> {
            engine.checkpoint(&folder).map_err(|e| e.to_string())?;
            write_small(&SNAPSHOT_META, &folder, &m).map_err(|e| e.to_string())?;
            // The engine now holds every entry up to `applied` durably.
            write_small(
                &APPLIED,
                &raft_dir,
                &(m.last_log_id, m.last_membership.clone()),
            )
            .map_err(|e| e.to_string())
        })
        .await
        .map_err(snapshot_err)?
        .map_err(snapshot_err)?;
        self.state().current = Some((meta.clone(), dir.clone()));
        self.remove_others(&dir);
        tracing::info!(index, "snapshot built");
        Ok(Snapshot {
            meta,
            snapshot: Box::new(SnapshotDir(dir)),
        })
    }
}

impl RaftStateMachine<TypeConfig> for StateMachine {
    type SnapshotBuilder = StateMachine;

    async fn applied_state(&mut self) -> Result<(Option<LogId>, StoredMembership), StorageError> {
        let s = self.state();
        Ok((s.applied, s.membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<Applied>, StorageError>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut out = Vec::new();
        for e in entries {
            let result =
                match e.payload {
                    EntryPayload::Blank => Applied::default(),
                    EntryPayload::Normal(cmd) => execute(&self.shared.engine, &cmd.0)
                        .await
                        .map_err(|err| -> StorageError {
                            StorageIOError::apply(e.log_id, AnyError::error(err)).into()
                        })?,
                    EntryPayload::Membership(m) => {
                        self.state().membership = StoredMembership::new(Some(e.log_id), m);
                        Applied::default()
                    }
                };
            self.state().applied = Some(e.log_id);
            out.push(result);
        }
        Ok(out)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        self.clone()
    }

    async fn begin_receiving_snapshot(&mut self) -> Result<Box<SnapshotDir>, StorageError> {
        let dir = incoming_dir(&self.shared.dir);
        std::fs::create_dir_all(&dir).map_err(snapshot_err)?;
        Ok(Box::new(SnapshotDir(dir)))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta,
        snapshot: Box<SnapshotDir>,
    ) -> Result<(), StorageError> {
        let received = snapshot.0;
        let raft_dir = self.shared.dir.clone();
        let engine = self.shared.engine.clone();
        let m = meta.clone();
        let kept = tokio::task::spawn_blocking(move || -> Result<PathBuf, String> {
            let marker = raft_dir.join(INSTALLING);
            std::fs::write(&marker, m.snapshot_id.as_bytes()).map_err(|e| e.to_string())?;
            let scratch = raft_dir.join("restoring");
            let _ = std::fs::remove_dir_all(&scratch);
            let done = restore(&engine, &received, &scratch).map_err(|e| e.to_string())?;
            write_small(
                &APPLIED,
                &raft_dir,
                &(m.last_log_id, m.last_membership.clone()),
            )
            .map_err(|e| e.to_string())?;
            // Kept as this node's snapshot, to send on.
            let kept = raft_dir.join("snapshots").join(&m.snapshot_id);
            if kept != received {
                let _ = std::fs::remove_dir_all(&kept);
                std::fs::rename(&received, &kept).map_err(|e| e.to_string())?;
            }
            write_small(&SNAPSHOT_META, &kept, &m).map_err(|e| e.to_string())?;
            std::fs::remove_file(&marker).map_err(|e| e.to_string())?;
            tracing::info!(
                index = m.last_log_id.map_or(0, |l| l.index),
                series = done.series,
                points = done.points,
                "snapshot installed"
            );
            Ok(kept)
        })
        .await
        .map_err(sm_err)?
        .map_err(sm_err)?;
        {
            let mut s = self.state();
            s.applied = meta.last_log_id;
            s.membership = meta.last_membership.clone();
            s.current = Some((meta.clone(), kept.clone()));
        }
        self.shared.stats.installed.fetch_add(1, Ordering::Relaxed);
        self.shared
            .stats
            .half_installed
            .store(false, Ordering::Relaxed);
        self.remove_others(&kept);
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot<TypeConfig>>, StorageError> {
        Ok(self.state().current.as_ref().map(|(meta, dir)| Snapshot {
            meta: meta.clone(),
            snapshot: Box::new(SnapshotDir(dir.clone())),
        }))
    }
}

/// A fresh folder for a snapshot being received.
pub fn incoming_dir(raft_dir: &Path) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    raft_dir
        .join("snapshots")
        .join(format!("incoming-{}-{n}", std::process::id()))
}
