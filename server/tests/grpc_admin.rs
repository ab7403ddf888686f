//! Series administration over gRPC, with the server run in-process on port 0 and driven
//! through `lodestone-client`: `Delete` removes exactly the points written before it and the
//! deletion outlives a restart; `PutSeriesMetadata` declares a tag before its data and keeps
//! its type; every refusal gets the right status and a message naming the problem.

#![allow(clippy::unwrap_used)]

use lodestone_client::{Client, Error, Point, SeriesKey, Value, ValueType, WriteRequest};
use lodestone_proto::v1 as pb;
use lodestone_server::testing::InProcess;
use tonic::Code;

fn key(name: &str) -> SeriesKey {
    SeriesKey::new(name, [("site", "p1"), ("line", "l04")])
}

fn ints(points: &[Point]) -> Vec<(i64, i64)> {
    points
        .iter()
        .map(|p| match p.value {
            Some(Value::I64(v)) => (p.ts_ns, v),
            ref other => panic!("not an integer: {other:?}"),
        })
        .collect()
}

async fn write_ints(c: &Client, name: &str, pts: &[(i64, i64)]) {
    let points = pts.iter().map(|&(t, v)| Point::new(t, v)).collect();
    c.write(WriteRequest::new(1).add(key(name), points))
        .await
        .unwrap();
}

fn put(name: &str, vt: ValueType, unit: &str, description: &str) -> pb::PutSeriesMetadataRequest {
    pb::PutSeriesMetadataRequest {
        series: Some(key(name)),
        value_type: vt as i32,
        unit: unit.into(),
        description: description.into(),
    }
}

#[tokio::test]
async fn a_delete_removes_earlier_points_keeps_later_ones_and_outlives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let s = InProcess::open(dir.path()).await;
    let c = &s.client;
    write_ints(c, "t", &(0..10).map(|t| (t, 1)).collect::<Vec<_>>()).await;
    c.flush().await.unwrap(); // some points in a segment
    write_ints(c, "t", &[(10, 1), (11, 1)]).await; // some in the head
    c.delete(key("t"), 5, 11).await.unwrap();
    write_ints(c, "t", &[(7, 2)]).await; // after the delete: stays
    let want = vec![(0, 1), (1, 1), (2, 1), (3, 1), (4, 1), (7, 2), (11, 1)];
    assert_eq!(
        ints(&c.query(key("t"), i64::MIN, i64::MAX).await.unwrap()),
        want
    );
    c.delete(key("t"), 11, 12).await.unwrap();
    let latest = c.latest(key("t")).await.unwrap().unwrap();
    assert_eq!((latest.ts_ns, latest.value), (7, Some(Value::I64(2))));
    s.stop().await;

    let s = InProcess::open(dir.path()).await;
    let c = &s.client;
    let want = vec![(0, 1), (1, 1), (2, 1), (3, 1), (4, 1), (7, 2)];
    assert_eq!(
        ints(&c.query(key("t"), i64::MIN, i64::MAX).await.unwrap()),
        want
    );
    // Emptied whole, the series is still listed, with its type and no latest point.
    c.delete(key("t"), i64::MIN, i64::MAX).await.unwrap();
    let listed = c.list_series().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].value_type, ValueType::I64 as i32);
    assert!(listed[0].latest.is_none());
    assert_eq!(c.latest(key("t")).await.unwrap(), None);
    s.stop().await;
}

#[tokio::test]
async fn bad_deletes_get_the_right_status_naming_the_problem_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let s = InProcess::open(dir.path()).await;
    let c = &s.client;
    write_ints(c, "t", &[(1, 1), (2, 2)]).await;
    let e = c.delete(key("t"), 9, 3).await.unwrap_err();
    assert!(matches!(e, Error::InvalidArgument(_)), "{e:?}");
    assert!(e.to_string().contains("start 9 is after end 3"), "{e}");
    let e = c.delete(key("nope"), 0, 10).await.unwrap_err();
    assert!(matches!(e, Error::NotFound(_)), "{e:?}");
    assert!(e.to_string().contains("nope"), "{e}");
    let e = c.delete(SeriesKey::new("", []), 0, 10).await.unwrap_err();
    assert!(matches!(e, Error::InvalidArgument(_)), "{e:?}");
    assert_eq!(
        ints(&c.query(key("t"), 0, 10).await.unwrap()),
        vec![(1, 1), (2, 2)]
    );
    s.stop().await;
}

