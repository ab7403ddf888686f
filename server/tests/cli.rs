//! The real `lodestone` binary: `serve` opens a data folder, answers its HTTP probes with the
//! store's statistics, and stops cleanly on SIGTERM; `stats` reports a folder offline.

#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use lodestone_engine::{Engine, Options, Point, SeriesKey, Value, WriteBatch};

const BIN: &str = env!("CARGO_BIN_EXE_lodestone");

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A plain HTTP/1.1 GET; returns (status, body).
fn get(port: u16, path: &str) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )?;
    let mut text = String::new();
    s.read_to_string(&mut text)?;
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body))
}

fn seed(dir: &std::path::Path) {
    let e = Engine::open(dir, Options::default()).unwrap();
    let mut b = WriteBatch::new();
    let k = SeriesKey::new("temperature", [("site", "p1")]).unwrap();
    b.add(
        k,
        (0..100)
            .map(|i| Point::new(i * 1_000_000_000, Value::F64(20.0 + i as f64 / 10.0)))
            .collect(),
    );
    e.write(&b).unwrap();
    e.close().unwrap();
}

#[test]
fn serve_answers_probes_with_store_stats_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    seed(dir.path());
    let port = free_port();
    let grpc_port = free_port();
    let mut child = Command::new(BIN)
        .args(["serve", "--data-dir"])
        .arg(dir.path())
        .args(["--http-listen", &format!("127.0.0.1:{port}")])
        .args(["--grpc-listen", &format!("127.0.0.1:{grpc_port}")])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let ping = loop {
        match get(port, "/ping") {
            Ok(r) => break r,
            Err(_) if started.elapsed() < Duration::from_secs(20) => {
                std::thread::sleep(Duration::from_millis(50))
            }
            Err(e) => panic!("server never answered: {e}"),
        }
    };
    assert_eq!(ping.0, 204);
    let (status, body) = get(port, "/health").unwrap();
    assert_eq!(status, 200);
    assert!(body.contains("\"series\":1"), "{body}");
    let (status, body) = get(port, "/metrics").unwrap();
    assert_eq!(status, 200);
    assert!(body.contains("lodestone_series 1"), "{body}");
    assert!(body.contains("lodestone_segments 1"), "{body}");

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "serve exited with {status}");

    // The folder is released and intact.
    let out = Command::new(BIN)
        .args(["stats", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains(r#"temperature{site="p1"} (f64) latest 29.9"#),
        "{text}"
    );
}

#[test]
fn a_bad_durability_setting_is_refused_with_the_allowed_values() {
    let out = Command::new(BIN)
        .args(["serve", "--durability", "fast"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("sync, interval:<milliseconds>, none"), "{err}");
}

#[test]
fn a_folder_in_use_is_reported_not_opened_twice() {
    let dir = tempfile::tempdir().unwrap();
    let _held = Engine::open(dir.path(), Options::default()).unwrap();
    let out = Command::new(BIN)
        .args(["stats", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("locked by another process"), "{err}");
}
