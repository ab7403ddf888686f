//! Hourly means over a year of one series at one point per second (31,536,000 points),
//! answered from the rollup tiers beside a forced raw scan, and the raw decode of the whole
//! year: the baseline the tiers are there to beat, measured in the same run.
//!
//! The series `temperature{site="p1",asset="a0001"}` holds every second of 2025 (from
//! 2025-01-01T00:00:00Z): a daily cycle of ±5 °C around 20 °C plus noise of up to ±0.05 °C
//! from a fixed xorshift generator, rounded to 0.01 °C as a transmitter reports it. It is
//! written a day per batch and flushed every 24 days (on partition boundaries), then closed.
//!
//! Two stores of the same points, each built once and cached under
//! `target/bench-data/aggregate-year-v3/<store>` (a `complete` marker, holding the build
//! time, is written last; without it the folder is rebuilt; change `v3` when the data or
//! the layout changes):
//! - `cold`: the default options. The whole year is older than `cold_after` (7 days) by
//!   the wall clock, so the flush wraps every chunk in zstd where that pays: what a
//!   historian holds for last year, and the realistic case;
//! - `warm`: `cold_after: None`, the packed chunks alone.
//!
//! With the packed codec of November 2026, zstd never saves the eighth it must on these
//! (already entropy-coded) chunks, and both stores hold the same segment bytes; `warm` is
//! kept so that a change of codec or threshold shows up here.
//!
//! Both keep the default tiers (1 h, 1 d). Once, before any timing, every path must agree
//! with the others and the raw path with the hourly means computed from the generator
//! itself: 8760 windows of 3600 points, the counts exact and the means within 1e-9
//! relative. Stderr then gets, per store, its size (bytes per point of the whole folder and
//! of the segment files alone), its build time, and how the tier and summary paths answered
//! (rollup buckets and chunk summaries used, from `Engine::stats`).
//!
//! Criterion:
//! - `hourly_mean_year/{tiers,summaries,raw}/<store>`: `Engine::aggregate_by` with
//!   `AggregatePath::{Fastest, Summaries, Raw}`, the mean of each hour of the year;
//! - `raw_decode_year/read_range/<store>`: `Engine::read_range` over the year, in points/s;
//!   the returned vector (1 GB: 32 bytes a point) is dropped outside the timing;
//! - `raw_decode_year/decode_chunks/<store>`: the same chunks checked and decoded with
//!   `decode_chunk_into` straight from the segment files into one vector reused from
//!   iteration to iteration: the row decoder without the fresh allocation;
//! - `raw_decode_year/decode_columns/<store>`: the same chunks checked and decoded with
//!   `decode_columns` into columns reused from chunk to chunk: what the raw scan of an
//!   aggregate does before it folds;
//! - `raw_decode_year/vec_fill_baseline`: the same number of points written into a fresh
//!   vector, the floor any call that returns them all pays (allocation, page faults,
//!   1 GB of writes).
//!
//! After criterion, a table of medians from a timing loop of its own (returned vectors
//! dropped outside the timing here too), the ratio raw/tiers, the decode rates, and one
//! `summary:` line per store. The raw scan's rate (points decoded and folded per second by
//! the forced raw aggregate) is the one the goal of 200 M points/s per core is about. That loop times every path whatever the filter (about a
//! minute and a half); it is skipped under `--profile-time` and `--list`.
//!
//! Run: `cargo bench --bench aggregate -- --noplot` (the first run builds the stores, about
//! 15 s each; a filter such as `tiers/cold` runs fewer criterion benchmarks). Raw reads
//! allocate a 1 GB vector of points; the machine needs a few GB free.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput};
use lodestone_engine::codec::{decode_chunk_into, decode_columns, Columns};
use lodestone_engine::query::window::{Aggregate, Fill, QualityFilter, Window, WindowSpec};
use lodestone_engine::segment::reader::Segment;
use lodestone_engine::segment::{self, ChunkMeta};
use lodestone_engine::{
    AggregatePath, Durability, Engine, Options, Point, SeriesKey, Value, WriteBatch,
};

const NS: i64 = 1_000_000_000;
/// 2025-01-01T00:00:00Z.
const START: i64 = 1_735_689_600 * NS;
const DAY_SECONDS: i64 = 86_400;
const DAYS: i64 = 365;
const POINTS: usize = (DAYS * DAY_SECONDS) as usize;
const END: i64 = START + DAYS * DAY_SECONDS * NS;
const HOUR: i64 = 3600 * NS;
const HOURS: usize = (DAYS * 24) as usize;
/// Days per flush: about 2 M points, and flushes fall on partition (day) boundaries.
const FLUSH_DAYS: i64 = 24;
/// Largest relative difference allowed between two answers for one window's mean.
const TOLERANCE: f64 = 1e-9;
/// Runs of each path in the closing timing loop.
const RUNS_FAST: usize = 101;
const RUNS_SLOW: usize = 7;

