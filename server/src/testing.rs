//! The server run inside the calling process on loopback, for tests (this crate's, the
//! client's, the suite's) and benchmarks: real listeners and the real [`crate::run`], with a
//! handle that stops it the way SIGTERM does (drain, flush, close).

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use lodestone_client::Client;
use lodestone_engine::{Engine, Options};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::cluster::ClusterSettings;
use crate::{Listeners, ServeError};

/// How long [`InProcess::stop`] waits for the server to finish.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(20);

/// A server running in this process, with a client connected to it. The constructors
/// panic when something fails: this is for tests, where that is the failure to report.
#[derive(Debug)]
pub struct InProcess {
    /// The gRPC address.
    pub grpc: SocketAddr,
    /// The HTTP address.
    pub http: SocketAddr,
    /// A client connected to the gRPC address.
    pub client: Client,
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), ServeError>>,
}

impl InProcess {
    /// Opens the data folder `dir` with default options and serves it on free loopback
    /// ports.
    pub async fn open(dir: &Path) -> InProcess {
        InProcess::open_with(dir, Options::default()).await
    }

    /// Opens `dir` with `options` and serves it on free loopback ports.
    pub async fn open_with(dir: &Path, options: Options) -> InProcess {
        let engine = Engine::open(dir, options)
            .unwrap_or_else(|e| panic!("cannot open {}: {e}", dir.display()));
        InProcess::start(engine).await
    }

    /// Serves `engine` on free loopback ports.
    pub async fn start(engine: Engine) -> InProcess {
        let bind = || TcpListener::bind("127.0.0.1:0");
        let (grpc, http) = match (bind().await, bind().await) {
            (Ok(g), Ok(h)) => (g, h),
            (Err(e), _) | (_, Err(e)) => panic!("cannot bind a loopback port: {e}"),
        };
        InProcess::start_on(engine, grpc, http).await
    }

    /// Serves `engine` on listeners the caller bound (to reuse a port across a restart).
    pub async fn start_on(engine: Engine, grpc: TcpListener, http: TcpListener) -> InProcess {
        InProcess::start_node(engine, grpc, http, None).await
    }

    /// Serves `engine` on listeners the caller bound, as a cluster node when `cluster` is
    /// given (the client then connects without waiting for the cluster to form).
    pub async fn start_node(
        engine: Engine,
        grpc: TcpListener,
        http: TcpListener,
        cluster: Option<ClusterSettings>,
    ) -> InProcess {
        let (grpc_addr, http_addr) = match (grpc.local_addr(), http.local_addr()) {
            (Ok(g), Ok(h)) => (g, h),
            (Err(e), _) | (_, Err(e)) => panic!("listener without an address: {e}"),
        };
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(crate::run(
            Listeners { grpc, http },
            engine,
            cluster,
            async {
                let _ = stopped.await;
            },
        ));
        let client = Client::connect(format!("http://{grpc_addr}"))
            .await
            .unwrap_or_else(|e| panic!("cannot connect to the server: {e}"));
        InProcess {
            grpc: grpc_addr,
            http: http_addr,
            client,
            stop,
            task,
        }
    }

    /// `http://host:port` of the gRPC listener, for [`lodestone_client::Client::connect`].
    pub fn grpc_url(&self) -> String {
        format!("http://{}", self.grpc)
    }

    /// Starts shutdown and waits (at most [`STOP_TIMEOUT`]) until the server has drained
    /// its requests and closed the engine. Panics if it does not stop cleanly in time: this
    /// is for tests, where that is the failure to report.
    pub async fn stop(self) {
        drop(self.client);
        let _ = self.stop.send(());
        match tokio::time::timeout(STOP_TIMEOUT, self.task).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => panic!("server stopped with an error: {e}"),
            Ok(Err(e)) => panic!("server task failed: {e}"),
            Err(_) => panic!("server did not stop within {STOP_TIMEOUT:?}"),
        }
    }
}
