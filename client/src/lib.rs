//! Lodestone client library.
//!
//! This first piece builds write batches on the client side: [`batch::BatchBuilder`] groups
//! readings per series into `lodestone.v1` write requests of bounded size with increasing
//! sequence numbers, the unit a stream acknowledges. The connection, retries and failover
//! come with the gRPC service.
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod batch;
