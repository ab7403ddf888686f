//! What `/metrics` shows, in the Prometheus text exposition format (version 0.0.4): engine
//! counters and sizes ([`lodestone_engine::Stats`]), the server's own request latencies
//! ([`ServerMetrics`]), and process memory.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use lodestone_engine::histogram::{Histogram, HistogramSnapshot, BUCKET_BOUNDS_SECONDS};
use lodestone_engine::Stats;

/// Latencies and counts measured by the server around requests; shared by gRPC and HTTP.
#[derive(Debug, Default)]
pub struct ServerMetrics {
    /// Time to answer a write (parse, log, wait until durable), any protocol.
    pub write_latency: Histogram,
    /// Time to answer a query, any protocol.
    pub query_latency: Histogram,
    /// Requests refused because the server was overloaded (429 / RESOURCE_EXHAUSTED).
    pub overloaded: AtomicU64,
    /// Requests refused for bad input (400 / INVALID_ARGUMENT).
    pub bad_requests: AtomicU64,
}

impl ServerMetrics {
    /// Counts one refused request of the kind named by `overloaded`.
    pub fn count_refusal(&self, overloaded: bool) {
        let c = if overloaded {
            &self.overloaded
        } else {
            &self.bad_requests
        };
        c.fetch_add(1, Ordering::Relaxed);
    }
}

/// Renders everything as Prometheus text.
pub fn render(stats: &Stats, server: &ServerMetrics) -> String {
    let mut out = String::new();
    let mut metric = |name: &str, kind: &str, help: &str, value: f64| {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} {kind}");
        let _ = writeln!(out, "{name} {value}");
    };
    let counters: [(&str, &str, &str, f64); 22] = [
        ("lodestone_points_written_total", "counter", "Points acknowledged since start.", stats.points_written as f64),
        ("lodestone_batches_written_total", "counter", "Write batches acknowledged since start.", stats.batches_written as f64),
        ("lodestone_wal_fsyncs_total", "counter", "WAL fsyncs by group commit.", stats.wal_fsyncs as f64),
        ("lodestone_wal_fsync_seconds_total", "counter", "Time spent in WAL fsyncs.", stats.wal_fsync_nanos as f64 / 1e9),
        ("lodestone_flushes_total", "counter", "Head flushes into segment files.", stats.flushes as f64),
        ("lodestone_summary_chunks_total", "counter", "Segment chunks that aggregates answered from index summaries, without decoding.", stats.summary_chunks as f64),
        ("lodestone_rollup_buckets_total", "counter", "Rollup buckets that aggregates used in place of raw points.", stats.rollup_buckets as f64),
        ("lodestone_compactions_total", "counter", "Time partitions compacted.", stats.compactions as f64),
        ("lodestone_retention_files_dropped_total", "counter", "Segment files deleted by retention.", stats.retention_drops as f64),
        ("lodestone_series", "gauge", "Known series.", stats.series as f64),
        ("lodestone_segments", "gauge", "Segment files.", stats.segments as f64),
        ("lodestone_segment_bytes", "gauge", "Bytes in segment files.", stats.segment_bytes as f64),
        ("lodestone_wal_bytes", "gauge", "Bytes in the current WAL file.", stats.wal_bytes as f64),
        ("lodestone_head_bytes", "gauge", "Approximate bytes held by the in-memory head.", stats.head_bytes as f64),
        ("lodestone_frozen_memtables", "gauge", "Frozen parts of the head waiting to be flushed.", stats.frozen_memtables as f64),
        ("lodestone_frozen_bytes", "gauge", "Approximate bytes held by the frozen parts of the head.", stats.frozen_bytes as f64),
        ("lodestone_catalog_bytes", "gauge", "Approximate bytes held by the series catalog (entries, keys, key table).", stats.catalog_bytes as f64),
        ("lodestone_index_bytes", "gauge", "Approximate bytes held by the series index (postings lists).", stats.index_bytes as f64),
        ("lodestone_requests_overloaded_total", "counter", "Requests refused because the server was overloaded (HTTP 429, gRPC RESOURCE_EXHAUSTED).", server.overloaded.load(Ordering::Relaxed) as f64),
        ("lodestone_requests_invalid_total", "counter", "Requests refused for bad input (HTTP 400, gRPC INVALID_ARGUMENT).", server.bad_requests.load(Ordering::Relaxed) as f64),
        ("process_resident_memory_bytes", "gauge", "Resident memory of the server process.", resident_bytes() as f64),
        ("lodestone_up", "gauge", "1 while the server runs.", 1.0),
    ];
    for (name, kind, help, value) in counters {
        metric(name, kind, help, value);
    }
    histogram(
        &mut out,
        "lodestone_wal_fsync_seconds",
        "Duration of WAL fsyncs (one per group commit).",
        &stats.wal_fsync_histogram,
    );
    histogram(
        &mut out,
        "lodestone_write_seconds",
        "Time to answer a write request until durable, gRPC and HTTP.",
        &server.write_latency.snapshot(),
    );
    histogram(
        &mut out,
        "lodestone_query_seconds",
        "Time to answer a query request, gRPC and HTTP.",
        &server.query_latency.snapshot(),
    );
    out
}

