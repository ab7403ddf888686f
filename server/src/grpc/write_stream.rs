//! `WriteStream`: many batches on one stream, each acknowledged by its sequence number once
//! durable.
//!
//! Two tasks per stream. The reader validates and logs each batch as it arrives
//! ([`Engine::submit`]), so every batch in flight waits for the same group-commit fsync; the
//! acker awaits the tickets in arrival order and sends the acknowledgements. At most
//! [`STREAM_IN_FLIGHT`] batches wait at once: beyond that the reader stops reading and HTTP/2
//! flow control pushes back on the client.
//!
//! The first bad batch ends the stream with its status after acknowledging the batches before
//! it. On server shutdown the reader stops reading, the batches already read are still
//! acknowledged, and the stream ends with UNAVAILABLE so the client resends the rest.

use std::sync::Arc;

use lodestone_engine::{Engine, Ticket};
use lodestone_proto::v1 as pb;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::StreamExt;
use tonic::{Status, Streaming};

use super::convert::batch_from_proto;
use super::status::to_status;
use crate::shutdown::Shutdown;

/// Batches of one write stream that may wait for their fsync at once.
pub const STREAM_IN_FLIGHT: usize = 64;

/// A logged batch waiting for its acknowledgement.
struct InFlight {
    sequence: u64,
    points: u64,
    ticket: Ticket,
}

/// Starts the reader and acker tasks; returns the stream of acknowledgements.
pub(super) fn start(
    engine: Arc<Engine>,
    shutdown: Shutdown,
    incoming: Streaming<pb::WriteRequest>,
) -> ReceiverStream<Result<pb::WriteResponse, Status>> {
    let (pending_tx, pending_rx) = mpsc::channel(STREAM_IN_FLIGHT);
    let (ack_tx, ack_rx) = mpsc::channel(STREAM_IN_FLIGHT);
    tokio::spawn(read(engine, shutdown, incoming, pending_tx));
    tokio::spawn(acknowledge(pending_rx, ack_tx));
    ReceiverStream::new(ack_rx)
}

/// Reads, validates and logs batches until the client closes its side, a batch fails, the
/// acker is gone, or the server shuts down.
async fn read(
    engine: Arc<Engine>,
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
            msg = incoming.next() => msg.map(|m| m.and_then(|req| submit(&engine, &req))),
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

/// Validates and logs one batch; the ticket completes when it is durable.
fn submit(engine: &Engine, req: &pb::WriteRequest) -> Result<InFlight, Status> {
    let batch = batch_from_proto(req)?;
    let ticket = engine.submit(&batch).map_err(to_status)?;
    Ok(InFlight {
        sequence: req.sequence,
        points: batch.len() as u64,
        ticket,
    })
}

/// Awaits each logged batch in order and acknowledges it; forwards the first error and stops.
async fn acknowledge(
    mut pending: mpsc::Receiver<Result<InFlight, Status>>,
    acks: mpsc::Sender<Result<pb::WriteResponse, Status>>,
) {
    while let Some(item) = pending.recv().await {
        let ack = match item {
            Ok(f) => f
                .ticket
                .await
                .map_err(to_status)
                .map(|()| pb::WriteResponse {
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
