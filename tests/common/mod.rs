//! Running the real `lodestone` binary for end-to-end tests: free loopback ports, a data
//! folder, readiness by `/ping`, and SIGTERM (or SIGKILL) at the end.

#![allow(dead_code, clippy::unwrap_used)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The `lodestone` binary that `cargo test --workspace` built beside this test.
pub fn lodestone_bin() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/<test> → target/<profile>/lodestone
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .unwrap()
        .join(format!("lodestone{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build -p lodestone-server` (cargo test --workspace builds it)",
        bin.display()
    );
    bin
}

/// A loopback port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub mod cluster;
pub mod feed;
pub mod proxy;

/// A `lodestone serve` process.
pub struct Server {
    /// The child process.
    pub child: Child,
    /// gRPC address, `127.0.0.1:port`.
    pub grpc: SocketAddr,
    /// HTTP address.
    pub http: SocketAddr,
    /// Its data folder.
    pub data_dir: PathBuf,
}

impl Server {
    /// Starts `lodestone serve` on `data_dir` with fresh ports and extra arguments, and waits
    /// until `/ping` answers.
    pub fn start(data_dir: &Path, extra: &[&str]) -> Server {
        for _attempt in 0..5 {
            let grpc: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
            let http: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
            let child = Command::new(lodestone_bin())
                .arg("serve")
                .arg("--data-dir")
                .arg(data_dir)
                .arg("--grpc-listen")
                .arg(grpc.to_string())
                .arg("--http-listen")
                .arg(http.to_string())
                .args(extra)
                .env("RUST_LOG", "warn")
                .stdout(Stdio::null())
                .stderr(Stdio::inherit())
                .spawn()
                .unwrap();
            let mut server = Server {
                child,
                grpc,
                http,
                data_dir: data_dir.to_path_buf(),
            };
            if server.wait_ready(Duration::from_secs(30)) {
                return server;
            }
            // A port taken between choosing and binding: try other ports.
            let _ = server.child.kill();
            let _ = server.child.wait();
        }
        panic!(
            "lodestone serve did not become ready on {}",
            data_dir.display()
        );
    }

    fn wait_ready(&mut self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return false;
            }
            if let Ok((204, _)) = http_request(self.http, "GET", "/ping", b"") {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// `http://127.0.0.1:port` for the gRPC client.
    pub fn grpc_url(&self) -> String {
        format!("http://{}", self.grpc)
    }

    /// SIGTERM, then waits for a clean exit (status 0).
    pub fn stop(mut self) {
        let pid = self.child.id().to_string();
        let status = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(40);
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                assert!(st.success(), "lodestone exited with {st}");
                return;
            }
            assert!(
                Instant::now() < deadline,
                "lodestone did not stop on SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGKILL.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 request on a fresh connection (what `curl` does); returns status and body.
pub fn http_request(
    addr: SocketAddr,
    method: &str,
    target: &str,
    body: &[u8],
) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    s.set_read_timeout(Some(Duration::from_secs(60)))?;
    let head = format!(
        "{method} {target} HTTP/1.1\r\nHost: lodestone\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes())?;
    s.write_all(body)?;
    let mut out = Vec::new();
    s.read_to_end(&mut out)?;
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .get(9..12)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("not an HTTP answer: {text:?}")))?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body))
}
