//! Replication: this server as one node of a Raft group (openraft), the engine its state
//! machine.
//!
//! - A write, delete or metadata call becomes a log entry (`RaftCommand`, the request as
//!   sent); it is acknowledged once a majority holds it durably and this node (the leader)
//!   has applied it. Another node answers UNAVAILABLE with the leader's address, and so
//!   does a leader that stops leading with the write still pending (its outcome unknown,
//!   a resend harmless).
//! - Reads are linearizable on the leader (it confirms it still leads before reading) and
//!   refused elsewhere, unless the request says `stale_ok`.
//! - The log lives in `<data folder>/raft` (`log_store.rs`, `log_file.rs`); snapshots are
//!   engine checkpoints (`state_machine.rs`), sent file by file to a node that fell behind
//!   the log (`network.rs`, `service.rs`) and installed through the engine's API
//!   (`restore.rs`).
//!
//! Replication drives the engine only through its public API.

mod apply;
pub mod log_file;
pub mod log_store;
pub mod network;
pub mod restore;
pub mod service;
pub mod settings;
pub mod state_machine;
mod status;
pub mod types;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use lodestone_engine::Engine;
use lodestone_proto::v1 as pb;
use openraft::error::{CheckIsLeaderError, ClientWriteError, ForwardToLeader, RaftError};
use openraft::{BasicNode, ChangeMembers, Config, ServerState, SnapshotPolicy};
use prost::Message;
use tonic::Status;

pub use settings::ClusterSettings;
use state_machine::SnapshotStats;
use types::{Command, NodeId, Raft};

/// Largest command replicated. A follower must take an entry within one heartbeat
/// interval (openraft's bound on a replication call), so an entry must stay small.
pub const MAX_COMMAND_BYTES: usize = 4 << 20;

/// Metadata key of a not-leader refusal: the leader's gRPC address.
pub const LEADER_HEADER: &str = "lodestone-leader";

/// Why a node could not start.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The Raft folder could not be opened.
    #[error("Raft state in {path}: {source}")]
    Storage {
        /// The folder.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// The settings do not make a valid Raft configuration.
    #[error("cluster settings: {0}")]
    Settings(String),
    /// openraft refused to start.
    #[error("Raft did not start: {0}")]
    Raft(String),
}

/// This server's node of the cluster.
pub struct ClusterNode {
    id: NodeId,
    raft: Raft,
    log: log_store::LogStore,
    raft_dir: PathBuf,
    snapshots: Arc<SnapshotStats>,
    elections: Arc<AtomicU64>,
}

impl std::fmt::Debug for ClusterNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterNode").field("id", &self.id).finish()
    }
}

impl ClusterNode {
    /// Starts the node over `engine` (whose folder holds `raft/`). A node given peers forms
    /// the cluster with them on its first start, when it has the lowest id among them;
    /// one without peers waits to be added.
    pub async fn start(
        engine: Arc<Engine>,
        s: ClusterSettings,
    ) -> Result<ClusterNode, ClusterError> {
        let raft_dir = engine.dir().join("raft");
        let storage = |source| ClusterError::Storage {
            path: raft_dir.clone(),
            source,
        };
        let log = log_store::LogStore::open(&raft_dir).map_err(storage)?;
        let sm = state_machine::StateMachine::open(engine, &raft_dir).map_err(storage)?;
        let snapshots = sm.stats();
        let config = Config {
            cluster_name: "lodestone".into(),
            heartbeat_interval: s.heartbeat.as_millis() as u64,
            election_timeout_min: s.election_timeout.0.as_millis() as u64,
            election_timeout_max: s.election_timeout.1.as_millis() as u64,
            max_payload_entries: 64,
            snapshot_policy: SnapshotPolicy::LogsSinceLast(s.snapshot_every),
            max_in_snapshot_log_to_keep: s.keep_logs,
            purge_batch_size: 16,
            ..Config::default()
        }
        .validate()
        .map_err(|e| ClusterError::Settings(e.to_string()))?;
        let network = network::Network::new(s.routes.clone());
        let raft = Raft::new(s.node_id, Arc::new(config), network, log.clone(), sm)
            .await
            .map_err(|e| ClusterError::Raft(e.to_string()))?;
        let initialized = raft
            .is_initialized()
            .await
            .map_err(|e| ClusterError::Raft(e.to_string()))?;
        let mut members: BTreeMap<NodeId, BasicNode> = s
            .peers
            .iter()
            .map(|(&id, addr)| (id, BasicNode::new(addr)))
            .collect();
        if !members.is_empty() {
            members.insert(s.node_id, BasicNode::new(&s.advertise));
        }
        let lowest = members.keys().next().copied();
        if !initialized && lowest == Some(s.node_id) {
            tracing::info!(members = ?members.keys().collect::<Vec<_>>(), "forming the cluster");
            if let Err(e) = raft.initialize(members).await {
                tracing::warn!(error = %e, "initializing the cluster");
            }
        }
        let elections = Arc::new(AtomicU64::new(0));
        tokio::spawn(count_elections(raft.clone(), elections.clone()));
        tracing::info!(node = s.node_id, addr = %s.advertise, initialized, "cluster node started");
        Ok(ClusterNode {
            id: s.node_id,
            raft,
            log,
            raft_dir,
            snapshots,
            elections,
        })
    }

