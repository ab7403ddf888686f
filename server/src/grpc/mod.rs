//! The `lodestone.v1.Lodestone` gRPC service over the engine. Blocking engine calls (reads,
//! flush, metadata) run on tokio's blocking pool; writes and deletes await their group-commit
//! ticket, so no call stalls the async runtime. Series administration (delete, metadata)
//! lives in `series_admin.rs`, write streams in `write_stream.rs`, windowed aggregates in
//! `aggregate.rs`, pages of the series listing in `list_series.rs`.

mod aggregate;
pub mod cluster_admin;
pub mod convert;
mod list_series;
pub(crate) mod series_admin;
pub mod status;
mod write_stream;

use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use lodestone_engine::{Engine, Point};
use lodestone_proto::v1 as pb;
use pb::lodestone_server::Lodestone;
use tokio_stream::Stream;
use tonic::{Request, Response, Status, Streaming};

use crate::metrics::ServerMetrics;
use crate::node::Node;
use crate::shutdown::Shutdown;
use convert::{batch_from_proto, key_from_proto, key_to_proto, point_to_proto};
use status::to_status;

pub use aggregate::AGGREGATE_PAGE;
pub use list_series::{LIST_SERIES_DEFAULT, LIST_SERIES_MAX};
pub use write_stream::STREAM_IN_FLIGHT;

/// Points per `QueryResponse` message: about 300 KB on the wire, well under the 4 MiB that
/// gRPC clients accept by default.
pub const QUERY_PAGE: usize = 10_000;

/// The gRPC service, sharing one engine with the rest of the server.
#[derive(Debug, Clone)]
pub struct LodestoneService {
    engine: Arc<Engine>,
    shutdown: Shutdown,
    metrics: Arc<ServerMetrics>,
    node: Node,
}

impl LodestoneService {
    /// A service over `engine`; its write streams end when `shutdown` triggers.
    pub fn new(engine: Arc<Engine>, shutdown: Shutdown) -> LodestoneService {
        LodestoneService {
            engine,
            shutdown,
            metrics: Arc::default(),
            node: Node::Single,
        }
    }

    /// The same service on a cluster node: writes are replicated, reads wait until they
    /// are safe (see [`Node`]).
    pub fn with_node(mut self, node: Node) -> LodestoneService {
        self.node = node;
        self
    }

    /// The same service, recording request latencies and refusals into `metrics` (shared
    /// with HTTP, shown on `/metrics`).
    pub fn with_metrics(mut self, metrics: Arc<ServerMetrics>) -> LodestoneService {
        self.metrics = metrics;
        self
    }

    /// Records one answered request: its latency, and whether it was refused.
    fn observe<T>(
        &self,
        histogram: &lodestone_engine::histogram::Histogram,
        started: Instant,
        r: &Result<T, Status>,
    ) {
        histogram.record(started.elapsed());
        if let Err(s) = r {
            match s.code() {
                tonic::Code::ResourceExhausted => self.metrics.count_refusal(true),
                tonic::Code::InvalidArgument => self.metrics.count_refusal(false),
                _ => {}
            }
        }
    }
}

type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

/// Runs a blocking engine call on the blocking pool.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, lodestone_engine::Error> + Send + 'static,
) -> Result<T, Status> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r.map_err(to_status),
        Err(e) => {
            tracing::error!(error = %e, "engine call panicked");
            Err(Status::internal("engine call failed; see the server log"))
        }
    }
}

/// Query pages of at most [`QUERY_PAGE`] points, converted one page at a time as the client
/// reads them, so that the protobuf copy never holds more than one page.
fn pages(points: Vec<Point>) -> impl Iterator<Item = Result<pb::QueryResponse, Status>> {
    let mut rest = points.into_iter();
    std::iter::from_fn(move || {
        let page: Vec<pb::Point> = rest
            .by_ref()
            .take(QUERY_PAGE)
            .map(|p| point_to_proto(&p))
            .collect();
        (!page.is_empty()).then_some(Ok(pb::QueryResponse { points: page }))
    })
}

#[tonic::async_trait]
impl Lodestone for LodestoneService {
    async fn write(
        &self,
        request: Request<pb::WriteRequest>,
    ) -> Result<Response<pb::WriteResponse>, Status> {
        let started = Instant::now();
        let req = request.into_inner();
        let r = async {
            let batch = batch_from_proto(&req)?;
            match self
                .node
                .replicate(pb::raft_command::Command::Write(req.clone()))
                .await
            {
                Some(replicated) => replicated?,
                None => self.engine.write_async(&batch).await.map_err(to_status)?,
            }
            Ok(Response::new(pb::WriteResponse {
                sequence: req.sequence,
                points: batch.len() as u64,
            }))
        }
        .await;
        self.observe(&self.metrics.write_latency, started, &r);
        r
    }

    type WriteStreamStream = BoxStream<pb::WriteResponse>;

