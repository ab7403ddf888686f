//! Chunk codec size and speed on the plant data set: Lodestone's two chunk encodings beside
//! two other compressors, in one run, on the same chunks (each series cut into chunks of
//! 2048 points, in time order).
//!
//! - `gorilla`: [`encode_chunk`], the plain Gorilla chunk (what the head and the WAL write),
//!   decoded with [`decode_chunk_into`];
//! - `lodestone`: [`compress`], what segments store: a [`packed`] chunk whose time and value
//!   codings are chosen per chunk, decoded with [`decode_chunk_into`];
//! - `tsz`: the `tsz` crate, the common Rust Gorilla implementation;
//! - `pco`: the `pco` crate (pcodec), standalone format with the default `ChunkConfig`
//!   (level 8): timestamps (i64 nanoseconds) and values (f64, or i64 for integers and
//!   booleans) compressed as two separate arrays; a chunk's size is the sum of both.
//!
//! What each keeps: gorilla and lodestone store nanosecond timestamps, the value's own type
//! (motor_state as i64) and a quality code per point; pco the same but no quality codes
//! (every point of this data set is good); tsz stores u64 timestamps and f64 values only, so
//! it gets millisecond timestamps (lossless for this data set, whose jitter is whole
//! milliseconds; nanoseconds would overflow its 14-bit first delta) and motor_state as f64.
//!
//! Once, before any timing, every chunk is encoded by every codec and decoded again:
//! gorilla, lodestone and pco must give back their input bit for bit (timestamps, value bits,
//! and for gorilla and lodestone the quality codes), tsz the millisecond timestamps and f64
//! values it was given. Then stderr gets the bytes per point of each codec per signal kind,
//! for `quantized` (every kind but vibration, whose floats are full precision) and for `all`,
//! with the ratios lodestone/gorilla and lodestone/pco; and per kind, how many lodestone
//! chunks used each plan (time and value coding, from [`packed::describe`]).
//!
//! Criterion: a group `codec/<kind>` per signal kind holding `encode/<codec>` and
//! `decode/<codec>`; one iteration codes every chunk of the kind, and throughput is in points
//! (elements/s). Decoders write into buffers reused from chunk to chunk, each in its natural
//! form: gorilla and lodestone `Point`s, tsz `DataPoint`s, pco one array of timestamps and one
//! of values.
//!
//! Run: `cargo bench --bench codec -- --noplot` (default 1 s warm-up and 3 s measurement per
//! benchmark; `--warm-up-time 1 --measurement-time 1` is quicker, and a filter such as
//! `codec/flow` runs one kind). The data set, `../shared/bench/gen_plant.py --assets A
//! --seconds S`, is generated once and cached under `target/bench-data/`; A and S come from
//! `LODESTONE_BENCH_ASSETS` (default 4) and `LODESTONE_BENCH_SECONDS` (default 21600, which
//! with 4 assets makes about 0.5 M points). pco is built with the default target features;
//! its documentation recommends `RUSTFLAGS="-C target-feature=+bmi1,+bmi2,+avx2"` for its
//! fastest decoding.

use std::collections::BTreeMap;
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{
    criterion_group, criterion_main, BenchmarkGroup, BenchmarkId, Criterion, Throughput,
};
use lodestone_engine::codec::{compress, decode_chunk, decode_chunk_into, encode_chunk, packed};
use lodestone_engine::{Point, Value, ValueType};
use lodestone_suite::plant;
use pco::data_types::Number;
use pco::standalone::{simple_compress, simple_decompress_into};
use pco::ChunkConfig;
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
/// The kinds left out of the `quantized` total: values not on a fixed step.
const UNQUANTIZED: [&str; 1] = ["vibration"];

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

/// A whole number from the environment variable `name`, or `default` when it is unset.
fn env_u32(name: &str, default: u32) -> u32 {
    match std::env::var(name) {
        Ok(s) => s
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={s:?}: expected a whole number")),
        Err(_) => default,
    }
}

