//! The gRPC service, run in-process on port 0 and driven through `lodestone-client`: writes
//! come back bit-exact, write streams are acknowledged in order, bad input gets the right
//! status and a message naming the problem and changes nothing, standard health and
//! reflection answer, and shutdown ends open streams and flushes.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use lodestone_client::{Error, Point, SeriesKey, Value, ValueType, WriteRequest};
use lodestone_engine::{Engine, Options};
use lodestone_server::testing::InProcess;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

fn key(name: &str) -> SeriesKey {
    SeriesKey::new(name, [("site", "p1"), ("line", "l04")])
}

/// What must survive bit for bit: timestamp, value bits and type, quality.
fn bits(p: &Point) -> (i64, &'static str, u64, u32) {
    let (t, b) = match p.value {
        Some(Value::F64(v)) => ("f64", v.to_bits()),
        Some(Value::I64(v)) => ("i64", v as u64),
        Some(Value::Bool(v)) => ("bool", v as u64),
        None => ("none", 0),
    };
    (p.ts_ns, t, b, p.quality)
}

fn all_bits(points: &[Point]) -> Vec<(i64, &'static str, u64, u32)> {
    points.iter().map(bits).collect()
}

#[tokio::test]
async fn points_of_every_type_come_back_bit_exact() {
    let dir = tempfile::tempdir().unwrap();
    let s = InProcess::open(dir.path()).await;
    let floats = vec![
        Point::new(1, f64::from_bits(0x7ff8_0000_dead_beef)), // NaN with a payload
        Point::with_quality(2, -0.0, 0x4000_0000),            // uncertain
        Point::with_quality(3, f64::MIN_POSITIVE / 2.0, 0x8000_0000), // subnormal, bad
        Point::new(4, f64::NEG_INFINITY),
        Point::with_quality(5, 21.4, 0x8001_0000), // bad with a sub-code
    ];
    let ints = vec![
        Point::new(-5, i64::MIN),
        Point::new(0, -1i64),
        Point::with_quality(7, i64::MAX, 0x4000_0001),
    ];
    // More than two query pages, so paging is exercised too.
    let bools: Vec<Point> = (0..25_000)
        .map(|i| Point::with_quality(i, i % 3 == 0, if i % 7 == 0 { 0x8000_0000 } else { 0 }))
        .collect();
    let batch = WriteRequest::new(9)
        .add(key("f"), floats.clone())
        .add(key("i"), ints.clone())
        .add(key("b"), bools.clone());
    let ack = s.client.write(batch).await.unwrap();
    assert_eq!((ack.sequence, ack.points), (9, 25_008));

    for (name, want) in [("f", &floats), ("i", &ints), ("b", &bools)] {
        let got = s.client.query(key(name), i64::MIN, i64::MAX).await.unwrap();
        assert_eq!(all_bits(&got), all_bits(want), "series {name}");
    }
    // [start, end): 2 is in, 5 is out.
    let window = s.client.query(key("f"), 2, 5).await.unwrap();
    assert_eq!(all_bits(&window), all_bits(&floats[1..4]));

    let latest = s.client.latest(key("i")).await.unwrap().unwrap();
    assert_eq!(bits(&latest), bits(&ints[2]));
    let latest = s.client.latest(key("f")).await.unwrap().unwrap();
    assert_eq!(bits(&latest), bits(&floats[4]));

    let listed = s.client.list_series().await.unwrap();
    let summary: Vec<(String, i32, Option<i64>)> = listed
        .iter()
        .map(|info| {
            let k = info.series.as_ref().unwrap();
            assert_eq!(k.labels.len(), 2, "labels kept: {k:?}");
            (
                k.name.clone(),
                info.value_type,
                info.latest.as_ref().map(|p| p.ts_ns),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("b".to_string(), ValueType::Bool as i32, Some(24_999)),
            ("f".to_string(), ValueType::F64 as i32, Some(5)),
            ("i".to_string(), ValueType::I64 as i32, Some(7)),
        ]
    );
    let stats = s.client.stats().await.unwrap();
    assert_eq!(
        (stats.series, stats.points_written, stats.batches_written),
        (3, 25_008, 1)
    );
    assert!(stats.wal_fsyncs >= 1, "{stats:?}");
    s.stop().await;
}

#[tokio::test]
async fn a_write_stream_is_acknowledged_batch_by_batch_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let s = InProcess::open(dir.path()).await;
    let batches: Vec<WriteRequest> = (0..200u64)
        .map(|n| {
            WriteRequest::new(1000 + n).add(key("stream"), vec![Point::new(n as i64, n as f64)])
        })
        .collect();
    let mut acks = s
        .client
        .write_stream(tokio_stream::iter(batches))
        .await
        .unwrap();
    let mut sequences = Vec::new();
    while let Some(ack) = acks.next_ack().await.unwrap() {
        assert_eq!(ack.points, 1);
        sequences.push(ack.sequence);
    }
    assert_eq!(sequences, (1000..1200).collect::<Vec<_>>());
    let points = s.client.query(key("stream"), 0, 1000).await.unwrap();
    assert_eq!(points.len(), 200);
    s.stop().await;
}

