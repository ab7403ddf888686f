//! HTTP endpoints: `/ping` and `/health` for load balancers and probes, `/metrics` for
//! Prometheus, the InfluxDB v1-compatible `/write` ([`crate::influx`]) and `/query`
//! ([`crate::influxql`]), `/admin/flush`, and `/admin/compact` (retention, then compaction).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use lodestone_engine::Engine;

use crate::influx::{self, WriteState};
use crate::metrics::ServerMetrics;
use crate::node::Node;

/// The state the routes share.
#[derive(Debug, Clone)]
struct AppState {
    engine: Arc<Engine>,
    node: Node,
    write: WriteState,
    metrics: Arc<ServerMetrics>,
}

/// The HTTP routes, sharing one engine and the server's metrics; on a cluster node (see
/// [`Node`]) writes are replicated and `/query` waits until its read is safe, unless asked
/// with `stale_ok=true`.
pub fn router(engine: Arc<Engine>, node: Node, metrics: Arc<ServerMetrics>) -> Router {
    let state = AppState {
        write: WriteState::new(engine.clone(), node.clone()),
        engine,
        node,
        metrics,
    };
    Router::new()
        .route("/ping", get(ping).head(ping))
        .route("/health", get(health))
        .route("/metrics", get(metrics_page))
        .route("/write", post(write))
        .route("/query", get(query).post(query))
        .route("/admin/flush", get(flush).post(flush))
        .route("/admin/compact", get(compact).post(compact))
        .layer(DefaultBodyLimit::max(influx::MAX_BODY_BYTES))
        .with_state(state)
}

/// InfluxDB answers `/ping` with 204 and a version header; collectors probe it that way.
async fn ping() -> impl IntoResponse {
    (
        StatusCode::NO_CONTENT,
        [("X-Influxdb-Version", "1.8-lodestone")],
    )
}

async fn health(State(state): State<AppState>) -> impl IntoResponse {
    let s = state.engine.stats();
    Json(serde_json::json!({
        "status": "pass",
        "series": s.series,
        "segments": s.segments,
        "points_written": s.points_written,
    }))
}

async fn metrics_page(State(state): State<AppState>) -> impl IntoResponse {
    let mut body = crate::metrics::render(&state.engine.stats(), &state.metrics);
    if let Some(c) = state.node.cluster() {
        body.push_str(&crate::metrics::render_cluster(&c.status()));
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body)
}

async fn write(
    State(state): State<AppState>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    let started = std::time::Instant::now();
    let r = influx::write(state.write, q.as_deref(), &headers, body).await;
    count(&state.metrics, &r);
    state.metrics.write_latency.record(started.elapsed());
    r
}

/// Counts a refused request in the metrics.
fn count(metrics: &ServerMetrics, r: &Response) {
    match r.status() {
        StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE => {
            metrics.count_refusal(true)
        }
        s if s.is_client_error() => metrics.count_refusal(false),
        _ => {}
    }
}

async fn query(State(state): State<AppState>, RawQuery(q): RawQuery, body: Bytes) -> Response {
    let started = std::time::Instant::now();
    let text = q.as_deref().unwrap_or("");
    let stale_ok = form_urlencoded::parse(text.as_bytes())
        .any(|(k, v)| k == "stale_ok" && matches!(v.as_ref(), "true" | "1"));
    if let Err(s) = state.node.read_barrier(stale_ok).await {
        let r = influx::status_error(&s);
        count(&state.metrics, &r);
        return r;
    }
    let r = crate::influxql::respond(state.engine.clone(), text, &body).await;
    count(&state.metrics, &r);
    state.metrics.query_latency.record(started.elapsed());
    r
}

/// Moves the head into segment files now (benchmarks and operators call it before sizing
/// the data folder or taking a backup).
/// Applies retention and merges every time partition that needs it, now; answers with what
/// was done.
async fn compact(State(state): State<AppState>) -> Response {
    let engine = state.engine.clone();
    let run = move || {
        let now = lodestone_engine::options::wall_clock_nanos();
        let (dropped, dropped_bytes) = engine.apply_retention(now)?;
        let r = engine.compact(now)?;
        Ok::<_, lodestone_engine::Error>(serde_json::json!({
            "retention_files_dropped": dropped,
            "retention_bytes_dropped": dropped_bytes,
            "partitions_compacted": r.partitions,
            "files_in": r.files_in,
            "files_out": r.files_out,
            "bytes_in": r.bytes_in,
            "bytes_out": r.bytes_out,
        }))
    };
    match tokio::task::spawn_blocking(run).await {
        Ok(Ok(report)) => Json(report).into_response(),
        Ok(Err(e)) => influx::engine_error(e),
        Err(e) => {
            tracing::error!(error = %e, "compaction task failed");
            influx::error_response(StatusCode::INTERNAL_SERVER_ERROR, "compaction task failed")
        }
    }
}

async fn flush(State(state): State<AppState>) -> Response {
    let engine = state.engine.clone();
    match tokio::task::spawn_blocking(move || engine.flush()).await {
        Ok(Ok(())) => Json(serde_json::json!({ "flushed": true })).into_response(),
        Ok(Err(e)) => influx::engine_error(e),
        Err(e) => {
            tracing::error!(error = %e, "flush task failed");
            influx::error_response(StatusCode::INTERNAL_SERVER_ERROR, "flush task failed")
        }
    }
}
