//! `lodestone`: the Lodestone server and its command-line tools.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use lodestone_server::cli::Cli;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    // Logs go to stderr so that command output on stdout stays clean; RUST_LOG overrides.
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    match Cli::parse().run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lodestone: {e}");
            ExitCode::FAILURE
        }
    }
}
