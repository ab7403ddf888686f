//! The writer's background task. It owns every batch once cut: `ready` (waiting to be sent)
//! and `in_flight` (sent on the current stream, not yet acknowledged), both in sequence
//! order, `in_flight` the older. Acknowledgements arrive in order, so each one must match the
//! oldest batch in flight. When a stream fails, the batches in flight go back to the front
//! of `ready` and are sent again on the next stream.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use lodestone_proto::v1 as pb;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::options::WriterOptions;
use super::session::{self, Event, Target};
use super::{Command, Shared};
use crate::connection::Client;
use crate::error::{Error, Result};

/// How long the writer waits before sending to the leader a node named: long enough for
/// a leader just elected to be told it leads.
const LEADER_HOP: Duration = Duration::from_millis(20);

/// How long closing waits for the server to end the stream before cutting it.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// A cut batch and its point count.
#[derive(Debug)]
struct Pending {
    req: pb::WriteRequest,
    points: usize,
}

/// The current write stream.
#[derive(Debug)]
struct Session {
    id: u64,
    batches: mpsc::UnboundedSender<pb::WriteRequest>,
    task: JoinHandle<()>,
}

/// State of the background task; see the module documentation.
#[derive(Debug)]
pub(super) struct Driver {
    shared: Arc<Shared>,
    opts: WriterOptions,
    /// The connection reused by new sessions unless `reconnect` is set.
    client: Client,
    endpoints: Arc<[String]>,
    /// Index in `endpoints` of the one to use.
    endpoint: usize,
    /// Connect afresh to `endpoints[endpoint]` for the next session.
    reconnect: bool,
    commands: mpsc::UnboundedReceiver<Command>,
    /// False once every [`super::Writer`] is dropped.
    commands_open: bool,
    events_tx: mpsc::UnboundedSender<Event>,
    events: mpsc::UnboundedReceiver<Event>,
    ready: VecDeque<Pending>,
    in_flight: VecDeque<Pending>,
    session: Option<Session>,
    next_session: u64,
    /// When the open batch (by sequence number) must be cut.
    linger: Option<(Instant, u64)>,
    /// No session is opened before this instant (backing off).
    retry_at: Option<Instant>,
    /// Consecutive failed streams, and since when; reset by an acknowledgement.
    failures: u32,
    failing_since: Option<Instant>,
    /// Highest sequence number cut so far (0: none).
    last_cut: u64,
    /// Flush callers waiting, each with the last sequence number it covers.
    flushes: Vec<(u64, oneshot::Sender<Result<()>>)>,
    /// Close callers waiting; once any, the writer drains and stops.
    closers: Vec<oneshot::Sender<Result<()>>>,
    /// The first rejection that no flush or close has reported yet.
    unreported: Option<Error>,
    /// Set by a fatal error: the task ends.
    stopped: bool,
}

impl Driver {
    pub(super) fn new(
        client: Client,
        opts: WriterOptions,
        shared: Arc<Shared>,
        commands: mpsc::UnboundedReceiver<Command>,
    ) -> Driver {
        let (endpoints, endpoint) = client.endpoint_list();
        let (events_tx, events) = mpsc::unbounded_channel();
        Driver {
            shared,
            opts,
            client,
            endpoints,
            endpoint,
            reconnect: false,
            commands,
            commands_open: true,
            events_tx,
            events,
            ready: VecDeque::new(),
            in_flight: VecDeque::new(),
            session: None,
            next_session: 1,
            linger: None,
            retry_at: None,
            failures: 0,
            failing_since: None,
            last_cut: 0,
            flushes: Vec::new(),
            closers: Vec::new(),
            unreported: None,
            stopped: false,
        }
    }

    /// Runs until closed, until every writer handle is gone and everything is sent, or until
    /// a fatal error.
    pub(super) async fn run(mut self) {
        loop {
            if self.stopped {
                return;
            }
            self.pump();
            self.answer_flushes();
            if self.drained() {
                self.finish().await;
                return;
            }
            let linger = self.linger.map(|(at, _)| at);
            let retry = self.retry_at;
            tokio::select! {
                command = self.commands.recv(), if self.commands_open => match command {
                    Some(c) => self.on_command(c),
                    None => {
                        self.commands_open = false;
                        self.cut_open_batch();
                    }
                },
                Some(event) = self.events.recv() => self.on_event(event),
                () = sleep_until(linger) => self.on_linger(),
                () = sleep_until(retry) => self.retry_at = None,
            }
        }
    }

    fn on_command(&mut self, command: Command) {
        match command {
            Command::Started(seq) => {
                if self.linger.is_none_or(|(_, armed)| armed < seq) {
                    self.linger = Some((Instant::now() + self.opts.linger, seq));
                }
            }
            Command::Batch(req) => {
                if self.linger.is_some_and(|(_, armed)| armed == req.sequence) {
                    self.linger = None;
                }
                self.accept(req);
            }
            Command::Flush(tx) => self.flushes.push((self.last_cut, tx)),
            Command::Close(tx) => {
                // No new pushes; what is buffered is still sent.
                self.shared.permits.close();
                self.closers.push(tx);
            }
        }
    }

