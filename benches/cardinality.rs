//! Reads and selections in a store of 10,000 series against one of 1,000,000, in one run:
//! what the number of series costs a read that names one series, a selection of 100, and
//! a selection that finds nothing. With the inverted series index, a read and a missing
//! name should not grow with the store; the selection of 100 grows at most with the
//! series its exact matchers leave for the pattern (250 in the small store, 5,000 in the
//! large one, where area a017 recurs in each of 20 sites).
//!
//! Both stores are shaped like plant tags: `reading{site="s01", area="a017",
//! tag="FIC-0004321.PV"}`, series `i` in site `i / 50,000` (numbered from s01), area
//! `(i / 250) % 200` (a000..a199: 250 tags per area and site) and a tag of its own; each
//! has 4 points, 15 minutes apart within the hour from 2026-01-01T00:00:00Z. They are
//! written 10,000 series per batch, flushed, compacted (one file per tier of the one
//! partition: raw, hour, day) and closed. Each store is built once and cached under
//! `target/bench-data/cardinality/<store>`; its `complete` marker, written last, holds the
//! layout line (see [`layout_line`]) and the build time, and a store whose marker is
//! missing or names another layout is rebuilt (the 1M store: about 80 s, 930 MB).
//!
//! Each store is opened once, outside any timing (background compaction off, so that no
//! pass wakes during a measurement); stderr gets the time `Engine::open` took, the
//! process' resident memory after it and how much the open added (VmRSS from
//! `/proc/self/status`). Every answer is checked once before timing.
//!
//! Criterion, `cardinality/<bench>/<store>`:
//! - `exact_read`: `Engine::read_range` of one series over its whole time range;
//! - `select_100_latest`: `Engine::select` of `reading{area="a017", tag=~"FIC-00043.*"}`,
//!   exactly 100 series in both stores, then `Engine::latest` of each;
//! - `select_100`: the same selection alone, to tell its cost from the latest points';
//! - `select_missing_name`: `Engine::select` of a name no series has.
//!
//! After criterion, the medians of a timing loop of its own and a `summary:` line with the
//! 1M/10k ratio of each benchmark (1.0: independent of the store's size).
//!
//! Run: `cargo bench --bench cardinality -- --noplot`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion};
use lodestone_engine::{
    Durability, Engine, Matcher, Options, Pattern, Point, Selector, SeriesKey, Value, WriteBatch,
};

const NS: i64 = 1_000_000_000;
/// 2026-01-01T00:00:00Z.
const START: i64 = 1_767_225_600 * NS;
const POINTS_PER_SERIES: i64 = 4;
const SPACING: i64 = 15 * 60 * NS;
const END: i64 = START + POINTS_PER_SERIES * SPACING;
/// Series per write batch.
const BATCH_SERIES: usize = 10_000;
const SERIES_PER_SITE: usize = 50_000;
const SERIES_PER_AREA: usize = 250;
const AREAS: usize = 200;
/// The series read by `exact_read`: one in the middle of the 10k store.
const READ_SERIES: usize = 4_321;
/// Runs of each benchmark in the closing timing loop.
const RUNS: usize = 501;

/// One cached store.
struct Layout {
    name: &'static str,
    series: usize,
    dir: PathBuf,
}

fn layouts() -> Vec<Layout> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-data/cardinality");
    [("10k", 10_000), ("1M", 1_000_000)]
        .into_iter()
        .map(|(name, series)| Layout {
            name,
            series,
            dir: root.join(name),
        })
        .collect()
}

/// What the store holds, as its marker records it: change the text when the keys, points
/// or build steps change, and cached stores are rebuilt.
fn layout_line(series: usize) -> String {
    format!(
        "cardinality v1: {series} series reading{{site,area,tag}}, {POINTS_PER_SERIES} points \
         each, {BATCH_SERIES} series per batch, compacted"
    )
}

