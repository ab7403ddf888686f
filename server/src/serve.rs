//! Running the server on already-bound listeners until a shutdown future completes, so that
//! tests bind port 0 and run it in-process, and `lodestone serve` only binds and waits for a
//! signal.

use std::future::{Future, IntoFuture};
use std::sync::Arc;

use lodestone_engine::Engine;
use lodestone_proto::v1::lodestone_server::LodestoneServer;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic_health::ServingStatus;

use crate::cluster::{ClusterNode, ClusterSettings};
use crate::grpc::cluster_admin::ClusterAdmin;
use crate::grpc::LodestoneService;
use crate::node::Node;
use crate::shutdown::{self, CloseError, Shutdown, DRAIN_TIMEOUT, RELEASE_TIMEOUT};
use lodestone_proto::v1::cluster_server::ClusterServer;

/// Largest gRPC request accepted, in bytes: room for a batch of
/// [`crate::grpc::convert::MAX_BATCH_POINTS`] points (about 30 bytes each on the wire).
pub const MAX_REQUEST_BYTES: usize = 64 << 20;

/// Errors that end the server.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// A listener could not report its address, or the HTTP server failed.
    #[error("HTTP server: {0}")]
    Http(#[from] std::io::Error),
    /// The gRPC server failed.
    #[error("gRPC server: {0}")]
    Grpc(#[from] tonic::transport::Error),
    /// The gRPC reflection service could not load the descriptors.
    #[error("gRPC reflection: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    /// The engine did not close cleanly.
    #[error(transparent)]
    Close(#[from] CloseError),
    /// The cluster node did not start.
    #[error(transparent)]
    Cluster(#[from] crate::cluster::ClusterError),
}

/// The listeners the server answers on.
#[derive(Debug)]
pub struct Listeners {
    /// gRPC: `lodestone.v1.Lodestone`, `grpc.health.v1.Health`, server reflection.
    pub grpc: TcpListener,
    /// HTTP: `/ping`, `/health`, `/metrics`.
    pub http: TcpListener,
}

/// Serves gRPC and HTTP on `listeners` until `shutdown` completes; then stops accepting,
/// lets in-flight requests finish (write streams acknowledge what they have read and end
/// with UNAVAILABLE), and closes the engine, which flushes everything acknowledged.
/// With `cluster` settings the server is a node of a cluster (see [`crate::cluster`]).
pub async fn run(
    listeners: Listeners,
    engine: Engine,
    cluster: Option<ClusterSettings>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let shutdown = Shutdown::on(shutdown);
    let engine = Arc::new(engine);
    let node = match cluster {
        Some(settings) => Node::Cluster(Arc::new(
            ClusterNode::start(engine.clone(), settings).await?,
        )),
        None => Node::Single,
    };
    tracing::info!(
        grpc = %listeners.grpc.local_addr()?,
        http = %listeners.http.local_addr()?,
        data_dir = %engine.dir().display(),
        durability = ?engine.options().durability,
        "lodestone serving"
    );

    let (health_reporter, health) = tonic_health::server::health_reporter();
    health_reporter
        .set_serving::<LodestoneServer<LodestoneService>>()
        .await;
    // Reflection in both versions: grpcurl and recent tools ask v1, grpcio's Python
    // reflection client and older tools v1alpha.
    let reflection_builder = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(lodestone_proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
    };
    let reflection = reflection_builder().build_v1()?;
    let reflection_alpha = reflection_builder().build_v1alpha()?;
    let metrics = Arc::new(crate::metrics::ServerMetrics::default());
    let service = LodestoneServer::new(
        LodestoneService::new(engine.clone(), shutdown.clone())
            .with_metrics(metrics.clone())
            .with_node(node.clone()),
    )
    .max_decoding_message_size(MAX_REQUEST_BYTES);
    let cluster_admin = ClusterServer::new(ClusterAdmin::new(node.clone()));
    let raft = node.cluster().map(|c| c.raft_service());

    // Probes see NOT_SERVING as soon as shutdown starts, so balancers stop sending work.
    let stopping = shutdown.clone();
    tokio::spawn(async move {
        stopping.triggered().await;
        tracing::info!("shutting down: no new connections, finishing requests in flight");
        health_reporter
            .set_not_serving::<LodestoneServer<LodestoneService>>()
            .await;
        health_reporter
            .set_service_status("", ServingStatus::NotServing)
            .await;
    });

    let grpc = tonic::transport::Server::builder()
        .add_service(health)
        .add_service(reflection)
        .add_service(reflection_alpha)
        .add_service(service)
        .add_service(cluster_admin)
        .add_optional_service(raft)
        .serve_with_incoming_shutdown(TcpListenerStream::new(listeners.grpc), {
            let s = shutdown.clone();
            async move { s.triggered().await }
        });
    let http = axum::serve(
        listeners.http,
        crate::http::router(engine.clone(), node.clone(), metrics.clone()),
    )
    .with_graceful_shutdown({
        let s = shutdown.clone();
        async move { s.triggered().await }
    })
    .into_future();
    // Either server failing stops the other: the process must not half-run.
    let grpc = async {
        let r = grpc.await;
        shutdown.trigger();
        r
    };
    let http = async {
        let r = http.await;
        shutdown.trigger();
        r
    };
    let drain_deadline = async {
        shutdown.triggered().await;
        tokio::time::sleep(DRAIN_TIMEOUT).await;
    };
    let served = tokio::select! {
        both = async { tokio::join!(grpc, http) } => Some(both),
        () = drain_deadline => None,
    };
    // Raft stops first: it applies to the engine.
    if let Some(c) = node.cluster() {
        c.shutdown().await;
    }
    drop(node);
    let closed = shutdown::close_engine(engine, RELEASE_TIMEOUT).await;
    match served {
        Some((grpc, http)) => {
            grpc?;
            http?;
        }
        None => tracing::warn!(
            timeout = ?DRAIN_TIMEOUT,
            "requests still in flight after the drain timeout; stopped waiting for them"
        ),
    }
    closed?;
    tracing::info!("stopped cleanly");
    Ok(())
}
