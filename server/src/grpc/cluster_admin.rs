//! The `lodestone.v1.Cluster` service: a node's view of the cluster and membership changes
//! (`lodestone cluster status|add|remove`).

use lodestone_proto::v1 as pb;
use pb::cluster_server::Cluster;
use tonic::{Request, Response, Status};

use crate::node::Node;

/// The service over this server's [`Node`].
#[derive(Debug, Clone)]
pub struct ClusterAdmin {
    node: Node,
}

impl ClusterAdmin {
    /// The service for `node`.
    pub fn new(node: Node) -> ClusterAdmin {
        ClusterAdmin { node }
    }

    fn status(&self) -> pb::ClusterStatusResponse {
        match self.node.cluster() {
            Some(c) => c.status(),
            None => pb::ClusterStatusResponse::default(),
        }
    }

    fn cluster(&self) -> Result<&std::sync::Arc<crate::cluster::ClusterNode>, Status> {
        self.node.cluster().ok_or_else(|| {
            Status::failed_precondition(
                "this server runs alone; start it with --node-id (and --peers) to make it a cluster node",
            )
        })
    }
}

#[tonic::async_trait]
impl Cluster for ClusterAdmin {
    async fn status(
        &self,
        _request: Request<pb::ClusterStatusRequest>,
    ) -> Result<Response<pb::ClusterStatusResponse>, Status> {
        Ok(Response::new(ClusterAdmin::status(self)))
    }

    async fn add_node(
        &self,
        request: Request<pb::AddNodeRequest>,
    ) -> Result<Response<pb::AddNodeResponse>, Status> {
        let req = request.into_inner();
        if req.node_id == 0 {
            return Err(Status::invalid_argument("node ids start at 1"));
        }
        if req.addr.trim().is_empty() {
            return Err(Status::invalid_argument(
                "the new node's address is missing",
            ));
        }
        self.cluster()?.add_node(req.node_id, req.addr).await?;
        Ok(Response::new(pb::AddNodeResponse {
            status: Some(ClusterAdmin::status(self)),
        }))
    }

    async fn remove_node(
        &self,
        request: Request<pb::RemoveNodeRequest>,
    ) -> Result<Response<pb::RemoveNodeResponse>, Status> {
        let req = request.into_inner();
        self.cluster()?.remove_node(req.node_id).await?;
        Ok(Response::new(pb::RemoveNodeResponse {
            status: Some(ClusterAdmin::status(self)),
        }))
    }
}
