//! Membership changes under load, through the command line: a three-node cluster takes a
//! steady stream of writes; a fourth node, started without peers, is added with
//! `lodestone cluster add` (it catches up as a learner, then votes); then the leader is
//! removed with `lodestone cluster remove` and stopped. Writes go on throughout, and at the
//! end every acknowledged point is on each of the three remaining voters and on nothing
//! fewer. While the leader leaves, probes write straight to it: every write gets an answer
//! (acknowledged, or refused as not the leader), and the node then stops promptly.

mod common;

use std::process::Command;
use std::time::Duration;

use common::cluster::{Cluster, Node};
use common::feed::{bits, check_node, series, ts, value, Feed};
use common::lodestone_bin;
use lodestone_client::{Client, Point, SeriesKey, WriteRequest};

const SERIES: usize = 3;

fn cli(args: &[&str]) -> String {
    let out = Command::new(lodestone_bin()).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "lodestone {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Tasks writing one point at a time straight to one node (no failover), each until a
/// write fails: while that node removes itself from the cluster, some of their writes are
/// always in flight.
struct Probes {
    keys: Vec<SeriesKey>,
    tasks: Vec<tokio::task::JoinHandle<(u64, lodestone_client::Error)>>,
}

impl Probes {
    const COUNT: usize = 8;

    async fn start(addr: &str) -> Probes {
        let keys: Vec<SeriesKey> = (0..Self::COUNT)
            .map(|i| SeriesKey::new("probe", [("writer", i.to_string().as_str())]))
            .collect();
        let mut tasks = Vec::new();
        for (s, key) in keys.iter().enumerate() {
            let client = Client::connect(addr).await.unwrap();
            let key = key.clone();
            tasks.push(tokio::spawn(async move {
                let mut n = 0u64;
                loop {
                    let batch =
                        WriteRequest::new(n).add(key.clone(), vec![Point::new(ts(n), value(s, n))]);
                    match client.write(batch).await {
                        Ok(_) => n += 1,
                        Err(e) => return (n, e),
                    }
                }
            }));
        }
        Probes { keys, tasks }
    }

    /// Waits for every probe to end; returns how many writes each had acknowledged. A
    /// write that gets no answer fails the test.
    async fn finish(self, node: u64) -> Vec<u64> {
        let mut acked = Vec::new();
        for (i, task) in self.tasks.into_iter().enumerate() {
            let (n, error) = tokio::time::timeout(Duration::from_secs(10), task)
                .await
                .unwrap_or_else(|_| {
                    panic!("probe {i}: a write sent to node {node} as it left the cluster got no answer in 10 s")
                })
                .unwrap();
            assert!(
                matches!(error, lodestone_client::Error::NotLeader { .. }),
                "probe {i}: node {node} answered {error:?}, not a not-leader refusal"
            );
            acked.push(n);
        }
        acked
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_joins_and_the_leader_leaves_under_load_without_losing_a_write() {
    let root = tempfile::tempdir().unwrap();
    let mut cluster = Cluster::new(3, root.path(), |_| Vec::new());
    cluster.start_all();
    cluster.wait_leader(Duration::from_secs(30)).await;
    let client = Client::connect_any(cluster.endpoints()).await.unwrap();
    let keys = series(SERIES);
    let feed = Feed::start(&client, keys.clone(), 10, Duration::from_millis(2));
    while feed.acked() < 200 {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // A fourth node, started without peers, waits to be added.
    let mut fourth = Node::new(4, root.path());
    fourth.start();
    let status = fourth.status().await.unwrap();
    assert!(
        status.leader_id.is_none() && status.members.is_empty(),
        "{status:?}"
    );
    let some_node = cluster.node(1).addr();
    let added = tokio::task::spawn_blocking({
        let addr = fourth.addr();
        move || {
            cli(&[
                "cluster",
                "add",
                "--addr",
                &some_node,
                "--node-id",
                "4",
                "--node-addr",
                &addr,
            ])
        }
    })
    .await
    .unwrap();
    eprintln!("membership: lodestone cluster add printed:\n{added}");
    assert!(added.contains("4 ") && added.contains("voter"), "{added}");
    cluster.nodes.push(fourth);
    let acked_when_added = feed.acked();
    while feed.acked() < acked_when_added + 200 {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // The leader leaves.
    let leader = cluster.wait_leader(Duration::from_secs(30)).await;
    let other = cluster
        .nodes
        .iter()
        .find(|n| n.id != leader)
        .unwrap()
        .addr();
    let probes = Probes::start(&cluster.node(leader).addr()).await;
    let removed = tokio::task::spawn_blocking(move || {
        cli(&[
            "cluster",
            "remove",
            "--addr",
            &other,
            "--node-id",
            &leader.to_string(),
        ])
    })
    .await
    .unwrap();
    eprintln!("membership: lodestone cluster remove printed:\n{removed}");
    let remaining: Vec<u64> = [1, 2, 3, 4].into_iter().filter(|&n| n != leader).collect();
    let next = cluster.wait_leader(Duration::from_secs(30)).await;
    let s = cluster.node(next).status().await.unwrap();
    let voters: Vec<u64> = s.members.iter().filter(|m| m.voter).map(|m| m.id).collect();
    assert_eq!(voters, remaining, "voters after the removal: {s:?}");
    // Every write the leaving leader took gets an answer: acknowledged, or refused as not
    // the leader (to be sent again elsewhere), never left waiting; so nothing holds its
    // shutdown until the drain timeout either.
    let probes_keys = probes.keys.clone();
    let probes_acked = probes.finish(leader).await;
    cluster.node(leader).stop_within(Duration::from_secs(10));
    let acked_when_removed = feed.acked();
    while feed.acked() < acked_when_removed + 200 {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let ledger = feed.finish().await;
    assert!(
        ledger.error.is_none(),
        "the writer failed: {:?}",
        ledger.error
    );
    cluster
        .wait_converged(&remaining, Duration::from_secs(60))
        .await;
    for id in &remaining {
        let c = cluster.node(*id).client().await;
        check_node(&format!("node {id}"), &c, &keys, &ledger).await;
        for (s, (key, &acked)) in probes_keys.iter().zip(&probes_acked).enumerate() {
            let got = c.query(key.clone(), i64::MIN, i64::MAX).await.unwrap();
            // The write refused last may still have committed: at most one more.
            assert!(
                got.len() as u64 == acked || got.len() as u64 == acked + 1,
                "node {id}: probe {s} holds {} points, {acked} were acknowledged",
                got.len()
            );
            for (n, p) in got.iter().enumerate() {
                let want = Point::new(ts(n as u64), value(s, n as u64));
                assert!(
                    p.ts_ns == want.ts_ns && bits(p) == bits(&want),
                    "node {id}: probe {s} point {n} is {p:?}, expected {want:?}"
                );
            }
        }
    }
    eprintln!(
        "membership: {} ticks acknowledged, all on nodes {remaining:?}",
        ledger.acked
    );
    for id in remaining {
        cluster.node(id).stop();
    }
}
