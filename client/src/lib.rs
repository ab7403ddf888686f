//! Lodestone client library: an async client of the `lodestone.v1` gRPC service.
//!
//! ```no_run
//! use lodestone_client::{Client, Point, SeriesKey, WriteRequest};
//! # async fn demo() -> lodestone_client::Result<()> {
//! let client = Client::connect("127.0.0.1:7400").await?;
//! let key = SeriesKey::new("temperature", [("site", "p1")]);
//! let batch = WriteRequest::new(1).add(key.clone(), vec![Point::new(1_000, 21.5)]);
//! client.write(batch).await?; // durable when this returns
//! let points = client.query(key, 0, i64::MAX).await?;
//! assert_eq!(points.len(), 1);
//! # Ok(()) }
//! ```
//!
//! [`batch::BatchBuilder`] groups readings per series into bounded write requests with
//! increasing sequence numbers. Retries, failover and store-and-forward come later.
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod batch;
pub mod connection;
pub mod error;

pub use connection::{AckStream, Client};
pub use error::{Error, Result};
pub use lodestone_proto::v1::{
    point::Value, Label, Point, SeriesInfo, SeriesKey, SeriesPoints, StatsResponse, ValueType,
    WriteRequest, WriteResponse,
};