/// The test signal, second by second from [`START`] for [`DAYS`] days.
struct Signal {
    second: i64,
    state: u64,
}

impl Signal {
    fn new() -> Signal {
        Signal {
            second: 0,
            state: 0x9E37_79B9_7F4A_7C15,
        }
    }
}

impl Iterator for Signal {
    type Item = Point;

    fn next(&mut self) -> Option<Point> {
        if self.second >= POINTS as i64 {
            return None;
        }
        // xorshift64*: noise uniform in [-0.05, 0.05).
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        let r = self.state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11;
        let noise = (r as f64 / (1u64 << 53) as f64 - 0.5) * 0.1;
        let t = self.second;
        let phase = (t % DAY_SECONDS) as f64 / DAY_SECONDS as f64;
        let v = 20.0 + 5.0 * (std::f64::consts::TAU * phase).sin() + noise;
        self.second += 1;
        Some(Point::new(
            START + t * NS,
            Value::F64((v * 100.0).round() / 100.0),
        ))
    }
}

fn key() -> SeriesKey {
    SeriesKey::new("temperature", [("site", "p1"), ("asset", "a0001")]).expect("valid key")
}

fn spec() -> WindowSpec {
    WindowSpec {
        start: START,
        end: END,
        step: HOUR,
        aggregate: Aggregate::Mean,
        fill: Fill::None,
        quality: QualityFilter::Good,
    }
}

/// One cached store: its name, folder and options.
struct Layout {
    name: &'static str,
    dir: PathBuf,
    opts: Options,
}

fn layouts() -> Vec<Layout> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-data/aggregate-year-v3");
    let base = Options {
        durability: Durability::None,
        ..Options::default()
    };
    vec![
        Layout {
            name: "cold",
            dir: root.join("cold"),
            opts: base.clone(),
        },
        Layout {
            name: "warm",
            dir: root.join("warm"),
            opts: Options {
                cold_after: None,
                ..base
            },
        },
    ]
}

/// Builds the store unless its marker says a build finished; returns the build time, then
/// or earlier.
fn build(layout: &Layout) -> Duration {
    let marker = layout.dir.join("complete");
    if let Ok(text) = std::fs::read_to_string(&marker) {
        let secs: f64 = text.trim().parse().expect("build marker holds seconds");
        return Duration::from_secs_f64(secs);
    }
    eprintln!(
        "aggregate: building the {} store in {} ...",
        layout.name,
        layout.dir.display()
    );
    let started = Instant::now();
    let _ = std::fs::remove_dir_all(&layout.dir);
    let engine = Engine::open(&layout.dir, layout.opts.clone()).expect("open for build");
    let key = key();
    let mut signal = Signal::new();
    for day in 0..DAYS {
        let mut batch = WriteBatch::new();
        batch.add(
            key.clone(),
            signal.by_ref().take(DAY_SECONDS as usize).collect(),
        );
        engine.write(&batch).expect("write a day");
        if (day + 1) % FLUSH_DAYS == 0 {
            engine.flush().expect("flush");
        }
    }
    engine.flush().expect("flush");
    engine.close().expect("close");
    let took = started.elapsed();
    std::fs::write(&marker, format!("{}\n", took.as_secs_f64())).expect("marker");
    took
}

/// Bytes in the files under `dir`, at any depth.
fn folder_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .expect("read store folder")
        .map(|e| {
            let e = e.expect("folder entry");
            let meta = e.metadata().expect("entry metadata");
            if meta.is_dir() {
                folder_bytes(&e.path())
            } else {
                meta.len()
            }
        })
        .sum()
}

/// An open store, checked.
struct Store {
    name: &'static str,
    engine: Engine,
    /// The raw chunks of the series, straight from the segment files (opened a second
    /// time, read-only, beside the engine's own mapping), in time order.
    chunks: Vec<(Segment, Vec<ChunkMeta>)>,
}

