//! Engine statistics in the Prometheus text exposition format.

use std::fmt::Write;

use lodestone_engine::Stats;

/// Renders `stats` as Prometheus text (version 0.0.4).
pub fn render(stats: &Stats) -> String {
    let mut out = String::new();
    let mut metric = |name: &str, kind: &str, help: &str, value: f64| {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} {kind}");
        let _ = writeln!(out, "{name} {value}");
    };
    metric(
        "lodestone_points_written_total",
        "counter",
        "Points acknowledged since start.",
        stats.points_written as f64,
    );
    metric(
        "lodestone_batches_written_total",
        "counter",
        "Write batches acknowledged since start.",
        stats.batches_written as f64,
    );
    metric(
        "lodestone_wal_fsyncs_total",
        "counter",
        "WAL fsyncs by group commit.",
        stats.wal_fsyncs as f64,
    );
    metric(
        "lodestone_wal_fsync_seconds_total",
        "counter",
        "Time spent in WAL fsyncs.",
        stats.wal_fsync_nanos as f64 / 1e9,
    );
    metric(
        "lodestone_flushes_total",
        "counter",
        "Head flushes into segment files.",
        stats.flushes as f64,
    );
    metric(
        "lodestone_series",
        "gauge",
        "Known series.",
        stats.series as f64,
    );
    metric(
        "lodestone_segments",
        "gauge",
        "Segment files.",
        stats.segments as f64,
    );
    metric(
        "lodestone_segment_bytes",
        "gauge",
        "Bytes in segment files.",
        stats.segment_bytes as f64,
    );
    metric(
        "lodestone_wal_bytes",
        "gauge",
        "Bytes in the current WAL file.",
        stats.wal_bytes as f64,
    );
    metric(
        "lodestone_head_bytes",
        "gauge",
        "Approximate bytes held by the in-memory head.",
        stats.head_bytes as f64,
    );
    metric(
        "lodestone_frozen_memtables",
        "gauge",
        "Frozen parts of the head waiting to be flushed.",
        stats.frozen_memtables as f64,
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_metric_has_help_type_and_value() {
        let text = render(&Stats {
            points_written: 42,
            series: 3,
            ..Stats::default()
        });
        assert!(text.contains(
            "# TYPE lodestone_points_written_total counter\nlodestone_points_written_total 42\n"
        ));
        assert!(text.contains("lodestone_series 3\n"));
        assert_eq!(text.lines().filter(|l| l.starts_with("# HELP")).count(), 11);
    }
}
