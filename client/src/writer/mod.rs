//! [`Writer`]: a batching, pipelining, retrying writer for a steady feed of readings.
//!
//! ```text
//! push ──▶ BatchBuilder ──(full, or linger expired)──▶ ready ──▶ in flight ──ack──▶ done
//!   ▲  (the caller's task,                              (driver task: one WriteStream,
//!   │   under a short lock)                              several batches in flight)
//!   └── waits while max_buffered_points are unacknowledged
//! ```
//!
//! Callers fill the current batch directly under a short lock; a background *driver* task
//! owns everything else: it cuts batches on the linger timer, sends them on one `WriteStream`
//! with up to `max_in_flight` unacknowledged, matches acknowledgements (in order, by
//! sequence number), and on failure re-opens the stream — on the next endpoint for a lost
//! connection — after an exponential backoff, re-sending every unacknowledged batch. A
//! re-sent batch carries the same points and timestamps, so a batch stored twice is stored
//! once (last write wins).
//!
//! Memory is bounded by a semaphore of `max_buffered_points` permits: `push` takes one per
//! point, the driver gives them back when the point's batch is acknowledged or rejected.

mod driver;
mod options;
mod session;

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use lodestone_proto::v1 as pb;
use parking_lot::Mutex;
use tokio::sync::{mpsc, oneshot, Semaphore};

use crate::batch::BatchBuilder;
use crate::connection::Client;
use crate::error::{Error, Result};

pub use options::{Backoff, WriterOptions, SERVER_MAX_BATCH_POINTS};

/// A batching writer over one gRPC `WriteStream`, made by [`Client::writer`].
///
/// - [`Writer::push`] and [`Writer::push_many`] add points; they return as soon as the
///   points are buffered, and wait only while the writer already holds
///   [`WriterOptions::max_buffered_points`] unacknowledged points (backpressure).
/// - Batches are cut at [`WriterOptions::batch_points`] points or
///   [`WriterOptions::linger`] after their first point, whichever comes first.
/// - [`Writer::flush`] returns once every point pushed before it is durable on the server;
///   [`Writer::close`] flushes and stops the writer.
/// - Lost connections, UNAVAILABLE and RESOURCE_EXHAUSTED are retried with backoff,
///   re-sending what was not acknowledged; a batch the server rejects as invalid is dropped
///   and reported ([`Error::Rejected`]) by the next `flush` or `close`, and the writer goes
///   on with the other batches. Any other failure, or retrying for longer than
///   [`WriterOptions::retry_for`], stops the writer: every later call returns that error.
///
/// Clones share one writer, so several tasks may push at once. Dropping every clone without
/// `close` lets the background task send what is left while the runtime runs, but nobody
/// learns whether it was stored.
///
/// ```no_run
/// use lodestone_client::{Client, Point, SeriesKey, WriterOptions};
/// # async fn demo() -> lodestone_client::Result<()> {
/// let client = Client::connect_any(["10.0.0.1:7400", "10.0.0.2:7400"]).await?;
/// let writer = client.writer(WriterOptions::default())?;
/// let key = SeriesKey::new("temperature", [("site", "p1")]);
/// for s in 0..3600 {
///     writer.push(&key, Point::new(s * 1_000_000_000, 21.5)).await?;
/// }
/// writer.close().await?; // every point durable, or the error that stopped it
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Writer {
    shared: Arc<Shared>,
    commands: mpsc::UnboundedSender<Command>,
}

/// Counters of a [`Writer`], for progress reports and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriterStats {
    /// Points accepted by `push` and `push_many`.
    pub pushed_points: u64,
    /// Points acknowledged durable.
    pub acked_points: u64,
    /// Batches acknowledged.
    pub acked_batches: u64,
    /// Batches the server rejected as invalid.
    pub rejected_batches: u64,
    /// Points in rejected batches (not stored).
    pub rejected_points: u64,
    /// Batches cut and handed to the sender.
    pub batches_cut: u64,
    /// Write streams opened after a failure.
    pub retries: u64,
    /// Points held now: buffered, in flight, or waiting to be re-sent.
    pub buffered_points: usize,
    /// The most points ever held at once (never above `max_buffered_points`).
    pub max_buffered_points_seen: usize,
}

