//! The Raft network, the receiving side: the internal `lodestone.v1.Raft` gRPC service that
//! hands other nodes' messages to this node's Raft, and writes a snapshot being sent here
//! into a folder of its own before installing it.
//!
//! Everything here comes from the network: a message that does not decode, a call meant
//! for another node, a snapshot file outside its folder or failing its checksum is refused
//! with a status that says so, and changes nothing.

use std::io::{Seek, SeekFrom, Write};
use std::path::{Component, Path, PathBuf};

use lodestone_proto::v1 as pb;
use openraft::raft::{AppendEntriesRequest, VoteRequest};
use openraft::{Snapshot, Vote};
use tonic::{Request, Response, Status, Streaming};

use super::network::TARGET_HEADER;
use super::state_machine::incoming_dir;
use super::types::{decode, encode, NodeId, Raft, SnapshotDir, SnapshotMeta, TypeConfig};

/// The service over this node's Raft.
#[derive(Clone)]
pub struct RaftService {
    id: NodeId,
    raft: Raft,
    raft_dir: PathBuf,
}

impl RaftService {
    /// The service for node `id`, keeping received snapshots under `raft_dir`.
    pub fn new(id: NodeId, raft: Raft, raft_dir: PathBuf) -> RaftService {
        RaftService { id, raft, raft_dir }
    }

    /// Refuses a call meant for another node: its sender has this address wrong.
    fn check_target<T>(&self, req: &Request<T>) -> Result<(), Status> {
        let to = req
            .metadata()
            .get(TARGET_HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<NodeId>().ok());
        match to {
            Some(id) if id == self.id => Ok(()),
            Some(id) => Err(Status::failed_precondition(format!(
                "this is node {}, not node {id}: the sender's address for node {id} is wrong",
                self.id
            ))),
            None => Err(Status::invalid_argument(format!(
                "Raft call without the {TARGET_HEADER} header"
            ))),
        }
    }
}

fn reply<T: serde::Serialize>(value: &T) -> Result<Response<pb::RaftMessage>, Status> {
    let data = encode(value).map_err(|e| Status::internal(format!("encoding a reply: {e}")))?;
    Ok(Response::new(pb::RaftMessage { data }))
}

fn undecodable(what: &str, e: String) -> Status {
    Status::invalid_argument(format!("{what} does not decode: {e}"))
}

#[tonic::async_trait]
impl pb::raft_server::Raft for RaftService {
    async fn append_entries(
        &self,
        request: Request<pb::RaftMessage>,
    ) -> Result<Response<pb::RaftMessage>, Status> {
        self.check_target(&request)?;
        let rpc: AppendEntriesRequest<TypeConfig> =
            decode(&request.into_inner().data).map_err(|e| undecodable("AppendEntries", e))?;
        reply(&self.raft.append_entries(rpc).await)
    }

    async fn vote(
        &self,
        request: Request<pb::RaftMessage>,
    ) -> Result<Response<pb::RaftMessage>, Status> {
        self.check_target(&request)?;
        let rpc: VoteRequest<NodeId> =
            decode(&request.into_inner().data).map_err(|e| undecodable("Vote", e))?;
        reply(&self.raft.vote(rpc).await)
    }

    async fn install_snapshot(
        &self,
        request: Request<Streaming<pb::SnapshotChunk>>,
    ) -> Result<Response<pb::RaftMessage>, Status> {
        self.check_target(&request)?;
        let mut chunks = request.into_inner();
        let first = chunks
            .message()
            .await?
            .ok_or_else(|| Status::invalid_argument("snapshot stream without a first message"))?;
        let (vote, meta): (Vote<NodeId>, SnapshotMeta) =
            decode(&first.head).map_err(|e| undecodable("snapshot header", e))?;
        let dir = incoming_dir(&self.raft_dir);
        let received = receive(&dir, &mut chunks).await;
        if let Err(e) = received {
            let _ = std::fs::remove_dir_all(&dir);
            return Err(e);
        }
        let index = meta.last_log_id.map_or(0, |l| l.index);
        tracing::info!(index, "snapshot received; installing");
        let snapshot = Snapshot {
            meta,
            snapshot: Box::new(SnapshotDir(dir)),
        };
        reply(&self.raft.install_full_snapshot(vote, snapshot).await)
    }
}