fn load() -> Vec<Kind> {
    let assets = env_u32("LODESTONE_BENCH_ASSETS", 4);
    let seconds = env_u32("LODESTONE_BENCH_SECONDS", 21_600);
    let data =
        plant::load(assets, seconds).expect("generate plant data (needs python3 and ../shared)");
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

/// One codec under comparison.
trait Codec {
    /// Its name in the size table and the benchmark ids.
    const NAME: &'static str;
    /// One encoded chunk.
    type Chunk;
    /// What the decoder writes into, reused from chunk to chunk.
    type Out: Default;
    fn encode(vt: ValueType, points: &[Point]) -> Self::Chunk;
    /// Encoded bytes.
    fn size(chunk: &Self::Chunk) -> usize;
    /// Decodes `chunk` into `out` (replacing what it held); returns the points decoded.
    fn decode(chunk: &Self::Chunk, out: &mut Self::Out) -> usize;
    /// Panics unless `chunk` decodes to what this codec was given for `points`.
    fn check(points: &[Point], chunk: &Self::Chunk);
}

/// Panics unless `decoded` equals `input` bit for bit (`Point` equality is bit-exact).
fn check_points(codec: &str, input: &[Point], decoded: &[Point]) {
    assert_eq!(decoded.len(), input.len(), "{codec}: points decoded");
    if let Some(i) = input.iter().zip(decoded).position(|(a, b)| a != b) {
        panic!(
            "{codec}: point {i} decoded as {:?}, was {:?}",
            decoded[i], input[i]
        );
    }
}

/// Decodes a Lodestone chunk of either encoding.
fn decode_lodestone(bytes: &[u8], out: &mut Vec<Point>) -> usize {
    out.clear();
    decode_chunk_into(bytes, out).expect("decode");
    out.len()
}

/// Lodestone's own chunks: Gorilla (`PACKED = false`) or what segments store (`true`).
struct Ours<const PACKED: bool>;
type Gorilla = Ours<false>;
type Lodestone = Ours<true>;

impl<const PACKED: bool> Codec for Ours<PACKED> {
    const NAME: &'static str = if PACKED { "lodestone" } else { "gorilla" };
    type Chunk = Vec<u8>;
    type Out = Vec<Point>;
    fn encode(vt: ValueType, points: &[Point]) -> Vec<u8> {
        let chunk = if PACKED {
            compress(vt, points)
        } else {
            encode_chunk(vt, points)
        };
        chunk.expect("encode")
    }
    fn size(chunk: &Vec<u8>) -> usize {
        chunk.len()
    }
    fn decode(chunk: &Vec<u8>, out: &mut Vec<Point>) -> usize {
        decode_lodestone(chunk, out)
    }
    fn check(points: &[Point], chunk: &Vec<u8>) {
        check_points(Self::NAME, points, &decode_chunk(chunk).expect("decode"));
    }
}

/// A value as tsz takes it.
fn as_f64(v: Value) -> f64 {
    match v {
        Value::F64(f) => f,
        Value::I64(i) => i as f64,
        Value::Bool(b) => b as u8 as f64,
    }
}

/// A timestamp as tsz takes it: milliseconds.
fn as_millis(ts: i64) -> u64 {
    (ts / 1_000_000) as u64
}

struct Tsz;

impl Codec for Tsz {
    const NAME: &'static str = "tsz";
    type Chunk = Box<[u8]>;
    type Out = Vec<DataPoint>;
    fn encode(_: ValueType, points: &[Point]) -> Box<[u8]> {
        let mut e = StdEncoder::new(as_millis(points[0].ts), BufferedWriter::new());
        for p in points {
            e.encode(DataPoint::new(as_millis(p.ts), as_f64(p.value)));
        }
        e.close()
    }
    fn size(chunk: &Box<[u8]>) -> usize {
        chunk.len()
    }
    fn decode(chunk: &Box<[u8]>, out: &mut Vec<DataPoint>) -> usize {
        out.clear();
        let mut d = StdDecoder::new(BufferedReader::new(chunk.clone()));
        while let Ok(dp) = d.next() {
            out.push(dp);
        }
        out.len()
    }
    fn check(points: &[Point], chunk: &Box<[u8]>) {
        let mut out = Vec::new();
        Self::decode(chunk, &mut out);
        assert_eq!(out.len(), points.len(), "tsz: points decoded");
        for (i, (p, dp)) in points.iter().zip(&out).enumerate() {
            let given = (as_millis(p.ts), as_f64(p.value).to_bits());
            let got = (dp.get_time(), dp.get_value().to_bits());
            assert_eq!(got, given, "tsz: point {i} (ms, f64 bits)");
        }
    }
}

/// A chunk as two pco standalone files: timestamps, and values in their own type.
struct PcoChunk {
    vt: ValueType,
    len: usize,
    ts: Vec<u8>,
    values: Vec<u8>,
}

/// pco's decoded arrays; the value array used is the chunk's value type's.
#[derive(Default)]
struct PcoOut {
    ts: Vec<i64>,
    floats: Vec<f64>,
    ints: Vec<i64>,
}

fn pco_compress<T: Number>(nums: &[T]) -> Vec<u8> {
    simple_compress(nums, &ChunkConfig::default()).expect("pco compress")
}

/// Decodes `len` numbers into the start of `out`, growing it if needed.
fn pco_decompress<T: Number>(bytes: &[u8], len: usize, out: &mut Vec<T>) {
    if out.len() < len {
        out.resize(len, T::default());
    }
    let progress = simple_decompress_into(bytes, &mut out[..len]).expect("pco decompress");
    assert_eq!(progress.n_processed, len, "pco: numbers decoded");
}

struct Pco;

impl Codec for Pco {
    const NAME: &'static str = "pco";
    type Chunk = PcoChunk;
    type Out = PcoOut;
    fn encode(vt: ValueType, points: &[Point]) -> PcoChunk {
        let ts: Vec<i64> = points.iter().map(|p| p.ts).collect();
        let bits = points.iter().map(|p| p.value.to_bits());
        let values = match vt {
            ValueType::F64 => pco_compress(&bits.map(f64::from_bits).collect::<Vec<_>>()),
            ValueType::I64 | ValueType::Bool => {
                pco_compress(&bits.map(|b| b as i64).collect::<Vec<_>>())
            }
        };
        PcoChunk {
            vt,
            len: points.len(),
            ts: pco_compress(&ts),
            values,
        }
    }
    fn size(chunk: &PcoChunk) -> usize {
        chunk.ts.len() + chunk.values.len()
    }
    fn decode(chunk: &PcoChunk, out: &mut PcoOut) -> usize {
        pco_decompress(&chunk.ts, chunk.len, &mut out.ts);
        match chunk.vt {
            ValueType::F64 => pco_decompress(&chunk.values, chunk.len, &mut out.floats),
            ValueType::I64 | ValueType::Bool => {
                pco_decompress(&chunk.values, chunk.len, &mut out.ints)
            }
        }
        chunk.len
    }
    fn check(points: &[Point], chunk: &PcoChunk) {
        let mut out = PcoOut::default();
        let n = Self::decode(chunk, &mut out);
        let bits: Vec<u64> = match chunk.vt {
            ValueType::F64 => out.floats[..n].iter().map(|f| f.to_bits()).collect(),
            ValueType::I64 | ValueType::Bool => out.ints[..n].iter().map(|&i| i as u64).collect(),
        };
        let decoded: Vec<Point> = out.ts[..n]
            .iter()
            .zip(bits)
            .map(|(&ts, b)| Point::new(ts, Value::from_bits(chunk.vt, b)))
            .collect();
        check_points(Self::NAME, points, &decoded);
    }
}

/// Encodes every chunk of `k` with `C` and checks that it decodes back; returns the chunks.
fn encode_checked<C: Codec>(k: &Kind) -> Vec<C::Chunk> {
    k.chunks
        .iter()
        .map(|points| {
            let chunk = C::encode(k.vt, points);
            C::check(points, &chunk);
            chunk
        })
        .collect()
}

fn total_size<C: Codec>(chunks: &[C::Chunk]) -> usize {
    chunks.iter().map(C::size).sum()
}

/// Encoded bytes of one kind (or a total), per codec in table order.
#[derive(Default, Clone, Copy)]
struct Sizes {
    points: usize,
    gorilla: usize,
    lodestone: usize,
    tsz: usize,
    pco: usize,
}

impl Sizes {
    fn add(&mut self, o: &Sizes) {
        self.points += o.points;
        self.gorilla += o.gorilla;
        self.lodestone += o.lodestone;
        self.tsz += o.tsz;
        self.pco += o.pco;
    }

    fn print(&self, name: &str) {
        let per_point = |bytes: usize| bytes as f64 / self.points as f64;
        let ratio = |a: usize, b: usize| a as f64 / b as f64;
        eprintln!(
            "{name:<12} {:>9} {:>9.3} {:>9.3} {:>9.3} {:>9.3} {:>9.3} {:>9.3}",
            self.points,
            per_point(self.gorilla),
            per_point(self.lodestone),
            per_point(self.tsz),
            per_point(self.pco),
            ratio(self.lodestone, self.gorilla),
            ratio(self.lodestone, self.pco),
        );
    }
}

/// How many chunks used each packed plan, by name.
fn plans(chunks: &[Vec<u8>]) -> BTreeMap<String, usize> {
    let mut count = BTreeMap::new();
    for bytes in chunks {
        let plan = packed::describe(bytes).expect("describe a lodestone chunk");
        *count
            .entry(format!("{:?}/{:?}", plan.time, plan.value))
            .or_insert(0) += 1;
    }
    count
}

/// Encodes and checks every chunk with every codec, then prints the size table and the
/// lodestone plans to stderr.
fn check_and_print_sizes(kinds: &[Kind]) {
    let mut rows = Vec::new();
    let mut plan_lines = Vec::new();
    for k in kinds {
        let lodestone = encode_checked::<Lodestone>(k);
        let plans: Vec<String> = plans(&lodestone)
            .into_iter()
            .map(|(plan, n)| format!("{plan} {n}"))
            .collect();
        plan_lines.push(format!("{:<12} {}", k.name, plans.join(", ")));
        rows.push((
            k.name,
            Sizes {
                points: k.points(),
                gorilla: total_size::<Gorilla>(&encode_checked::<Gorilla>(k)),
                lodestone: total_size::<Lodestone>(&lodestone),
                tsz: total_size::<Tsz>(&encode_checked::<Tsz>(k)),
                pco: total_size::<Pco>(&encode_checked::<Pco>(k)),
            },
        ));
    }
    eprintln!("\nbytes per point (chunks of {CHUNK}; every chunk checked to decode back)");
    eprintln!(
        "{:<12} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "kind", "points", "gorilla", "lodestone", "tsz", "pco", "lod/gor", "lod/pco"
    );
    let (mut quantized, mut all) = (Sizes::default(), Sizes::default());
    for (name, s) in &rows {
        s.print(name);
        if !UNQUANTIZED.contains(name) {
            quantized.add(s);
        }
        all.add(s);
    }
    quantized.print("quantized");
    all.print("all");
    eprintln!("\nlodestone chunks per plan (time/value coding)");
    for line in plan_lines {
        eprintln!("{line}");
    }
    eprintln!();
}

/// Benchmarks `C` encoding and decoding every chunk of `k`.
fn bench<C: Codec>(g: &mut BenchmarkGroup<'_, WallTime>, k: &Kind) {
    g.bench_function(BenchmarkId::new("encode", C::NAME), |b| {
        b.iter(|| {
            k.chunks
                .iter()
                .map(|points| C::size(&C::encode(k.vt, points)))
                .sum::<usize>()
        })
    });
    let chunks: Vec<C::Chunk> = k.chunks.iter().map(|p| C::encode(k.vt, p)).collect();
    g.bench_function(BenchmarkId::new("decode", C::NAME), |b| {
        let mut out = C::Out::default();
        b.iter(|| {
            chunks
                .iter()
                .map(|chunk| C::decode(chunk, &mut out))
                .sum::<usize>()
        })
    });
}

fn codec(c: &mut Criterion) {
    let kinds = load();
    check_and_print_sizes(&kinds);
    for k in &kinds {
        let mut g = c.benchmark_group(format!("codec/{}", k.name));
        g.throughput(Throughput::Elements(k.points() as u64));
        bench::<Gorilla>(&mut g, k);
        bench::<Lodestone>(&mut g, k);
        bench::<Tsz>(&mut g, k);
        bench::<Pco>(&mut g, k);
        g.finish();
    }
}

// Settings here, not on the groups, so that `--warm-up-time` and `--measurement-time` on
// the command line override them.
criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1));
    targets = codec
}
criterion_main!(benches);
