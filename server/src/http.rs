//! HTTP endpoints: `/ping` and `/health` for load balancers and probes, `/metrics` for
//! Prometheus. (The InfluxDB-compatible `/write` and `/query` come with the protocol work.)

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use lodestone_engine::Engine;

/// The HTTP routes, sharing one engine.
pub fn router(engine: Arc<Engine>) -> Router {
    Router::new()
        .route("/ping", get(ping).head(ping))
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .with_state(engine)
}

/// InfluxDB answers `/ping` with 204 and a version header; collectors probe it that way.
async fn ping() -> impl IntoResponse {
    (
        StatusCode::NO_CONTENT,
        [("X-Influxdb-Version", "1.8-lodestone")],
    )
}

async fn health(State(engine): State<Arc<Engine>>) -> impl IntoResponse {
    let s = engine.stats();
    Json(serde_json::json!({
        "status": "pass",
        "series": s.series,
        "segments": s.segments,
        "points_written": s.points_written,
    }))
}

async fn metrics(State(engine): State<Arc<Engine>>) -> impl IntoResponse {
    let body = crate::metrics::render(&engine.stats());
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body)
}