/// The store's raw segments holding the series and their chunks, in time order.
fn raw_chunks(dir: &Path) -> Vec<(Segment, Vec<ChunkMeta>)> {
    let dir = dir.join("segments");
    let k = key();
    let mut out: Vec<(Segment, Vec<ChunkMeta>)> = std::fs::read_dir(&dir)
        .expect("read segments folder")
        .filter_map(|e| {
            let name = e.expect("folder entry").file_name();
            let id = segment::parse_file_name(name.to_str()?)?;
            // The one series of the store gets id 0.
            let seg = Segment::open(&segment::file_path(&dir, id), id, &mut |key, _| {
                assert_eq!(key, k.as_text(), "the store holds one series");
                Ok(0)
            })
            .expect("open segment");
            if seg.info().tier != segment::RAW {
                return None;
            }
            let chunks = seg.get(0).expect("index entry")?.chunks;
            Some((seg, chunks))
        })
        .collect();
    out.sort_by_key(|(seg, _)| seg.info().first_ts);
    out
}

/// Decodes every raw chunk of the store into `out` (cleared first), checksums included,
/// as `read_range` does but into a vector whose memory is already there.
fn decode_chunks(store: &Store, out: &mut Vec<Point>) {
    out.clear();
    for (seg, chunks) in &store.chunks {
        for m in chunks {
            let bytes = seg.chunk_bytes(m).expect("chunk bytes");
            decode_chunk_into(bytes, out).expect("decode chunk");
        }
    }
}

/// Decodes every raw chunk of the store into columns reused from chunk to chunk,
/// checksums included, as the raw scan of an aggregate does; returns the points decoded.
fn decode_chunk_columns(store: &Store, cols: &mut Columns) -> usize {
    let mut n = 0;
    for (seg, chunks) in &store.chunks {
        for m in chunks {
            let bytes = seg.chunk_bytes(m).expect("chunk bytes");
            decode_columns(bytes, cols).expect("decode chunk");
            n += cols.len();
        }
    }
    n
}

/// The hourly means computed from the generator: (count, mean) per hour.
fn expected_hours() -> Vec<(u64, f64)> {
    let mut sums = vec![(0u64, 0.0f64); HOURS];
    for p in Signal::new() {
        let Value::F64(v) = p.value else {
            unreachable!("the signal is f64")
        };
        let h = &mut sums[((p.ts - START) / HOUR) as usize];
        h.0 += 1;
        h.1 += v;
    }
    sums.into_iter().map(|(n, s)| (n, s / n as f64)).collect()
}

fn close_enough(a: f64, b: f64) -> bool {
    (a - b).abs() <= TOLERANCE * a.abs().max(b.abs())
}

/// Panics unless `got` has the windows `want` has: same starts and counts, means within
/// [`TOLERANCE`].
fn assert_agree(what: &str, got: &[Window], want: &[(i64, u64, f64)]) {
    assert_eq!(got.len(), want.len(), "{what}: number of windows");
    for (g, &(start, count, mean)) in got.iter().zip(want) {
        assert_eq!(g.start, start, "{what}: window start");
        assert_eq!(g.count, count, "{what}: count of the window at {start}");
        let v = g.value.expect("a window with points has a mean");
        assert!(
            close_enough(v, mean),
            "{what}: mean of the window at {start} is {v}, expected {mean}"
        );
    }
}

