//! A cluster of real `lodestone serve` processes on loopback for the replication tests:
//! fixed ports per node (a restarted node comes back at the address the others know),
//! SIGKILL and restart, and the nodes' own reports of who leads and how far each has got.

#![allow(dead_code, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use lodestone_client::{Client, ClusterStatusResponse};

use super::{free_port, http_request, lodestone_bin};

/// One node: where it listens, its folder and extra flags, and its process when running.
pub struct Node {
    /// Node id (1 and up).
    pub id: u64,
    /// gRPC address.
    pub grpc: SocketAddr,
    /// HTTP address.
    pub http: SocketAddr,
    /// Data folder.
    pub dir: PathBuf,
    /// Flags after the common ones (`--peers`, `--raft-route`, `--config`).
    pub extra: Vec<String>,
    child: Option<Child>,
}

impl Node {
    /// A node that is not started yet.
    pub fn new(id: u64, root: &Path) -> Node {
        let port = || -> SocketAddr { format!("127.0.0.1:{}", free_port()).parse().unwrap() };
        Node {
            id,
            grpc: port(),
            http: port(),
            dir: root.join(format!("node{id}")),
            extra: Vec::new(),
            child: None,
        }
    }

    /// `host:port` of its gRPC listener.
    pub fn addr(&self) -> String {
        self.grpc.to_string()
    }

    /// True while its process runs.
    pub fn running(&mut self) -> bool {
        match &mut self.child {
            Some(c) => c.try_wait().ok().flatten().is_none(),
            None => false,
        }
    }

    /// Starts the process and waits until `/ping` answers.
    pub fn start(&mut self) {
        assert!(self.child.is_none(), "node {} already runs", self.id);
        let child = Command::new(lodestone_bin())
            .arg("serve")
            .arg("--data-dir")
            .arg(&self.dir)
            .arg("--grpc-listen")
            .arg(self.grpc.to_string())
            .arg("--http-listen")
            .arg(self.http.to_string())
            .arg("--node-id")
            .arg(self.id.to_string())
            .args(&self.extra)
            // openraft reports every unreachable peer and stale message, which these tests
            // cause on purpose; LODESTONE_TEST_LOG=info,openraft=info shows it all.
            .env(
                "RUST_LOG",
                std::env::var("LODESTONE_TEST_LOG").unwrap_or_else(|_| "warn,openraft=off".into()),
            )
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            assert!(self.running(), "node {} exited while starting", self.id);
            if let Ok((204, _)) = http_request(self.http, "GET", "/ping", b"") {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("node {} did not answer /ping", self.id);
    }

    /// SIGKILL: the process dies at once, whatever it was doing.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM and a clean exit.
    pub fn stop(&mut self) {
        self.stop_within(Duration::from_secs(40));
    }

    /// SIGTERM, and a clean exit before `limit`: a node with nothing left to do must not
    /// wait out the server's 30 s drain timeout.
    pub fn stop_within(&mut self, limit: Duration) {
        if let Some(mut c) = self.child.take() {
            let pid = c.id().to_string();
            let _ = Command::new("kill").args(["-TERM", &pid]).status();
            let deadline = Instant::now() + limit;
            loop {
                if let Some(st) = c.try_wait().unwrap() {
                    assert!(st.success(), "node {} exited with {st}", self.id);
                    return;
                }
                assert!(
                    Instant::now() < deadline,
                    "node {} did not stop within {limit:?} of SIGTERM",
                    self.id
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }

    /// A client of this node, reading its own copy (`stale_ok`).
    pub async fn client(&self) -> Client {
        Client::connect(self.addr())
            .await
            .unwrap_or_else(|e| panic!("node {}: {e}", self.id))
            .stale_reads(true)
    }

    /// This node's report, or `None` when it does not answer.
    pub async fn status(&self) -> Option<ClusterStatusResponse> {
        let c = Client::connect(self.addr()).await.ok()?;
        tokio::time::timeout(Duration::from_secs(2), c.cluster_status())
            .await
            .ok()?
            .ok()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The nodes of one cluster.
pub struct Cluster {
    /// Node `i + 1` at index `i`.
    pub nodes: Vec<Node>,
}

impl Cluster {
    /// `n` nodes under `root` that form one cluster (each given the others as peers), each
    /// with `extra(id)` flags too; none started.
    pub fn new(n: u64, root: &Path, extra: impl Fn(u64) -> Vec<String>) -> Cluster {
        let mut nodes: Vec<Node> = (1..=n).map(|id| Node::new(id, root)).collect();
        let peers: Vec<String> = nodes
            .iter()
            .map(|n| format!("{}={}", n.id, n.addr()))
            .collect();
        let peers = peers.join(",");
        for node in &mut nodes {
            node.extra = vec!["--peers".into(), peers.clone()];
            node.extra.extend(extra(node.id));
        }
        Cluster { nodes }
    }

    /// Node `id`.
    pub fn node(&mut self, id: u64) -> &mut Node {
        &mut self.nodes[(id - 1) as usize]
    }

    /// Every node's gRPC address, for a client that may use any.
    pub fn endpoints(&self) -> Vec<String> {
        self.nodes.iter().map(Node::addr).collect()
    }

    /// Starts every node.
    pub fn start_all(&mut self) {
        for n in &mut self.nodes {
            n.start();
        }
    }

    /// The reports of the nodes that answer, by id.
    pub async fn statuses(&self) -> BTreeMap<u64, ClusterStatusResponse> {
        let mut out = BTreeMap::new();
        for n in &self.nodes {
            if let Some(s) = n.status().await {
                out.insert(n.id, s);
            }
        }
        out
    }

    /// The node that says it leads, when the nodes that answer agree on one that does.
    pub async fn leader(&self) -> Option<u64> {
        let statuses = self.statuses().await;
        let leaders: Vec<u64> = statuses
            .values()
            .filter(|s| s.role == "leader")
            .map(|s| s.node_id)
            .collect();
        match leaders.as_slice() {
            [l] => Some(*l),
            _ => None,
        }
    }

    /// Waits (at most `timeout`) for a leader.
    pub async fn wait_leader(&self, timeout: Duration) -> u64 {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(l) = self.leader().await {
                return l;
            }
            assert!(Instant::now() < deadline, "no leader within {timeout:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits (at most `timeout`) until every node in `ids` has applied everything the
    /// leader has committed, and returns that index.
    pub async fn wait_converged(&self, ids: &[u64], timeout: Duration) -> u64 {
        let deadline = Instant::now() + timeout;
        loop {
            let s = self.statuses().await;
            let leader = s.values().find(|s| s.role == "leader");
            if let Some(l) = leader {
                let target = l.committed_index.unwrap_or(0);
                let done = ids.iter().all(|id| {
                    s.get(id)
                        .is_some_and(|n| n.last_applied_index.unwrap_or(0) >= target)
                });
                if done && target > 0 {
                    return target;
                }
            }
            assert!(
                Instant::now() < deadline,
                "nodes {ids:?} did not catch up within {timeout:?}: {s:?}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}
