//! The Raft network, the sending side: openraft's messages to other nodes, over the
//! internal `lodestone.v1.Raft` gRPC service on each node's gRPC port (`service.rs` is the
//! receiving side). Requests and replies travel as bincode bytes; every call names the node
//! it is meant for, so that a wrong address is refused rather than talked Raft with.
//!
//! A node is reached at its address in the membership, unless the node's settings give it
//! a route of its own (`--raft-route ID=ADDR`: through a proxy, a NAT, a test's fault
//! injector). Channels are made lazily and kept per address: openraft asks for a client
//! every election round.

use std::collections::HashMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lodestone_proto::v1 as pb;
use openraft::error::{
    Fatal, NetworkError, RPCError, RaftError, RemoteError, ReplicationClosed, StreamingError,
    Unreachable,
};
use openraft::network::{Backoff, RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, SnapshotResponse, VoteRequest, VoteResponse,
};
use openraft::{BasicNode, OptionalSend, Snapshot, Vote};
use pb::raft_client::RaftClient;
use tonic::transport::{Channel, Endpoint};

use super::types::{decode, encode, NodeId, TypeConfig};

/// Metadata key naming the node a Raft call is meant for.
pub const TARGET_HEADER: &str = "lodestone-raft-to";
/// Largest Raft message, either way.
pub const MAX_MESSAGE_BYTES: usize = 96 << 20;
/// Bytes of a snapshot file per message.
const SNAPSHOT_CHUNK: usize = 1 << 20;
/// How long a connection attempt to another node may take.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);

/// Makes a connection per node, on demand; clones share the channels.
#[derive(Debug, Clone, Default)]
pub struct Network {
    routes: Arc<HashMap<NodeId, String>>,
    channels: Arc<Mutex<HashMap<String, Channel>>>,
}

impl Network {
    /// A network that reaches the nodes in `routes` at the address given there, and every
    /// other node at its address in the membership.
    pub fn new(routes: HashMap<NodeId, String>) -> Network {
        Network {
            routes: Arc::new(routes),
            channels: Arc::default(),
        }
    }

    fn channel(&self, addr: &str) -> Result<Channel, String> {
        let mut channels = self.channels.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = channels.get(addr) {
            return Ok(c.clone());
        }
        let uri = if addr.contains("://") {
            addr.to_string()
        } else {
            format!("http://{addr}")
        };
        let c = Endpoint::from_shared(uri)
            .map_err(|e| format!("bad address {addr}: {e}"))?
            .connect_timeout(CONNECT_TIMEOUT)
            .tcp_nodelay(true)
            .http2_keep_alive_interval(Duration::from_secs(5))
            .keep_alive_timeout(Duration::from_secs(5))
            .connect_lazy();
        channels.insert(addr.to_string(), c.clone());
        Ok(c)
    }
}

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = Peer;

    async fn new_client(&mut self, target: NodeId, node: &BasicNode) -> Peer {
        let addr = self.routes.get(&target).unwrap_or(&node.addr).clone();
        let client = self.channel(&addr).map(|c| {
            RaftClient::new(c)
                .max_decoding_message_size(MAX_MESSAGE_BYTES)
                .max_encoding_message_size(MAX_MESSAGE_BYTES)
        });
        Peer {
            target,
            addr,
            client,
        }
    }
}

/// One other node.
#[derive(Debug)]
pub struct Peer {
    target: NodeId,
    addr: String,
    client: Result<RaftClient<Channel>, String>,
}

type RpcError = RPCError<NodeId, BasicNode, RaftError<NodeId>>;

/// How a failed call is reported to openraft: a node that cannot be reached makes it back
/// off; anything else is retried.
enum CallError {
    Unreachable(String),
    Network(String),
}

impl From<CallError> for RpcError {
    fn from(e: CallError) -> Self {
        match e {
            CallError::Unreachable(m) => RPCError::Unreachable(Unreachable::new(&Msg(m))),
            CallError::Network(m) => RPCError::Network(NetworkError::new(&Msg(m))),
        }
    }
}

impl From<CallError> for StreamingError<TypeConfig, Fatal<NodeId>> {
    fn from(e: CallError) -> Self {
        match e {
            CallError::Unreachable(m) => StreamingError::Unreachable(Unreachable::new(&Msg(m))),
            CallError::Network(m) => StreamingError::Network(NetworkError::new(&Msg(m))),
        }
    }
}

/// An error message as an error.
#[derive(Debug)]
struct Msg(String);

impl std::fmt::Display for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Msg {}

fn call_error(addr: &str, s: tonic::Status) -> CallError {
    let m = format!("{addr}: {}", s.message());
    match s.code() {
        tonic::Code::Unavailable | tonic::Code::Unknown | tonic::Code::Cancelled => {
            CallError::Unreachable(m)
        }
        _ => CallError::Network(m),
    }
}

impl Peer {
    fn client(&self) -> Result<RaftClient<Channel>, CallError> {
        self.client.clone().map_err(CallError::Unreachable)
    }

    fn request<T>(&self, body: T, ttl: Duration) -> tonic::Request<T> {
        let mut r = tonic::Request::new(body);
        r.set_timeout(ttl);
        if let Ok(v) = self.target.to_string().parse() {
            r.metadata_mut().insert(TARGET_HEADER, v);
        }
        r
    }

