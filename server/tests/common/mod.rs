//! The real `lodestone` binary as a child process for the CLI tests: free loopback ports,
//! readiness by `/ping`, its log kept in a file, client commands against it, SIGTERM.

#![allow(dead_code, clippy::unwrap_used)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_lodestone");

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A plain HTTP/1.1 GET; returns (status, body).
pub fn get(port: u16, path: &str) -> std::io::Result<(u16, String)> {
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

/// A `lodestone serve` child on free loopback ports, its log in a file.
pub struct Server {
    pub child: std::process::Child,
    pub grpc: String,
    pub http: u16,
    pub log: tempfile::NamedTempFile,
}

impl Server {
    pub fn start(dir: &std::path::Path) -> Server {
        let (grpc, http) = (free_port(), free_port());
        let mut cmd = Command::new(BIN);
        cmd.args(["serve", "--data-dir"])
            .arg(dir)
            .args(["--grpc-listen", &format!("127.0.0.1:{grpc}")])
            .args(["--http-listen", &format!("127.0.0.1:{http}")]);
        Server::spawn(cmd, grpc, http)
    }

    pub fn spawn(mut cmd: Command, grpc: u16, http: u16) -> Server {
        let log = tempfile::NamedTempFile::new().unwrap();
        let child = cmd.stderr(log.reopen().unwrap()).spawn().unwrap();
        let server = Server {
            child,
            grpc: format!("127.0.0.1:{grpc}"),
            http,
            log,
        };
        let started = Instant::now();
        while get(http, "/ping").is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "server never answered; log:\n{}",
                server.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap_or_default()
    }

    /// Runs a client command against this server: (success, stdout, stderr).
    pub fn cli(&self, args: &[&str]) -> (bool, String, String) {
        let out = Command::new(BIN)
            .arg(args[0])
            .args(["--addr", &self.grpc])
            .args(&args[1..])
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// SIGTERM, then the exit status must be 0.
    pub fn terminate(mut self) -> String {
        let killed = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        let status = self.child.wait().unwrap();
        assert!(
            status.success(),
            "serve exited with {status}; log:\n{}",
            self.log()
        );
        self.log()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
