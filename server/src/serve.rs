//! Running the server on bound listeners until a shutdown future completes.

use std::future::Future;
use std::sync::Arc;

use lodestone_engine::Engine;
use tokio::net::TcpListener;

/// Errors that end the server.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The HTTP server failed.
    #[error("HTTP server: {0}")]
    Http(#[from] std::io::Error),
    /// Closing the engine failed: some data may not have been flushed (it is still in the WAL).
    #[error("closing the engine: {0}")]
    Close(#[from] lodestone_engine::Error),
    /// The engine was still shared when the server stopped; it will close when dropped.
    #[error("engine still in use at shutdown")]
    StillShared,
}

/// Serves HTTP on `http` until `shutdown` completes, then stops accepting, lets in-flight
/// requests finish, and closes the engine (which flushes everything acknowledged).
pub async fn run(
    engine: Engine,
    http: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let engine = Arc::new(engine);
    let app = crate::http::router(engine.clone());
    tracing::info!(http = %http.local_addr()?, data_dir = %engine.dir().display(), "lodestone serving");
    axum::serve(http, app)
        .with_graceful_shutdown(shutdown)
        .await?;
    tracing::info!("shutting down: flushing the head");
    let engine = Arc::into_inner(engine).ok_or(ServeError::StillShared)?;
    tokio::task::spawn_blocking(move || engine.close())
        .await
        .map_err(|e| ServeError::Http(std::io::Error::other(e)))??;
    tracing::info!("stopped cleanly");
    Ok(())
}