    fn on_linger(&mut self) {
        let Some((_, seq)) = self.linger.take() else {
            return;
        };
        let mut builder = self.shared.builder.lock();
        // A batch already cut by size has moved on; its successor arms its own timer.
        if builder.next_sequence() == seq {
            if let Some(req) = builder.take() {
                drop(builder);
                self.shared
                    .counters
                    .batches_cut
                    .fetch_add(1, Ordering::Relaxed);
                self.accept(req);
            }
        }
    }

    /// Cuts what the builder holds (every writer handle is gone, nobody will flush).
    fn cut_open_batch(&mut self) {
        let taken = self.shared.builder.lock().take();
        if let Some(req) = taken {
            self.shared
                .counters
                .batches_cut
                .fetch_add(1, Ordering::Relaxed);
            self.accept(req);
        }
    }

    fn accept(&mut self, req: pb::WriteRequest) {
        self.last_cut = self.last_cut.max(req.sequence);
        let points = req.point_count();
        self.ready.push_back(Pending { req, points });
    }

    /// Sends ready batches while fewer than `max_in_flight` are unacknowledged, opening a
    /// stream first if there is none and no backoff is running.
    fn pump(&mut self) {
        if self.ready.is_empty() {
            return;
        }
        if self.session.is_none() {
            if self.retry_at.is_some() {
                return;
            }
            self.open_session();
        }
        let Some(session) = &self.session else {
            return;
        };
        while self.in_flight.len() < self.opts.max_in_flight {
            let Some(p) = self.ready.pop_front() else {
                break;
            };
            // Kept for re-sending: the stream consumes its copy.
            if session.batches.send(p.req.clone()).is_err() {
                // The session task has ended; its `Ended` report is on the way.
                self.ready.push_front(p);
                break;
            }
            self.in_flight.push_back(p);
        }
    }

