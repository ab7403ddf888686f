//! Support code shared by Lodestone's end-to-end tests (`tests/`) and benchmarks (`benches/`).
//!
//! The root package owns no product code; it exists so that tests can start real processes
//! and benchmarks can compare against peers without those dependencies leaking into the
//! product crates.

pub mod crash;
pub mod plant;
