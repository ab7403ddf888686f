//! The InfluxDB v1-compatible write path: `POST /write` with a line-protocol body, so that
//! collectors that speak InfluxDB (Telegraf's OPC UA, Modbus and MQTT inputs, Node-RED, ...)
//! write to Lodestone unchanged.
//!
//! A body is one atomic batch: every line is parsed and checked before anything is written;
//! the first bad line refuses the whole body with 400 and its line number. The answer (204)
//! comes once the batch is durable under the server's durability mode, like a gRPC write.
//! `db`, `rp`, `u` and `p` are accepted and ignored: Lodestone keeps one database.

pub mod batch;
pub mod line_protocol;

use std::io::Read;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use lodestone_engine::{Engine, Ticket};
use lodestone_proto::v1 as pb;

use crate::grpc::convert::batch_to_proto;
use crate::node::Node;
use tokio::sync::Semaphore;
use tokio_stream::StreamExt;

use batch::{parse_body, BodyError};
use line_protocol::Precision;

/// Largest body accepted by `/write`, compressed or not, in bytes.
pub const MAX_BODY_BYTES: usize = 64 << 20;

/// Most points in one `/write` body (the same bound as a gRPC batch).
pub const MAX_POINTS: usize = crate::grpc::convert::MAX_BATCH_POINTS;

/// Bytes of request bodies being parsed and written at once, across all connections. Past
/// it, writers get 429 and retry later, so memory stays bounded however many collectors
/// push at once.
pub const WRITE_BUDGET_BYTES: usize = 512 << 20;

/// Body buffers kept for reuse, and the largest one kept.
const POOLED_BUFFERS: usize = 8;
const POOLED_BUFFER_MAX: usize = 4 << 20;

