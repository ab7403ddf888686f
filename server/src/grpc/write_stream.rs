//! `WriteStream`: many batches on one stream, each acknowledged by its sequence number once
//! durable.
//!
//! Two tasks per stream. The reader validates and logs each batch as it arrives
//! ([`Engine::submit`]), so every batch in flight waits for the same group-commit fsync; the
//! acker awaits the tickets in arrival order and sends the acknowledgements. At most
//! [`STREAM_IN_FLIGHT`] batches wait at once: beyond that the reader stops reading and HTTP/2
//! flow control pushes back on the client.
//!
//! On a cluster node each batch is proposed to Raft as it arrives (the proposals of one
//! stream share appends and replication messages) and acknowledged once replicated and
//! applied, in arrival order.
//!
//! The first bad batch ends the stream with its status after acknowledging the batches before
//! it. On server shutdown the reader stops reading, the batches already read are still
//! acknowledged, and the stream ends with UNAVAILABLE so the client resends the rest.

use std::sync::Arc;

use lodestone_engine::{Engine, Ticket};
use lodestone_proto::v1 as pb;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::StreamExt;
use tonic::{Status, Streaming};

use super::convert::batch_from_proto;
use super::status::to_status;
use crate::node::Node;
use crate::shutdown::Shutdown;

/// Batches of one write stream that may wait for their fsync at once.
pub const STREAM_IN_FLIGHT: usize = 64;

/// A logged batch waiting for its acknowledgement.
struct InFlight {
    sequence: u64,
    points: u64,
    ack: Ack,
}

/// What completes when a batch is acknowledged.
enum Ack {
    /// The engine's group commit (a single node).
    Engine(Ticket),
    /// A Raft proposal (a cluster node).
    Replicated(JoinHandle<Result<(), Status>>),
}

impl Ack {
    async fn done(self) -> Result<(), Status> {
        match self {
            Ack::Engine(t) => t.await.map_err(to_status),
            Ack::Replicated(h) => h
                .await
                .unwrap_or_else(|e| Err(Status::internal(format!("replication task failed: {e}")))),
        }
    }
}

/// Starts the reader and acker tasks; returns the stream of acknowledgements.
pub(super) fn start(
    engine: Arc<Engine>,
    node: Node,
    shutdown: Shutdown,
    incoming: Streaming<pb::WriteRequest>,
) -> ReceiverStream<Result<pb::WriteResponse, Status>> {
    let (pending_tx, pending_rx) = mpsc::channel(STREAM_IN_FLIGHT);
    let (ack_tx, ack_rx) = mpsc::channel(STREAM_IN_FLIGHT);
    tokio::spawn(read(engine, node, shutdown, incoming, pending_tx));
    tokio::spawn(acknowledge(pending_rx, ack_tx));
    ReceiverStream::new(ack_rx)
}

/// Reads, validates and logs batches until the client closes its side, a batch fails, the
/// acker is gone, or the server shuts down.
async fn read(
    engine: Arc<Engine>,
    node: Node,
    shutdown: Shutdown,
    mut incoming: Streaming<pb::WriteRequest>,
    pending: mpsc::Sender<Result<InFlight, Status>>,
) {
    loop {
        let next = tokio::select! {
            // Shutdown first: a client that keeps sending must not hold the server open.
            biased;
            () = shutdown.triggered() => Some(Err(Status::unavailable(
                "server is shutting down; batches not acknowledged were not stored, resend them",
            ))),
            msg = incoming.next() => msg.map(|m| m.and_then(|req| submit(&engine, &node, req))),
        };
        let Some(item) = next else {
            return; // the client closed its side: the acker finishes the rest
        };
        let failed = item.is_err();
        if pending.send(item).await.is_err() || failed {
            return;
        }
    }
}

/// Validates and logs (or proposes) one batch; its acknowledgement completes when it is
/// durable.
fn submit(engine: &Engine, node: &Node, req: pb::WriteRequest) -> Result<InFlight, Status> {
    let batch = batch_from_proto(&req)?;
    let (sequence, points) = (req.sequence, batch.len() as u64);
    let ack = match node.cluster() {
        None => Ack::Engine(engine.submit(&batch).map_err(to_status)?),
        Some(c) => {
            let c = c.clone();
            Ack::Replicated(tokio::spawn(async move {
                c.propose(pb::raft_command::Command::Write(req)).await
            }))
        }
    };
    Ok(InFlight {
        sequence,
        points,
        ack,
    })
}

/// Awaits each logged batch in order and acknowledges it; forwards the first error and stops.
async fn acknowledge(
    mut pending: mpsc::Receiver<Result<InFlight, Status>>,
    acks: mpsc::Sender<Result<pb::WriteResponse, Status>>,
) {
    while let Some(item) = pending.recv().await {
        let ack = match item {
            Ok(f) => f.ack.done().await.map(|()| pb::WriteResponse {
                sequence: f.sequence,
                points: f.points,
            }),
            Err(status) => Err(status),
        };
        let failed = ack.is_err();
        if acks.send(ack).await.is_err() || failed {
            return;
        }
    }
}
