//! The batching [`Writer`] against the real server, run in-process on loopback ports: what is
//! pushed comes back bit-exact after a flush, a slow feed is sent by the linger timer, memory
//! stays within the bound, a rejected batch is reported and the rest stored, and a server
//! that goes away and comes back (or a second endpoint) gets what was not acknowledged.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use lodestone_client::{Client, Error, Point, SeriesKey, Value, Writer, WriterOptions};
use lodestone_engine::{Engine, Options};
use lodestone_server::{Listeners, ServeError};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// A server running in this process.
struct Server {
    addr: String,
    port: u16,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<(), ServeError>>,
}

impl Server {
    /// Starts on `port` (0: any free port) over the data folder `dir`.
    async fn start(dir: &Path, port: u16) -> Server {
        let engine = Engine::open(dir, Options::default()).unwrap();
        let grpc = bind(port).await;
        let http = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = grpc.local_addr().unwrap().port();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(lodestone_server::run(
            Listeners { grpc, http },
            engine,
            None,
            async {
                let _ = stopped.await;
            },
        ));
        Server {
            addr: format!("127.0.0.1:{port}"),
            port,
            stop,
            task,
        }
    }

    /// Shuts the server down and waits until it has closed its data folder.
    async fn stop(self) {
        self.stop.send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(40), self.task)
            .await
            .expect("server stops")
            .unwrap()
            .unwrap();
    }
}

