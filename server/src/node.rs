//! Whether this server stands alone or is one node of a cluster, and what that changes: a
//! cluster node replicates every write, delete and metadata update through Raft before it
//! acknowledges it, and serves a read only once it knows the read sees every acknowledged
//! write (or the request accepts a stale answer). A single node does neither.

use std::sync::Arc;

use lodestone_proto::v1 as pb;
use tonic::Status;

use crate::cluster::ClusterNode;

/// How this server takes writes and serves reads; cheap to clone.
#[derive(Debug, Clone, Default)]
pub enum Node {
    /// A server of its own: writes go straight into the engine.
    #[default]
    Single,
    /// One node of a cluster.
    Cluster(Arc<ClusterNode>),
}

impl Node {
    /// The cluster node, if this is one.
    pub fn cluster(&self) -> Option<&Arc<ClusterNode>> {
        match self {
            Node::Single => None,
            Node::Cluster(c) => Some(c),
        }
    }

    /// Returns once a read on this node may go ahead: at once on a single node or with
    /// `stale_ok`; on a cluster node once it has confirmed it leads (an error naming the
    /// leader otherwise).
    pub async fn read_barrier(&self, stale_ok: bool) -> Result<(), Status> {
        match self {
            Node::Single => Ok(()),
            Node::Cluster(c) => c.read_barrier(stale_ok).await,
        }
    }

    /// Replicates `command` on a cluster node; `None` on a single node, whose caller runs
    /// it against the engine itself.
    pub async fn replicate(
        &self,
        command: pb::raft_command::Command,
    ) -> Option<Result<(), Status>> {
        match self {
            Node::Single => None,
            Node::Cluster(c) => Some(c.propose(command).await),
        }
    }
}
