//! Ingest throughput of a running server, in points per second, with the default durability
//! (fsync before acknowledging, one group-commit fsync for every batch waiting):
//!
//! - `ingest/grpc_writer`: the native path, `lodestone_client::Writer` (10,000-point
//!   batches, up to 8 in flight on one `WriteStream`), one `push` per point as a gateway
//!   feeds it;
//! - `ingest/http_line_protocol`, the baseline in the same run: `POST /write?precision=ns`
//!   with 10,000-line bodies over 2 keep-alive connections, as Telegraf sends them. The
//!   bodies are built before the clock starts (a collector's formatting is not ours to
//!   time), whereas the writer's per-point work is timed. Skipped with a note when the
//!   server has no working `POST /write` (answers 404).
//!
//! Data: the plant set, `gen_plant.py --assets 16 --seconds 10417` (988,362 points of 96
//! series, floats and motor_state as integers; the flow sensors' offline gaps make it a
//! little under 16 × 6 × 10,417). Each iteration writes the whole set again,
//! shifted later by its time span, so every write appends in time order as a live feed does
//! and the store grows by one copy per iteration. The server runs in this process on its
//! own 2-thread runtime over a temporary folder; client and server share the machine.
//! Criterion prints `thrpt` in elements (points) per second.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use http_body_util::{BodyExt, Full};
use hyper::StatusCode;
use hyper_util::rt::TokioIo;
use lodestone_client::{Client, WriterOptions};
use lodestone_engine::{Engine, Options};
use lodestone_proto::v1 as pb;
use lodestone_server::Listeners;
use lodestone_suite::plant;
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Runtime;
use tokio::sync::oneshot;

const ASSETS: u32 = 16;
const SECONDS: u32 = 10_417;
const LINES_PER_BODY: usize = 10_000;
const HTTP_CONNECTIONS: usize = 2;

/// The plant set as the two paths send it.
struct Data {
    keys: Vec<pb::SeriesKey>,
    /// `measurement,tags` of each key, for line protocol.
    lp_series: Vec<String>,
    /// Points in file order, each with the index of its key.
    points: Vec<(usize, pb::Point)>,
    /// Time span of the set, plus one period: the shift between two copies.
    span: i64,
}

fn load() -> Data {
    let plant = plant::load(ASSETS, SECONDS).expect("plant data (needs python3 and ../shared)");
    let mut index = std::collections::HashMap::new();
    let (mut keys, mut lp_series, mut points) = (Vec::new(), Vec::new(), Vec::new());
    let (mut lo, mut hi) = (i64::MAX, i64::MIN);
    for p in plant {
        let series = format!("{},{}", p.measurement, p.tags);
        let k = *index.entry(series.clone()).or_insert_with(|| {
            let labels = p.tags.split(',').filter_map(|kv| kv.split_once('='));
            keys.push(pb::SeriesKey::new(&p.measurement, labels));
            lp_series.push(series);
            keys.len() - 1
        });
        let value = match p.value {
            Ok(f) => pb::point::Value::F64(f),
            Err(i) => pb::point::Value::I64(i),
        };
        (lo, hi) = (lo.min(p.ts), hi.max(p.ts));
        points.push((k, pb::Point::new(p.ts, value)));
    }
    Data {
        keys,
        lp_series,
        points,
        span: hi - lo + 1_000_000_000,
    }
}

