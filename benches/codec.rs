//! Chunk codec throughput and size on the plant data set, Lodestone beside the `tsz` crate
//! (the common Rust Gorilla implementation) in the same run.
//!
//! Data: `../shared/bench/gen_plant.py --assets 4 --seconds 21600` (about 0.5 M points),
//! grouped per series, in chunks of 2048 points. Lodestone stores nanosecond timestamps, the
//! value's own type (motor_state as i64) and a quality code per point; tsz stores u64
//! timestamps and f64 values only, so it gets millisecond timestamps (lossless for this data
//! set, whose jitter is whole milliseconds; nanoseconds would overflow its 14-bit first delta)
//! and motor_state as f64. Sizes are printed once to stderr as bytes per point.

use std::collections::BTreeMap;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use lodestone_engine::codec::{decode_chunk_into, encode_chunk};
use lodestone_engine::{Point, Value, ValueType};
use lodestone_suite::plant;
use tsz::stream::{BufferedReader, BufferedWriter};
use tsz::{DataPoint, Decode, Encode, StdDecoder, StdEncoder};

const CHUNK: usize = 2048;
const KINDS: [&str; 6] = [
    "temperature",
    "pressure",
    "vibration",
    "motor_state",
    "energy_kwh",
    "flow",
];

/// Per signal kind: its value type and its series, each cut into chunks of points.
struct Kind {
    name: &'static str,
    vt: ValueType,
    chunks: Vec<Vec<Point>>,
}

impl Kind {
    fn points(&self) -> usize {
        self.chunks.iter().map(Vec::len).sum()
    }
}

fn load() -> Vec<Kind> {
    let data = plant::load(4, 21_600).expect("generate plant data (needs python3 and ../shared)");
    let mut series: BTreeMap<(String, String), Vec<Point>> = BTreeMap::new();
    for p in data {
        let value = match p.value {
            Ok(f) => Value::F64(f),
            Err(i) => Value::I64(i),
        };
        series
            .entry((p.measurement, p.tags))
            .or_default()
            .push(Point::new(p.ts, value));
    }
    KINDS
        .iter()
        .map(|&name| {
            let mut chunks = Vec::new();
            let mut vt = ValueType::F64;
            for ((m, _), pts) in &series {
                if m == name {
                    vt = pts[0].value.value_type();
                    chunks.extend(pts.chunks(CHUNK).map(<[Point]>::to_vec));
                }
            }
            Kind { name, vt, chunks }
        })
        .collect()
}

fn as_f64(v: Value) -> f64 {
    match v {
        Value::F64(f) => f,
        Value::I64(i) => i as f64,
        Value::Bool(b) => b as u8 as f64,
    }
}

fn tsz_encode(chunk: &[Point]) -> Box<[u8]> {
    let start = (chunk[0].ts / 1_000_000) as u64;
    let mut e = StdEncoder::new(start, BufferedWriter::new());
    for p in chunk {
        e.encode(DataPoint::new((p.ts / 1_000_000) as u64, as_f64(p.value)));
    }
    e.close()
}

fn tsz_decode(bytes: &[u8], out: &mut Vec<DataPoint>) {
    let mut d = StdDecoder::new(BufferedReader::new(bytes.into()));
    while let Ok(dp) = d.next() {
        out.push(dp);
    }
}

fn print_sizes(kinds: &[Kind]) {
    eprintln!("\nbytes per point (chunks of {CHUNK})");
    eprintln!(
        "{:<12} {:>10} {:>10} {:>10} {:>8}",
        "kind", "points", "lodestone", "tsz", "ratio"
    );
    let (mut all_l, mut all_t, mut all_n) = (0usize, 0usize, 0usize);
    for k in kinds {
        let l: usize = k
            .chunks
            .iter()
            .map(|c| encode_chunk(k.vt, c).expect("encode").len())
            .sum();
        let t: usize = k.chunks.iter().map(|c| tsz_encode(c).len()).sum();
        let n = k.points();
        eprintln!(
            "{:<12} {:>10} {:>10.3} {:>10.3} {:>8.3}",
            k.name,
            n,
            l as f64 / n as f64,
            t as f64 / n as f64,
            l as f64 / t as f64
        );
        (all_l, all_t, all_n) = (all_l + l, all_t + t, all_n + n);
    }
    let (l, t) = (all_l as f64 / all_n as f64, all_t as f64 / all_n as f64);
    eprintln!(
        "{:<12} {:>10} {:>10.3} {:>10.3} {:>8.3}\n",
        "all",
        all_n,
        l,
        t,
        l / t
    );
}

fn codec(c: &mut Criterion) {
    let kinds = load();
    print_sizes(&kinds);
    for k in &kinds {
        let mut g = c.benchmark_group(format!("codec/{}", k.name));
        g.throughput(Throughput::Elements(k.points() as u64));
        g.sample_size(20)
            .measurement_time(Duration::from_secs(3))
            .warm_up_time(Duration::from_secs(1));
        g.bench_function(BenchmarkId::new("encode", "lodestone"), |b| {
            b.iter(|| {
                k.chunks
                    .iter()
                    .map(|c| encode_chunk(k.vt, c).expect("encode").len())
                    .sum::<usize>()
            })
        });
        g.bench_function(BenchmarkId::new("encode", "tsz"), |b| {
            b.iter(|| k.chunks.iter().map(|c| tsz_encode(c).len()).sum::<usize>())
        });
        let ours: Vec<Vec<u8>> = k
            .chunks
            .iter()
            .map(|c| encode_chunk(k.vt, c).expect("encode"))
            .collect();
        let theirs: Vec<Box<[u8]>> = k.chunks.iter().map(|c| tsz_encode(c)).collect();
        g.bench_function(BenchmarkId::new("decode", "lodestone"), |b| {
            let mut out = Vec::with_capacity(CHUNK);
            b.iter(|| {
                let mut n = 0;
                for bytes in &ours {
                    out.clear();
                    decode_chunk_into(bytes, &mut out).expect("decode");
                    n += out.len();
                }
                n
            })
        });
        g.bench_function(BenchmarkId::new("decode", "tsz"), |b| {
            let mut out = Vec::with_capacity(CHUNK);
            b.iter(|| {
                let mut n = 0;
                for bytes in &theirs {
                    out.clear();
                    tsz_decode(bytes, &mut out);
                    n += out.len();
                }
                n
            })
        });
        g.finish();
    }
}

criterion_group!(benches, codec);
criterion_main!(benches);