fn key(i: usize) -> SeriesKey {
    SeriesKey::new(
        "reading",
        [
            ("site", format!("s{:02}", i / SERIES_PER_SITE + 1)),
            ("area", format!("a{:03}", (i / SERIES_PER_AREA) % AREAS)),
            ("tag", format!("FIC-{i:07}.PV")),
        ],
    )
    .expect("valid key")
}

fn points(i: usize) -> Vec<Point> {
    (0..POINTS_PER_SERIES)
        .map(|k| {
            let v = (i % 1000) as f64 / 10.0 + k as f64 * 0.25;
            Point::new(START + k * SPACING, Value::F64(v))
        })
        .collect()
}

fn build_options() -> Options {
    Options {
        durability: Durability::None,
        background_compaction: false,
        ..Options::default()
    }
}

/// Builds the store unless its marker names this layout; returns the build time, then or
/// earlier, and whether it was built now.
fn build(layout: &Layout) -> (Duration, bool) {
    let marker = layout.dir.join("complete");
    let want = layout_line(layout.series);
    if let Ok(text) = std::fs::read_to_string(&marker) {
        let mut lines = text.lines();
        if lines.next() == Some(want.as_str()) {
            let secs: f64 = lines
                .next()
                .and_then(|s| s.trim().parse().ok())
                .expect("build marker holds seconds");
            return (Duration::from_secs_f64(secs), false);
        }
    }
    eprintln!(
        "cardinality: building the {} store in {} ...",
        layout.name,
        layout.dir.display()
    );
    let started = Instant::now();
    let _ = std::fs::remove_dir_all(&layout.dir);
    let engine = Engine::open(&layout.dir, build_options()).expect("open for build");
    for first in (0..layout.series).step_by(BATCH_SERIES) {
        let mut batch = WriteBatch::new();
        for i in first..(first + BATCH_SERIES).min(layout.series) {
            batch.add(key(i), points(i));
        }
        engine.write(&batch).expect("write a batch");
    }
    engine.flush().expect("flush");
    engine
        .compact(lodestone_engine::options::wall_clock_nanos())
        .expect("compact");
    engine.close().expect("close");
    let took = started.elapsed();
    std::fs::write(&marker, format!("{want}\n{}\n", took.as_secs_f64())).expect("marker");
    (took, true)
}

/// Resident memory of this process, bytes (VmRSS).
fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/self/status");
    kib * 1024
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1 << 20) as f64
}

/// An open store, and the selectors timed against it (built once: compiling a pattern
/// costs more than the selection).
struct Store {
    name: &'static str,
    series: usize,
    engine: Engine,
    hundred: Selector,
    missing_name: Selector,
}

/// `reading{area="a017", tag=~"FIC-00043.*"}`: tags 4300..4399, all in area a017 of site
/// s01, whatever the store's size.
fn hundred() -> Selector {
    Selector {
        name: Matcher::Equal("reading".into()),
        labels: vec![
            ("area".into(), Matcher::Equal("a017".into())),
            (
                "tag".into(),
                Matcher::Matches(Pattern::new("FIC-00043.*").expect("pattern")),
            ),
        ],
    }
}

fn missing_name() -> Selector {
    Selector {
        name: Matcher::Equal("no_such_reading".into()),
        labels: Vec::new(),
    }
}

/// Opens the store (built if needed), printing the open time and memory, and checks every
/// answer the benchmarks time.
fn open(layout: &Layout) -> Store {
    let (build_time, built_now) = build(layout);
    let rss_before = rss_bytes();
    let started = Instant::now();
    let opts = Options {
        background_compaction: false,
        ..Options::default()
    };
    let engine = Engine::open(&layout.dir, opts).expect("open store");
    let took = started.elapsed();
    let rss_after = rss_bytes();
    eprintln!(
        "cardinality: {}: {} series; Engine::open {:.3} s; RSS after open {:.1} MiB \
         (+{:.1} MiB from the open); build {:.1} s{}",
        layout.name,
        layout.series,
        took.as_secs_f64(),
        mib(rss_after),
        mib(rss_after.saturating_sub(rss_before)),
        build_time.as_secs_f64(),
        if built_now {
            " (built by this process: its memory skews the RSS figures; run again)"
        } else {
            ""
        },
    );
    let store = Store {
        name: layout.name,
        series: layout.series,
        engine,
        hundred: hundred(),
        missing_name: missing_name(),
    };
    check(&store);
    store
}