/// What the caller side and the driver share.
#[derive(Debug)]
struct Shared {
    /// The batch being filled.
    builder: Mutex<BatchBuilder>,
    /// One permit per point the writer may still take in.
    permits: Semaphore,
    /// `max_buffered_points`.
    capacity: usize,
    /// Largest chunk `push_many` takes at once: a full batch, within the memory bound.
    chunk: usize,
    /// Why the writer stopped, once it has; `None` after a clean close.
    stopped: Mutex<Option<Error>>,
    counters: Counters,
}

/// Atomic counters behind [`WriterStats`].
#[derive(Debug, Default)]
struct Counters {
    pushed_points: AtomicU64,
    acked_points: AtomicU64,
    acked_batches: AtomicU64,
    rejected_batches: AtomicU64,
    rejected_points: AtomicU64,
    batches_cut: AtomicU64,
    retries: AtomicU64,
    max_buffered_seen: AtomicUsize,
}

/// Messages from the caller side to the driver, in the order the caller side made them.
#[derive(Debug)]
enum Command {
    /// The first point of batch `sequence` was buffered: start its linger timer.
    Started(u64),
    /// A full batch (or one cut by `flush`).
    Batch(pb::WriteRequest),
    /// Answer once everything cut so far is acknowledged or rejected.
    Flush(oneshot::Sender<Result<()>>),
    /// Like `Flush`, then end the stream and stop.
    Close(oneshot::Sender<Result<()>>),
}

impl Client {
    /// A batching writer over this client's connection (and its other endpoints, if made
    /// with [`Client::connect_any`]). Must be called inside a Tokio runtime: the writer runs
    /// a background task.
    pub fn writer(&self, options: WriterOptions) -> Result<Writer> {
        Writer::new(self.clone(), options)
    }
}