    fn open_session(&mut self) {
        let id = self.next_session;
        self.next_session += 1;
        let target = if self.reconnect {
            Target::Endpoint {
                endpoints: self.endpoints.clone(),
                index: self.endpoint,
            }
        } else {
            Target::Client(Box::new(self.client.clone()))
        };
        let (batches, rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(session::run(id, target, rx, self.events_tx.clone()));
        self.session = Some(Session { id, batches, task });
    }

    fn is_current(&self, session: u64) -> bool {
        self.session.as_ref().is_some_and(|s| s.id == session)
    }

    fn on_event(&mut self, event: Event) {
        match event {
            Event::Connected { session, client } if self.is_current(session) => {
                self.client = client;
                self.reconnect = false;
            }
            Event::Ack { session, ack } if self.is_current(session) => self.on_ack(ack),
            Event::Ended { session, result } if self.is_current(session) => {
                self.session = None;
                self.on_ended(result);
            }
            _ => {} // from a session given up on
        }
    }

    fn on_ack(&mut self, ack: pb::WriteResponse) {
        let expected = self.in_flight.front().map(|p| p.req.sequence);
        if expected != Some(ack.sequence) {
            let oldest = expected.map_or("none".to_string(), |s| s.to_string());
            return self.fail(Error::Protocol(format!(
                "the server acknowledged batch {} but the oldest in flight is {oldest}",
                ack.sequence
            )));
        }
        let Some(done) = self.in_flight.pop_front() else {
            return;
        };
        self.release(done.points);
        let c = &self.shared.counters;
        c.acked_points
            .fetch_add(done.points as u64, Ordering::Relaxed);
        c.acked_batches.fetch_add(1, Ordering::Relaxed);
        self.failures = 0;
        self.failing_since = None;
    }

    fn on_ended(&mut self, result: Result<()>) {
        match result {
            Ok(()) if self.in_flight.is_empty() => {}
            Ok(()) => self.retry_later(Error::Unavailable(
                "the server ended the write stream before acknowledging every batch".into(),
            )),
            // The server stops at the first bad batch, after acknowledging those before
            // it: the oldest in flight is the one refused.
            Err(Error::InvalidArgument(reason)) if !self.in_flight.is_empty() => {
                self.reject_oldest(reason)
            }
            Err(e) if e.is_retryable() => self.retry_later(e),
            Err(e) => self.fail(e),
        }
    }

    /// Drops the oldest batch in flight as refused, keeps its error for the next flush, and
    /// sends the rest again at once: the connection is fine.
    fn reject_oldest(&mut self, reason: String) {
        let Some(bad) = self.in_flight.pop_front() else {
            return;
        };
        self.release(bad.points);
        let c = &self.shared.counters;
        c.rejected_batches.fetch_add(1, Ordering::Relaxed);
        c.rejected_points
            .fetch_add(bad.points as u64, Ordering::Relaxed);
        self.unreported.get_or_insert(Error::Rejected {
            sequence: bad.req.sequence,
            points: bad.points,
            reason,
        });
        self.requeue();
    }

    /// Puts the batches in flight back in front of `ready`, in order.
    fn requeue(&mut self) {
        while let Some(p) = self.in_flight.pop_back() {
            self.ready.push_front(p);
        }
    }

    /// Re-sends what was not acknowledged after a backoff, on the next endpoint unless the
    /// server only said it was overloaded; gives up past `retry_for`.
    fn retry_later(&mut self, e: Error) {
        self.requeue();
        let leader = match &e {
            Error::NotLeader {
                leader: Some(l), ..
            } => Some(l.clone()),
            _ => None,
        };
        if let Some(l) = leader {
            // A cluster node named the leader: go there now, no backoff.
            self.endpoint = self.endpoint_of(&l);
            self.reconnect = true;
            if !self.ready.is_empty() {
                self.retry_at = Some(Instant::now() + LEADER_HOP);
                self.shared.counters.retries.fetch_add(1, Ordering::Relaxed);
            }
            return;
        }
        let lost_connection = !matches!(e, Error::Overloaded(_));
        if lost_connection {
            self.endpoint = (self.endpoint + 1) % self.endpoints.len();
            self.reconnect = true;
        }
        if self.ready.is_empty() {
            return; // an idle stream ended: open the next one when there is data
        }
        let now = Instant::now();
        let since = *self.failing_since.get_or_insert(now);
        if let Some(limit) = self.opts.retry_for {
            if now.duration_since(since) >= limit {
                let unacknowledged = self.unacknowledged();
                return self.fail(Error::GaveUp {
                    attempts: self.failures + 1,
                    elapsed: now.duration_since(since),
                    unacknowledged,
                    last: Box::new(e),
                });
            }
        }
        let delay = self.opts.backoff.delay(self.failures, fastrand::f64());
        self.failures = self.failures.saturating_add(1);
        self.retry_at = Some(now + delay);
        self.shared.counters.retries.fetch_add(1, Ordering::Relaxed);
    }

    /// The index of `addr` among the endpoints, added to them when new.
    fn endpoint_of(&mut self, addr: &str) -> usize {
        let url = if addr.contains("://") {
            addr.to_string()
        } else {
            format!("http://{addr}")
        };
        if let Some(i) = self.endpoints.iter().position(|e| *e == url) {
            return i;
        }
        let mut all = self.endpoints.to_vec();
        all.push(url);
        self.endpoints = all.into();
        self.endpoints.len() - 1
    }

    /// Points pushed and not acknowledged.
    fn unacknowledged(&self) -> usize {
        let queued: usize = self
            .ready
            .iter()
            .chain(self.in_flight.iter())
            .map(|p| p.points)
            .sum();
        queued + self.shared.builder.lock().len()
    }

    /// Answers the flushes whose batches are all acknowledged or rejected.
    fn answer_flushes(&mut self) {
        if self.flushes.is_empty() {
            return;
        }
        let oldest = self
            .in_flight
            .front()
            .or(self.ready.front())
            .map(|p| p.req.sequence);
        let mut waiting = Vec::new();
        for (covers, tx) in std::mem::take(&mut self.flushes) {
            if oldest.is_some_and(|o| o <= covers) {
                waiting.push((covers, tx));
                continue;
            }
            let answer = match self.unreported.take() {
                Some(e) => Err(e),
                None => Ok(()),
            };
            if let Err(Err(e)) = tx.send(answer) {
                self.unreported.get_or_insert(e); // that caller left: keep it for the next
            }
        }
        self.flushes = waiting;
    }

    /// True when the writer is closing (or abandoned) and nothing is left to send.
    fn drained(&self) -> bool {
        let stopping = !self.closers.is_empty() || !self.commands_open;
        stopping
            && self.ready.is_empty()
            && self.in_flight.is_empty()
            && self.commands.is_empty()
            && self.shared.builder.lock().is_empty()
    }

    /// Ends the stream cleanly and answers the callers waiting.
    async fn finish(&mut self) {
        self.shared.permits.close();
        if let Some(mut s) = self.session.take() {
            drop(s.batches); // half-close: the server ends the stream
            if tokio::time::timeout(CLOSE_GRACE, &mut s.task)
                .await
                .is_err()
            {
                s.task.abort();
            }
        }
        let answer = match self.unreported.take() {
            Some(e) => Err(e),
            None => Ok(()),
        };
        for tx in self.closers.drain(..) {
            let _ = tx.send(answer.clone());
        }
        for (_, tx) in self.flushes.drain(..) {
            let _ = tx.send(Ok(()));
        }
    }

    /// Stops the writer for good with `e`: every waiting and later call gets it.
    fn fail(&mut self, e: Error) {
        *self.shared.stopped.lock() = Some(e.clone());
        self.shared.permits.close();
        for (_, tx) in self.flushes.drain(..) {
            let _ = tx.send(Err(e.clone()));
        }
        for tx in self.closers.drain(..) {
            let _ = tx.send(Err(e.clone()));
        }
        self.ready.clear();
        self.in_flight.clear();
        if let Some(s) = self.session.take() {
            s.task.abort();
        }
        self.stopped = true;
    }

    /// Gives back the permits of `points` acknowledged or dropped points.
    fn release(&self, points: usize) {
        self.shared.permits.add_permits(points);
    }
}

/// Sleeps until `at`, or forever when `None`.
async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
