//! The `Aggregate` RPC, run in-process on port 0 and driven through `lodestone-client`: the
//! windows of one series, of every series a selector with patterns matches (in key order),
//! long answers split into bounded messages, and refusals with the right status and a
//! message naming the problem.

#![allow(clippy::unwrap_used)]

use lodestone_client::{
    AggregateFunction, AggregateRequest, Error, Fill, LabelMatcher, Point, QualityFilter,
    SeriesKey, SeriesSelector, Window, WriteRequest,
};
use lodestone_server::grpc::AGGREGATE_PAGE;
use lodestone_server::testing::InProcess;

const SEC: i64 = 1_000_000_000;

fn asset(site: &str, asset: &str) -> SeriesKey {
    SeriesKey::new("temperature", [("site", site), ("asset", asset)])
}

fn windows(w: &[Window]) -> Vec<(i64, u64, Option<f64>)> {
    w.iter().map(|w| (w.start_ns, w.count, w.value)).collect()
}

/// `temperature` of four assets at two sites, one point per second for 60 s with value
/// `base + second`, and a `pressure` series.
async fn plant(s: &InProcess) {
    let mut batch = WriteRequest::new(1);
    for (site, a, base) in [
        ("p1", "a0001", 100.0),
        ("p1", "a0002", 200.0),
        ("p1", "a0003", 300.0),
        ("p2", "a0001", 400.0),
        ("p1", "b0001", 500.0),
    ] {
        let points = (0..60)
            .map(|i| Point::new(i * SEC, base + i as f64))
            .collect();
        batch = batch.add(asset(site, a), points);
    }
    batch = batch.add(
        SeriesKey::new("pressure", [("site", "p1"), ("asset", "a0001")]),
        vec![Point::new(0, 1.0)],
    );
    s.client.write(batch).await.unwrap();
}

#[tokio::test]
async fn one_series_gives_its_windows_with_fill_and_quality() {
    let dir = tempfile::tempdir().unwrap();
    let s = InProcess::open(dir.path()).await;
    plant(&s).await;
    let key = asset("p1", "a0002");
    // Mean of 20 s windows over [10 s, 90 s): the last window has no point.
    let req = AggregateRequest::of_series(
        key.clone(),
        10 * SEC,
        90 * SEC,
        20 * SEC,
        AggregateFunction::Mean,
    );
    let got = s.client.aggregate(req.clone()).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].series.name, "temperature");
    assert_eq!(
        windows(&got[0].windows),
        [
            (10 * SEC, 20, Some(219.5)),
            (30 * SEC, 20, Some(239.5)),
            (50 * SEC, 10, Some(254.5)),
        ]
    );
    let filled = s
        .client
        .aggregate(req.clone().with_fill(Fill::Null))
        .await
        .unwrap();
    assert_eq!(
        windows(&filled[0].windows).last(),
        Some(&(70 * SEC, 0, None)),
        "the empty window is sent without a value"
    );

    // An uncertain point is used only when asked for.
    let uncertain = WriteRequest::new(2).add(
        key.clone(),
        vec![Point::with_quality(75 * SEC, 1000.0, 0x4000_0000)],
    );
    s.client.write(uncertain).await.unwrap();
    let late = |q| {
        AggregateRequest::of_series(
            key.clone(),
            70 * SEC,
            80 * SEC,
            10 * SEC,
            AggregateFunction::Max,
        )
        .with_quality(q)
    };
    let good = s.client.aggregate(late(QualityFilter::Good)).await.unwrap();
    assert!(good[0].windows.is_empty(), "{good:?}");
    let any = s
        .client
        .aggregate(late(QualityFilter::GoodOrUncertain))
        .await
        .unwrap();
    assert_eq!(windows(&any[0].windows), [(70 * SEC, 1, Some(1000.0))]);
    s.stop().await;
}

#[tokio::test]
async fn a_long_answer_comes_in_bounded_messages_in_time_order() {
    let dir = tempfile::tempdir().unwrap();
    let s = InProcess::open(dir.path()).await;
    plant(&s).await;
    // One-nanosecond windows over 150,000 ns, empty ones counted as 0: three messages.
    let n = 150_000;
    let req = AggregateRequest::of_series(asset("p1", "a0001"), 0, n, 1, AggregateFunction::Count)
        .with_fill(Fill::Null);
    let mut pages = s.client.aggregate_pages(req.clone()).await.unwrap();
    let mut sizes = Vec::new();
    let mut next_start = 0;
    while let Some(page) = pages.next_page().await.unwrap() {
        assert_eq!(page.series.as_ref().unwrap().name, "temperature");
        for w in &page.windows {
            assert_eq!(w.start_ns, next_start);
            next_start += 1;
        }
        sizes.push(page.windows.len());
    }
    assert_eq!(
        sizes,
        [AGGREGATE_PAGE, AGGREGATE_PAGE, 150_000 - 2 * AGGREGATE_PAGE]
    );
    // Collected whole, the messages make one series; the point at 0 is the only one.
    let whole = s.client.aggregate(req).await.unwrap();
    assert_eq!(whole.len(), 1);
    assert_eq!(whole[0].windows.len(), 150_000);
    assert_eq!(whole[0].windows[0].value, Some(1.0));
    assert_eq!(whole[0].windows[1].value, Some(0.0));
    s.stop().await;
}