/// What `/write` needs: the engine, the budget of bytes in flight, and body buffers to reuse.
#[derive(Debug, Clone)]
pub struct WriteState {
    /// The engine.
    pub engine: Arc<Engine>,
    /// Alone or a cluster node: where the batches go.
    pub node: Node,
    /// Permits are bytes of body in flight (decompressed).
    pub budget: Arc<Semaphore>,
    /// Buffers of earlier bodies. Collectors send bodies of similar size again and again;
    /// reusing a buffer spares allocating one per request, whose fresh pages the kernel
    /// would zero (measured: most of the page faults of line-protocol ingest).
    buffers: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl WriteState {
    /// State for `engine` with the default budget.
    pub fn new(engine: Arc<Engine>, node: Node) -> WriteState {
        WriteState {
            engine,
            node,
            budget: Arc::new(Semaphore::new(WRITE_BUDGET_BYTES)),
            buffers: Arc::default(),
        }
    }

    fn take_buffer(&self) -> Vec<u8> {
        let mut pool = self.buffers.lock().unwrap_or_else(|e| e.into_inner());
        pool.pop().unwrap_or_default()
    }

    fn give_back(&self, mut buf: Vec<u8>) {
        if buf.capacity() > POOLED_BUFFER_MAX {
            return;
        }
        buf.clear();
        let mut pool = self.buffers.lock().unwrap_or_else(|e| e.into_inner());
        if pool.len() < POOLED_BUFFERS {
            pool.push(buf);
        }
    }
}

/// Reads a request body into `buf`, refusing more than [`MAX_BODY_BYTES`].
async fn read_body(body: Body, buf: &mut Vec<u8>) -> Result<(), Refusal> {
    let mut frames = body.into_data_stream();
    while let Some(frame) = frames.next().await {
        let data = frame.map_err(|e| {
            Refusal::Http(StatusCode::BAD_REQUEST, format!("reading the body: {e}"))
        })?;
        if buf.len() + data.len() > MAX_BODY_BYTES {
            return Err(Refusal::Http(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("body is larger than {MAX_BODY_BYTES} bytes; split it"),
            ));
        }
        buf.extend_from_slice(&data);
    }
    Ok(())
}

/// An InfluxDB-style error answer: `{"error": "..."}` with a status.
pub fn error_response(status: StatusCode, message: impl Into<String>) -> Response {
    let body = serde_json::json!({ "error": message.into() }).to_string();
    let mut r = (status, [(header::CONTENT_TYPE, "application/json")], body).into_response();
    if status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::SERVICE_UNAVAILABLE {
        r.headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
    }
    r
}

/// Handles `POST /write?precision=..`: parses, writes atomically, answers 204 once durable.
pub async fn write(
    state: WriteState,
    query_string: Option<&str>,
    headers: &HeaderMap,
    body: Body,
) -> Response {
    let mut precision = Precision::Nanoseconds;
    for (k, v) in form_urlencoded::parse(query_string.unwrap_or("").as_bytes()) {
        if k == "precision" {
            match Precision::parse(&v) {
                Some(p) => precision = p,
                None => {
                    return error_response(
                        StatusCode::BAD_REQUEST,
                        format!("invalid precision {v:?}: use ns, u, ms, s, m or h"),
                    )
                }
            }
        }
    }
    let gzip = match headers.get(header::CONTENT_ENCODING).map(|v| v.as_bytes()) {
        None | Some(b"identity") => false,
        Some(b"gzip") => true,
        Some(other) => {
            return error_response(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!(
                    "unsupported Content-Encoding {:?}: send gzip or none",
                    String::from_utf8_lossy(other)
                ),
            )
        }
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES) {
        return error_response(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("body is larger than {MAX_BODY_BYTES} bytes; split it"),
        );
    }
    // Reserve the body's size before reading it; gzip bodies and bodies of unknown length
    // reserve the limit, as their size is known only once read and inflated.
    let reserve = match declared {
        Some(n) if !gzip => n,
        _ => MAX_BODY_BYTES,
    };
    let permits = u32::try_from(reserve.max(1)).unwrap_or(u32::MAX);
    let Ok(_permit) = state.budget.clone().try_acquire_many_owned(permits) else {
        return error_response(
            StatusCode::TOO_MANY_REQUESTS,
            "too many writes in flight; retry shortly",
        );
    };
    let mut body_buf = state.take_buffer();
    body_buf.reserve(declared.unwrap_or(0));
    if let Err(refusal) = read_body(body, &mut body_buf).await {
        state.give_back(body_buf);
        return refusal.into_response();
    }
    let engine = state.engine.clone();
    let node = state.node.clone();
    let submitted = tokio::task::spawn_blocking(move || {
        let parsed = (|| {
            let inflated;
            let text: &[u8] = if gzip {
                inflated = inflate(&body_buf)?;
                &inflated
            } else {
                &body_buf
            };
            let batch = parse_body(text, precision, now_ns(), MAX_POINTS).map_err(|e| {
                let status = match e {
                    BodyError::TooManyPoints { .. } => StatusCode::PAYLOAD_TOO_LARGE,
                    BodyError::Line(_) | BodyError::Empty => StatusCode::BAD_REQUEST,
                };
                Refusal::Http(status, e.to_string())
            })?;
            match node.cluster() {
                None => engine
                    .submit(&batch)
                    .map(Submitted::Logged)
                    .map_err(Refusal::Engine),
                Some(_) => Ok(Submitted::ToReplicate(batch_to_proto(&batch))),
            }
        })();
        (parsed, body_buf)
    })
    .await;
    let submitted = submitted.map(|(parsed, buf)| {
        state.give_back(buf);
        parsed
    });
    let submitted = match submitted {
        Ok(Ok(t)) => t,
        Ok(Err(refusal)) => return refusal.into_response(),
        Err(e) => {
            tracing::error!(error = %e, "write task failed");
            return error_response(StatusCode::INTERNAL_SERVER_ERROR, "write task failed");
        }
    };
    match submitted {
        Submitted::Logged(ticket) => match ticket.await {
            Ok(()) => StatusCode::NO_CONTENT.into_response(),
            Err(e) => engine_error(e),
        },
        Submitted::ToReplicate(req) => {
            match state
                .node
                .replicate(pb::raft_command::Command::Write(req))
                .await
            {
                Some(Err(status)) => status_error(&status),
                _ => StatusCode::NO_CONTENT.into_response(),
            }
        }
    }
}

/// A parsed body on its way.
enum Submitted {
    /// In the engine's WAL, waiting for its fsync (a single node).
    Logged(Ticket),
    /// To be replicated (a cluster node).
    ToReplicate(pb::WriteRequest),
}

/// Why a write was refused before it reached the WAL.
#[derive(Debug)]
enum Refusal {
    /// The body itself: status and message.
    Http(StatusCode, String),
    /// The engine refused the batch.
    Engine(lodestone_engine::Error),
}

impl Refusal {
    fn into_response(self) -> Response {
        match self {
            Refusal::Http(status, message) => error_response(status, message),
            Refusal::Engine(e) => engine_error(e),
        }
    }
}

/// Inflates a gzip body, refusing more than [`MAX_BODY_BYTES`] of output.
fn inflate(body: &[u8]) -> Result<Vec<u8>, Refusal> {
    let mut out = Vec::with_capacity(body.len() * 4);
    let mut reader = flate2::read::GzDecoder::new(body).take(MAX_BODY_BYTES as u64 + 1);
    if let Err(e) = reader.read_to_end(&mut out) {
        return Err(Refusal::Http(
            StatusCode::BAD_REQUEST,
            format!("body is not valid gzip: {e}"),
        ));
    }
    if out.len() > MAX_BODY_BYTES {
        return Err(Refusal::Http(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("inflated body is larger than {MAX_BODY_BYTES} bytes; split it"),
        ));
    }
    Ok(out)
}

/// The HTTP answer for an engine error: the gRPC mapping, turned into the HTTP status an
/// InfluxDB client expects.
pub fn engine_error(e: lodestone_engine::Error) -> Response {
    status_error(&crate::grpc::status::to_status(e))
}

/// The HTTP answer for a gRPC status. A cluster node that is not the leader answers 503
/// with the leader's gRPC address in the `X-Lodestone-Leader` header.
pub fn status_error(s: &tonic::Status) -> Response {
    let status = match s.code() {
        tonic::Code::InvalidArgument | tonic::Code::OutOfRange => StatusCode::BAD_REQUEST,
        tonic::Code::NotFound => StatusCode::NOT_FOUND,
        tonic::Code::ResourceExhausted if crate::grpc::status::is_final_refusal(s) => {
            StatusCode::BAD_REQUEST
        }
        tonic::Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
        tonic::Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        tonic::Code::FailedPrecondition => StatusCode::CONFLICT,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    let mut r = error_response(status, s.message());
    let leader = s.metadata().get(crate::cluster::LEADER_HEADER);
    if let Some(v) = leader.and_then(|l| axum::http::HeaderValue::from_bytes(l.as_bytes()).ok()) {
        r.headers_mut().insert("x-lodestone-leader", v);
    }
    r
}

/// The server's clock in nanoseconds, for lines without a timestamp.
fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
