//! Overload: when the head holds more than `head_max_bytes` because flushing is behind, writes
//! are refused with RESOURCE_EXHAUSTED (gRPC) or 429 with Retry-After (HTTP), storing
//! nothing of the refused batch, and succeed again once the flush has caught up. Memory stays
//! bounded instead of growing until the process dies.

#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use lodestone_client::{Client, Error, Point, SeriesKey, WriteRequest};
use lodestone_engine::Options;
use lodestone_server::testing::InProcess;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn post_write(addr: std::net::SocketAddr, body: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /write HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(body).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out
}

fn big_batch(seq: u64, start: i64) -> WriteRequest {
    let key = SeriesKey::new("load", [("site", "p1")]);
    let points = (0..50_000)
        .map(|i| Point::new(start + i, i as f64 * 0.37))
        .collect();
    WriteRequest::new(seq).add(key, points)
}

/// Writes `batch` until the server accepts it again (the flush it asked for is done).
async fn until_accepted(client: &Client, batch: WriteRequest) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match client.write(batch.clone()).await {
            Ok(_) => return,
            Err(Error::Overloaded(_)) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(20)).await
            }
            Err(e) => panic!("{e}"),
        }
    }
}

#[tokio::test]
async fn a_full_head_refuses_writes_until_flushed() {
    let dir = tempfile::tempdir().unwrap();
    let opts = Options {
        head_max_bytes: 256 << 10,
        head_flush_bytes: usize::MAX, // only the overload asks for a flush
        ..Options::default()
    };
    let s = InProcess::open_with(dir.path(), opts).await;
    let (client, http_addr) = (&s.client, s.http);

    // Fill the head past its bound; the next HTTP write is refused with 429.
    client.write(big_batch(1, 0)).await.unwrap();
    let answer = post_write(http_addr, b"refused,site=p1 value=1 1\n").await;
    assert!(answer.starts_with("HTTP/1.1 429"), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("retry-after: 1"),
        "{answer}"
    );
    assert!(answer.contains("limit"), "{answer}");

    // The flush it asked for brings writes back; fill again and gRPC is refused likewise.
    until_accepted(client, big_batch(2, 1_000_000)).await;
    match client.write(big_batch(3, 2_000_000)).await {
        Err(Error::Overloaded(msg)) => assert!(msg.contains("limit"), "{msg}"),
        other => panic!("expected RESOURCE_EXHAUSTED, got {other:?}"),
    }
    until_accepted(client, big_batch(4, 3_000_000)).await;

    // Nothing of the refused writes was stored; everything accepted was.
    let series = client.list_series().await.unwrap();
    assert_eq!(series.len(), 1, "{series:?}");
    let key = SeriesKey::new("load", [("site", "p1")]);
    let points = client.query(key, 0, i64::MAX).await.unwrap();
    assert_eq!(points.len(), 150_000);
    assert!(points
        .iter()
        .all(|p| p.ts_ns < 2_000_000 || p.ts_ns >= 3_000_000));
    let stats = client.stats().await.unwrap();
    assert!(stats.flushes >= 2, "{stats:?}");

    s.stop().await;
}