#[tokio::test]
async fn a_bad_batch_ends_the_stream_after_acknowledging_the_ones_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let s = InProcess::open(dir.path()).await;
    let batches = vec![
        WriteRequest::new(1).add(key("s"), vec![Point::new(1, 1.0)]),
        WriteRequest::new(2).add(key("s"), vec![Point::new(2, 2i64)]),
        WriteRequest::new(3).add(key("s"), vec![Point::new(3, 3.0)]),
    ];
    let mut acks = s
        .client
        .write_stream(tokio_stream::iter(batches))
        .await
        .unwrap();
    assert_eq!(acks.next_ack().await.unwrap().unwrap().sequence, 1);
    let e = acks.next_ack().await.unwrap_err();
    assert!(matches!(e, Error::InvalidArgument(_)), "{e:?}");
    assert!(e.to_string().contains("has type i64"), "{e}");
    let stored = s.client.query(key("s"), 0, 10).await.unwrap();
    assert_eq!(stored.iter().map(|p| p.ts_ns).collect::<Vec<_>>(), [1]);
    s.stop().await;
}

#[tokio::test]
async fn bad_input_gets_the_right_status_names_the_problem_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let s = InProcess::open(dir.path()).await;
    s.client
        .write(WriteRequest::new(1).add(key("t"), vec![Point::new(1, 1.0)]))
        .await
        .unwrap();
    let no_value = Point {
        ts_ns: 5,
        value: None,
        quality: 0,
    };
    let good = || vec![Point::new(2, 2.0)];
    let cases: Vec<(&str, WriteRequest, &str)> = vec![
        ("empty batch", WriteRequest::new(2), "holds no series"),
        (
            "series without points",
            WriteRequest::new(2).add(key("t"), vec![]),
            "has no points",
        ),
        (
            "empty series name",
            WriteRequest::new(2).add(SeriesKey::new("", []), good()),
            "name is empty",
        ),
        (
            "control character in a label",
            WriteRequest::new(2).add(SeriesKey::new("t", [("site", "p\n1")]), good()),
            "control character",
        ),
        (
            "label given twice",
            WriteRequest::new(2).add(SeriesKey::new("t", [("a", "1"), ("a", "2")]), good()),
            "given twice",
        ),
        (
            "type change against the stored series",
            WriteRequest::new(2)
                .add(key("new"), good())
                .add(key("t"), vec![Point::new(2, 2.0), Point::new(3, 3i64)]),
            "point 1 has type i64, but the series holds f64",
        ),
        (
            "type change within the batch",
            WriteRequest::new(2).add(key("fresh"), vec![Point::new(1, true), Point::new(2, 1.0)]),
            "point 1 has type f64, but the series holds bool",
        ),
        (
            "point without value",
            WriteRequest::new(2)
                .add(key("new"), good())
                .add(key("t"), vec![no_value]),
            "point 0 has no value",
        ),
        (
            "missing series key",
            WriteRequest {
                sequence: 2,
                series: vec![lodestone_client::SeriesPoints {
                    series: None,
                    points: good(),
                }],
            },
            "series key is missing",
        ),
    ];
    for (what, req, needle) in cases {
        let e = s.client.write(req).await.unwrap_err();
        assert!(matches!(e, Error::InvalidArgument(_)), "{what}: {e:?}");
        assert!(e.to_string().contains(needle), "{what}: {e}");
    }
    let e = s.client.query(key("t"), 10, 5).await.unwrap_err();
    assert!(matches!(e, Error::InvalidArgument(_)), "{e:?}");
    assert!(e.to_string().contains("start 10 is after end 5"), "{e}");
    let e = s.client.query(key("nope"), 0, 5).await.unwrap_err();
    assert!(matches!(e, Error::NotFound(_)), "{e:?}");
    assert!(
        e.to_string().contains(r#"nope{line="l04",site="p1"}"#),
        "{e}"
    );
    let e = s.client.latest(key("nope")).await.unwrap_err();
    assert!(matches!(e, Error::NotFound(_)), "{e:?}");

    // Nothing changed: one series, one point, one batch.
    assert_eq!(s.client.list_series().await.unwrap().len(), 1);
    let stored = s.client.query(key("t"), i64::MIN, i64::MAX).await.unwrap();
    assert_eq!(all_bits(&stored), all_bits(&[Point::new(1, 1.0)]));
    assert_eq!(s.client.stats().await.unwrap().batches_written, 1);
    s.stop().await;
}