/// Binds the port again right after a server let go of it.
async fn bind(port: u16) -> TcpListener {
    for _ in 0..100 {
        match TcpListener::bind(("127.0.0.1", port)).await {
            Ok(l) => return l,
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    panic!("port {port} stays busy");
}

fn key(name: &str) -> SeriesKey {
    SeriesKey::new(name, [("site", "p1"), ("line", "l04")])
}

/// Timestamp, value type and bits, quality: what must survive exactly.
fn bits(p: &Point) -> (i64, u8, u64, u32) {
    let (t, b) = match p.value {
        Some(Value::F64(v)) => (1, v.to_bits()),
        Some(Value::I64(v)) => (2, v as u64),
        Some(Value::Bool(v)) => (3, v as u64),
        None => (0, 0),
    };
    (p.ts_ns, t, b, p.quality)
}

async fn stored(client: &Client, k: &SeriesKey) -> Vec<(i64, u8, u64, u32)> {
    let pts = client.query(k.clone(), i64::MIN, i64::MAX).await.unwrap();
    pts.iter().map(bits).collect()
}

/// Deterministic awkward floats: every bit pattern is fair game (NaN payloads, -0.0,
/// subnormals, infinities).
fn float(i: i64) -> f64 {
    let x = (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    f64::from_bits(x ^ (x >> 29))
}

fn small(batch: usize, buffered: usize) -> WriterOptions {
    WriterOptions {
        batch_points: batch,
        max_buffered_points: buffered,
        linger: Duration::from_millis(10),
        max_in_flight: 4,
        ..WriterOptions::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_pushed_point_is_queryable_bit_exact_after_flush() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), 0).await;
    let client = Client::connect(&server.addr).await.unwrap();
    let w = client.writer(small(1_000, 8_000)).unwrap();

    let floats: Vec<Point> = (0..20_000)
        .map(|i| Point::with_quality(i, float(i), (i % 3) as u32 * 0x4000_0000))
        .collect();
    let ints: Vec<Point> = (0..5_000)
        .map(|i| Point::new(-i, i64::MAX / 4_999 * i))
        .collect();
    let bools: Vec<Point> = (0..5_000).map(|i| Point::new(i, i % 7 == 0)).collect();
    for p in &floats {
        w.push(&key("f"), *p).await.unwrap();
    }
    w.push_many(&key("i"), ints.clone()).await.unwrap();
    for p in &bools {
        // Labels in another order name the same series.
        w.push(&SeriesKey::new("b", [("line", "l04"), ("site", "p1")]), *p)
            .await
            .unwrap();
    }
    w.flush().await.unwrap();

    let want = |pts: &[Point]| {
        let mut v: Vec<_> = pts.iter().map(bits).collect();
        v.sort_by_key(|b| b.0);
        v
    };
    assert_eq!(stored(&client, &key("f")).await, want(&floats));
    assert_eq!(stored(&client, &key("i")).await, want(&ints));
    assert_eq!(stored(&client, &key("b")).await, want(&bools));
    let s = w.stats();
    assert_eq!((s.pushed_points, s.acked_points), (30_000, 30_000));
    assert!(s.acked_batches >= 30, "{s:?}");
    assert_eq!(s.buffered_points, 0, "{s:?}");
    w.close().await.unwrap();
    let e = w.push(&key("f"), Point::new(0, 1.0)).await.unwrap_err();
    assert!(matches!(e, Error::WriterClosed), "{e:?}");
    let e = w.flush().await.unwrap_err();
    assert!(matches!(e, Error::WriterClosed), "{e:?}");
    w.close().await.unwrap();
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_feed_is_stored_after_the_linger_time_without_a_flush() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), 0).await;
    let client = Client::connect(&server.addr).await.unwrap();
    let w = client
        .writer(WriterOptions {
            linger: Duration::from_millis(50),
            ..WriterOptions::default()
        })
        .unwrap();
    for i in 0..3 {
        w.push(&key("slow"), Point::new(i, i as f64)).await.unwrap();
    }
    let mut seen = 0;
    for _ in 0..200 {
        seen = client
            .query(key("slow"), 0, 10)
            .await
            .map(|p| p.len())
            .unwrap_or(0);
        if seen == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(seen, 3, "three points stored with no flush");
    w.close().await.unwrap();
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backpressure_keeps_the_points_held_within_the_bound() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), 0).await;
    let client = Client::connect(&server.addr).await.unwrap();
    const BOUND: usize = 2_000;
    let w = client.writer(small(500, BOUND)).unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let highest = Arc::new(AtomicUsize::new(0));
    let sampler = tokio::spawn({
        let (w, done, highest) = (w.clone(), done.clone(), highest.clone());
        async move {
            while !done.load(Ordering::Relaxed) {
                highest.fetch_max(w.stats().buffered_points, Ordering::Relaxed);
                tokio::task::yield_now().await;
            }
        }
    });
    const N: i64 = 100_000;
    for i in 0..N {
        let series = ["a", "b", "c", "d"][(i % 4) as usize];
        w.push(&key(series), Point::new(i, i as f64)).await.unwrap();
    }
    w.flush().await.unwrap();
    done.store(true, Ordering::Relaxed);
    sampler.await.unwrap();
    let s = w.stats();
    assert!(highest.load(Ordering::Relaxed) <= BOUND, "{s:?}");
    assert!(s.max_buffered_points_seen <= BOUND, "{s:?}");
    assert_eq!(
        s.max_buffered_points_seen, BOUND,
        "a fast producer fills the bound, then waits"
    );
    assert_eq!(s.acked_points, N as u64);
    let mut total = 0;
    for series in ["a", "b", "c", "d"] {
        total += stored(&client, &key(series)).await.len();
    }
    assert_eq!(total, N as usize);
    w.close().await.unwrap();
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_batch_is_reported_by_flush_and_the_batches_after_it_are_stored() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), 0).await;
    let client = Client::connect(&server.addr).await.unwrap();
    let w = client
        .writer(WriterOptions {
            batch_points: 10,
            max_buffered_points: 100,
            linger: Duration::from_secs(3600),
            ..WriterOptions::default()
        })
        .unwrap();
    // Batch 1: `t` becomes a float series.
    let first: Vec<Point> = (0..10).map(|i| Point::new(i, 1.5)).collect();
    w.push_many(&key("t"), first).await.unwrap();
    w.flush().await.unwrap();
    // Batch 2 holds a boolean for `t`: refused whole. Batch 3 is fine.
    let mut second: Vec<Point> = (10..19).map(|i| Point::new(i, 2.5)).collect();
    second.push(Point::new(19, true));
    w.push_many(&key("t"), second).await.unwrap();
    let third: Vec<Point> = (0..10).map(|i| Point::new(i, i)).collect();
    w.push_many(&key("n"), third).await.unwrap();
    let e = w.flush().await.unwrap_err();
    match &e {
        Error::Rejected {
            sequence,
            points,
            reason,
        } => {
            assert_eq!((*sequence, *points), (2, 10), "{e}");
            assert!(reason.contains("t{"), "names the series: {e}");
            assert!(reason.contains("point 9"), "names the point: {e}");
        }
        other => panic!("expected Rejected, got {other:?}"),
    }
    assert_eq!(
        stored(&client, &key("t")).await.len(),
        10,
        "batch 2 not stored"
    );
    assert_eq!(stored(&client, &key("n")).await.len(), 10, "batch 3 stored");
    // Reported once; the writer goes on.
    w.push(&key("t"), Point::new(50, 3.5)).await.unwrap();
    w.flush().await.unwrap();
    assert_eq!(stored(&client, &key("t")).await.len(), 11);
    let s = w.stats();
    assert_eq!((s.rejected_batches, s.rejected_points), (1, 10), "{s:?}");
    w.close().await.unwrap();
    server.stop().await;
}