/// Checks every path's answer once, and prints the store's size and how the tier and
/// summary paths answered.
fn check(store: &Store, expected: &[(u64, f64)], dir: &Path, build_time: Duration) {
    let (engine, name) = (&store.engine, store.name);
    let spec = spec();
    let k = key();
    let want: Vec<(i64, u64, f64)> = expected
        .iter()
        .enumerate()
        .map(|(h, &(n, m))| (START + h as i64 * HOUR, n, m))
        .collect();
    assert!(want.iter().all(|w| w.1 == 3600), "every hour has 3600 s");

    let raw = engine
        .aggregate_by(&k, &spec, AggregatePath::Raw)
        .expect("raw aggregate");
    assert_agree(&format!("{name} raw vs generator"), &raw, &want);
    let raw: Vec<(i64, u64, f64)> = raw
        .iter()
        .map(|w| (w.start, w.count, w.value.unwrap_or(f64::NAN)))
        .collect();

    let before = engine.stats();
    let tiers = engine
        .aggregate_by(&k, &spec, AggregatePath::Fastest)
        .expect("tier aggregate");
    let mid = engine.stats();
    let summaries = engine
        .aggregate_by(&k, &spec, AggregatePath::Summaries)
        .expect("summary aggregate");
    let after = engine.stats();
    assert_agree(&format!("{name} tiers vs raw"), &tiers, &raw);
    assert_agree(&format!("{name} summaries vs raw"), &summaries, &raw);

    let points = engine.read_range(&k, START, END).expect("read_range");
    assert_eq!(points.len(), POINTS, "{name}: points in the year");
    assert!(
        points.iter().zip(Signal::new()).all(|(a, b)| *a == b),
        "{name}: read_range gives back the points written"
    );
    let mut decoded = Vec::new();
    decode_chunks(store, &mut decoded);
    assert!(
        decoded == points,
        "{name}: chunks decoded alone give the same points"
    );
    let mut cols = Columns::default();
    let mut at = 0;
    for (seg, chunks) in &store.chunks {
        for m in chunks {
            decode_columns(seg.chunk_bytes(m).expect("chunk bytes"), &mut cols).expect("decode");
            cols.divide();
            for (i, (&t, &v)) in cols.ts.iter().zip(&cols.values).enumerate() {
                let p = &points[at + i];
                assert!(
                    p.ts == t && p.value == Value::F64(v),
                    "{name}: columns hold the points"
                );
            }
            at += cols.len();
        }
    }
    assert_eq!(at, POINTS, "{name}: columns hold every point");

    let bytes = folder_bytes(dir);
    let stats = engine.stats();
    eprintln!(
        "aggregate: {name}: {} segments; folder {bytes} bytes = {:.3} bytes/point, \
         segments {:.3} bytes/point; build {:.1} s",
        stats.segments,
        bytes as f64 / POINTS as f64,
        stats.segment_bytes as f64 / POINTS as f64,
        build_time.as_secs_f64(),
    );
    eprintln!(
        "aggregate: {name}: tiers path used {} rollup buckets and {} chunk summaries; \
         summaries path used {} chunk summaries",
        mid.rollup_buckets - before.rollup_buckets,
        mid.summary_chunks - before.summary_chunks,
        after.summary_chunks - mid.summary_chunks,
    );
}

/// Builds (if needed), opens and checks every store.
fn prepare() -> Vec<Store> {
    let expected = expected_hours();
    layouts()
        .into_iter()
        .map(|layout| {
            let build_time = build(&layout);
            let engine = Engine::open(&layout.dir, layout.opts.clone()).expect("open store");
            let store = Store {
                name: layout.name,
                engine,
                chunks: raw_chunks(&layout.dir),
            };
            check(&store, &expected, &layout.dir, build_time);
            store
        })
        .collect()
}

/// The time of one call of `f`; what it returns is dropped after the clock stops.
fn time<T>(f: impl FnOnce() -> T) -> Duration {
    let started = Instant::now();
    let out = std::hint::black_box(f());
    let took = started.elapsed();
    drop(out);
    took
}

fn aggregate(store: &Store, path: AggregatePath) -> Vec<Window> {
    store
        .engine
        .aggregate_by(&key(), &spec(), path)
        .expect("aggregate")
}

fn read_year(store: &Store) -> Vec<Point> {
    store
        .engine
        .read_range(&key(), START, END)
        .expect("read_range")
}

/// Every point of the year written into a fresh vector, without the engine.
fn fill_vec() -> Vec<Point> {
    (0..POINTS as i64)
        .map(|i| Point::new(START + i * NS, Value::F64(i as f64)))
        .collect()
}

fn iter_timed<T>(iters: u64, mut f: impl FnMut() -> T) -> Duration {
    (0..iters).map(|_| time(&mut f)).sum()
}

fn bench_hourly(c: &mut Criterion, stores: &[Store]) {
    let mut g = c.benchmark_group("hourly_mean_year");
    for store in stores {
        for (name, path) in [
            ("tiers", AggregatePath::Fastest),
            ("summaries", AggregatePath::Summaries),
        ] {
            g.bench_function(BenchmarkId::new(name, store.name), |b| {
                b.iter(|| aggregate(store, path))
            });
        }
    }
    // Hundreds of milliseconds a call: one call per iteration, ten samples.
    g.sampling_mode(SamplingMode::Flat).sample_size(10);
    for store in stores {
        g.bench_function(BenchmarkId::new("raw", store.name), |b| {
            b.iter(|| aggregate(store, AggregatePath::Raw))
        });
    }
    g.finish();
}

fn bench_decode(c: &mut Criterion, stores: &[Store]) {
    let mut g = c.benchmark_group("raw_decode_year");
    g.throughput(Throughput::Elements(POINTS as u64))
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10);
    for store in stores {
        g.bench_function(BenchmarkId::new("read_range", store.name), |b| {
            b.iter_custom(|iters| iter_timed(iters, || read_year(store)))
        });
    }
    let mut buffer: Vec<Point> = Vec::with_capacity(POINTS);
    for store in stores {
        g.bench_function(BenchmarkId::new("decode_chunks", store.name), |b| {
            b.iter(|| decode_chunks(store, &mut buffer))
        });
    }
    let mut cols = Columns::default();
    for store in stores {
        g.bench_function(BenchmarkId::new("decode_columns", store.name), |b| {
            b.iter(|| decode_chunk_columns(store, &mut cols))
        });
    }
    g.bench_function("vec_fill_baseline", |b| {
        b.iter_custom(|iters| iter_timed(iters, fill_vec))
    });
    g.finish();
}

