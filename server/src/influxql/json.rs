//! The InfluxDB v1 JSON answer, written straight into one byte buffer:
//!
//! ```text
//! {"results":[{"statement_id":0,"series":[{"name":"temperature","tags":{"asset":"a0003"},
//!   "columns":["time","mean"],"values":[[1767225600000000000,21.4],...]}]}]}
//! ```
//!
//! Floats use the shortest text that parses back to the same bits (serde_json's formatter);
//! NaN and ±infinity, which JSON cannot hold, are written as `null`. Integers stay integers,
//! booleans `true`/`false`. Times are integers in the `epoch` unit when one was asked for
//! (truncated toward zero, as Go divides), otherwise RFC 3339 strings.

use lodestone_engine::{Point, Value};
use serde::Serialize;

use super::result::{Rows, StatementResult, Table};
use super::time::write_rfc3339;

/// Writes any serializable scalar (a string, an integer, a float) with serde_json's escaping
/// and number formatting. Writing into a `Vec` cannot fail, so the result is dropped.
fn scalar<T: Serialize + ?Sized>(out: &mut Vec<u8>, v: &T) {
    let _infallible = v.serialize(&mut serde_json::Serializer::new(&mut *out));
}

/// `{"error":"..."}`: the whole request failed (missing `q`, syntax error).
pub fn error_body(message: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + 16);
    out.extend_from_slice(b"{\"error\":");
    scalar(&mut out, message);
    out.push(b'}');
    out
}

/// The answer to a whole request: one result per statement. `epoch`: nanoseconds per
/// output time unit, or `None` for RFC 3339 strings.
pub fn write_results(out: &mut Vec<u8>, results: &[StatementResult], epoch: Option<i64>) {
    out.extend_from_slice(b"{\"results\":[");
    for (id, r) in results.iter().enumerate() {
        if id > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"statement_id\":");
        scalar(out, &id);
        match r {
            Err(e) => {
                out.extend_from_slice(b",\"error\":");
                scalar(out, e.as_str());
            }
            Ok(tables) if tables.is_empty() => {}
            Ok(tables) => {
                out.extend_from_slice(b",\"series\":[");
                for (i, t) in tables.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    write_table(out, t, epoch);
                }
                out.push(b']');
            }
        }
        out.push(b'}');
    }
    out.extend_from_slice(b"]}");
}

fn write_table(out: &mut Vec<u8>, t: &Table, epoch: Option<i64>) {
    // An unnamed result (`SHOW SERIES`) has no "name", as in InfluxDB.
    out.push(b'{');
    if !t.name.is_empty() {
        out.extend_from_slice(b"\"name\":");
        scalar(out, t.name.as_str());
        out.push(b',');
    }
    if !t.tags.is_empty() {
        out.extend_from_slice(b"\"tags\":{");
        for (i, (k, v)) in t.tags.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            scalar(out, k.as_str());
            out.push(b':');
            scalar(out, v.as_str());
        }
        out.extend_from_slice(b"},");
    }
    out.extend_from_slice(b"\"columns\":[");
    for (i, c) in t.columns.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        scalar(out, c.as_str());
    }
    out.extend_from_slice(b"],\"values\":[");
    match &t.rows {
        Rows::Points(points) => write_points(out, points, epoch),
        Rows::Grid { times, cells } => {
            let width = cells.len().checked_div(times.len()).unwrap_or(0);
            for (r, &ts) in times.iter().enumerate() {
                if r > 0 {
                    out.push(b',');
                }
                out.push(b'[');
                write_time(out, ts, epoch);
                for cell in &cells[r * width..(r + 1) * width] {
                    out.push(b',');
                    match cell {
                        Some(v) => write_value(out, *v),
                        None => out.extend_from_slice(b"null"),
                    }
                }
                out.push(b']');
            }
        }
        Rows::Names(names) => {
            for (i, n) in names.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.push(b'[');
                scalar(out, n.as_str());
                out.push(b']');
            }
        }
        Rows::Pairs(pairs) => {
            for (i, (a, b)) in pairs.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.push(b'[');
                scalar(out, a.as_str());
                out.push(b',');
                scalar(out, b.as_str());
                out.push(b']');
            }
        }
    }
    out.extend_from_slice(b"]}");
}