    /// This node's id.
    pub fn id(&self) -> NodeId {
        self.id
    }

    /// The internal Raft service to add to this node's gRPC server.
    pub fn raft_service(&self) -> pb::raft_server::RaftServer<service::RaftService> {
        pb::raft_server::RaftServer::new(service::RaftService::new(
            self.id,
            self.raft.clone(),
            self.raft_dir.clone(),
        ))
        .max_decoding_message_size(network::MAX_MESSAGE_BYTES)
        .max_encoding_message_size(network::MAX_MESSAGE_BYTES)
    }

    /// Replicates `command` and returns once a majority holds it and this node applied it;
    /// the engine's refusal of it, if any, is the error. Another node than the leader
    /// answers UNAVAILABLE naming the leader.
    pub async fn propose(&self, command: pb::raft_command::Command) -> Result<(), Status> {
        if let Some(refusal) = self.not_leader_now() {
            return Err(refusal);
        }
        let bytes = pb::RaftCommand {
            command: Some(command),
        }
        .encode_to_vec();
        if bytes.len() > MAX_COMMAND_BYTES {
            return Err(Status::invalid_argument(format!(
                "a replicated batch may take at most {MAX_COMMAND_BYTES} bytes encoded \
                 (about 130,000 points); this one takes {}: split it",
                bytes.len()
            )));
        }
        // openraft answers a pending write only when it commits or a newer leader truncates
        // it; a leader that stepped down (removed from the cluster, or cut off) may see
        // neither, so the write also ends when this node stops leading.
        let outcome = tokio::select! {
            outcome = self.raft.client_write(Command(bytes)) => outcome,
            () = self.leadership_lost() => return Err(self.lost_leadership()),
        };
        match outcome {
            Ok(done) => match apply::refusal_status(&done.data) {
                Some(refused) => Err(refused),
                None => Ok(()),
            },
            Err(RaftError::APIError(ClientWriteError::ForwardToLeader(f))) => {
                Err(self.not_leader(&f))
            }
            Err(RaftError::APIError(e)) => Err(Status::failed_precondition(e.to_string())),
            Err(RaftError::Fatal(e)) => Err(stopped(&e)),
        }
    }

    /// Waits until a read on this node sees every write acknowledged before it (the leader
    /// confirms with a majority that it still leads); with `stale_ok`, any node may read
    /// what it has.
    pub async fn read_barrier(&self, stale_ok: bool) -> Result<(), Status> {
        if stale_ok {
            if self.snapshots.half_installed.load(Ordering::Relaxed) {
                return Err(Status::unavailable(
                    "this node is waiting for a snapshot to finish installing; read from another",
                ));
            }
            return Ok(());
        }
        match self.raft.ensure_linearizable().await {
            Ok(_) => Ok(()),
            Err(RaftError::APIError(CheckIsLeaderError::ForwardToLeader(f))) => Err(self.not_leader(&f)),
            Err(RaftError::APIError(CheckIsLeaderError::QuorumNotEnough(e))) => Err(Status::unavailable(
                format!("node {} cannot reach a majority of the cluster ({e}); no linearizable read is possible here now", self.id),
            )),
            Err(RaftError::Fatal(e)) => Err(stopped(&e)),
        }
    }

    /// True while this node leads: a leader that removed itself from the cluster keeps
    /// naming itself as leader but is no longer in the leader state.
    fn leads(&self, m: &openraft::RaftMetrics<NodeId, BasicNode>) -> bool {
        m.state == ServerState::Leader && m.current_leader == Some(self.id)
    }

    /// Resolves once this node no longer leads; never, if Raft has stopped (the write
    /// itself then fails).
    async fn leadership_lost(&self) {
        let mut metrics = self.raft.metrics();
        loop {
            if !self.leads(&metrics.borrow_and_update()) {
                return;
            }
            if metrics.changed().await.is_err() {
                return std::future::pending().await;
            }
        }
    }

    /// The answer to a write this node accepted as leader but stopped leading before it
    /// committed: it may still commit under the next leader, so the client must send it
    /// again, which is harmless (the same points with the same timestamps).
    fn lost_leadership(&self) -> Status {
        let refusal = self
            .not_leader_now()
            .unwrap_or_else(|| not_leader_status(self.id, None, None));
        Status::with_details_and_metadata(
            refusal.code(),
            format!(
                "{}; the write was accepted before this node stopped leading and may or may \
                 not be stored: send it again (a repeat is harmless)",
                refusal.message()
            ),
            refusal.details().to_vec().into(),
            refusal.metadata().clone(),
        )
    }