#[tokio::test]
async fn a_selector_with_patterns_answers_every_matching_series_in_key_order() {
    let dir = tempfile::tempdir().unwrap();
    let s = InProcess::open(dir.path()).await;
    plant(&s).await;
    let selector = SeriesSelector::new(
        Some(LabelMatcher::matches("", "temp.*")),
        [
            LabelMatcher::matches("asset", "a000[1-3]"),
            LabelMatcher::not_equal("site", "p2"),
        ],
    );
    let req =
        AggregateRequest::of_selector(selector, 0, 60 * SEC, 30 * SEC, AggregateFunction::Last);
    let got = s.client.aggregate(req).await.unwrap();
    let assets: Vec<(&str, &str)> = got
        .iter()
        .map(|s| {
            let label = |n: &str| {
                let l = s.series.labels.iter().find(|l| l.name == n).unwrap();
                l.value.as_str()
            };
            (label("site"), label("asset"))
        })
        .collect();
    assert_eq!(assets, [("p1", "a0001"), ("p1", "a0002"), ("p1", "a0003")]);
    for (s, base) in got.iter().zip([100.0, 200.0, 300.0]) {
        assert_eq!(
            windows(&s.windows),
            [
                (0, 30, Some(base + 29.0)),
                (30 * SEC, 30, Some(base + 59.0))
            ]
        );
    }

    // A glob-like name pattern and a negated pattern; a series without a window in the
    // range is still answered, with none.
    let selector = SeriesSelector::new(
        None,
        [
            LabelMatcher::equal("asset", "a0001"),
            LabelMatcher::not_matches("site", "p2"),
        ],
    );
    let req = AggregateRequest::of_selector(selector, SEC, 2 * SEC, SEC, AggregateFunction::Sum);
    let got = s.client.aggregate(req).await.unwrap();
    let names: Vec<&str> = got.iter().map(|s| s.series.name.as_str()).collect();
    assert_eq!(names, ["pressure", "temperature"]);
    assert!(got[0].windows.is_empty());
    assert_eq!(windows(&got[1].windows), [(SEC, 1, Some(101.0))]);

    // Nothing matches: an empty answer, not an error.
    let nothing = SeriesSelector::new(Some(LabelMatcher::equal("", "nosuch")), []);
    let req = AggregateRequest::of_selector(nothing, 0, SEC, SEC, AggregateFunction::Sum);
    assert!(s.client.aggregate(req).await.unwrap().is_empty());
    s.stop().await;
}

#[tokio::test]
async fn bad_requests_are_refused_with_the_status_and_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let s = InProcess::open(dir.path()).await;
    plant(&s).await;
    let c = &s.client;
    let one = |key: SeriesKey, step: i64| {
        AggregateRequest::of_series(key, 0, 60 * SEC, step, AggregateFunction::Mean)
    };

    let e = c
        .aggregate(one(asset("p9", "a0001"), SEC))
        .await
        .unwrap_err();
    let Error::NotFound(msg) = &e else {
        panic!("{e:?}")
    };
    assert!(
        msg.contains(r#"unknown series temperature{asset="a0001",site="p9"}"#),
        "{msg}"
    );

    let bad_regex = SeriesSelector::new(None, [LabelMatcher::matches("asset", "a000[1-")]);
    let req = AggregateRequest::of_selector(bad_regex, 0, SEC, SEC, AggregateFunction::Mean);
    let e = c.aggregate(req).await.unwrap_err();
    let Error::InvalidArgument(msg) = &e else {
        panic!("{e:?}")
    };
    assert!(msg.contains(r#"pattern "a000[1-""#), "{msg}");

    for (req, needle) in [
        (
            one(asset("p1", "a0001"), 0),
            "window step 0 ns: it must be at least 1",
        ),
        (one(asset("p1", "a0001"), -5), "window step -5 ns"),
        (
            one(asset("p1", "a0001"), 1),
            "60000000000 windows asked for, more than the 50000000",
        ),
        (
            AggregateRequest::of_series(asset("p1", "a0001"), 5, 1, 1, AggregateFunction::Mean),
            "start 5 is after end 1",
        ),
        (
            AggregateRequest {
                aggregate: 0,
                ..one(asset("p1", "a0001"), SEC)
            },
            "aggregate is missing",
        ),
        (
            AggregateRequest {
                selection: None,
                ..one(asset("p1", "a0001"), SEC)
            },
            "selection is missing",
        ),
    ] {
        let e = c.aggregate(req).await.unwrap_err();
        let Error::InvalidArgument(msg) = &e else {
            panic!("{needle}: {e:?}")
        };
        assert!(msg.contains(needle), "{needle}: {msg}");
    }
    // A refused selector request fails the same way through its first series.
    let all = SeriesSelector::new(Some(LabelMatcher::equal("", "temperature")), []);
    let req = AggregateRequest::of_selector(all, 0, SEC, 0, AggregateFunction::Mean);
    let e = c.aggregate(req).await.unwrap_err();
    assert!(
        matches!(&e, Error::InvalidArgument(m) if m.contains("window step 0")),
        "{e:?}"
    );
    s.stop().await;
}