#[tokio::test]
async fn a_tag_declared_before_its_data_keeps_its_type_and_metadata_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let s = InProcess::open(dir.path()).await;
    let c = &s.client;
    let stored = c
        .put_metadata(put("flow", ValueType::F64, "m3/h", "Feed flow, line 4"))
        .await
        .unwrap();
    assert_eq!(
        (
            stored.value_type,
            stored.unit.as_str(),
            stored.description.as_str()
        ),
        (ValueType::F64 as i32, "m3/h", "Feed flow, line 4")
    );
    let listed = c.list_series().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert!(listed[0].latest.is_none());
    // A write of another type is refused, as for any series.
    let e = c
        .write(WriteRequest::new(1).add(key("flow"), vec![Point::new(1, 5i64)]))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::InvalidArgument(_)), "{e:?}");
    c.write(WriteRequest::new(2).add(key("flow"), vec![Point::new(1, 5.5)]))
        .await
        .unwrap();
    // Without a value type, the metadata of a known series is replaced.
    c.put_metadata(put("flow", ValueType::Unspecified, "l/s", "Feed flow"))
        .await
        .unwrap();
    s.stop().await;

    let s = InProcess::open(dir.path()).await;
    let got = s.client.get_metadata(key("flow")).await.unwrap();
    // Labels come back sorted by name.
    assert_eq!(
        got.series,
        Some(SeriesKey::new("flow", [("line", "l04"), ("site", "p1")]))
    );
    assert_eq!(
        (got.value_type, got.unit.as_str(), got.description.as_str()),
        (ValueType::F64 as i32, "l/s", "Feed flow")
    );
    s.stop().await;
}

#[tokio::test]
async fn bad_metadata_gets_the_right_status_naming_the_problem_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let s = InProcess::open(dir.path()).await;
    let c = &s.client;
    write_ints(c, "count", &[(1, 1)]).await;
    c.put_metadata(put("count", ValueType::I64, "1", "Bottles filled"))
        .await
        .unwrap();
    let cases = [
        (
            put("count", ValueType::Bool, "", ""),
            Code::FailedPrecondition,
            "holds i64 values; it cannot be declared as bool",
        ),
        (
            put("count", ValueType::I64, &"u".repeat(65), ""),
            Code::InvalidArgument,
            "unit is 65 bytes, at most 64 allowed",
        ),
        (
            put("count", ValueType::Unspecified, "", &"d".repeat(1025)),
            Code::InvalidArgument,
            "description is 1025 bytes, at most 1024 allowed",
        ),
        (
            pb::PutSeriesMetadataRequest {
                value_type: 7,
                ..put("count", ValueType::I64, "", "")
            },
            Code::InvalidArgument,
            "unknown value_type 7",
        ),
        (
            put("nope", ValueType::Unspecified, "m", ""),
            Code::NotFound,
            "give a value_type to declare it",
        ),
    ];
    for (req, code, needle) in cases {
        let e = c.put_metadata(req).await.unwrap_err();
        assert_eq!(e.code(), Some(code), "{needle}: {e:?}");
        assert!(e.to_string().contains(needle), "{needle}: {e}");
    }
    let e = c.get_metadata(key("nope")).await.unwrap_err();
    assert!(matches!(e, Error::NotFound(_)), "{e:?}");
    let got = c.get_metadata(key("count")).await.unwrap();
    assert_eq!(
        (got.value_type, got.unit.as_str(), got.description.as_str()),
        (ValueType::I64 as i32, "1", "Bottles filled")
    );
    assert_eq!(
        c.list_series().await.unwrap().len(),
        1,
        "nothing was declared"
    );
    s.stop().await;
}
