//! Running the server on bound listeners until a shutdown future completes.

use std::future::{Future, IntoFuture};
use std::sync::Arc;

use lodestone_engine::Engine;
use lodestone_proto::v1::lodestone_server::LodestoneServer;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_stream::wrappers::TcpListenerStream;

use crate::grpc::LodestoneService;

/// Errors that end the server.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The HTTP server failed.
    #[error("HTTP server: {0}")]
    Http(#[from] std::io::Error),
    /// The gRPC server failed.
    #[error("gRPC server: {0}")]
    Grpc(#[from] tonic::transport::Error),
    /// The gRPC reflection service could not load the descriptors.
    #[error("gRPC reflection: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    /// Closing the engine failed: some data may not have been flushed (it is still in the WAL).
    #[error("closing the engine: {0}")]
    Close(#[from] lodestone_engine::Error),
    /// The engine was still shared when the server stopped; it will close when dropped.
    #[error("engine still in use at shutdown")]
    StillShared,
}

/// The listeners the server answers on.
#[derive(Debug)]
pub struct Listeners {
    /// gRPC (`lodestone.v1.Lodestone`, health, reflection).
    pub grpc: TcpListener,
    /// HTTP (`/ping`, `/health`, `/metrics`).
    pub http: TcpListener,
}

/// Serves gRPC and HTTP until `shutdown` completes, then stops accepting, lets in-flight
/// requests finish, and closes the engine (which flushes everything acknowledged).
pub async fn run(
    engine: Engine,
    listeners: Listeners,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let engine = Arc::new(engine);
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    let stopped = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    tracing::info!(
        grpc = %listeners.grpc.local_addr()?,
        http = %listeners.http.local_addr()?,
        data_dir = %engine.dir().display(),
        "lodestone serving"
    );

    let (health_reporter, health) = tonic_health::server::health_reporter();
    health_reporter
        .set_serving::<LodestoneServer<LodestoneService>>()
        .await;
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(lodestone_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let grpc = tonic::transport::Server::builder()
        .add_service(health)
        .add_service(reflection)
        .add_service(LodestoneServer::new(LodestoneService::new(engine.clone())))
        .serve_with_incoming_shutdown(
            TcpListenerStream::new(listeners.grpc),
            stopped(stop_rx.clone()),
        );
    let http = axum::serve(listeners.http, crate::http::router(engine.clone()))
        .with_graceful_shutdown(stopped(stop_rx))
        .into_future();
    let (grpc, http) = tokio::join!(grpc, http);
    grpc?;
    http?;

    tracing::info!("shutting down: flushing the head");
    let engine = Arc::into_inner(engine).ok_or(ServeError::StillShared)?;
    tokio::task::spawn_blocking(move || engine.close())
        .await
        .map_err(|e| ServeError::Http(std::io::Error::other(e)))??;
    tracing::info!("stopped cleanly");
    Ok(())
}
