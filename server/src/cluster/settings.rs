//! What a cluster node runs with: its id and address, the initial members, routes to other
//! nodes, and Raft's timing.
//!
//! The defaults aim at a failover of under two seconds on a loaded machine: a leader sends
//! a heartbeat every 150 ms (which also bounds one replication call), and a follower that
//! has heard nothing for the leader lease (the longest election timeout, 800 ms) plus its
//! own election timeout (drawn once between 400 and 800 ms) calls an election, which the
//! others, past the lease too, grant: 1.2 to 1.6 s after the leader's last heartbeat.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use super::types::NodeId;

/// Default heartbeat interval.
pub const DEFAULT_HEARTBEAT: Duration = Duration::from_millis(150);
/// Default range of the election timeout.
pub const DEFAULT_ELECTION_TIMEOUT: (Duration, Duration) =
    (Duration::from_millis(400), Duration::from_millis(800));
/// Default number of log entries between snapshots.
pub const DEFAULT_SNAPSHOT_EVERY: u64 = 5_000;
/// Default number of log entries kept behind a snapshot, for followers a little behind.
pub const DEFAULT_KEEP_LOGS: u64 = 1_000;

/// Settings of a cluster node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterSettings {
    /// This node's id (at least 1).
    pub node_id: NodeId,
    /// The gRPC address other nodes and clients reach this node at.
    pub advertise: String,
    /// The members the cluster starts with and their addresses (this node may be among
    /// them); empty for a node that waits to be added.
    pub peers: BTreeMap<NodeId, String>,
    /// Addresses this node uses to reach some nodes instead of their membership address.
    pub routes: HashMap<NodeId, String>,
    /// How often the leader sends a heartbeat.
    pub heartbeat: Duration,
    /// The range an election timeout is drawn from.
    pub election_timeout: (Duration, Duration),
    /// Log entries between snapshots.
    pub snapshot_every: u64,
    /// Log entries kept behind a snapshot.
    pub keep_logs: u64,
}

impl ClusterSettings {
    /// Settings with the defaults for node `node_id` at `advertise`.
    pub fn new(node_id: NodeId, advertise: impl Into<String>) -> ClusterSettings {
        ClusterSettings {
            node_id,
            advertise: advertise.into(),
            peers: BTreeMap::new(),
            routes: HashMap::new(),
            heartbeat: DEFAULT_HEARTBEAT,
            election_timeout: DEFAULT_ELECTION_TIMEOUT,
            snapshot_every: DEFAULT_SNAPSHOT_EVERY,
            keep_logs: DEFAULT_KEEP_LOGS,
        }
    }

    /// Checks what Raft needs: an id of at least 1, a heartbeat shorter than the election
    /// timeout, which must be a range, and addresses for the peers.
    pub fn check(&self) -> Result<(), String> {
        if self.node_id == 0 {
            return Err("node id 0: ids start at 1".into());
        }
        let (lo, hi) = self.election_timeout;
        if lo >= hi {
            return Err(format!(
                "election timeout: the minimum {lo:?} must be below the maximum {hi:?}"
            ));
        }
        if self.heartbeat >= lo {
            return Err(format!(
                "heartbeat {:?} must be shorter than the election timeout {lo:?}",
                self.heartbeat
            ));
        }
        if self.snapshot_every == 0 {
            return Err("snapshot_every must be at least 1".into());
        }
        if let Some((id, _)) = self.peers.iter().find(|(_, a)| a.trim().is_empty()) {
            return Err(format!("peer {id} has no address"));
        }
        Ok(())
    }
}

/// Parses `ID=ADDR`, e.g. `2=10.0.0.2:7400`.
pub fn parse_member(s: &str) -> Result<(NodeId, String), String> {
    let (id, addr) = s
        .split_once('=')
        .ok_or_else(|| format!("{s:?}: expected ID=ADDRESS, e.g. 2=10.0.0.2:7400"))?;
    let id: NodeId = id
        .trim()
        .parse()
        .map_err(|_| format!("{s:?}: the node id must be a number"))?;
    let addr = addr.trim();
    if id == 0 {
        return Err(format!("{s:?}: node ids start at 1"));
    }
    if addr.is_empty() {
        return Err(format!("{s:?}: no address"));
    }
    Ok((id, addr.to_string()))
}

/// Parses a comma-separated list of `ID=ADDR`.
pub fn parse_members(s: &str) -> Result<BTreeMap<NodeId, String>, String> {
    let mut out = BTreeMap::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (id, addr) = parse_member(part)?;
        if out.insert(id, addr).is_some() {
            return Err(format!("node {id} is listed twice"));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_lists_parse_and_mistakes_are_named() {
        let m = parse_members("1=127.0.0.1:7400, 2=127.0.0.1:7410,3=h:1").unwrap();
        assert_eq!(m.len(), 3);
        assert_eq!(m[&2], "127.0.0.1:7410");
        for bad in ["1", "x=h:1", "0=h:1", "1=", "1=a,1=b"] {
            let e = parse_members(bad).unwrap_err();
            assert!(!e.is_empty(), "{bad}");
        }
    }

    #[test]
    fn timing_is_checked() {
        let mut s = ClusterSettings::new(1, "h:1");
        assert!(s.check().is_ok());
        s.heartbeat = Duration::from_secs(2);
        assert!(s.check().unwrap_err().contains("heartbeat"));
        s = ClusterSettings::new(0, "h:1");
        assert!(s.check().is_err());
    }
}
