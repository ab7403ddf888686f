//! A network partition: three real `lodestone serve` processes whose Raft traffic passes
//! through fault-injecting TCP proxies written here, one per direction between two nodes
//! (each node is told to reach the others through them with `--raft-route`). One follower
//! is cut off while writes go on. While cut off it accepts no write and serves no
//! linearizable read; the others go on and compact their log past its position (snapshot
//! every 100 entries, 20 kept behind). Healed, it catches up through a snapshot and holds
//! every acknowledged point.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::cluster::Cluster;
use common::feed::{check_node, series, Feed};
use common::proxy::Proxy;
use lodestone_client::{Client, Error, Point, WriteRequest};

const SERIES: usize = 3;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_off_node_refuses_writes_and_reads_and_catches_up_by_snapshot() {
    let root = tempfile::tempdir().unwrap();
    let config = root.path().join("cluster.toml");
    std::fs::write(&config, "[cluster]\nsnapshot_every = 100\nkeep_logs = 20\n").unwrap();
    let mut cluster = Cluster::new(3, root.path(), |_| Vec::new());
    // proxies[(from, to)] carries from's Raft calls to `to`.
    let mut proxies = BTreeMap::new();
    for from in 1..=3u64 {
        for to in (1..=3u64).filter(|&t| t != from) {
            let p = Proxy::start(cluster.node(to).grpc).await;
            cluster
                .node(from)
                .extra
                .extend(["--raft-route".into(), format!("{to}={}", p.addr)]);
            proxies.insert((from, to), p);
        }
        let c = config.display().to_string();
        cluster.node(from).extra.extend(["--config".into(), c]);
    }
    cluster.start_all();
    let leader = cluster.wait_leader(Duration::from_secs(30)).await;
    let cut = (1..=3).find(|&n| n != leader).unwrap();

    let client = Client::connect_any(cluster.endpoints()).await.unwrap();
    let keys = series(SERIES);
    let feed = Feed::start(&client, keys.clone(), 5, Duration::from_millis(2));
    while feed.acked() < 100 {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    cluster
        .wait_converged(&[1, 2, 3], Duration::from_secs(30))
        .await;
    let position = cluster
        .node(cut)
        .status()
        .await
        .unwrap()
        .last_log_index
        .unwrap();
    eprintln!("partition: cutting node {cut} off at log index {position} (node {leader} leads)");
    for ((from, to), p) in &proxies {
        if *from == cut || *to == cut {
            p.cut();
        }
    }

    // Cut off: no write, no linearizable read.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let settled = cluster.node(cut).status().await.unwrap();
    let position = settled.last_log_index.unwrap_or(position);
    let alone = Client::connect(cluster.node(cut).addr()).await.unwrap();
    let batch = WriteRequest::new(1).add(keys[0].clone(), vec![Point::new(1, 1.0)]);
    let write = tokio::time::timeout(Duration::from_secs(10), alone.write(batch))
        .await
        .expect("a write to the cut-off node must be answered");
    assert!(
        matches!(write, Err(Error::NotLeader { .. } | Error::Unavailable(_))),
        "the cut-off node took a write: {write:?}"
    );
    let read = tokio::time::timeout(
        Duration::from_secs(10),
        alone.query(keys[0].clone(), i64::MIN, i64::MAX),
    )
    .await
    .expect("a read on the cut-off node must be answered");
    assert!(
        matches!(read, Err(Error::NotLeader { .. } | Error::Unavailable(_))),
        "the cut-off node served a linearizable read: {read:?}"
    );
    let http = common::http_request(
        cluster.node(cut).http,
        "GET",
        "/query?q=SELECT+value+FROM+pressure",
        b"",
    )
    .unwrap();
    assert_eq!(http.0, 503, "the cut-off node answered /query: {}", http.1);

    // The others go on and compact their log past the cut-off node's position.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let s = cluster.statuses().await;
        let purged = s
            .values()
            .filter(|s| s.role == "leader")
            .filter_map(|s| s.purged_index)
            .max();
        if purged.is_some_and(|p| p > position + 1) {
            eprintln!("partition: the leader purged its log up to {purged:?}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the majority did not compact its log: {s:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let during = cluster.node(cut).status().await.unwrap();
    assert_ne!(during.role, "leader", "the cut-off node cannot lead");
    assert_eq!(
        (during.last_log_index, during.last_applied_index),
        (settled.last_log_index, settled.last_applied_index),
        "the cut-off node received nothing while cut off"
    );

    for p in proxies.values() {
        p.heal();
    }
    let ledger = feed.finish().await;
    assert!(
        ledger.error.is_none(),
        "the writer failed: {:?}",
        ledger.error
    );
    let index = cluster
        .wait_converged(&[1, 2, 3], Duration::from_secs(120))
        .await;
    let after = cluster.node(cut).status().await.unwrap();
    eprintln!(
        "partition: healed; node {cut} caught up to index {index}, snapshots installed {}",
        after.snapshots_installed
    );
    assert!(
        after.snapshots_installed >= 1,
        "node {cut} caught up without a snapshot: {after:?}"
    );
    for node in &cluster.nodes {
        let c = node.client().await;
        check_node(&format!("node {}", node.id), &c, &keys, &ledger).await;
    }
    eprintln!(
        "partition: {} ticks acknowledged, all on each of the 3 nodes",
        ledger.acked
    );
    for n in &mut cluster.nodes {
        n.stop();
    }
}
