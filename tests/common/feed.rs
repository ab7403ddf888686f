//! A steady feed of points through the Rust client's `Writer`, and the ledger of what was
//! acknowledged: what the replication tests check every node against.
//!
//! Tick `n` pushes point `n` of every series (timestamp `T0 + n` ms, a value computed from
//! series and tick, with a `-0.0` and a NaN with a payload now and then, so that bit-exact
//! means bit-exact). Every `flush_every` ticks the feed flushes: when the flush returns,
//! every tick before is acknowledged, and the time is logged.

#![allow(dead_code, clippy::unwrap_used)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lodestone_client::{Backoff, Client, Point, SeriesKey, Writer, WriterOptions};

/// 2026-01-01T00:00:00Z.
pub const T0: i64 = 1_767_225_600_000_000_000;
const MS: i64 = 1_000_000;

/// The series the feed writes.
pub fn series(count: usize) -> Vec<SeriesKey> {
    (0..count)
        .map(|i| SeriesKey::new("pressure", [("site", "p1"), ("asset", &format!("a{i:03}"))]))
        .collect()
}

/// The value of point `n` of series `s`.
pub fn value(s: usize, n: u64) -> f64 {
    match n % 97 {
        13 => -0.0,
        41 => f64::from_bits(0x7ff8_0000_dead_beef),
        _ => n as f64 * 0.25 + s as f64 * 1000.0,
    }
}

/// The timestamp of point `n`.
pub fn ts(n: u64) -> i64 {
    T0 + n as i64 * MS
}

/// The bits of a float point's value, so that -0.0 and NaN payloads compare exactly.
pub fn bits(p: &Point) -> Option<u64> {
    match p.value {
        Some(lodestone_client::Value::F64(v)) => Some(v.to_bits()),
        _ => None,
    }
}

/// Writer options for tests that kill servers: retry forever, back off at most 500 ms.
pub fn patient_writer() -> WriterOptions {
    WriterOptions {
        batch_points: 2_000,
        linger: Duration::from_millis(20),
        retry_for: None,
        backoff: Backoff {
            initial: Duration::from_millis(20),
            max: Duration::from_millis(500),
            ..Backoff::default()
        },
        ..WriterOptions::default()
    }
}

/// What the feed has done so far.
#[derive(Debug, Default)]
pub struct Ledger {
    /// Ticks pushed.
    pub pushed: u64,
    /// Ticks acknowledged (every tick below this one).
    pub acked: u64,
    /// When each flush returned, with the ticks acknowledged then.
    pub acks: Vec<(Instant, u64)>,
    /// A flush that failed, if one did.
    pub error: Option<String>,
}

/// A running feed.
pub struct Feed {
    /// The shared ledger.
    pub ledger: Arc<Mutex<Ledger>>,
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<Writer>,
}

impl Feed {
    /// Starts feeding `keys` through a writer of `client`, flushing every `flush_every`
    /// ticks and pausing `pace` between ticks.
    pub fn start(client: &Client, keys: Vec<SeriesKey>, flush_every: u64, pace: Duration) -> Feed {
        let writer = client.writer(patient_writer()).unwrap();
        let ledger = Arc::new(Mutex::new(Ledger::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (l, st) = (ledger.clone(), stop.clone());
        let task = tokio::spawn(async move {
            let mut n = 0u64;
            while !st.load(Ordering::Relaxed) {
                for (s, key) in keys.iter().enumerate() {
                    writer
                        .push(key, Point::new(ts(n), value(s, n)))
                        .await
                        .unwrap();
                }
                n += 1;
                l.lock().unwrap().pushed = n;
                if n.is_multiple_of(flush_every) {
                    match writer.flush().await {
                        Ok(()) => {
                            let mut g = l.lock().unwrap();
                            g.acked = n;
                            g.acks.push((Instant::now(), n));
                        }
                        Err(e) => {
                            l.lock().unwrap().error = Some(e.to_string());
                            return writer;
                        }
                    }
                }
                if !pace.is_zero() {
                    tokio::time::sleep(pace).await;
                }
            }
            writer
        });
        Feed { ledger, stop, task }
    }

    /// Ticks acknowledged so far.
    pub fn acked(&self) -> u64 {
        self.ledger.lock().unwrap().acked
    }

    /// Stops feeding, flushes what was pushed, closes the writer; returns the ledger.
    pub async fn finish(self) -> Ledger {
        self.stop.store(true, Ordering::Relaxed);
        let writer = self.task.await.unwrap();
        let flushed = writer.flush().await;
        {
            let mut g = self.ledger.lock().unwrap();
            match flushed {
                Ok(()) => {
                    let pushed = g.pushed;
                    g.acked = pushed;
                    g.acks.push((Instant::now(), pushed));
                }
                Err(e) => g.error = Some(e.to_string()),
            }
        }
        writer.close().await.unwrap();
        Arc::try_unwrap(self.ledger).unwrap().into_inner().unwrap()
    }
}

/// Checks that `client` (one node, reading its own copy) holds every acknowledged point of
/// `keys` bit for bit, and nothing the feed did not push.
pub async fn check_node(node: &str, client: &Client, keys: &[SeriesKey], ledger: &Ledger) {
    for (s, key) in keys.iter().enumerate() {
        let got = client.query(key.clone(), i64::MIN, i64::MAX).await.unwrap();
        assert!(
            got.len() as u64 >= ledger.acked,
            "{node}: series {s} holds {} points, {} were acknowledged",
            got.len(),
            ledger.acked
        );
        for (i, p) in got.iter().enumerate() {
            let n = i as u64;
            let want = Point::new(ts(n), value(s, n));
            assert!(
                p.ts_ns == want.ts_ns && bits(p) == bits(&want) && p.quality == 0,
                "{node}: series {s} point {n} is {p:?}, expected {want:?}"
            );
        }
        assert!(
            got.len() as u64 <= ledger.pushed,
            "{node}: series {s} holds points never pushed"
        );
    }
}