/// Writes the chunks of a snapshot into `dir`, checking each file's CRC; fsyncs it all.
async fn receive(dir: &Path, chunks: &mut Streaming<pb::SnapshotChunk>) -> Result<(), Status> {
    let io = |what: &str, p: &Path, e: std::io::Error| {
        tracing::error!(file = %p.display(), error = %e, "{what}");
        Status::internal(format!("{what} failed on the receiving node; see its log"))
    };
    std::fs::create_dir_all(dir.join("segments")).map_err(|e| io("creating a folder", dir, e))?;
    std::fs::create_dir_all(dir.join("wal")).map_err(|e| io("creating a folder", dir, e))?;
    let mut open: Option<(String, std::fs::File, crc32fast::Hasher)> = None;
    while let Some(c) = chunks.message().await? {
        let path = safe_path(dir, &c.file)?;
        if open.as_ref().is_none_or(|(name, _, _)| *name != c.file) {
            if open.is_some() {
                return Err(Status::invalid_argument(format!(
                    "snapshot file {} starts before the one before it ended",
                    c.file
                )));
            }
            let f = std::fs::File::create(&path).map_err(|e| io("creating a file", &path, e))?;
            open = Some((c.file.clone(), f, crc32fast::Hasher::new()));
        }
        let Some((_, f, crc)) = &mut open else {
            continue;
        };
        f.seek(SeekFrom::Start(c.offset))
            .and_then(|_| f.write_all(&c.data))
            .map_err(|e| io("writing a file", &path, e))?;
        crc.update(&c.data);
        if c.last {
            let Some((name, f, crc)) = open.take() else {
                continue;
            };
            if crc.finalize() != c.crc32 {
                return Err(Status::data_loss(format!(
                    "snapshot file {name} fails its checksum"
                )));
            }
            f.sync_all().map_err(|e| io("syncing a file", &path, e))?;
        }
    }
    if let Some((name, _, _)) = open {
        return Err(Status::invalid_argument(format!(
            "snapshot stream ended inside file {name}"
        )));
    }
    for d in [dir.join("segments"), dir.to_path_buf()] {
        std::fs::File::open(&d)
            .and_then(|f| f.sync_all())
            .map_err(|e| io("syncing a folder", &d, e))?;
    }
    Ok(())
}

/// `name` inside `dir`: one of the side files, or `segments/<file>.seg`; anything else
/// (an absolute path, `..`, another folder) is refused.
fn safe_path(dir: &Path, name: &str) -> Result<PathBuf, Status> {
    let bad = || Status::invalid_argument(format!("snapshot file name {name:?} is not allowed"));
    let p = Path::new(name);
    let parts: Vec<&str> = p
        .components()
        .map(|c| match c {
            Component::Normal(s) => s.to_str().ok_or_else(bad),
            _ => Err(bad()),
        })
        .collect::<Result<_, _>>()?;
    match parts.as_slice() {
        [side] if ["tombstones", "metadata", "rollups"].contains(side) => Ok(dir.join(side)),
        ["segments", seg] if seg.ends_with(".seg") && !seg.starts_with('.') => {
            Ok(dir.join("segments").join(seg))
        }
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_file_names_stay_inside_the_folder() {
        let d = Path::new("/tmp/x");
        assert_eq!(safe_path(d, "metadata").unwrap(), d.join("metadata"));
        assert_eq!(
            safe_path(d, "segments/00000000000000000001.seg").unwrap(),
            d.join("segments/00000000000000000001.seg")
        );
        for bad in [
            "../x",
            "/etc/passwd",
            "segments/../../x.seg",
            "wal/1.wal",
            "LOCK",
            "",
            "segments/a",
        ] {
            assert!(safe_path(d, bad).is_err(), "{bad}");
        }
    }
}