impl Writer {
    /// A writer sending through `client`; see [`Client::writer`].
    pub fn new(client: Client, options: WriterOptions) -> Result<Writer> {
        options.validate()?;
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| Error::NoRuntime)?;
        let (writer, rx) = Writer::detached(&options);
        let shared = writer.shared.clone();
        runtime.spawn(driver::Driver::new(client, options, shared, rx).run());
        Ok(writer)
    }

    /// The caller side of a writer, and the receiving end of its commands (the driver's).
    fn detached(options: &WriterOptions) -> (Writer, mpsc::UnboundedReceiver<Command>) {
        let shared = Arc::new(Shared {
            builder: Mutex::new(BatchBuilder::new(options.batch_points, 1)),
            permits: Semaphore::new(options.max_buffered_points),
            capacity: options.max_buffered_points,
            chunk: options.batch_points,
            stopped: Mutex::new(None),
            counters: Counters::default(),
        });
        let (commands, rx) = mpsc::unbounded_channel();
        (Writer { shared, commands }, rx)
    }

    /// Buffers one point of `key`. Returns at once unless the writer already holds
    /// `max_buffered_points` unacknowledged points; then waits until acknowledgements make
    /// room. Fails only when the writer has stopped (closed, or a fatal error).
    pub async fn push(&self, key: &pb::SeriesKey, point: pb::Point) -> Result<()> {
        self.acquire(1).await?;
        let mut builder = self.shared.builder.lock();
        if builder.is_empty() {
            self.send(Command::Started(builder.next_sequence()))?;
        }
        if builder.push_key(key, point).is_err() {
            // Never full here (a full batch is cut at once below); kept for safety.
            self.cut(&mut builder)?;
            self.send(Command::Started(builder.next_sequence()))?;
            let _ = builder.push_key(key, point);
        }
        if builder.is_full() {
            self.cut(&mut builder)?;
        }
        Ok(())
    }

    /// Buffers many points of one series, in order; waits for room as [`Writer::push`]
    /// does, a batch at a time.
    pub async fn push_many(&self, key: &pb::SeriesKey, points: Vec<pb::Point>) -> Result<()> {
        let mut rest = points;
        while !rest.is_empty() {
            let n = rest.len().min(self.shared.chunk);
            self.acquire(n).await?;
            let mut chunk: Vec<pb::Point> = rest.drain(..n).collect();
            let mut builder = self.shared.builder.lock();
            while !chunk.is_empty() {
                if builder.is_empty() {
                    self.send(Command::Started(builder.next_sequence()))?;
                }
                builder.push_some(key, &mut chunk);
                if builder.is_full() {
                    self.cut(&mut builder)?;
                }
            }
        }
        Ok(())
    }

    /// Waits until every point pushed before this call is acknowledged durable (or
    /// rejected). Returns the first batch rejection not reported yet, if any
    /// ([`Error::Rejected`]), or the error that stopped the writer.
    pub async fn flush(&self) -> Result<()> {
        let (tx, rx) = oneshot::channel();
        {
            let mut builder = self.shared.builder.lock();
            self.cut(&mut builder)?;
            self.send(Command::Flush(tx))?;
        }
        rx.await.map_err(|_| self.stopped_error())?
    }

    /// Flushes, then ends the stream and stops the writer; later pushes and flushes fail
    /// with [`Error::WriterClosed`], a second close does nothing. Returns what
    /// [`Writer::flush`] would.
    pub async fn close(&self) -> Result<()> {
        let (tx, rx) = oneshot::channel();
        let sent = {
            let mut builder = self.shared.builder.lock();
            self.cut(&mut builder)
                .and_then(|()| self.send(Command::Close(tx)))
        };
        match sent {
            Ok(()) => rx.await.map_err(|_| self.stopped_error())?,
            Err(Error::WriterClosed) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The writer's counters now.
    pub fn stats(&self) -> WriterStats {
        let c = &self.shared.counters;
        let held = self
            .shared
            .capacity
            .saturating_sub(self.shared.permits.available_permits());
        WriterStats {
            pushed_points: c.pushed_points.load(Ordering::Relaxed),
            acked_points: c.acked_points.load(Ordering::Relaxed),
            acked_batches: c.acked_batches.load(Ordering::Relaxed),
            rejected_batches: c.rejected_batches.load(Ordering::Relaxed),
            rejected_points: c.rejected_points.load(Ordering::Relaxed),
            batches_cut: c.batches_cut.load(Ordering::Relaxed),
            retries: c.retries.load(Ordering::Relaxed),
            buffered_points: if self.shared.permits.is_closed() {
                0
            } else {
                held
            },
            max_buffered_points_seen: c.max_buffered_seen.load(Ordering::Relaxed),
        }
    }

    /// Takes `n` permits (at most `capacity`, so the wait always ends).
    async fn acquire(&self, n: usize) -> Result<()> {
        let n = n.min(self.shared.capacity);
        let Ok(n32) = u32::try_from(n) else {
            return Err(Error::InvalidOptions("chunk above u32::MAX points".into()));
        };
        match self.shared.permits.acquire_many(n32).await {
            Ok(permits) => permits.forget(),
            Err(_) => return Err(self.stopped_error()),
        }
        let c = &self.shared.counters;
        c.pushed_points.fetch_add(n as u64, Ordering::Relaxed);
        let held = self
            .shared
            .capacity
            .saturating_sub(self.shared.permits.available_permits());
        c.max_buffered_seen.fetch_max(held, Ordering::Relaxed);
        Ok(())
    }

    /// Hands the current batch, if any, to the driver. Called under the builder lock, so
    /// the driver receives batches in sequence order.
    fn cut(&self, builder: &mut BatchBuilder) -> Result<()> {
        match builder.take() {
            Some(req) => {
                self.shared
                    .counters
                    .batches_cut
                    .fetch_add(1, Ordering::Relaxed);
                self.send(Command::Batch(req))
            }
            None => Ok(()),
        }
    }

    fn send(&self, command: Command) -> Result<()> {
        self.commands
            .send(command)
            .map_err(|_| self.stopped_error())
    }

    /// Why the writer no longer takes points.
    fn stopped_error(&self) -> Error {
        self.shared.stopped_error()
    }
}

impl Shared {
    /// The error that stopped the writer, or [`Error::WriterClosed`] after a clean close.
    fn stopped_error(&self) -> Error {
        self.stopped.lock().clone().unwrap_or(Error::WriterClosed)
    }
}

#[cfg(test)]
mod tests;