    async fn write_stream(
        &self,
        request: Request<Streaming<pb::WriteRequest>>,
    ) -> Result<Response<Self::WriteStreamStream>, Status> {
        let acks = write_stream::start(
            self.engine.clone(),
            self.node.clone(),
            self.shutdown.clone(),
            request.into_inner(),
        );
        Ok(Response::new(Box::pin(acks)))
    }

    type QueryStream = BoxStream<pb::QueryResponse>;

    async fn query(
        &self,
        request: Request<pb::QueryRequest>,
    ) -> Result<Response<Self::QueryStream>, Status> {
        let started = Instant::now();
        let req = request.into_inner();
        let r = async {
            let key = key_from_proto(req.series.as_ref())?;
            self.node.read_barrier(req.stale_ok).await?;
            let engine = self.engine.clone();
            blocking(move || engine.read_range(&key, req.start_ns, req.end_ns)).await
        }
        .await;
        self.observe(&self.metrics.query_latency, started, &r);
        let mut points = r?;
        if req.limit > 0 {
            points.truncate(usize::try_from(req.limit).unwrap_or(usize::MAX));
        }
        Ok(Response::new(Box::pin(tokio_stream::iter(pages(points)))))
    }

    type AggregateStream = BoxStream<pb::AggregateResponse>;

    async fn aggregate(
        &self,
        request: Request<pb::AggregateRequest>,
    ) -> Result<Response<Self::AggregateStream>, Status> {
        let started = Instant::now();
        let req = request.into_inner();
        if let Err(s) = self.node.read_barrier(req.stale_ok).await {
            self.observe(
                &self.metrics.query_latency,
                started,
                &Err::<(), _>(s.clone()),
            );
            return Err(s);
        }
        let r = aggregate::start(self.engine.clone(), self.shutdown.clone(), req).await;
        self.observe(&self.metrics.query_latency, started, &r);
        Ok(Response::new(Box::pin(r?)))
    }

    async fn latest(
        &self,
        request: Request<pb::LatestRequest>,
    ) -> Result<Response<pb::LatestResponse>, Status> {
        let req = request.into_inner();
        self.node.read_barrier(req.stale_ok).await?;
        let mut points = Vec::with_capacity(req.series.len());
        // From the in-memory catalog: O(1) per series, no disk.
        for k in &req.series {
            let key = key_from_proto(Some(k))?;
            let p = self.engine.latest(&key).map_err(to_status)?;
            points.push(pb::LatestPoint {
                series: Some(key_to_proto(&key)),
                point: p.as_ref().map(point_to_proto),
            });
        }
        Ok(Response::new(pb::LatestResponse { points }))
    }

    async fn list_series(
        &self,
        request: Request<pb::ListSeriesRequest>,
    ) -> Result<Response<pb::ListSeriesResponse>, Status> {
        let req = request.into_inner();
        self.node.read_barrier(req.stale_ok).await?;
        list_series::page(self.engine.clone(), req)
            .await
            .map(Response::new)
    }

    async fn flush(
        &self,
        _request: Request<pb::FlushRequest>,
    ) -> Result<Response<pb::FlushResponse>, Status> {
        let engine = self.engine.clone();
        blocking(move || engine.flush()).await?;
        Ok(Response::new(pb::FlushResponse {}))
    }

    async fn stats(
        &self,
        _request: Request<pb::StatsRequest>,
    ) -> Result<Response<pb::StatsResponse>, Status> {
        Ok(Response::new(convert::stats_to_proto(&self.engine.stats())))
    }

    async fn delete(
        &self,
        request: Request<pb::DeleteRequest>,
    ) -> Result<Response<pb::DeleteResponse>, Status> {
        let req = request.into_inner();
        match self
            .node
            .replicate(pb::raft_command::Command::Delete(req.clone()))
            .await
        {
            Some(replicated) => replicated.map(|()| Response::new(pb::DeleteResponse {})),
            None => series_admin::delete(&self.engine, req)
                .await
                .map(Response::new),
        }
    }

    async fn get_series_metadata(
        &self,
        request: Request<pb::GetSeriesMetadataRequest>,
    ) -> Result<Response<pb::GetSeriesMetadataResponse>, Status> {
        let req = request.into_inner();
        self.node.read_barrier(req.stale_ok).await?;
        series_admin::get_metadata(self.engine.clone(), req)
            .await
            .map(Response::new)
    }

    async fn put_series_metadata(
        &self,
        request: Request<pb::PutSeriesMetadataRequest>,
    ) -> Result<Response<pb::PutSeriesMetadataResponse>, Status> {
        let req = request.into_inner();
        let replicated = self
            .node
            .replicate(pb::raft_command::Command::PutMetadata(req.clone()))
            .await;
        match replicated {
            // Applied here too: answer with what this node now stores.
            Some(done) => {
                done?;
                series_admin::stored_metadata(self.engine.clone(), req)
                    .await
                    .map(Response::new)
            }
            None => series_admin::put_metadata(self.engine.clone(), req)
                .await
                .map(Response::new),
        }
    }
}
