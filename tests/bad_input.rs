//! Bad input, table-driven, against the real `lodestone` binary over gRPC and HTTP: every
//! case gets the status a client can act on and a message that names the problem, and the
//! store is unchanged afterwards (same series, same points, same metadata).

#![allow(clippy::unwrap_used)]

mod common;

use lodestone_proto::v1 as pb;
use pb::lodestone_client::LodestoneClient;
use tonic::transport::Channel;
use tonic::Code;

fn key(name: &str, labels: &[(&str, &str)]) -> pb::SeriesKey {
    pb::SeriesKey::new(name, labels.iter().copied())
}

fn good() -> pb::SeriesKey {
    key("pressure", &[("site", "p1"), ("asset", "a1")])
}

fn write(series: Vec<pb::SeriesPoints>) -> pb::WriteRequest {
    pb::WriteRequest {
        sequence: 1,
        series,
    }
}

fn sp(series: Option<pb::SeriesKey>, points: Vec<pb::Point>) -> pb::SeriesPoints {
    pb::SeriesPoints { series, points }
}

fn f(ts: i64, v: f64) -> pb::Point {
    pb::Point::new(ts, v)
}

/// An HTTP case: what, method, target, body, expected status, text the answer must hold.
type HttpCase = (
    &'static str,
    &'static str,
    &'static str,
    Vec<u8>,
    u16,
    &'static str,
);

/// One gRPC call that must fail.
enum Call {
    Write(pb::WriteRequest),
    Stream(Vec<pb::WriteRequest>),
    Query(pb::QueryRequest),
    Latest(pb::LatestRequest),
    Delete(pb::DeleteRequest),
    GetMeta(pb::GetSeriesMetadataRequest),
    PutMeta(pb::PutSeriesMetadataRequest),
    Aggregate(pb::AggregateRequest),
}

async fn call(c: &mut LodestoneClient<Channel>, call: Call) -> Result<(), tonic::Status> {
    match call {
        Call::Write(r) => c.write(r).await.map(drop),
        Call::Stream(batches) => {
            let mut acks = c
                .write_stream(tokio_stream::iter(batches))
                .await?
                .into_inner();
            while acks.message().await?.is_some() {}
            Ok(())
        }
        Call::Query(r) => {
            let mut pages = c.query(r).await?.into_inner();
            while pages.message().await?.is_some() {}
            Ok(())
        }
        Call::Latest(r) => c.latest(r).await.map(drop),
        Call::Delete(r) => c.delete(r).await.map(drop),
        Call::GetMeta(r) => c.get_series_metadata(r).await.map(drop),
        Call::PutMeta(r) => c.put_series_metadata(r).await.map(drop),
        Call::Aggregate(r) => {
            let mut windows = c.aggregate(r).await?.into_inner();
            while windows.message().await?.is_some() {}
            Ok(())
        }
    }
}

