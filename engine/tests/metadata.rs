//! Series metadata (unit, description) and declaring a series before its first point: what
//! is accepted, what is refused with which error, and that it survives WAL replay, flushes
//! and reopens.

#![allow(clippy::unwrap_used)]

use lodestone_engine::metadata::{MAX_DESCRIPTION_LEN, MAX_UNIT_LEN};
use lodestone_engine::{
    Engine, Error, Options, Point, SeriesKey, SeriesMetadata, Value, ValueType, WriteBatch,
};

fn key(name: &str) -> SeriesKey {
    SeriesKey::new(name, [("site", "p1")]).unwrap()
}

fn write_f64(e: &Engine, k: &SeriesKey, t: i64) -> lodestone_engine::Result<()> {
    let mut b = WriteBatch::new();
    b.push(k, Point::new(t, Value::F64(t as f64)));
    e.write(&b)
}

fn meta(unit: &str, description: &str) -> SeriesMetadata {
    SeriesMetadata::new(unit, description)
}

#[test]
fn metadata_of_a_written_series_survives_replay_flush_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let k = key("temperature");
    let keep_wal = Options {
        flush_on_close: false,
        ..Options::default()
    };
    {
        let e = Engine::open(dir.path(), keep_wal.clone()).unwrap();
        write_f64(&e, &k, 1).unwrap();
        assert_eq!(e.metadata(&k).unwrap(), None);
        e.set_metadata(&k, meta("degC", "Reactor 2 jacket"))
            .unwrap();
        assert_eq!(
            e.metadata(&k).unwrap(),
            Some(meta("degC", "Reactor 2 jacket"))
        );
    }
    // From the WAL.
    let e = Engine::open(dir.path(), keep_wal.clone()).unwrap();
    assert_eq!(
        e.metadata(&k).unwrap(),
        Some(meta("degC", "Reactor 2 jacket"))
    );
    e.flush().unwrap();
    assert!(dir.path().join("metadata").exists());
    // The file says v1; the WAL (not flushed) says v2, which wins.
    e.set_metadata(&k, meta("K", "Reactor 2 jacket, kelvin"))
        .unwrap();
    drop(e);
    let e = Engine::open(dir.path(), Options::default()).unwrap();
    assert_eq!(
        e.metadata(&k).unwrap(),
        Some(meta("K", "Reactor 2 jacket, kelvin"))
    );
    e.close().unwrap();
    // From the metadata file alone.
    let e = Engine::open(dir.path(), Options::default()).unwrap();
    assert_eq!(
        e.metadata(&k).unwrap(),
        Some(meta("K", "Reactor 2 jacket, kelvin"))
    );
    assert_eq!(e.value_type(&k).unwrap(), ValueType::F64);
}

#[test]
fn a_series_declared_before_its_data_keeps_its_type_and_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let k = key("pump_running");
    let e = Engine::open(dir.path(), Options::default()).unwrap();
    e.declare_series(&k, ValueType::Bool, meta("", "Pump 3 running"))
        .unwrap();
    let listed = e.list_series();
    assert_eq!(
        (&listed[0].key, listed[0].value_type, listed[0].latest),
        (&k, ValueType::Bool, None)
    );
    assert_eq!(e.latest(&k).unwrap(), None);
    assert!(e.read_range(&k, 0, 10).unwrap().is_empty());
    e.close().unwrap();
    // Nothing but the metadata file names the series now.
    let e = Engine::open(dir.path(), Options::default()).unwrap();
    assert_eq!(e.value_type(&k).unwrap(), ValueType::Bool);
    let err = write_f64(&e, &k, 1).unwrap_err();
    assert!(
        matches!(
            err,
            Error::TypeMismatch {
                expected: ValueType::Bool,
                got: ValueType::F64,
                ..
            }
        ),
        "{err}"
    );
    let mut b = WriteBatch::new();
    b.push(&k, Point::new(5, Value::Bool(true)));
    e.write(&b).unwrap();
    assert_eq!(
        e.latest(&k).unwrap(),
        Some(Point::new(5, Value::Bool(true)))
    );
    assert_eq!(e.metadata(&k).unwrap(), Some(meta("", "Pump 3 running")));
}