/// A server on its own runtime thread, on loopback ports and a temporary folder.
struct Server {
    grpc: SocketAddr,
    http: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl Server {
    fn start() -> Server {
        let dir = tempfile::tempdir().expect("temporary folder");
        let path: PathBuf = dir.path().to_path_buf();
        let (addrs_tx, addrs_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("server")
                .enable_all()
                .build()
                .expect("server runtime");
            rt.block_on(async move {
                let engine = Engine::open(&path, Options::default()).expect("open engine");
                let grpc = TcpListener::bind("127.0.0.1:0").await.expect("bind gRPC");
                let http = TcpListener::bind("127.0.0.1:0").await.expect("bind HTTP");
                let addrs = (grpc.local_addr(), http.local_addr());
                let _ = addrs_tx.send(addrs);
                let stop = async {
                    let _ = stopped.await;
                };
                if let Err(e) =
                    lodestone_server::run(Listeners { grpc, http }, engine, None, stop).await
                {
                    eprintln!("server stopped with an error: {e}");
                }
            });
        });
        let (grpc, http) = addrs_rx.recv().expect("server started");
        Server {
            grpc: grpc.expect("gRPC address"),
            http: http.expect("HTTP address"),
            stop: Some(stop),
            thread: Some(thread),
            _dir: dir,
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Writes one copy of the set through the batching writer; returns once all is durable.
async fn write_grpc(client: &Client, data: &Data, shift: i64) {
    let w = client
        .writer(WriterOptions::default())
        .expect("writer options");
    for (k, p) in &data.points {
        let p = pb::Point {
            ts_ns: p.ts_ns + shift,
            ..*p
        };
        w.push(&data.keys[*k], p).await.expect("push");
    }
    w.close().await.expect("every point acknowledged");
}

/// One copy of the set as line-protocol bodies of [`LINES_PER_BODY`] lines.
fn bodies(data: &Data, shift: i64) -> Vec<Bytes> {
    data.points
        .chunks(LINES_PER_BODY)
        .map(|chunk| {
            let mut body = String::with_capacity(chunk.len() * 80);
            for (k, p) in chunk {
                let series = &data.lp_series[*k];
                let ts = p.ts_ns + shift;
                let line = match p.value {
                    Some(pb::point::Value::F64(v)) => format!("{series} value={v} {ts}\n"),
                    Some(pb::point::Value::I64(v)) => format!("{series} value={v}i {ts}\n"),
                    Some(pb::point::Value::Bool(v)) => format!("{series} value={v} {ts}\n"),
                    None => continue,
                };
                body.push_str(&line);
            }
            Bytes::from(body)
        })
        .collect()
}

/// Posts bodies (taking the next one from `next`) on one keep-alive connection.
async fn post_bodies(
    addr: SocketAddr,
    bodies: Arc<Vec<Bytes>>,
    next: Arc<AtomicUsize>,
) -> Result<(), String> {
    let stream = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let _ = stream.set_nodelay(true);
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        let Some(body) = bodies.get(i) else {
            return Ok(());
        };
        let status = post(&mut sender, body.clone()).await?;
        if status != StatusCode::NO_CONTENT {
            return Err(format!("POST /write answered {status}"));
        }
    }
}

async fn post(
    sender: &mut hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    body: Bytes,
) -> Result<StatusCode, String> {
    let req = hyper::Request::post("/write?precision=ns")
        .header(hyper::header::HOST, "localhost")
        .body(Full::new(body))
        .map_err(|e| e.to_string())?;
    sender.ready().await.map_err(|e| e.to_string())?;
    let resp = sender.send_request(req).await.map_err(|e| e.to_string())?;
    let status = resp.status();
    // Read the answer's body so the connection can carry the next request.
    resp.into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?;
    Ok(status)
}

/// Whether `POST /write` exists: 204 for one probe line; a note and `false` otherwise.
async fn http_write_available(addr: SocketAddr) -> bool {
    let probe = Arc::new(vec![Bytes::from_static(b"bench_probe value=1 1\n")]);
    match post_bodies(addr, probe, Arc::new(AtomicUsize::new(0))).await {
        Ok(()) => true,
        Err(e) => {
            eprintln!("ingest/http_line_protocol skipped: {e}");
            false
        }
    }
}

fn ingest(c: &mut Criterion) {
    let data = load();
    let server = Server::start();
    let rt: Runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("client runtime");
    let client = rt
        .block_on(Client::connect(server.grpc.to_string()))
        .expect("connect");
    // Copies written so far, over both paths: each new copy comes after all earlier ones.
    let mut copies = 0i64;

    let mut group = c.benchmark_group("ingest");
    group
        .throughput(Throughput::Elements(data.points.len() as u64))
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(10));

    group.bench_function("grpc_writer", |b| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            for _ in 0..iters {
                copies += 1;
                let started = Instant::now();
                rt.block_on(write_grpc(&client, &data, copies * data.span));
                spent += started.elapsed();
            }
            spent
        })
    });

    if rt.block_on(http_write_available(server.http)) {
        group.bench_function("http_line_protocol", |b| {
            b.iter_custom(|iters| {
                let mut spent = Duration::ZERO;
                for _ in 0..iters {
                    copies += 1;
                    let bodies = Arc::new(bodies(&data, copies * data.span));
                    let next = Arc::new(AtomicUsize::new(0));
                    let started = Instant::now();
                    rt.block_on(async {
                        let posts: Vec<_> = (0..HTTP_CONNECTIONS)
                            .map(|_| {
                                tokio::spawn(post_bodies(server.http, bodies.clone(), next.clone()))
                            })
                            .collect();
                        for p in posts {
                            p.await.expect("poster task").expect("POST /write");
                        }
                    });
                    spent += started.elapsed();
                }
                spent
            })
        });
    }
    group.finish();
    drop(client);
    drop(rt);
}

criterion_group!(benches, ingest);
criterion_main!(benches);
