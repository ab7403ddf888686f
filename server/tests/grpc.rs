//! The gRPC service, run in-process on port 0: writes come back bit-exact, write streams are
//! acknowledged in order, bad input gets the right status and a message naming the problem
//! and changes nothing, and shutdown flushes.

#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;

use lodestone_engine::{Engine, Options, SeriesKey};
use lodestone_proto::v1 as pb;
use lodestone_server::serve::{self, Listeners};
use pb::lodestone_client::LodestoneClient;
use pb::point::Value;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tonic::transport::Channel;
use tonic::Code;

struct Running {
    client: LodestoneClient<Channel>,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<(), serve::ServeError>>,
}

async fn start(dir: &std::path::Path) -> Running {
    let engine = Engine::open(dir, Options::default()).unwrap();
    let grpc = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let http = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = grpc.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(serve::run(engine, Listeners { grpc, http }, async {
        let _ = stopped.await;
    }));
    let client = LodestoneClient::connect(format!("http://{addr}"))
        .await
        .unwrap();
    Running { client, stop, task }
}

fn key(name: &str) -> pb::SeriesKey {
    pb::SeriesKey {
        name: name.into(),
        labels: vec![pb::Label {
            name: "site".into(),
            value: "p1".into(),
        }],
    }
}

fn point(ts: i64, v: Value, quality: u32) -> pb::Point {
    pb::Point {
        ts_ns: ts,
        value: Some(v),
        quality,
    }
}

fn request(sequence: u64, series: Vec<(pb::SeriesKey, Vec<pb::Point>)>) -> pb::WriteRequest {
    pb::WriteRequest {
        sequence,
        series: series
            .into_iter()
            .map(|(k, points)| pb::SeriesPoints {
                series: Some(k),
                points,
            })
            .collect(),
    }
}

fn bits(p: &pb::Point) -> (i64, u64, u32) {
    let b = match p.value {
        Some(Value::F64(v)) => v.to_bits(),
        Some(Value::I64(v)) => v as u64,
        Some(Value::Bool(v)) => v as u64,
        None => u64::MAX,
    };
    (p.ts_ns, b, p.quality)
}

async fn query(
    c: &mut LodestoneClient<Channel>,
    k: pb::SeriesKey,
    start: i64,
    end: i64,
) -> Result<Vec<pb::Point>, tonic::Status> {
    let mut stream = c
        .query(pb::QueryRequest {
            series: Some(k),
            start_ns: start,
            end_ns: end,
            limit: 0,
        })
        .await?
        .into_inner();
    let mut out = Vec::new();
    while let Some(page) = stream.message().await? {
        out.extend(page.points);
    }
    Ok(out)
}