/// The replication metrics of a cluster node, from its status report: role, term, log
/// positions, elections, snapshots, and on the leader each member's lag.
pub fn render_cluster(s: &lodestone_proto::v1::ClusterStatusResponse) -> String {
    let mut out = String::new();
    let mut metric = |name: &str, kind: &str, help: &str, value: f64| {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} {kind}");
        let _ = writeln!(out, "{name} {value}");
    };
    let index = |v: Option<u64>| v.map_or(-1.0, |v| v as f64);
    let gauges: [(&str, &str, &str, f64); 11] = [
        (
            "lodestone_raft_is_leader",
            "gauge",
            "1 on the leader, 0 elsewhere.",
            (s.role == "leader") as u8 as f64,
        ),
        (
            "lodestone_raft_term",
            "gauge",
            "The Raft term this node is in.",
            s.term as f64,
        ),
        (
            "lodestone_raft_last_log_index",
            "gauge",
            "Index of the newest entry of this node's log (-1: none).",
            index(s.last_log_index),
        ),
        (
            "lodestone_raft_committed_index",
            "gauge",
            "Newest log index known held by a majority (-1: none).",
            index(s.committed_index),
        ),
        (
            "lodestone_raft_applied_index",
            "gauge",
            "Newest log index applied to the engine (-1: none).",
            index(s.last_applied_index),
        ),
        (
            "lodestone_raft_snapshot_index",
            "gauge",
            "Log index of this node's newest snapshot (-1: none).",
            index(s.snapshot_index),
        ),
        (
            "lodestone_raft_purged_index",
            "gauge",
            "Log entries up to this index were dropped (-1: none).",
            index(s.purged_index),
        ),
        (
            "lodestone_raft_elections_total",
            "counter",
            "Terms this node saw begin since it started.",
            s.elections as f64,
        ),
        (
            "lodestone_raft_snapshots_installed_total",
            "counter",
            "Snapshots this node installed since it started.",
            s.snapshots_installed as f64,
        ),
        (
            "lodestone_raft_voters",
            "gauge",
            "Voting members of the cluster.",
            s.members.iter().filter(|m| m.voter).count() as f64,
        ),
        (
            "lodestone_raft_millis_since_quorum_ack",
            "gauge",
            "On the leader: milliseconds since a majority last acknowledged it (-1 elsewhere).",
            index(s.millis_since_quorum_ack),
        ),
    ];
    for (name, kind, help, value) in gauges {
        metric(name, kind, help, value);
    }
    let _ = writeln!(out, "# HELP lodestone_raft_replication_lag_entries On the leader: log entries each member lacks.");
    let _ = writeln!(out, "# TYPE lodestone_raft_replication_lag_entries gauge");
    for m in &s.members {
        if let Some(lag) = m.lag {
            let _ = writeln!(
                out,
                "lodestone_raft_replication_lag_entries{{node=\"{}\"}} {lag}",
                m.id
            );
        }
    }
    out
}

/// One histogram: cumulative `_bucket{le=..}` lines, `_sum` and `_count`.
fn histogram(out: &mut String, name: &str, help: &str, h: &HistogramSnapshot) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} histogram");
    let mut cumulative = 0u64;
    for (i, &n) in h.buckets.iter().enumerate() {
        cumulative += n;
        match BUCKET_BOUNDS_SECONDS.get(i) {
            Some(le) => {
                let _ = writeln!(out, "{name}_bucket{{le=\"{le}\"}} {cumulative}");
            }
            None => {
                let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {cumulative}");
            }
        }
    }
    if h.buckets.is_empty() {
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} 0");
    }
    let _ = writeln!(out, "{name}_sum {}", h.sum_seconds);
    let _ = writeln!(out, "{name}_count {}", h.count);
}

/// Resident set size from `/proc/self/statm` (0 where that does not exist).
fn resident_bytes() -> u64 {
    let Ok(statm) = std::fs::read_to_string("/proc/self/statm") else {
        return 0;
    };
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn every_metric_has_help_type_and_value() {
        let server = ServerMetrics::default();
        server.query_latency.record(Duration::from_millis(3));
        server.query_latency.record(Duration::from_millis(30));
        let text = render(
            &Stats {
                points_written: 42,
                series: 3,
                ..Stats::default()
            },
            &server,
        );
        assert!(text.contains(
            "# TYPE lodestone_points_written_total counter\nlodestone_points_written_total 42\n"
        ));
        assert!(text.contains("lodestone_series 3\n"));
        for gauge in [
            "lodestone_catalog_bytes",
            "lodestone_index_bytes",
            "lodestone_frozen_bytes",
        ] {
            assert!(
                text.contains(&format!("# TYPE {gauge} gauge\n{gauge} 0\n")),
                "{text}"
            );
        }
        assert!(
            text.contains("lodestone_query_seconds_bucket{le=\"0.00512\"} 1\n"),
            "{text}"
        );
        assert!(text.contains("lodestone_query_seconds_bucket{le=\"+Inf\"} 2\n"));
        assert!(text.contains("lodestone_query_seconds_count 2\n"));
        assert!(text.contains("# TYPE lodestone_wal_fsync_seconds histogram\n"));
        let helps = text.lines().filter(|l| l.starts_with("# HELP")).count();
        let types = text.lines().filter(|l| l.starts_with("# TYPE")).count();
        assert_eq!(helps, 25);
        assert_eq!(helps, types);
    }
}
