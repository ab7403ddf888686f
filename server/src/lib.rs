//! The Lodestone server: runs the storage engine behind gRPC and HTTP, and the `lodestone`
//! command line.
//!
//! The server is a function of already-bound listeners and a shutdown future ([`run`]), so
//! tests bind port 0 and run it in-process, and `main` only parses flags, binds, and waits
//! for a signal. Module map:
//!
//! - [`serve`]: starts gRPC and HTTP on the listeners; [`shutdown`]: signals, the shared
//!   shutdown token, closing the engine;
//! - [`grpc`]: the `lodestone.v1` service, with [`grpc::convert`] (protobuf ↔ engine types,
//!   the only place they meet) and [`grpc::status`] (engine errors → gRPC status);
//! - [`http`]: `/ping`, `/health`, `/metrics` ([`metrics`] renders the Prometheus text),
//!   `/write` ([`influx`]: line protocol), `/query`, `/admin/flush`;
//! - [`influxql`]: `/query`, an InfluxQL subset answered in InfluxDB's JSON;
//! - [`cli`]: one file per command; [`series_text`]: the `name{k="v"}` syntax;
//!   [`settings`]: defaults and flag values; [`testing`]: the server run in-process for tests.
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod calendar;
pub mod cli;
pub mod cluster;
pub mod grpc;
pub mod http;
pub mod influx;
pub mod influxql;
pub mod metrics;
pub mod node;
pub mod series_text;
pub mod serve;
pub mod settings;
pub mod shutdown;
pub mod testing;

pub use serve::{run, Listeners, ServeError};
