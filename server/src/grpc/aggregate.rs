//! `Aggregate`: windowed aggregates of the series a request selects, streamed series by
//! series in key order.
//!
//! The selection is resolved and the first series computed before the call answers, so a
//! bad request (unknown series, bad pattern, step below 1, too many windows) is the call's
//! status, as for `Query`. The other series are computed one at a time while the client
//! reads, so a large selection holds about one series' windows in memory, not all of them.
//! A series' windows go out in messages of at most [`AGGREGATE_PAGE`].

use std::sync::Arc;

use lodestone_engine::query::window::{Window, WindowSpec};
use lodestone_engine::{Engine, SeriesKey};
use lodestone_proto::v1 as pb;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use super::blocking;
use super::convert::{
    key_to_proto, selection_from_proto, window_spec_from_proto, window_to_proto, Selection,
};
use crate::shutdown::Shutdown;

/// Windows per `AggregateResponse`: at most about 33 bytes each on the wire, so a message
/// stays near 2 MiB, under the 4 MiB that gRPC clients accept by default.
pub const AGGREGATE_PAGE: usize = 65_536;

/// Messages computed ahead of what the client has read.
const AHEAD: usize = 2;

/// The answer stream.
pub(super) type Answer = ReceiverStream<Result<pb::AggregateResponse, Status>>;

/// One series and its windows.
type SeriesWindows = (SeriesKey, Vec<Window>);

/// Checks the request, resolves its selection, computes the first series, and starts the
/// task that sends the rest.
pub(super) async fn start(
    engine: Arc<Engine>,
    shutdown: Shutdown,
    req: pb::AggregateRequest,
) -> Result<Answer, Status> {
    let spec = window_spec_from_proto(&req)?;
    let keys = match selection_from_proto(req.selection.as_ref())? {
        Selection::Key(key) => vec![key],
        Selection::Selector(selector) => {
            let engine = engine.clone();
            // A scan of the catalog: cheap, but not per-request cheap for a large plant.
            blocking(move || Ok(engine.select(&selector))).await?
        }
    };
    let mut keys = keys.into_iter();
    let first = match keys.next() {
        Some(key) => Some(windows_of(&engine, key, spec).await?),
        None => None,
    };
    let (tx, rx) = mpsc::channel(AHEAD);
    tokio::spawn(send_all(engine, shutdown, first, keys, spec, tx));
    Ok(ReceiverStream::new(rx))
}

/// The windows of one series, computed on the blocking pool.
async fn windows_of(
    engine: &Arc<Engine>,
    key: SeriesKey,
    spec: WindowSpec,
) -> Result<SeriesWindows, Status> {
    let engine = engine.clone();
    blocking(move || {
        let windows = engine.aggregate(&key, &spec)?;
        Ok((key, windows))
    })
    .await
}

/// Why sending stopped before the last series.
enum Stop {
    /// The client went away; nobody is left to tell.
    ClientGone,
    /// The stream ends with this status.
    Failed(Status),
}

/// Sends `first`, then computes and sends each of `rest`. An engine error ends the stream
/// with its status, and so does server shutdown (UNAVAILABLE). The engine is released
/// before that last message is sent, so that a client that stopped reading does not keep
/// the server from closing it.
async fn send_all(
    engine: Arc<Engine>,
    shutdown: Shutdown,
    first: Option<SeriesWindows>,
    rest: impl Iterator<Item = SeriesKey>,
    spec: WindowSpec,
    tx: mpsc::Sender<Result<pb::AggregateResponse, Status>>,
) {
    let sent = send_each(&engine, &shutdown, first, rest, spec, &tx).await;
    drop(engine);
    if let Err(Stop::Failed(status)) = sent {
        let _ = tx.send(Err(status)).await;
    }
}

async fn send_each(
    engine: &Arc<Engine>,
    shutdown: &Shutdown,
    first: Option<SeriesWindows>,
    rest: impl Iterator<Item = SeriesKey>,
    spec: WindowSpec,
    tx: &mpsc::Sender<Result<pb::AggregateResponse, Status>>,
) -> Result<(), Stop> {
    if let Some(series) = first {
        send_series(tx, shutdown, series).await?;
    }
    for key in rest {
        let series = tokio::select! {
            r = windows_of(engine, key, spec) => r.map_err(Stop::Failed)?,
            () = tx.closed() => return Err(Stop::ClientGone),
            () = shutdown.triggered() => return Err(Stop::Failed(shutting_down())),
        };
        send_series(tx, shutdown, series).await?;
    }
    Ok(())
}

/// Sends one series' windows in pages (one message without windows when it has none).
async fn send_series(
    tx: &mpsc::Sender<Result<pb::AggregateResponse, Status>>,
    shutdown: &Shutdown,
    (key, windows): SeriesWindows,
) -> Result<(), Stop> {
    let series = key_to_proto(&key);
    let mut pages = windows.chunks(AGGREGATE_PAGE);
    let mut page = pages.next().unwrap_or_default();
    loop {
        let message = pb::AggregateResponse {
            series: Some(series.clone()),
            windows: page.iter().map(window_to_proto).collect(),
        };
        tokio::select! {
            sent = tx.send(Ok(message)) => sent.map_err(|_| Stop::ClientGone)?,
            () = shutdown.triggered() => return Err(Stop::Failed(shutting_down())),
        }
        match pages.next() {
            Some(next) => page = next,
            None => return Ok(()),
        }
    }
}

fn shutting_down() -> Status {
    Status::unavailable("server is shutting down")
}
