//! One `WriteStream` of a writer: a task that connects (when asked to), opens the stream
//! over a channel of batches, and reports every acknowledgement and how the stream ended.
//! The driver tells sessions apart by number and ignores reports of ones it gave up on.

use std::sync::Arc;

use lodestone_proto::v1 as pb;
use tokio::sync::mpsc;
use tokio_stream::wrappers::UnboundedReceiverStream;

use crate::connection::Client;
use crate::error::Result;

/// What a session reports to the driver.
#[derive(Debug)]
pub(super) enum Event {
    /// A fresh connection was made; later sessions may reuse it.
    Connected {
        /// The session.
        session: u64,
        /// The new client.
        client: Client,
    },
    /// A batch is durable.
    Ack {
        /// The session.
        session: u64,
        /// The acknowledgement.
        ack: pb::WriteResponse,
    },
    /// The stream is over: `Ok` when the server ended it cleanly, else why it failed.
    Ended {
        /// The session.
        session: u64,
        /// How it ended.
        result: Result<()>,
    },
}

/// Where a session sends: an existing connection, or a fresh one to an endpoint.
#[derive(Debug)]
pub(super) enum Target {
    /// Reuse this client's connection.
    Client(Box<Client>),
    /// Connect to `endpoints[index]` first.
    Endpoint {
        /// Every endpoint known.
        endpoints: Arc<[String]>,
        /// The one to connect to.
        index: usize,
    },
}

/// Runs session `session` until its stream ends; always reports [`Event::Ended`] last.
pub(super) async fn run(
    session: u64,
    target: Target,
    batches: mpsc::UnboundedReceiver<pb::WriteRequest>,
    events: mpsc::UnboundedSender<Event>,
) {
    let result = stream(session, target, batches, &events).await;
    let _ = events.send(Event::Ended { session, result });
}

async fn stream(
    session: u64,
    target: Target,
    batches: mpsc::UnboundedReceiver<pb::WriteRequest>,
    events: &mpsc::UnboundedSender<Event>,
) -> Result<()> {
    let client = match target {
        Target::Client(c) => *c,
        Target::Endpoint { endpoints, index } => {
            let c = Client::connect_to(endpoints, index).await?;
            let _ = events.send(Event::Connected {
                session,
                client: c.clone(),
            });
            c
        }
    };
    let mut acks = client
        .write_stream(UnboundedReceiverStream::new(batches))
        .await?;
    while let Some(ack) = acks.next_ack().await? {
        if events.send(Event::Ack { session, ack }).is_err() {
            break; // the driver is gone
        }
    }
    Ok(())
}