#[tokio::test]
async fn points_of_every_type_come_back_bit_exact() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = start(dir.path()).await;
    let floats = vec![
        point(1, Value::F64(f64::from_bits(0x7ff8_0000_dead_beef)), 0),
        point(2, Value::F64(-0.0), 0x4000_0000),
        point(3, Value::F64(f64::MIN_POSITIVE / 2.0), 0x8000_0000),
        point(4, Value::F64(21.4), 0),
    ];
    let ints = vec![
        point(-5, Value::I64(i64::MIN), 0),
        point(7, Value::I64(i64::MAX), 0),
    ];
    let bools = (0..25_000)
        .map(|i| point(i, Value::Bool(i % 3 == 0), 0))
        .collect::<Vec<_>>();
    let req = request(
        9,
        vec![
            (key("f"), floats.clone()),
            (key("i"), ints.clone()),
            (key("b"), bools.clone()),
        ],
    );
    let ack = s.client.write(req).await.unwrap().into_inner();
    assert_eq!((ack.sequence, ack.points), (9, 25_006));

    for (k, want) in [("f", &floats), ("i", &ints), ("b", &bools)] {
        let got = query(&mut s.client, key(k), i64::MIN, i64::MAX)
            .await
            .unwrap();
        assert_eq!(
            got.iter().map(bits).collect::<Vec<_>>(),
            want.iter().map(bits).collect::<Vec<_>>(),
            "series {k}"
        );
    }
    let latest = s
        .client
        .latest(pb::LatestRequest {
            series: vec![key("i")],
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        bits(latest.points[0].point.as_ref().unwrap()),
        bits(&ints[1])
    );
    let listed = s
        .client
        .list_series(pb::ListSeriesRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.series.len(), 3);
    let stats = s
        .client
        .stats(pb::StatsRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!((stats.series, stats.points_written), (3, 25_006));
    s.stop.send(()).unwrap();
    s.task.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_write_stream_is_acknowledged_batch_by_batch_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = start(dir.path()).await;
    let batches: Vec<pb::WriteRequest> = (0..200u64)
        .map(|n| {
            request(
                1000 + n,
                vec![(
                    key("stream"),
                    vec![point(n as i64, Value::F64(n as f64), 0)],
                )],
            )
        })
        .collect();
    let acks = s
        .client
        .write_stream(tokio_stream::iter(batches))
        .await
        .unwrap()
        .into_inner();
    let acks: Vec<pb::WriteResponse> = tokio_stream::StreamExt::collect::<Vec<_>>(acks)
        .await
        .into_iter()
        .map(|a| a.unwrap())
        .collect();
    assert_eq!(
        acks.iter().map(|a| a.sequence).collect::<Vec<_>>(),
        (1000..1200).collect::<Vec<_>>()
    );
    assert_eq!(
        query(&mut s.client, key("stream"), 0, 1000)
            .await
            .unwrap()
            .len(),
        200
    );
    s.stop.send(()).unwrap();
    s.task.await.unwrap().unwrap();
}

#[tokio::test]
async fn bad_input_gets_the_right_status_names_the_problem_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = start(dir.path()).await;
    s.client
        .write(request(
            1,
            vec![(key("t"), vec![point(1, Value::F64(1.0), 0)])],
        ))
        .await
        .unwrap();
    let no_value = pb::Point {
        ts_ns: 5,
        value: None,
        quality: 0,
    };
    let cases: Vec<(&str, pb::WriteRequest, &str)> = vec![
        ("empty batch", request(2, vec![]), "holds no series"),
        (
            "series without points",
            request(2, vec![(key("t"), vec![])]),
            "has no points",
        ),
        (
            "empty series name",
            request(2, vec![(key(""), vec![point(1, Value::F64(1.0), 0)])]),
            "name is empty",
        ),
        (
            "type change",
            request(
                2,
                vec![(
                    key("t"),
                    vec![point(2, Value::F64(2.0), 0), point(3, Value::I64(3), 0)],
                )],
            ),
            "point 1 has type i64",
        ),
        (
            "point without value",
            request(
                2,
                vec![
                    (key("new"), vec![point(2, Value::F64(2.0), 0)]),
                    (key("t"), vec![no_value]),
                ],
            ),
            "point 0 has no value",
        ),
        (
            "missing key",
            pb::WriteRequest {
                sequence: 2,
                series: vec![pb::SeriesPoints {
                    series: None,
                    points: vec![],
                }],
            },
            "series key is missing",
        ),
    ];
    for (what, req, needle) in cases {
        let status = s.client.write(req).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{what}: {status:?}");
        assert!(
            status.message().contains(needle),
            "{what}: {}",
            status.message()
        );
    }
    let status = query(&mut s.client, key("t"), 10, 5).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().contains("start 10 is after end 5"),
        "{}",
        status.message()
    );
    let status = query(&mut s.client, key("nope"), 0, 5).await.unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    assert!(status.message().contains("nope"), "{}", status.message());

    // Nothing changed: one series, one point.
    let listed = s
        .client
        .list_series(pb::ListSeriesRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.series.len(), 1);
    assert_eq!(
        query(&mut s.client, key("t"), i64::MIN, i64::MAX)
            .await
            .unwrap()
            .len(),
        1
    );
    s.stop.send(()).unwrap();
    s.task.await.unwrap().unwrap();
}

#[tokio::test]
async fn shutdown_flushes_so_the_next_open_replays_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = start(dir.path()).await;
    let pts = (0..1000).map(|i| point(i, Value::I64(i), 0)).collect();
    s.client
        .write(request(1, vec![(key("kept"), pts)]))
        .await
        .unwrap();
    drop(s.client);
    s.stop.send(()).unwrap();
    s.task.await.unwrap().unwrap();
    let engine = Engine::open(dir.path(), Options::default()).unwrap();
    let stats = engine.stats();
    assert_eq!((stats.segments, stats.head_bytes), (1, 0), "{stats:?}");
    let k = SeriesKey::new("kept", [("site", "p1")]).unwrap();
    assert_eq!(engine.read_range(&k, 0, 1000).unwrap().len(), 1000);
}