/// Everything a client could observe of the store.
async fn snapshot(c: &mut LodestoneClient<Channel>) -> String {
    let mut series = c
        .list_series(pb::ListSeriesRequest::default())
        .await
        .unwrap()
        .into_inner()
        .series;
    series.sort_by_key(|s| format!("{:?}", s.series));
    let mut out = format!("{series:?}\n");
    for s in &series {
        let req = pb::QueryRequest {
            stale_ok: false,
            series: s.series.clone(),
            start_ns: i64::MIN,
            end_ns: i64::MAX,
            limit: 0,
        };
        let mut pages = c.query(req).await.unwrap().into_inner();
        while let Some(p) = pages.message().await.unwrap() {
            out.push_str(&format!("{:?}\n", p.points));
        }
        let meta = c
            .get_series_metadata(pb::GetSeriesMetadataRequest {
                stale_ok: false,
                series: s.series.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        out.push_str(&format!("{meta:?}\n"));
    }
    out
}

#[test]
fn bad_input_is_refused_with_a_clear_error_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = common::Server::start(&dir.path().join("data"), &[]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut grpc = rt.block_on(async {
        LodestoneClient::connect(server.grpc_url())
            .await
            .unwrap()
            .max_decoding_message_size(256 << 20)
            .max_encoding_message_size(256 << 20)
    });
    // The store before: one float series with metadata, one integer series.
    rt.block_on(async {
        let batch = write(vec![
            sp(Some(good()), vec![f(1_000, 4.25), f(2_000, 4.5)]),
            sp(
                Some(key("motor_state", &[("asset", "a1")])),
                vec![pb::Point::new(1_000, 2i64)],
            ),
        ]);
        grpc.write(batch).await.unwrap();
        grpc.put_series_metadata(pb::PutSeriesMetadataRequest {
            series: Some(good()),
            value_type: 0,
            unit: "bar".into(),
            description: "suction pressure".into(),
        })
        .await
        .unwrap();
    });
    let before = rt.block_on(snapshot(&mut grpc));

    let long = "x".repeat(300);
    let many_labels: Vec<(String, String)> = (0..65)
        .map(|i| (format!("l{i}"), "v".to_string()))
        .collect();
    let too_many_points: Vec<pb::Point> = (0..1_000_001).map(|i| f(i, 1.0)).collect();
    let q = |series: pb::SeriesKey, start_ns, end_ns| pb::QueryRequest {
        stale_ok: false,
        series: Some(series),
        start_ns,
        end_ns,
        limit: 0,
    };
    let grpc_cases: Vec<(&str, Call, Code, &str)> = vec![
        (
            "empty batch",
            Call::Write(write(vec![])),
            Code::InvalidArgument,
            "no series",
        ),
        (
            "series without points",
            Call::Write(write(vec![sp(Some(key("new", &[])), vec![])])),
            Code::InvalidArgument,
            "new",
        ),
        (
            "point without value",
            Call::Write(write(vec![sp(
                Some(key("new", &[])),
                vec![
                    f(1, 1.0),
                    pb::Point {
                        ts_ns: 2,
                        value: None,
                        quality: 0,
                    },
                ],
            )])),
            Code::InvalidArgument,
            "point 1 has no value",
        ),
        (
            "missing series key",
            Call::Write(write(vec![sp(None, vec![f(1, 1.0)])])),
            Code::InvalidArgument,
            "series key is missing",
        ),
        (
            "type change of a known series",
            Call::Write(write(vec![
                sp(Some(key("new", &[])), vec![f(1, 1.0)]),
                sp(Some(good()), vec![pb::Point::new(3_000, true)]),
            ])),
            Code::InvalidArgument,
            "pressure",
        ),
        (
            "types mixed in a new series",
            Call::Write(write(vec![sp(
                Some(key("new", &[])),
                vec![f(1, 1.0), pb::Point::new(2, 7i64)],
            )])),
            Code::InvalidArgument,
            "point 1 has type i64",
        ),
        (
            "empty series name",
            Call::Write(write(vec![sp(Some(key("", &[])), vec![f(1, 1.0)])])),
            Code::InvalidArgument,
            "name",
        ),
        (
            "series name too long",
            Call::Write(write(vec![sp(Some(key(&long, &[])), vec![f(1, 1.0)])])),
            Code::InvalidArgument,
            "255",
        ),
        (
            "control character in a name",
            Call::Write(write(vec![sp(
                Some(key("temp\nerature", &[])),
                vec![f(1, 1.0)],
            )])),
            Code::InvalidArgument,
            "control",
        ),
        (
            "duplicate label",
            Call::Write(write(vec![sp(
                Some(key("t", &[("site", "a"), ("site", "b")])),
                vec![f(1, 1.0)],
            )])),
            Code::InvalidArgument,
            "site",
        ),
        (
            "empty label name",
            Call::Write(write(vec![sp(
                Some(key("t", &[("", "a")])),
                vec![f(1, 1.0)],
            )])),
            Code::InvalidArgument,
            "label",
        ),
        (
            "label value too long",
            Call::Write(write(vec![sp(
                Some(key("t", &[("site", &long)])),
                vec![f(1, 1.0)],
            )])),
            Code::InvalidArgument,
            "255",
        ),
        (
            "too many labels",
            Call::Write(write(vec![sp(
                Some(pb::SeriesKey {
                    name: "t".into(),
                    labels: many_labels
                        .iter()
                        .map(|(n, v)| pb::Label {
                            name: n.clone(),
                            value: v.clone(),
                        })
                        .collect(),
                }),
                vec![f(1, 1.0)],
            )])),
            Code::InvalidArgument,
            "64",
        ),
        (
            "oversized batch",
            Call::Write(write(vec![sp(Some(key("new", &[])), too_many_points)])),
            Code::InvalidArgument,
            "at most 1000000",
        ),
        (
            "bad batch in a stream",
            Call::Stream(vec![write(vec![sp(
                Some(good()),
                vec![pb::Point::new(9, 1i64)],
            )])]),
            Code::InvalidArgument,
            "pressure",
        ),
        (
            "query start after end",
            Call::Query(q(good(), 10, 5)),
            Code::InvalidArgument,
            "start 10 is after end 5",
        ),
        (
            "query of an unknown series",
            Call::Query(q(key("nosuch", &[]), 0, 10)),
            Code::NotFound,
            "nosuch",
        ),
        (
            "query with a bad key",
            Call::Query(q(key("", &[]), 0, 10)),
            Code::InvalidArgument,
            "name",
        ),
        (
            "latest of an unknown series",
            Call::Latest(pb::LatestRequest {
                stale_ok: false,
                series: vec![good(), key("nosuch", &[])],
            }),
            Code::NotFound,
            "nosuch",
        ),
        (
            "delete from an unknown series",
            Call::Delete(pb::DeleteRequest {
                series: Some(key("nosuch", &[])),
                start_ns: 0,
                end_ns: 10,
            }),
            Code::NotFound,
            "nosuch",
        ),
        (
            "delete with start after end",
            Call::Delete(pb::DeleteRequest {
                series: Some(good()),
                start_ns: 10,
                end_ns: 5,
            }),
            Code::InvalidArgument,
            "start 10 is after end 5",
        ),
        (
            "metadata of an unknown series",
            Call::GetMeta(pb::GetSeriesMetadataRequest {
                stale_ok: false,
                series: Some(key("nosuch", &[])),
            }),
            Code::NotFound,
            "nosuch",
        ),
        (
            "unit too long",
            Call::PutMeta(pb::PutSeriesMetadataRequest {
                series: Some(good()),
                value_type: 0,
                unit: long.clone(),
                description: String::new(),
            }),
            Code::InvalidArgument,
            "64",
        ),
        (
            "metadata declaring another type",
            Call::PutMeta(pb::PutSeriesMetadataRequest {
                series: Some(good()),
                value_type: pb::ValueType::Bool as i32,
                unit: String::new(),
                description: String::new(),
            }),
            Code::FailedPrecondition,
            "pressure",
        ),
        (
            "aggregate of an unknown series",
            Call::Aggregate(pb::AggregateRequest::of_series(
                key("nosuch", &[]),
                0,
                10,
                1,
                pb::AggregateFunction::Mean,
            )),
            Code::NotFound,
            "nosuch",
        ),
        (
            "aggregate with a step of 0",
            Call::Aggregate(pb::AggregateRequest::of_series(
                good(),
                0,
                10,
                0,
                pb::AggregateFunction::Mean,
            )),
            Code::InvalidArgument,
            "step",
        ),
        (
            "aggregate asking for too many windows",
            Call::Aggregate(pb::AggregateRequest::of_series(
                good(),
                i64::MIN,
                i64::MAX,
                1,
                pb::AggregateFunction::Count,
            )),
            Code::InvalidArgument,
            "windows",
        ),
        (
            "aggregate with a broken pattern",
            Call::Aggregate(pb::AggregateRequest::of_selector(
                pb::SeriesSelector::new(None, [pb::LabelMatcher::matches("site", "p(1")]),
                0,
                10,
                1,
                pb::AggregateFunction::Mean,
            )),
            Code::InvalidArgument,
            "p(1",
        ),
    ];
    let mut checked = 0;
    for (what, c, code, needle) in grpc_cases {
        let status = rt.block_on(call(&mut grpc, c)).expect_err(what);
        assert_eq!(status.code(), code, "{what}: {status:?}");
        assert!(
            status.message().contains(needle),
            "{what}: message {:?} should name {needle:?}",
            status.message()
        );
        checked += 1;
    }

    let http_cases: Vec<HttpCase> = vec![
        (
            "bad float",
            "POST",
            "/write",
            b"pressure,site=p1 value=4.2.1 1\n".to_vec(),
            400,
            "invalid number",
        ),
        (
            "missing fields",
            "POST",
            "/write",
            b"m,a=b value=1 1\npressure,site=p1\n".to_vec(),
            400,
            "line 2",
        ),
        (
            "bad timestamp",
            "POST",
            "/write",
            b"m value=1 12:00\n".to_vec(),
            400,
            "invalid timestamp",
        ),
        (
            "timestamp out of range",
            "POST",
            "/write?precision=h",
            b"m value=1 9000000000000\n".to_vec(),
            400,
            "out of range",
        ),
        (
            "unknown precision",
            "POST",
            "/write?precision=days",
            b"m value=1 1\n".to_vec(),
            400,
            "precision",
        ),
        (
            "string field",
            "POST",
            "/write",
            b"m value=\"on\" 1\n".to_vec(),
            400,
            "string values",
        ),
        (
            "tag without value",
            "POST",
            "/write",
            b"m,site value=1 1\n".to_vec(),
            400,
            "missing tag value",
        ),
        (
            "type change over HTTP",
            "POST",
            "/write",
            b"m value=1 1\npressure,site=p1,asset=a1 value=3i 5000\n".to_vec(),
            400,
            "pressure",
        ),
        (
            "invalid UTF-8",
            "POST",
            "/write",
            b"m value=1 1\nm,site=\xff value=1 2\n".to_vec(),
            400,
            "line 2",
        ),
        ("empty body", "POST", "/write", Vec::new(), 400, "no points"),
        (
            "label too long over HTTP",
            "POST",
            "/write",
            format!("m,site={long} value=1 1\n").into_bytes(),
            400,
            "255",
        ),
        (
            "query without q",
            "GET",
            "/query?db=x",
            Vec::new(),
            400,
            "missing",
        ),
        (
            "query that does not parse",
            "GET",
            "/query?q=SELEKT+value+FROM+m",
            Vec::new(),
            400,
            "SELEKT",
        ),
        ("write with GET", "GET", "/write", Vec::new(), 405, ""),
    ];
    for (what, method, target, body, want, needle) in http_cases {
        let (status, text) = common::http_request(server.http, method, target, &body).unwrap();
        assert_eq!(status, want, "{what}: {text}");
        assert!(
            text.contains(needle),
            "{what}: {text:?} should name {needle:?}"
        );
        checked += 1;
    }
    assert!(checked >= 30, "only {checked} cases");

    let after = rt.block_on(snapshot(&mut grpc));
    assert_eq!(before, after, "the refused requests changed the store");
    drop(grpc);
    server.stop();
}
