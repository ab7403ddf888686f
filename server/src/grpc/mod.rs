//! The `lodestone.v1.Lodestone` gRPC service over the engine.

pub mod convert;
pub mod status;

use std::pin::Pin;
use std::sync::Arc;

use lodestone_engine::Engine;
use lodestone_proto::v1 as pb;
use pb::lodestone_server::Lodestone;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::{Stream, StreamExt};
use tonic::{Request, Response, Status, Streaming};

use convert::{
    batch_from_proto, key_from_proto, key_to_proto, point_to_proto, series_info_to_proto,
};
use status::to_status;

/// Points per `QueryResponse` message.
pub const QUERY_PAGE: usize = 10_000;
/// Batches of one write stream that may wait for their fsync at once; more are not read from
/// the stream until earlier ones are acknowledged (backpressure through HTTP/2 flow control).
pub const STREAM_IN_FLIGHT: usize = 64;

/// The gRPC service, sharing one engine.
#[derive(Debug, Clone)]
pub struct LodestoneService {
    engine: Arc<Engine>,
}

impl LodestoneService {
    /// A service over `engine`.
    pub fn new(engine: Arc<Engine>) -> LodestoneService {
        LodestoneService { engine }
    }
}

type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

/// Runs a blocking engine call off the async runtime.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, lodestone_engine::Error> + Send + 'static,
) -> Result<T, Status> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|_| Status::internal("worker failed"))?
        .map_err(to_status)
}

#[tonic::async_trait]
impl Lodestone for LodestoneService {
    async fn write(
        &self,
        request: Request<pb::WriteRequest>,
    ) -> Result<Response<pb::WriteResponse>, Status> {
        let req = request.into_inner();
        let batch = batch_from_proto(&req)?;
        self.engine.write_async(&batch).await.map_err(to_status)?;
        Ok(Response::new(pb::WriteResponse {
            sequence: req.sequence,
            points: batch.len() as u64,
        }))
    }

    type WriteStreamStream = BoxStream<pb::WriteResponse>;

    async fn write_stream(
        &self,
        request: Request<Streaming<pb::WriteRequest>>,
    ) -> Result<Response<Self::WriteStreamStream>, Status> {
        let mut incoming = request.into_inner();
        let (pending_tx, mut pending_rx) = mpsc::channel(STREAM_IN_FLIGHT);
        let (ack_tx, ack_rx) = mpsc::channel(STREAM_IN_FLIGHT);
        let engine = self.engine.clone();
        // Reader: log each batch as it arrives, so that batches in flight share fsyncs.
        tokio::spawn(async move {
            while let Some(msg) = incoming.next().await {
                let item = match msg {
                    Ok(req) => match batch_from_proto(&req).and_then(|b| {
                        let points = b.len() as u64;
                        engine
                            .submit(&b)
                            .map(|t| (req.sequence, points, t))
                            .map_err(to_status)
                    }) {
                        Ok(ok) => Ok(ok),
                        Err(status) => Err(status),
                    },
                    Err(status) => Err(status),
                };
                let failed = item.is_err();
                if pending_tx.send(item).await.is_err() || failed {
                    break;
                }
            }
        });
        // Acker: wait for each batch in order and acknowledge it by its sequence number.
        tokio::spawn(async move {
            while let Some(item) = pending_rx.recv().await {
                let ack = match item {
                    Ok((sequence, points, ticket)) => ticket
                        .await
                        .map(|()| pb::WriteResponse { sequence, points })
                        .map_err(to_status),
                    Err(status) => Err(status),
                };
                let failed = ack.is_err();
                if ack_tx.send(ack).await.is_err() || failed {
                    break;
                }
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(ack_rx))))
    }

    type QueryStream = BoxStream<pb::QueryResponse>;

    async fn query(
        &self,
        request: Request<pb::QueryRequest>,
    ) -> Result<Response<Self::QueryStream>, Status> {
        let req = request.into_inner();
        let key = key_from_proto(req.series.as_ref())?;
        let engine = self.engine.clone();
        let mut points =
            blocking(move || engine.read_range(&key, req.start_ns, req.end_ns)).await?;
        if req.limit > 0 {
            points.truncate(req.limit.min(usize::MAX as u64) as usize);
        }
        let pages: Vec<Result<pb::QueryResponse, Status>> = points
            .chunks(QUERY_PAGE)
            .map(|c| {
                Ok(pb::QueryResponse {
                    points: c.iter().map(point_to_proto).collect(),
                })
            })
            .collect();
        Ok(Response::new(Box::pin(tokio_stream::iter(pages))))
    }

    async fn latest(
        &self,
        request: Request<pb::LatestRequest>,
    ) -> Result<Response<pb::LatestResponse>, Status> {
        let req = request.into_inner();
        let mut points = Vec::with_capacity(req.series.len());
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
        _request: Request<pb::ListSeriesRequest>,
    ) -> Result<Response<pb::ListSeriesResponse>, Status> {
        let series = self
            .engine
            .list_series()
            .iter()
            .map(series_info_to_proto)
            .collect();
        Ok(Response::new(pb::ListSeriesResponse { series }))
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
        let s = self.engine.stats();
        Ok(Response::new(pb::StatsResponse {
            series: s.series,
            segments: s.segments,
            segment_bytes: s.segment_bytes,
            wal_bytes: s.wal_bytes,
            head_bytes: s.head_bytes,
            points_written: s.points_written,
            batches_written: s.batches_written,
            wal_fsyncs: s.wal_fsyncs,
            wal_fsync_nanos: s.wal_fsync_nanos,
            flushes: s.flushes,
        }))
    }
}