fn write_points(out: &mut Vec<u8>, points: &[Point], epoch: Option<i64>) {
    // About 32 bytes a row: reserve once rather than grow a few dozen times.
    out.reserve(points.len() * 32);
    for (i, p) in points.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.push(b'[');
        write_time(out, p.ts, epoch);
        out.push(b',');
        write_value(out, p.value);
        out.push(b']');
    }
}

fn write_time(out: &mut Vec<u8>, ts: i64, epoch: Option<i64>) {
    match epoch {
        Some(unit) => scalar(out, &(ts / unit)),
        None => {
            out.push(b'"');
            write_rfc3339(out, ts);
            out.push(b'"');
        }
    }
}

fn write_value(out: &mut Vec<u8>, v: Value) {
    match v {
        // serde_json writes non-finite floats as null.
        Value::F64(f) => scalar(out, &f),
        Value::I64(i) => scalar(out, &i),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(results: &[StatementResult], epoch: Option<i64>) -> String {
        let mut out = Vec::new();
        write_results(&mut out, results, epoch);
        String::from_utf8(out).unwrap()
    }

    fn table(tags: Vec<(String, String)>, rows: Rows) -> Table {
        Table {
            name: "temperature".into(),
            tags,
            columns: vec!["time".into(), "value".into()],
            rows,
        }
    }

    #[test]
    fn shape_matches_influxdb_v1() {
        let t = table(
            vec![("asset".into(), "a\"1".into())],
            Rows::Points(vec![Point::new(
                1_767_225_600_000_000_000,
                Value::F64(21.4),
            )]),
        );
        assert_eq!(
            text(&[Ok(vec![t]), Ok(vec![]), Err("boom".into())], Some(1)),
            r#"{"results":[{"statement_id":0,"series":[{"name":"temperature","tags":{"asset":"a\"1"},"columns":["time","value"],"values":[[1767225600000000000,21.4]]}]},{"statement_id":1},{"statement_id":2,"error":"boom"}]}"#
        );
    }

    #[test]
    fn values_keep_their_type_and_non_finite_floats_are_null() {
        let t = table(
            Vec::new(),
            Rows::Grid {
                times: vec![0, 1_500_000_000],
                cells: vec![
                    Some(Value::I64(-7)),
                    Some(Value::Bool(true)),
                    None,
                    Some(Value::F64(f64::NAN)),
                ],
            },
        );
        let mut t = t;
        t.columns.push("b".into());
        assert_eq!(
            text(&[Ok(vec![t])], None),
            r#"{"results":[{"statement_id":0,"series":[{"name":"temperature","columns":["time","value","b"],"values":[["1970-01-01T00:00:00Z",-7,true],["1970-01-01T00:00:01.5Z",null,null]]}]}]}"#
        );
    }

    #[test]
    fn floats_round_trip_bit_exact() {
        for f in [
            0.1 + 0.2,
            1e-300,
            -0.0,
            f64::MAX,
            f64::MIN_POSITIVE,
            5e-324,
            21.4,
        ] {
            let mut out = Vec::new();
            write_value(&mut out, Value::F64(f));
            let back: f64 = std::str::from_utf8(&out).unwrap().parse().unwrap();
            assert_eq!(back.to_bits(), f.to_bits(), "{f}");
        }
    }

    #[test]
    fn epoch_units_divide_toward_zero() {
        let mut out = Vec::new();
        write_time(&mut out, 1_999_999_999, Some(1_000_000_000));
        out.push(b' ');
        write_time(&mut out, -1_500, Some(1_000));
        out.push(b' ');
        write_time(&mut out, 7_200_000_000_000, Some(3_600_000_000_000));
        assert_eq!(String::from_utf8(out).unwrap(), "1 -1 2");
    }

    #[test]
    fn error_body_escapes_the_message() {
        assert_eq!(
            error_body("bad \"q\""),
            br#"{"error":"bad \"q\""}"#.to_vec()
        );
    }
}
