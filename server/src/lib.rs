//! The Lodestone server: runs the storage engine behind network endpoints.
//!
//! The server is a function of already-bound listeners and a shutdown future
//! ([`serve::run`]), so tests bind port 0 and run it in-process, and `main` only parses
//! settings, binds, and waits for a signal.
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod grpc;
pub mod http;
pub mod metrics;
pub mod serve;
pub mod settings;
pub mod shutdown;