#[test]
fn declaring_a_known_series_again_updates_its_metadata_but_never_its_type() {
    let dir = tempfile::tempdir().unwrap();
    let e = Engine::open(dir.path(), Options::default()).unwrap();
    let k = key("flow");
    write_f64(&e, &k, 1).unwrap();
    e.declare_series(&k, ValueType::F64, meta("m3/h", "Feed"))
        .unwrap();
    assert_eq!(e.metadata(&k).unwrap(), Some(meta("m3/h", "Feed")));
    let err = e
        .declare_series(&k, ValueType::I64, meta("m3/h", "Feed"))
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::TypeConflict {
                existing: ValueType::F64,
                requested: ValueType::I64,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("flow"), "{err}");
    assert_eq!(e.metadata(&k).unwrap(), Some(meta("m3/h", "Feed")));
    assert_eq!(e.read_range(&k, 0, 10).unwrap().len(), 1);
}

#[test]
fn metadata_beyond_its_limits_is_refused_naming_the_limit_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let e = Engine::open(dir.path(), Options::default()).unwrap();
    let k = key("level");
    write_f64(&e, &k, 1).unwrap();
    e.set_metadata(&k, meta("m", "Tank level")).unwrap();
    let at_limit = meta(&"u".repeat(MAX_UNIT_LEN), &"d".repeat(MAX_DESCRIPTION_LEN));
    e.set_metadata(&k, at_limit.clone()).unwrap();
    for (bad, needle) in [
        (meta(&"u".repeat(MAX_UNIT_LEN + 1), ""), "at most 64"),
        (
            meta("", &"d".repeat(MAX_DESCRIPTION_LEN + 1)),
            "at most 1024",
        ),
        (meta("m\u{0}", ""), "control character"),
    ] {
        let err = e.set_metadata(&k, bad.clone()).unwrap_err();
        assert!(matches!(err, Error::InvalidMetadata { .. }), "{err}");
        assert!(err.to_string().contains(needle), "{err}");
        let err = e
            .declare_series(&key("new"), ValueType::I64, bad)
            .unwrap_err();
        assert!(matches!(err, Error::InvalidMetadata { .. }), "{err}");
    }
    assert_eq!(e.metadata(&k).unwrap(), Some(at_limit));
    assert_eq!(
        e.list_series().len(),
        1,
        "a refused declaration registers nothing"
    );
}

#[test]
fn metadata_of_an_unknown_series_is_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let e = Engine::open(dir.path(), Options::default()).unwrap();
    let k = key("nope");
    assert!(matches!(e.metadata(&k), Err(Error::UnknownSeries { .. })));
    assert!(matches!(e.value_type(&k), Err(Error::UnknownSeries { .. })));
    let err = e.set_metadata(&k, meta("m", "")).unwrap_err();
    assert!(matches!(err, Error::UnknownSeries { .. }), "{err}");
    assert!(e.list_series().is_empty());
}

#[test]
fn a_damaged_metadata_file_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let k = key("t");
    let e = Engine::open(dir.path(), Options::default()).unwrap();
    e.declare_series(&k, ValueType::F64, meta("bar", "Header pressure"))
        .unwrap();
    e.close().unwrap();
    let path = dir.path().join("metadata");
    let good = std::fs::read(&path).unwrap();
    for at in [0, 8, 20, 33, good.len() - 2] {
        let mut bad = good.clone();
        bad[at] ^= 0x04;
        std::fs::write(&path, &bad).unwrap();
        let err = Engine::open(dir.path(), Options::default()).unwrap_err();
        assert!(matches!(err, Error::Corrupt { .. }), "byte {at}: {err}");
        assert!(err.to_string().contains("metadata"), "byte {at}: {err}");
    }
    std::fs::write(&path, &good[..good.len() - 1]).unwrap();
    let err = Engine::open(dir.path(), Options::default()).unwrap_err();
    assert!(err.to_string().contains("metadata"), "{err}");
    std::fs::write(&path, &good).unwrap();
    let e = Engine::open(dir.path(), Options::default()).unwrap();
    assert_eq!(
        e.metadata(&k).unwrap(),
        Some(meta("bar", "Header pressure"))
    );
}
