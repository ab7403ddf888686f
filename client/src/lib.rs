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
//! For a steady feed, [`Writer`] (from [`Client::writer`]) batches points by size and time,
//! keeps several batches in flight on one write stream, bounds its memory (pushes wait when
//! it is full), retries with backoff and fails over between the endpoints given to
//! [`Client::connect_any`], re-sending what was not acknowledged:
//!
//! ```no_run
//! use lodestone_client::{Client, Point, SeriesKey, WriterOptions};
//! # async fn demo() -> lodestone_client::Result<()> {
//! let client = Client::connect_any(["10.0.0.1:7400", "10.0.0.2:7400"]).await?;
//! let writer = client.writer(WriterOptions::default())?;
//! let key = SeriesKey::new("flow", [("site", "p1")]);
//! writer.push(&key, Point::new(1_000, 3.5)).await?;
//! writer.flush().await?; // every point pushed so far is durable
//! # Ok(()) }
//! ```
//!
//! Windowed aggregates ([`Client::aggregate`]) answer for one series or for every series a
//! selector matches:
//!
//! ```no_run
//! use lodestone_client::{AggregateFunction, AggregateRequest, Client, LabelMatcher, SeriesSelector};
//! # async fn demo() -> lodestone_client::Result<()> {
//! let client = Client::connect("127.0.0.1:7400").await?;
//! let hour = 3_600_000_000_000;
//! let assets = SeriesSelector::new(
//!     Some(LabelMatcher::equal("", "temperature")),
//!     [LabelMatcher::matches("asset", "a000[1-3]")],
//! );
//! let req = AggregateRequest::of_selector(assets, 0, 24 * hour, hour, AggregateFunction::Mean);
//! for s in client.aggregate(req).await? {
//!     println!("{}: {} windows", s.series.name, s.windows.len());
//! }
//! # Ok(()) }
//! ```
//!
//! The series listing comes in pages in key order ([`Client::list_series_page`]); a
//! plant's million series are read page by page with [`Client::list_series_pages`], or
//! collected with [`Client::list_series_all`]:
//!
//! ```no_run
//! use lodestone_client::{Client, LabelMatcher, SeriesSelector};
//! # async fn demo() -> lodestone_client::Result<()> {
//! let client = Client::connect("127.0.0.1:7400").await?;
//! let site = SeriesSelector::new(None, [LabelMatcher::equal("site", "p1")]);
//! let mut pages = client.list_series_pages(Some(site), 0);
//! while let Some(page) = pages.next_page().await? {
//!     for s in page {
//!         println!("{:?}", s.series);
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! [`batch::BatchBuilder`] groups readings per series into bounded write requests with
//! increasing sequence numbers; the writer is built on it. Store-and-forward comes later.
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod aggregate;
pub mod batch;
mod cluster;
pub mod connection;
pub mod error;
mod list_series;
mod series_admin;
pub mod writer;

pub use aggregate::{AggregatePages, SeriesWindows};
pub use connection::{AckStream, Client, QueryPages};
pub use error::{Error, Result};
pub use list_series::{SeriesPage, SeriesPages};
pub use lodestone_proto::v1::{
    point::Value, AggregateFunction, AggregateRequest, ClusterMember, ClusterStatusResponse, Fill,
    Label, LabelMatcher, MatchOp, Point, QualityFilter, SeriesInfo, SeriesKey, SeriesPoints,
    SeriesSelector, StatsResponse, ValueType, Window, WriteRequest, WriteResponse,
};
pub use writer::{Backoff, Writer, WriterOptions, WriterStats};