    /// A refusal right away when the metrics say this node does not lead.
    fn not_leader_now(&self) -> Option<Status> {
        let m = self.raft.metrics().borrow().clone();
        if self.leads(&m) {
            return None;
        }
        // A removed leader still names itself; not_leader_status drops a hint to itself.
        let leader = m.current_leader;
        let node = leader.and_then(|l| m.membership_config.membership().get_node(&l).cloned());
        Some(not_leader_status(
            self.id,
            leader,
            node.as_ref().map(|n| n.addr.as_str()),
        ))
    }

    fn not_leader(&self, f: &ForwardToLeader<NodeId, BasicNode>) -> Status {
        not_leader_status(
            self.id,
            f.leader_id,
            f.leader_node.as_ref().map(|n| n.addr.as_str()),
        )
    }

    /// This node's view of the cluster.
    pub fn status(&self) -> pb::ClusterStatusResponse {
        status::of(self)
    }

    /// Adds node `id` at `addr`: as a learner until it has caught up, then as a voter.
    pub async fn add_node(&self, id: NodeId, addr: String) -> Result<(), Status> {
        if let Some(refusal) = self.not_leader_now() {
            return Err(refusal);
        }
        self.raft
            .add_learner(id, BasicNode::new(&addr), true)
            .await
            .map_err(|e| self.membership_error(e))?;
        self.raft
            .change_membership(ChangeMembers::AddVoterIds(BTreeSet::from([id])), false)
            .await
            .map_err(|e| self.membership_error(e))?;
        tracing::info!(node = id, addr, "node added");
        Ok(())
    }

    /// Removes node `id` from the cluster.
    pub async fn remove_node(&self, id: NodeId) -> Result<(), Status> {
        if let Some(refusal) = self.not_leader_now() {
            return Err(refusal);
        }
        let voters: BTreeSet<NodeId> = self
            .raft
            .metrics()
            .borrow()
            .membership_config
            .membership()
            .voter_ids()
            .filter(|&v| v != id)
            .collect();
        if voters.is_empty() {
            return Err(Status::failed_precondition(
                "the last voter cannot be removed",
            ));
        }
        self.raft
            .change_membership(ChangeMembers::ReplaceAllVoters(voters), false)
            .await
            .map_err(|e| self.membership_error(e))?;
        tracing::info!(node = id, "node removed");
        Ok(())
    }

    fn membership_error(
        &self,
        e: RaftError<NodeId, ClientWriteError<NodeId, BasicNode>>,
    ) -> Status {
        match e {
            RaftError::APIError(ClientWriteError::ForwardToLeader(f)) => self.not_leader(&f),
            RaftError::APIError(e) => Status::failed_precondition(e.to_string()),
            RaftError::Fatal(e) => stopped(&e),
        }
    }

    /// Stops Raft on this node (before the engine closes).
    pub async fn shutdown(&self) {
        if let Err(e) = self.raft.shutdown().await {
            tracing::warn!(error = %e, "Raft did not stop cleanly");
        }
    }
}

/// UNAVAILABLE from node `me` naming the leader, with its address in the
/// [`LEADER_HEADER`] metadata and a `LeaderHint` in the details.
pub fn not_leader_status(me: NodeId, leader: Option<NodeId>, addr: Option<&str>) -> Status {
    let (message, hint) = match (leader, addr) {
        (Some(l), Some(a)) if l != me => (
            format!("node {me} is not the leader; the leader is node {l} at {a}"),
            Some(pb::LeaderHint {
                leader_id: l,
                leader_addr: a.to_string(),
            }),
        ),
        _ => (
            format!("node {me} is not the leader and no leader is known yet (an election is under way); try again shortly"),
            None,
        ),
    };
    let mut metadata = tonic::metadata::MetadataMap::new();
    let details = match &hint {
        Some(h) => {
            if let Ok(v) = h.leader_addr.parse() {
                metadata.insert(LEADER_HEADER, v);
            }
            h.encode_to_vec()
        }
        None => Vec::new(),
    };
    Status::with_details_and_metadata(tonic::Code::Unavailable, message, details.into(), metadata)
}

fn stopped(e: &openraft::error::Fatal<NodeId>) -> Status {
    tracing::error!(error = %e, "Raft has stopped on this node");
    Status::unavailable("replication has stopped on this node; see its log")
}

/// Counts the terms that begin while the node runs.
async fn count_elections(raft: Raft, elections: Arc<AtomicU64>) {
    let mut rx = raft.metrics();
    let mut term = rx.borrow().current_term;
    while rx.changed().await.is_ok() {
        let now = rx.borrow().current_term;
        if now > term {
            elections.fetch_add(now - term, Ordering::Relaxed);
            term = now;
        }
    }
}