#[tokio::test]
async fn standard_health_and_reflection_clients_see_the_service() {
    use tonic_health::pb::health_client::HealthClient;
    use tonic_health::pb::{health_check_response::ServingStatus, HealthCheckRequest};
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
    use tonic_reflection::pb::v1::ServerReflectionRequest;

    let dir = tempfile::tempdir().unwrap();
    let s = InProcess::open(dir.path()).await;
    let channel = tonic::transport::Endpoint::from_shared(s.grpc_url())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut health = HealthClient::new(channel.clone());
    let status = health
        .check(HealthCheckRequest {
            service: "lodestone.v1.Lodestone".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .status;
    assert_eq!(status, ServingStatus::Serving as i32);

    let mut reflection = ServerReflectionClient::new(channel.clone());
    let ask = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut replies = reflection
        .server_reflection_info(tokio_stream::iter([ask]))
        .await
        .unwrap()
        .into_inner();
    let reply = replies.message().await.unwrap().unwrap();
    let Some(MessageResponse::ListServicesResponse(list)) = reply.message_response else {
        panic!("unexpected reflection reply {reply:?}");
    };
    let names: Vec<&str> = list.service.iter().map(|s| s.name.as_str()).collect();
    assert!(names.contains(&"lodestone.v1.Lodestone"), "{names:?}");
    assert!(names.contains(&"grpc.health.v1.Health"), "{names:?}");
    drop((health, reflection, replies, channel));
    s.stop().await;
}

#[tokio::test]
async fn shutdown_flushes_so_the_next_open_finds_the_data_in_a_segment() {
    let dir = tempfile::tempdir().unwrap();
    let s = InProcess::open(dir.path()).await;
    let pts = (0..1000).map(|i| Point::new(i, i)).collect();
    s.client
        .write(WriteRequest::new(1).add(key("kept"), pts))
        .await
        .unwrap();
    s.stop().await;

    let engine = Engine::open(dir.path(), Options::default()).unwrap();
    let stats = engine.stats();
    assert_eq!((stats.segments, stats.head_bytes), (1, 0), "{stats:?}");
    let k = lodestone_engine::SeriesKey::new("kept", [("site", "p1"), ("line", "l04")]).unwrap();
    assert_eq!(engine.read_range(&k, 0, 1000).unwrap().len(), 1000);
}

#[tokio::test]
async fn shutdown_ends_an_open_write_stream_with_unavailable_after_acknowledging_what_it_read() {
    let dir = tempfile::tempdir().unwrap();
    let s = InProcess::open(dir.path()).await;
    let (tx, rx) = mpsc::channel(8);
    let mut acks = s
        .client
        .write_stream(ReceiverStream::new(rx))
        .await
        .unwrap();
    for n in 0..3 {
        tx.send(WriteRequest::new(n).add(key("open"), vec![Point::new(n as i64, true)]))
            .await
            .unwrap();
        assert_eq!(acks.next_ack().await.unwrap().unwrap().sequence, n);
    }
    // The client keeps its side open; shutdown must not wait for it.
    let stopping = tokio::spawn(s.stop());
    let e = tokio::time::timeout(Duration::from_secs(20), acks.next_ack())
        .await
        .expect("the stream ends within 20 s of shutdown")
        .unwrap_err();
    assert!(matches!(e, Error::Unavailable(_)), "{e:?}");
    assert!(e.to_string().contains("shutting down"), "{e}");
    drop((tx, acks));
    stopping.await.unwrap(); // stopped cleanly within InProcess's timeout

    let engine = Engine::open(dir.path(), Options::default()).unwrap();
    let k = lodestone_engine::SeriesKey::new("open", [("site", "p1"), ("line", "l04")]).unwrap();
    assert_eq!(engine.read_range(&k, 0, 10).unwrap().len(), 3);
}