fn median<T>(runs: usize, mut f: impl FnMut() -> T) -> Duration {
    let mut times: Vec<Duration> = (0..runs).map(|_| time(&mut f)).collect();
    times.sort_unstable();
    times[runs / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn mpps(d: Duration) -> f64 {
    POINTS as f64 / d.as_secs_f64() / 1e6
}

/// Medians of a timing loop of its own, the ratios, and one summary line per store.
fn print_summary(stores: &[Store]) {
    eprintln!(
        "\naggregate: hourly mean of a year (8760 windows, 31.5 M points); medians of \
         {RUNS_FAST} runs (tiers) and {RUNS_SLOW} (the others)"
    );
    eprintln!(
        "{:<6} {:>9} {:>13} {:>9} {:>10} {:>11} {:>14} {:>15} {:>17} {:>18}",
        "store",
        "tiers ms",
        "summaries ms",
        "raw ms",
        "raw/tiers",
        "raw M/s",
        "read_range ms",
        "read_range M/s",
        "decode_chunks M/s",
        "decode_columns M/s",
    );
    let mut buffer: Vec<Point> = Vec::with_capacity(POINTS);
    let mut cols = Columns::default();
    let mut lines = Vec::new();
    for store in stores {
        let tiers = median(RUNS_FAST, || aggregate(store, AggregatePath::Fastest));
        let summaries = median(RUNS_SLOW, || aggregate(store, AggregatePath::Summaries));
        let raw = median(RUNS_SLOW, || aggregate(store, AggregatePath::Raw));
        let read = median(RUNS_SLOW, || read_year(store));
        let decode = median(RUNS_SLOW, || decode_chunks(store, &mut buffer));
        let columns = median(RUNS_SLOW, || decode_chunk_columns(store, &mut cols));
        let ratio = raw.as_secs_f64() / tiers.as_secs_f64();
        eprintln!(
            "{:<6} {:>9.3} {:>13.1} {:>9.1} {:>9.0}x {:>11.1} {:>14.1} {:>15.1} {:>17.1} {:>18.1}",
            store.name,
            ms(tiers),
            ms(summaries),
            ms(raw),
            ratio,
            mpps(raw),
            ms(read),
            mpps(read),
            mpps(decode),
            mpps(columns),
        );
        let verdict = |ok: bool| if ok { "met" } else { "missed" };
        lines.push(format!(
            "summary: {}: tiers {:.3} ms (goal < 5 ms: {}), raw {:.1} ms, raw/tiers {:.0}x; \
             raw scan {:.1} M points/s decoded and folded (goal > 200: {}), {:.1} M points/s \
             decoded into columns; rows: {:.1} M points/s in read_range, {:.1} into a reused \
             buffer",
            store.name,
            ms(tiers),
            verdict(ms(tiers) < 5.0),
            ms(raw),
            ratio,
            mpps(raw),
            verdict(mpps(raw) > 200.0),
            mpps(columns),
            mpps(read),
            mpps(decode),
        ));
    }
    let fill = median(RUNS_SLOW, fill_vec);
    eprintln!(
        "vec_fill_baseline: {:.1} ms = {:.1} M points/s (31.5 M points into a fresh vector)",
        ms(fill),
        mpps(fill)
    );
    for l in lines {
        eprintln!("{l}");
    }
}

fn main() {
    // `cargo bench` passes `--bench`; without it (`cargo test --benches`) criterion runs
    // each benchmark once as a test. The closing timing loop is skipped then, and when
    // criterion only lists or profiles.
    let args: Vec<String> = std::env::args().collect();
    let has = |flag: &str| args.iter().any(|a| a == flag);
    let benching = has("--bench") && !has("--list") && !has("--profile-time");
    let stores = prepare();
    // Defaults here, so that `--measurement-time` and the like on the command line win.
    let mut c = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(5))
        .configure_from_args();
    bench_hourly(&mut c, &stores);
    bench_decode(&mut c, &stores);
    c.final_summary();
    if benching {
        print_summary(&stores);
    }
    for store in stores {
        store.engine.close().expect("close");
    }
}
