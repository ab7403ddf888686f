//! A node's report of the cluster as it sees it, from openraft's metrics.

use std::collections::BTreeSet;
use std::sync::atomic::Ordering;

use lodestone_proto::v1 as pb;
use openraft::ServerState;

use super::ClusterNode;

/// The role as a word.
pub fn role(state: ServerState) -> &'static str {
    match state {
        ServerState::Leader => "leader",
        ServerState::Follower => "follower",
        ServerState::Candidate => "candidate",
        ServerState::Learner => "learner",
        ServerState::Shutdown => "shutdown",
    }
}

/// The status of `node`.
pub fn of(node: &ClusterNode) -> pb::ClusterStatusResponse {
    let m = node.raft.metrics().borrow().clone();
    let membership = m.membership_config.membership();
    let voters: BTreeSet<u64> = membership.voter_ids().collect();
    let last = m.last_log_index;
    let members = membership
        .nodes()
        .map(|(&id, n)| {
            let matched = m
                .replication
                .as_ref()
                .and_then(|r| r.get(&id))
                .map(|l| l.map_or(0, |l| l.index));
            pb::ClusterMember {
                id,
                addr: n.addr.clone(),
                voter: voters.contains(&id),
                matched_index: matched,
                lag: matched.map(|i| last.unwrap_or(0).saturating_sub(i)),
            }
        })
        .collect();
    let leader_addr = m
        .current_leader
        .and_then(|l| membership.get_node(&l))
        .map(|n| n.addr.clone())
        .unwrap_or_default();
    pb::ClusterStatusResponse {
        clustered: true,
        node_id: node.id,
        role: role(m.state).into(),
        term: m.current_term,
        leader_id: m.current_leader,
        leader_addr,
        last_log_index: last,
        last_applied_index: m.last_applied.map(|l| l.index),
        snapshot_index: m.snapshot.map(|l| l.index),
        purged_index: m.purged.map(|l| l.index),
        millis_since_quorum_ack: m.millis_since_quorum_ack,
        members,
        snapshots_installed: node.snapshots.installed.load(Ordering::Relaxed),
        elections: node.elections.load(Ordering::Relaxed),
        committed_index: node.log.committed().map(|l| l.index),
    }
}