/// Pushes `range` of series `name` from a task, so the test can stop the server meanwhile.
fn feed(
    w: &Writer,
    name: &'static str,
    range: std::ops::Range<i64>,
) -> tokio::task::JoinHandle<()> {
    let w = w.clone();
    tokio::spawn(async move {
        for i in range {
            w.push(&key(name), Point::new(i, float(i))).await.unwrap();
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_restarts_on_the_same_address_gets_the_unacknowledged_batches() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), 0).await;
    let port = server.port;
    let client = Client::connect(&server.addr).await.unwrap();
    let w = client.writer(small(1_000, 20_000)).unwrap();
    const N: i64 = 60_000;

    // Stop the server while batches are in flight.
    let pushing = feed(&w, "r", 0..N);
    while w.stats().acked_points < 5_000 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    server.stop().await;
    let acked_at_stop = w.stats().acked_points;
    assert!(acked_at_stop < N as u64, "the server stopped mid-stream");

    // While it is away nothing is acknowledged, and pushing stops at the bound.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let away = w.stats();
    assert!(away.buffered_points <= 20_000, "{away:?}");
    let flushed = tokio::time::timeout(Duration::from_millis(200), w.flush()).await;
    assert!(flushed.is_err(), "no flush without a server");

    let server = Server::start(dir.path(), port).await;
    tokio::time::timeout(Duration::from_secs(60), pushing)
        .await
        .expect("pushing resumes")
        .unwrap();
    tokio::time::timeout(Duration::from_secs(60), w.flush())
        .await
        .expect("flush completes once the server is back")
        .unwrap();
    let s = w.stats();
    assert!(s.retries >= 1, "{s:?}");
    assert_eq!(s.acked_points, N as u64, "{s:?}");

    let client = Client::connect(&server.addr).await.unwrap();
    let want: Vec<_> = (0..N).map(|i| bits(&Point::new(i, float(i)))).collect();
    assert_eq!(stored(&client, &key("r")).await, want);
    w.close().await.unwrap();
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_the_connected_endpoint_goes_away_the_writer_moves_to_the_next() {
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = Server::start(dir_a.path(), 0).await;
    let b = Server::start(dir_b.path(), 0).await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    // The first endpoint never answers: the client connects to the second.
    let client = Client::connect_any([closed.to_string(), a.addr.clone(), b.addr.clone()])
        .await
        .unwrap();
    assert_eq!(client.endpoint(), format!("http://{}", a.addr));
    assert_eq!(client.endpoints().len(), 3);
    let w = client.writer(small(100, 1_000)).unwrap();
    for i in 0..500 {
        w.push(&key("x"), Point::new(i, 1.0)).await.unwrap();
    }
    w.flush().await.unwrap();
    a.stop().await;
    for i in 500..1_000 {
        w.push(&key("x"), Point::new(i, 2.0)).await.unwrap();
    }
    tokio::time::timeout(Duration::from_secs(60), w.flush())
        .await
        .expect("flushed through the next endpoint")
        .unwrap();
    let on_b = Client::connect(&b.addr).await.unwrap();
    let got = stored(&on_b, &key("x")).await;
    assert_eq!(got.len(), 500, "the points after the failover are on b");
    assert_eq!(got[0].0, 500);
    w.close().await.unwrap();
    b.stop().await;
}
