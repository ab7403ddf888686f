//! Failover: three real `lodestone serve` processes on loopback, a steady stream of writes
//! through the Rust client's `Writer`, and the leader SIGKILLed ten times at random moments
//! (each killed node restarted once the others have elected a new leader, so that every
//! kill is a real failover). At the end every acknowledged point must be on every node,
//! bit for bit, and the write pause of each failover is reported: the longest wait between
//! two acknowledgements (the feed flushes every 25 ticks) from the kill on. Its median
//! must stay under 3 s with the default Raft settings (heartbeat 150 ms, election timeout
//! 400 to 800 ms) and the writer backing off at most 500 ms.

mod common;

use std::time::{Duration, Instant};

use common::cluster::Cluster;
use common::feed::{check_node, series, Feed};
use lodestone_client::Client;

const KILLS: usize = 10;
const SERIES: usize = 4;

/// xorshift64: the kill schedule, reproducible from the seed it prints.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_point_survives_ten_leader_kills_on_every_node() {
    let root = tempfile::tempdir().unwrap();
    let mut cluster = Cluster::new(3, root.path(), |_| Vec::new());
    cluster.start_all();
    cluster.wait_leader(Duration::from_secs(30)).await;
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    eprintln!("failover: kill schedule seed {seed}");
    let mut rng = Rng(seed);

    let client = Client::connect_any(cluster.endpoints()).await.unwrap();
    let keys = series(SERIES);
    let feed = Feed::start(&client, keys.clone(), 25, Duration::from_millis(1));
    let mut kills = Vec::new();
    for k in 0..KILLS {
        tokio::time::sleep(Duration::from_millis(1_000 + rng.below(1_500))).await;
        let leader = cluster.wait_leader(Duration::from_secs(30)).await;
        let before = feed.acked();
        let at = Instant::now();
        cluster.node(leader).kill();
        kills.push(at);
        // The others elect a new leader before the killed node comes back: every kill is
        // a real failover.
        let next = cluster.wait_leader(Duration::from_secs(30)).await;
        eprintln!(
            "failover: kill {} of node {leader} (the leader), {before} ticks acknowledged; \
             node {next} leads after {:?}",
            k + 1,
            at.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(rng.below(1_000))).await;
        cluster.node(leader).start();
    }
    // Let the last failover finish before stopping the feed.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let ledger = feed.finish().await;
    assert!(
        ledger.error.is_none(),
        "the writer failed: {:?}",
        ledger.error
    );
    assert!(
        ledger.acked > 1_000,
        "only {} ticks acknowledged",
        ledger.acked
    );

    // The pause of a failover: the longest wait between two acknowledgements, each wait
    // counted for the last kill before it ended.
    let mut pauses = vec![Duration::ZERO; KILLS];
    for w in ledger.acks.windows(2) {
        if let Some(k) = kills.iter().rposition(|at| *at < w[1].0) {
            pauses[k] = pauses[k].max(w[1].0 - w[0].0);
        }
    }
    assert!(
        pauses.iter().all(|p| !p.is_zero()),
        "an acknowledgement after every kill: {pauses:?}"
    );
    let mut sorted = pauses.clone();
    sorted.sort();
    let median = (sorted[KILLS / 2 - 1] + sorted[KILLS / 2]) / 2;
    eprintln!(
        "failover: write pauses around the {KILLS} kills: {:?}; median {median:?}, max {:?}",
        pauses,
        sorted[KILLS - 1]
    );

    cluster
        .wait_converged(&[1, 2, 3], Duration::from_secs(60))
        .await;
    for node in &cluster.nodes {
        let c = node.client().await;
        check_node(&format!("node {}", node.id), &c, &keys, &ledger).await;
    }
    // /metrics tells the operator who leads, how many elections there were, and the lag.
    let leader = cluster.wait_leader(Duration::from_secs(30)).await;
    let (code, metrics) =
        common::http_request(cluster.node(leader).http, "GET", "/metrics", b"").unwrap();
    assert_eq!(code, 200);
    assert!(
        metrics.contains("\nlodestone_raft_is_leader 1\n"),
        "{metrics}"
    );
    for id in 1..=3 {
        let lag = format!("lodestone_raft_replication_lag_entries{{node=\"{id}\"}} ");
        assert!(metrics.contains(&lag), "no lag of node {id} in {metrics}");
    }
    let elections: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("lodestone_raft_elections_total "))
        .and_then(|v| v.parse().ok())
        .unwrap();
    assert!(elections >= 1.0, "{metrics}");
    eprintln!(
        "failover: {} ticks ({} points) acknowledged, all on each of the 3 nodes",
        ledger.acked,
        ledger.acked * SERIES as u64
    );
    assert!(
        median < Duration::from_secs(3),
        "median write pause {median:?} is not under 3 s"
    );
    for n in &mut cluster.nodes {
        n.stop();
    }
}
