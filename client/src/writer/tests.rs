//! The writer's caller side without a server: batch bounds, backpressure, and, with a
//! server that never answers, the retry budget. Round trips with a real server are in
//! `client/tests/writer.rs`.

use std::time::Duration;

use super::*;

fn opts(batch: usize, buffered: usize) -> WriterOptions {
    WriterOptions {
        batch_points: batch,
        max_buffered_points: buffered,
        ..WriterOptions::default()
    }
}

fn key(n: &str) -> pb::SeriesKey {
    pb::SeriesKey::new(n, [("site", "p1")])
}

/// What the driver would receive, in order: `S<seq>` started, `B<seq>:<points>` cut, `F`
/// flush.
fn drain(rx: &mut mpsc::UnboundedReceiver<Command>) -> Vec<String> {
    let mut seen = Vec::new();
    while let Ok(c) = rx.try_recv() {
        seen.push(match c {
            Command::Started(s) => format!("S{s}"),
            Command::Batch(req) => format!("B{}:{}", req.sequence, req.point_count()),
            Command::Flush(_) => "F".to_string(),
            Command::Close(_) => "C".to_string(),
        });
    }
    seen
}

#[tokio::test]
async fn batches_are_cut_at_the_size_bound_in_sequence_order() {
    let (w, mut rx) = Writer::detached(&opts(10, 100));
    for i in 0..25 {
        let series = if i % 2 == 0 { "a" } else { "b" };
        w.push(&key(series), pb::Point::new(i, 1.0)).await.unwrap();
    }
    assert_eq!(drain(&mut rx), ["S1", "B1:10", "S2", "B2:10", "S3"]);
    let flushing = tokio::spawn({
        let w = w.clone();
        async move { w.flush().await }
    });
    tokio::task::yield_now().await;
    let mut cmds = Vec::new();
    while cmds.len() < 2 {
        match rx.recv().await.unwrap() {
            Command::Batch(req) => {
                assert_eq!(req.series.len(), 2, "grouped per series");
                cmds.push(format!("B{}:{}", req.sequence, req.point_count()));
            }
            Command::Flush(tx) => {
                cmds.push("F".into());
                tx.send(Ok(())).unwrap();
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(cmds, ["B3:5", "F"], "flush cuts the open batch first");
    flushing.await.unwrap().unwrap();
    assert_eq!(w.stats().pushed_points, 25);
    assert_eq!(w.stats().batches_cut, 3);
}

#[tokio::test]
async fn push_many_fills_whole_batches_and_keeps_the_rest_open() {
    let (w, mut rx) = Writer::detached(&opts(10, 100));
    w.push(&key("a"), pb::Point::new(0, 1.0)).await.unwrap();
    let pts: Vec<pb::Point> = (1..=24).map(|i| pb::Point::new(i, 1.0)).collect();
    w.push_many(&key("b"), pts).await.unwrap();
    assert_eq!(drain(&mut rx), ["S1", "B1:10", "S2", "B2:10", "S3"]);
    assert_eq!(w.shared.builder.lock().len(), 5);
}

#[tokio::test(start_paused = true)]
async fn push_waits_at_the_memory_bound_until_points_are_acknowledged() {
    let (w, _rx) = Writer::detached(&opts(10, 20));
    for i in 0..20 {
        w.push(&key("a"), pb::Point::new(i, 1.0)).await.unwrap();
    }
    assert_eq!(w.stats().buffered_points, 20);
    let blocked = tokio::time::timeout(
        Duration::from_secs(5),
        w.push(&key("a"), pb::Point::new(20, 1.0)),
    )
    .await;
    assert!(blocked.is_err(), "the 21st point waits");
    // A batch of 10 acknowledged: room for more.
    w.shared.permits.add_permits(10);
    let more: Vec<pb::Point> = (21..31).map(|i| pb::Point::new(i, 1.0)).collect();
    tokio::time::timeout(Duration::from_secs(5), w.push_many(&key("a"), more))
        .await
        .expect("room after the acknowledgement")
        .unwrap();
    let s = w.stats();
    assert_eq!(s.buffered_points, 20);
    assert_eq!(s.max_buffered_points_seen, 20, "never above the bound");
}

#[tokio::test]
async fn push_many_of_more_than_the_bound_goes_through_in_chunks() {
    let (w, mut rx) = Writer::detached(&opts(10, 10));
    let pts: Vec<pb::Point> = (0..35).map(|i| pb::Point::new(i, 1.0)).collect();
    let pushing = tokio::spawn({
        let w = w.clone();
        async move { w.push_many(&key("a"), pts).await }
    });
    // Play the driver: acknowledge each batch as it is cut.
    let mut cut = 0;
    while cut < 30 {
        if let Some(Command::Batch(req)) = rx.recv().await {
            cut += req.point_count();
            w.shared.permits.add_permits(req.point_count());
        }
    }
    pushing.await.unwrap().unwrap();
    assert_eq!(w.shared.builder.lock().len(), 5);
    assert!(w.stats().max_buffered_points_seen <= 10);
}

#[tokio::test(start_paused = true)]
async fn a_batch_that_does_not_fill_is_sent_after_the_linger_time() {
    let client = Client::lazy(&format!("127.0.0.1:{}", closed_port())).unwrap();
    let w = client
        .writer(WriterOptions {
            linger: Duration::from_millis(100),
            ..WriterOptions::default()
        })
        .unwrap();
    w.push(&key("a"), pb::Point::new(1, 1.0)).await.unwrap();
    w.push(&key("a"), pb::Point::new(2, 1.0)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(w.stats().batches_cut, 0, "not before the linger time");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(w.stats().batches_cut, 1);
}

#[tokio::test(start_paused = true)]
async fn a_server_that_never_answers_makes_the_writer_give_up_after_its_budget() {
    let client = Client::lazy(&format!("127.0.0.1:{}", closed_port())).unwrap();
    let w = client
        .writer(WriterOptions {
            retry_for: Some(Duration::from_secs(3)),
            ..WriterOptions::default()
        })
        .unwrap();
    for i in 0..5 {
        w.push(&key("a"), pb::Point::new(i, 1.0)).await.unwrap();
    }
    let e = tokio::time::timeout(Duration::from_secs(60), w.flush())
        .await
        .expect("gives up in time")
        .unwrap_err();
    match &e {
        Error::GaveUp {
            attempts,
            unacknowledged,
            last,
            ..
        } => {
            assert!(*attempts >= 3, "{e}");
            assert_eq!(*unacknowledged, 5, "{e}");
            assert!(last.is_retryable(), "{e}");
        }
        other => panic!("expected GaveUp, got {other:?}"),
    }
    assert!(w.stats().retries >= 2);
    // The writer stays stopped with the same reason.
    let again = w.push(&key("a"), pb::Point::new(9, 1.0)).await.unwrap_err();
    assert!(matches!(again, Error::GaveUp { .. }), "{again:?}");
}

#[test]
fn a_writer_outside_a_runtime_is_refused_not_a_panic() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = rt.block_on(async { Client::lazy("127.0.0.1:1").unwrap() });
    let e = client.writer(WriterOptions::default()).unwrap_err();
    assert!(matches!(e, Error::NoRuntime), "{e:?}");
    let e = rt
        .block_on(async {
            client.writer(WriterOptions {
                max_in_flight: 0,
                ..WriterOptions::default()
            })
        })
        .unwrap_err();
    assert!(matches!(e, Error::InvalidOptions(_)), "{e:?}");
}

fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
