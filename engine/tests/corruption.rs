//! Damaged files: bytes flipped and files truncated in the WAL and in segments. Opening either
//! reports the damage naming the file, or (for a torn WAL tail) recovers the intact prefix;
//! reads never return a wrong value, and nothing panics.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use lodestone_engine::{Durability, Engine, Options, Point, SeriesKey, Value, WriteBatch};

const SERIES: usize = 4;
const BATCHES: i64 = 60;
const PER_BATCH: i64 = 25;

fn key(s: usize) -> SeriesKey {
    SeriesKey::new("sensor", [("id", format!("{s}"))]).unwrap()
}

/// The one value series `s` may hold at `ts`.
fn expected(s: usize, ts: i64) -> Value {
    let x = (ts as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (s as u64) << 56;
    match s {
        0 => Value::I64(x as i64),
        _ => Value::F64(f64::from_bits(x)),
    }
}

fn options() -> Options {
    Options {
        durability: Durability::None,
        chunk_max_points: 64,
        flush_on_close: false,
        ..Options::default()
    }
}

/// A store with two segment files and WAL records on top.
fn build(dir: &Path) {
    let engine = Engine::open(dir, options()).unwrap();
    for b in 0..BATCHES {
        let mut batch = WriteBatch::new();
        for s in 0..SERIES {
            for i in 0..PER_BATCH {
                let ts = b * PER_BATCH + i;
                batch.push(&key(s), Point::new(ts, expected(s, ts)));
            }
        }
        engine.write(&batch).unwrap();
        if b == 20 || b == 40 {
            engine.flush().unwrap();
        }
    }
    engine.close().unwrap();
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for sub in ["wal", "segments"] {
        for e in std::fs::read_dir(dir.join(sub)).unwrap() {
            let p = e.unwrap().path();
            if std::fs::metadata(&p).unwrap().len() > 0 {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn copy_dir(from: &Path, to: &Path) {
    for sub in ["wal", "segments"] {
        std::fs::create_dir_all(to.join(sub)).unwrap();
        for e in std::fs::read_dir(from.join(sub)).unwrap() {
            let p = e.unwrap().path();
            std::fs::copy(&p, to.join(sub).join(p.file_name().unwrap())).unwrap();
        }
    }
}

/// A small deterministic generator, so a failure can be replayed from its iteration number.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

#[derive(Debug)]
enum Damage {
    Flip { offset: u64, mask: u8 },
    Truncate { len: u64 },
}

fn damage(path: &Path, d: &Damage) {
    let mut bytes = std::fs::read(path).unwrap();
    match *d {
        Damage::Flip { offset, mask } => bytes[offset as usize] ^= mask,
        Damage::Truncate { len } => bytes.truncate(len as usize),
    }
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn damaged_files_are_reported_by_name_or_torn_wal_tails_recovered_never_wrong_values() {
    let pristine = tempfile::tempdir().unwrap();
    build(pristine.path());
    let targets = files(pristine.path());
    assert!(
        targets.iter().any(|p| p.extension().unwrap() == "seg"),
        "expected segment files"
    );
    assert!(
        targets.iter().any(|p| p.extension().unwrap() == "wal"),
        "expected WAL files"
    );

    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let (mut reported, mut recovered) = (0, 0);
    for iteration in 0..300 {
        let scratch = tempfile::tempdir().unwrap();
        copy_dir(pristine.path(), scratch.path());
        let original = &targets[rng.below(targets.len() as u64) as usize];
        let target = scratch
            .path()
            .join(original.strip_prefix(pristine.path()).unwrap());
        let len = std::fs::metadata(&target).unwrap().len();
        let d = if rng.below(3) == 0 {
            Damage::Truncate {
                len: rng.below(len),
            }
        } else {
            Damage::Flip {
                offset: rng.below(len),
                mask: 1 << rng.below(8),
            }
        };
        damage(&target, &d);
        let name = target.file_name().unwrap().to_string_lossy().into_owned();
        let is_wal = name.ends_with(".wal");
        let context = format!("iteration {iteration}: {d:?} in {name}");

        let engine = match Engine::open(scratch.path(), options()) {
            Ok(e) => e,
            Err(e) => {
                assert!(
                    e.to_string().contains(&name),
                    "{context}: error does not name the file: {e}"
                );
                reported += 1;
                continue;
            }
        };
        for s in 0..SERIES {
            match engine.read_range(&key(s), i64::MIN, i64::MAX) {
                Err(e) => {
                    assert!(
                        !is_wal,
                        "{context}: WAL damage must be found on open, got {e}"
                    );
                    assert!(
                        e.to_string().contains(&name),
                        "{context}: error does not name the file: {e}"
                    );
                    reported += 1;
                }
                Ok(points) => {
                    for p in &points {
                        assert_eq!(
                            p.value,
                            expected(s, p.ts),
                            "{context}: wrong value at {}",
                            p.ts
                        );
                    }
                    if !is_wal {
                        assert_eq!(
                            points.len() as i64,
                            BATCHES * PER_BATCH,
                            "{context}: silent loss"
                        );
                    } else {
                        // A torn tail loses a suffix of batches, never a hole in the middle.
                        let n = points.len() as i64;
                        assert_eq!(n % PER_BATCH, 0, "{context}: partial batch");
                        assert!(
                            points.iter().enumerate().all(|(i, p)| p.ts == i as i64),
                            "{context}: hole"
                        );
                        recovered += 1;
                    }
                }
            }
        }
        drop(engine);
    }
    assert!(
        reported > 50 && recovered > 10,
        "too few cases of each kind: {reported} reported, {recovered} recovered"
    );
}

#[test]
fn a_corrupt_record_in_the_middle_of_the_wal_is_an_error_naming_file_and_offset() {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path());
    let wal = files(dir.path())
        .into_iter()
        .find(|p| p.extension().unwrap() == "wal")
        .unwrap();
    // Byte 32 + 12 is the first payload byte of the first record: damage, with valid records after.
    damage(
        &wal,
        &Damage::Flip {
            offset: 44,
            mask: 0x10,
        },
    );
    let err = Engine::open(dir.path(), options()).unwrap_err().to_string();
    assert!(
        err.contains(&*wal.file_name().unwrap().to_string_lossy()),
        "{err}"
    );
    assert!(err.contains("offset 32"), "{err}");
    assert!(err.contains("followed by a valid record"), "{err}");
}

#[test]
fn a_torn_wal_tail_is_cut_and_the_store_reopens_clean() {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path());
    let wal = files(dir.path())
        .into_iter()
        .rfind(|p| p.extension().unwrap() == "wal")
        .unwrap();
    let len = std::fs::metadata(&wal).unwrap().len();
    damage(&wal, &Damage::Truncate { len: len - 7 });
    let engine = Engine::open(dir.path(), options()).unwrap();
    let n = engine
        .read_range(&key(1), i64::MIN, i64::MAX)
        .unwrap()
        .len() as i64;
    assert_eq!(
        n,
        (BATCHES - 1) * PER_BATCH,
        "exactly the torn last batch is lost"
    );
    drop(engine);
    let engine = Engine::open(dir.path(), options()).unwrap();
    assert_eq!(
        engine
            .read_range(&key(1), i64::MIN, i64::MAX)
            .unwrap()
            .len() as i64,
        n
    );
}
