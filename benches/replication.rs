//! Replicated ingest against a single node, in points per second, in one run:
//!
//! - `replication/single_node`: one server, default durability (fsync before each
//!   acknowledgement, group commit);
//! - `replication/three_nodes`: a three-node cluster on loopback, default Raft settings: a
//!   batch is acknowledged once a majority has fsynced it in its Raft log and the leader has
//!   applied it.
//!
//! All servers run in this process, each on its own 2-thread runtime over a temporary
//! folder, so on a 2-core machine the three nodes, the client and the fsyncs share two
//! cores: the ratio says what replication costs when nothing is added but the work.
//! Each iteration writes 24 series × 20,000 points (one per second) through the Rust
//! client's `Writer` (10,000-point batches, 8 in flight), later in time than the one
//! before. After criterion, a line gives the medians of a timing loop of its own and the
//! ratio three_nodes / single_node.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use lodestone_client::{Client, Point, SeriesKey, WriterOptions};
use lodestone_engine::{Durability, Engine, Options};
use lodestone_server::cluster::ClusterSettings;
use lodestone_server::Listeners;
use tokio::runtime::Runtime;
use tokio::sync::oneshot;

const SERIES: usize = 24;
const POINTS: i64 = 20_000;
const SECOND: i64 = 1_000_000_000;
const T0: i64 = 1_767_225_600 * SECOND;
const RUNS: usize = 5;

/// A server on its own runtime thread.
struct Server {
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    /// Serves `dir` on `grpc` (and a free HTTP port), as a cluster node when `cluster` is
    /// given.
    fn start(dir: &Path, grpc: std::net::TcpListener, cluster: Option<ClusterSettings>) -> Server {
        let path = dir.to_path_buf();
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("server runtime");
            rt.block_on(async move {
                let opts = Options {
                    // On a cluster node the Raft log makes writes durable.
                    durability: if cluster.is_some() {
                        Durability::None
                    } else {
                        Durability::SyncEachBatch
                    },
                    ..Options::default()
                };
                let engine = Engine::open(&path, opts).expect("open engine");
                grpc.set_nonblocking(true).expect("nonblocking listener");
                let grpc = tokio::net::TcpListener::from_std(grpc).expect("gRPC listener");
                let http = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("bind HTTP");
                let stop = async {
                    let _ = stopped.await;
                };
                if let Err(e) =
                    lodestone_server::run(Listeners { grpc, http }, engine, cluster, stop).await
                {
                    eprintln!("server stopped with an error: {e}");
                }
            });
        });
        Server {
            stop: Some(stop),
            thread: Some(thread),
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

fn listener() -> (std::net::TcpListener, SocketAddr) {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind gRPC");
    let a = l.local_addr().expect("address");
    (l, a)
}

fn keys() -> Vec<SeriesKey> {
    (0..SERIES)
        .map(|i| SeriesKey::new("flow", [("site", "p1"), ("asset", &format!("a{i:03}"))]))
        .collect()
}

/// Writes copy `copy` of the set; returns once every point is acknowledged.
async fn write(client: &Client, keys: &[SeriesKey], copy: i64) {
    let w = client.writer(WriterOptions::default()).expect("writer");
    let base = T0 + copy * POINTS * SECOND;
    for n in 0..POINTS {
        for (s, key) in keys.iter().enumerate() {
            let v = (n as f64 * 0.1).sin() * 10.0 + s as f64;
            w.push(key, Point::new(base + n * SECOND, v))
                .await
                .expect("push");
        }
    }
    w.close().await.expect("every point acknowledged");
}

/// One target: its servers, a client and the copies written so far.
struct Target {
    _servers: Vec<Server>,
    client: Client,
    copies: i64,
}

fn single(rt: &Runtime, root: &Path) -> Target {
    let (l, addr) = listener();
    let server = Server::start(&root.join("single"), l, None);
    let client = rt
        .block_on(Client::connect(addr.to_string()))
        .expect("connect");
    Target {
        _servers: vec![server],
        client,
        copies: 0,
    }
}

fn cluster(rt: &Runtime, root: &Path) -> Target {
    let bound: Vec<_> = (0..3).map(|_| listener()).collect();
    let peers = bound
        .iter()
        .enumerate()
        .map(|(i, (_, a))| (i as u64 + 1, a.to_string()))
        .collect();
    let mut addrs = Vec::new();
    let mut servers = Vec::new();
    for (i, (l, a)) in bound.into_iter().enumerate() {
        let id = i as u64 + 1;
        let mut s = ClusterSettings::new(id, a.to_string());
        s.peers = std::collections::BTreeMap::clone(&peers);
        servers.push(Server::start(&root.join(format!("node{id}")), l, Some(s)));
        addrs.push(a.to_string());
    }
    let client = rt.block_on(async {
        let client = Client::connect_any(&addrs).await.expect("connect");
        // Until a leader is elected, writes are refused.
        let deadline = Instant::now() + Duration::from_secs(30);
        while client
            .cluster_status()
            .await
            .map(|s| s.leader_id.is_none())
            .unwrap_or(true)
        {
            assert!(Instant::now() < deadline, "no leader elected");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        client
    });
    Target {
        _servers: servers,
        client,
        copies: 0,
    }
}

fn run(rt: &Runtime, t: &mut Target, keys: &[SeriesKey]) -> Duration {
    t.copies += 1;
    let started = Instant::now();
    rt.block_on(write(&t.client, keys, t.copies));
    started.elapsed()
}

fn replication(c: &mut Criterion) {
    let root = tempfile::tempdir().expect("temporary folder");
    let rt: Runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("client runtime");
    let keys = keys();
    let mut targets = [
        ("single_node", single(&rt, root.path())),
        ("three_nodes", cluster(&rt, root.path())),
    ];
    let mut group = c.benchmark_group("replication");
    group
        .throughput(Throughput::Elements(SERIES as u64 * POINTS as u64))
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(10));
    for (name, t) in &mut targets {
        group.bench_function(*name, |b| {
            b.iter_custom(|iters| (0..iters).map(|_| run(&rt, t, &keys)).sum())
        });
    }
    group.finish();
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--bench") && !args.iter().any(|a| a == "--list") {
        let points = SERIES as f64 * POINTS as f64;
        let mut rates = Vec::new();
        for (name, t) in &mut targets {
            let mut times: Vec<Duration> = (0..RUNS).map(|_| run(&rt, t, &keys)).collect();
            times.sort();
            let rate = points / times[RUNS / 2].as_secs_f64();
            eprintln!(
                "replication: {name}: median {:?} = {rate:.0} points/s",
                times[RUNS / 2]
            );
            rates.push(rate);
        }
        eprintln!(
            "replication: three_nodes / single_node = {:.2}",
            rates[1] / rates[0]
        );
    }
}

criterion_group!(benches, replication);
criterion_main!(benches);
