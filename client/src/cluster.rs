//! The `lodestone.v1.Cluster` calls: a node's view of its cluster, and membership changes.
//! A membership change sent to a node that is not the leader is sent on to the leader that
//! node names.

use lodestone_proto::v1 as pb;
use pb::cluster_client::ClusterClient;

use crate::connection::Client;
use crate::error::{Error, Result};

impl Client {
    fn cluster(&self) -> ClusterClient<tonic::transport::Channel> {
        ClusterClient::new(self.channel())
    }

    /// The connected node's view of its cluster: its role, term, log positions and the
    /// members with their lag (`clustered` is false for a server that runs alone).
    pub async fn cluster_status(&self) -> Result<pb::ClusterStatusResponse> {
        Ok(self
            .cluster()
            .status(pb::ClusterStatusRequest {})
            .await?
            .into_inner())
    }

    /// Adds node `node_id`, reachable at `addr`, to the cluster; returns once it votes,
    /// with the leader's view afterwards.
    pub async fn add_node(&self, node_id: u64, addr: &str) -> Result<pb::ClusterStatusResponse> {
        let req = pb::AddNodeRequest {
            node_id,
            addr: addr.to_string(),
        };
        let reply = self
            .at_leader(|mut c| {
                let req = req.clone();
                async move { c.add_node(req).await.map(|r| r.into_inner().status) }
            })
            .await?;
        reply.ok_or_else(|| Error::Protocol("add-node reply without a status".into()))
    }

    /// Removes node `node_id` from the cluster; returns once the cluster no longer counts
    /// it, with the leader's view afterwards.
    pub async fn remove_node(&self, node_id: u64) -> Result<pb::ClusterStatusResponse> {
        let req = pb::RemoveNodeRequest { node_id };
        let reply = self
            .at_leader(
                |mut c| async move { c.remove_node(req).await.map(|r| r.into_inner().status) },
            )
            .await?;
        reply.ok_or_else(|| Error::Protocol("remove-node reply without a status".into()))
    }

    /// Makes `call` on the connected node, and once more on the leader it names when it is
    /// not the leader.
    async fn at_leader<T, F, Fut>(&self, call: F) -> Result<T>
    where
        F: Fn(ClusterClient<tonic::transport::Channel>) -> Fut,
        Fut: std::future::Future<Output = std::result::Result<T, tonic::Status>>,
    {
        match call(self.cluster()).await {
            Ok(v) => Ok(v),
            Err(s) => match Error::from(s) {
                Error::NotLeader {
                    leader: Some(leader),
                    ..
                } => Ok(call(Client::connect(leader).await?.cluster()).await?),
                e => Err(e),
            },
        }
    }
}
