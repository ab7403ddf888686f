//! Clients nobody on the project wrote talk to the real `lodestone` binary: Python `grpcio`
//! (stubs generated at test time from proto/, server reflection checked) and raw HTTP line
//! protocol. `.ci/run` installs grpcio, grpcio-tools and grpcio-reflection from PyPI.

#![allow(clippy::unwrap_used)]

mod common;

use std::process::Command;

#[test]
fn python_grpcio_and_raw_http_write_and_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let server = common::Server::start(&dir.path().join("data"), &[]);
    let root = env!("CARGO_MANIFEST_DIR");
    let out = Command::new("python3")
        .arg(format!("{root}/tests/python/foreign_client.py"))
        .arg("--grpc")
        .arg(server.grpc.to_string())
        .arg("--http")
        .arg(server.http.to_string())
        .arg("--proto-dir")
        .arg(format!("{root}/proto"))
        .output()
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "python client failed ({}):\n{stdout}\n{stderr}\n(needs: python3 -m pip install grpcio grpcio-tools grpcio-reflection)",
        out.status
    );
    assert!(stdout.contains("every check held"), "{stdout}");
    server.stop();
}