fn check(store: &Store) {
    let e = &store.engine;
    assert_eq!(e.stats().series, store.series as u64, "{}", store.name);
    assert_eq!(exact_read(store), points(READ_SERIES), "{}", store.name);
    let want: Vec<SeriesKey> = (4300..4400).map(key).collect();
    assert_eq!(e.select(&store.hundred), want, "{}: the 100", store.name);
    assert_eq!(
        select_latest(store),
        100,
        "{}: latest of the 100",
        store.name
    );
    assert!(e.select(&store.missing_name).is_empty(), "{}", store.name);
}

fn exact_read(store: &Store) -> Vec<Point> {
    store
        .engine
        .read_range(&key(READ_SERIES), START, END)
        .expect("read_range")
}

/// Selects the 100 alone: what `select_100_latest` spends before the latest points.
fn select_hundred(store: &Store) -> usize {
    store.engine.select(&store.hundred).len()
}

/// Selects the 100 and reads each one's latest point; returns how many had one.
fn select_latest(store: &Store) -> usize {
    let keys = store.engine.select(&store.hundred);
    keys.iter()
        .filter(|k| store.engine.latest(k).expect("latest").is_some())
        .count()
}

fn select_missing(store: &Store) -> usize {
    store.engine.select(&store.missing_name).len()
}

/// The benchmarks, by name.
type Bench = (&'static str, fn(&Store) -> usize);

const BENCHES: [Bench; 4] = [
    ("exact_read", |s| exact_read(s).len()),
    ("select_100_latest", select_latest),
    ("select_100", select_hundred),
    ("select_missing_name", select_missing),
];

fn bench(c: &mut Criterion, stores: &[Store]) {
    let mut g = c.benchmark_group("cardinality");
    for (name, f) in BENCHES {
        for store in stores {
            g.bench_function(BenchmarkId::new(name, store.name), |b| b.iter(|| f(store)));
        }
    }
    g.finish();
}

fn median(runs: usize, mut f: impl FnMut() -> usize) -> Duration {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let started = Instant::now();
            std::hint::black_box(f());
            started.elapsed()
        })
        .collect();
    times.sort_unstable();
    times[runs / 2]
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// Medians of each benchmark per store, and the 1M/10k ratios.
fn print_summary(stores: &[Store]) {
    let [small, large] = stores else {
        unreachable!("two stores")
    };
    eprintln!("\ncardinality: medians of {RUNS} runs");
    let mut ratios = Vec::new();
    for (name, f) in BENCHES {
        let a = median(RUNS, || f(small));
        let b = median(RUNS, || f(large));
        let ratio = b.as_secs_f64() / a.as_secs_f64();
        eprintln!(
            "cardinality: {name:<20} {}: {:>9.2} µs  {}: {:>9.2} µs  ratio {ratio:.2}",
            small.name,
            us(a),
            large.name,
            us(b),
        );
        ratios.push(format!("{name} {ratio:.2}"));
    }
    eprintln!(
        "summary: 1M/10k ratio of medians (1.00: independent of the number of series): {}",
        ratios.join(", ")
    );
}

fn main() {
    // `cargo bench` passes `--bench`; without it (`cargo test --benches`) criterion runs
    // each benchmark once as a test, and the closing timing loop is skipped, as it is when
    // criterion only lists or profiles.
    let args: Vec<String> = std::env::args().collect();
    let has = |flag: &str| args.iter().any(|a| a == flag);
    let benching = has("--bench") && !has("--list") && !has("--profile-time");
    let stores: Vec<Store> = layouts().iter().map(open).collect();
    let mut c = Criterion::default()
        .sample_size(50)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    bench(&mut c, &stores);
    c.final_summary();
    if benching {
        print_summary(&stores);
    }
    for store in stores {
        store.engine.close().expect("close");
    }
}