    /// Sends `msg` with `send` and decodes the remote `Result`.
    async fn unary<Req, Resp, F, Fut>(
        &self,
        msg: &Req,
        option: &RPCOption,
        send: F,
    ) -> Result<Resp, RpcError>
    where
        Req: serde::Serialize,
        Resp: serde::de::DeserializeOwned,
        F: FnOnce(RaftClient<Channel>, tonic::Request<pb::RaftMessage>) -> Fut,
        Fut: Future<Output = Result<tonic::Response<pb::RaftMessage>, tonic::Status>>,
    {
        let data = encode(msg).map_err(CallError::Network)?;
        let req = self.request(pb::RaftMessage { data }, option.hard_ttl());
        let reply = send(self.client()?, req)
            .await
            .map_err(|s| call_error(&self.addr, s))?
            .into_inner();
        let answer: Result<Resp, RaftError<NodeId>> =
            decode(&reply.data).map_err(CallError::Network)?;
        answer.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
    }
}

impl RaftNetwork<TypeConfig> for Peer {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<NodeId>, RpcError> {
        self.unary(&rpc, &option, |mut c, r| async move {
            c.append_entries(r).await
        })
        .await
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        option: RPCOption,
    ) -> Result<VoteResponse<NodeId>, RpcError> {
        self.unary(&rpc, &option, |mut c, r| async move { c.vote(r).await })
            .await
    }

    async fn full_snapshot(
        &mut self,
        vote: Vote<NodeId>,
        snapshot: Snapshot<TypeConfig>,
        cancel: impl Future<Output = ReplicationClosed> + OptionalSend + 'static,
        _option: RPCOption,
    ) -> Result<SnapshotResponse<NodeId>, StreamingError<TypeConfig, Fatal<NodeId>>> {
        let head = encode(&(vote, snapshot.meta.clone())).map_err(CallError::Network)?;
        let dir = snapshot.snapshot.0.clone();
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        // Every file is opened before the first byte goes: a newer snapshot may delete this
        // one's folder meanwhile, and open files stay readable.
        let files = tokio::task::spawn_blocking(move || open_files(&dir))
            .await
            .map_err(|e| CallError::Network(e.to_string()))?
            .map_err(|e| CallError::Network(format!("reading the snapshot: {e}")))?;
        let reader = tokio::task::spawn_blocking(move || send_files(head, files, tx));
        let mut client = self.client()?;
        // No deadline: a large snapshot takes as long as it takes; openraft cancels.
        let mut req = tonic::Request::new(tokio_stream::wrappers::ReceiverStream::new(rx));
        if let Ok(v) = self.target.to_string().parse() {
            req.metadata_mut().insert(TARGET_HEADER, v);
        }
        let sent = tokio::select! {
            r = client.install_snapshot(req) => r,
            closed = cancel => return Err(StreamingError::Closed(closed)),
        };
        let _ = reader.await;
        let reply = sent.map_err(|s| call_error(&self.addr, s))?.into_inner();
        let answer: Result<SnapshotResponse<NodeId>, Fatal<NodeId>> =
            decode(&reply.data).map_err(CallError::Network)?;
        answer.map_err(|e| StreamingError::RemoteError(RemoteError::new(self.target, e)))
    }

    fn backoff(&self) -> Backoff {
        // A node that is down is tried again soon: it may be back after a restart.
        Backoff::new(std::iter::repeat(Duration::from_millis(200)))
    }
}

/// The files of a snapshot folder that make up the snapshot, opened: segment files and the
/// engine's side files (not its lock, WAL or the snapshot's own metadata, which travels in
/// the first message).
fn open_files(dir: &Path) -> std::io::Result<Vec<(String, std::fs::File)>> {
    let mut out = Vec::new();
    for name in ["tombstones", "metadata", "rollups"] {
        match std::fs::File::open(dir.join(name)) {
            Ok(f) => out.push((name.to_string(), f)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    let segments: PathBuf = dir.join("segments");
    let mut names: Vec<String> = std::fs::read_dir(&segments)?
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter(|n| n.ends_with(".seg"))
        .collect();
    names.sort();
    for n in names {
        let f = std::fs::File::open(segments.join(&n))?;
        out.push((format!("segments/{n}"), f));
    }
    Ok(out)
}

/// Streams `head`, then every file in chunks; stops when the receiver is gone.
fn send_files(
    head: Vec<u8>,
    files: Vec<(String, std::fs::File)>,
    tx: tokio::sync::mpsc::Sender<pb::SnapshotChunk>,
) -> std::io::Result<()> {
    use std::io::Read;
    let gone = || std::io::Error::other("snapshot receiver gone");
    tx.blocking_send(pb::SnapshotChunk {
        head,
        ..Default::default()
    })
    .map_err(|_| gone())?;
    for (name, mut f) in files {
        let mut crc = crc32fast::Hasher::new();
        let mut offset = 0u64;
        let mut buf = vec![0u8; SNAPSHOT_CHUNK];
        loop {
            let n = f.read(&mut buf)?;
            let last = n == 0;
            crc.update(&buf[..n]);
            let chunk = pb::SnapshotChunk {
                head: Vec::new(),
                file: name.clone(),
                offset,
                data: buf[..n].to_vec(),
                last,
                crc32: if last { crc.clone().finalize() } else { 0 },
            };
            tx.blocking_send(chunk).map_err(|_| gone())?;
            offset += n as u64;
            if last {
                break;
            }
        }
    }
    Ok(())
}
