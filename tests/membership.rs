//! Membership changes under load, through the command line: a three-node cluster takes a
//! steady stream of writes; a fourth node, started without peers, is added with
//! `lodestone cluster add` (it catches up as a learner, then votes); then the leader is
//! removed with `lodestone cluster remove` and stopped. Writes go on throughout, and at the
//! end every acknowledged point is on each of the three remaining voters and on nothing
//! fewer.

mod common;

use std::process::Command;
use std::time::Duration;

use common::cluster::{Cluster, Node};
use common::feed::{check_node, series, Feed};
use common::lodestone_bin;
use lodestone_client::Client;

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
    cluster.node(leader).stop();
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
    }
    eprintln!(
        "membership: {} ticks acknowledged, all on nodes {remaining:?}",
        ledger.acked
    );
    for id in remaining {
        cluster.node(id).stop();
    }
}
