//! The one place that owns shutdown, in three steps:
//!
//! 1. [`signal`] completes on SIGINT or SIGTERM (in tests, any future does);
//! 2. a [`Shutdown`] token, cloned into every part of the server, tells the listeners to stop
//!    accepting and long-lived streams to stop reading, so in-flight requests finish;
//! 3. [`close_engine`] waits until no request holds the engine, then closes it, which flushes
//!    the head into a segment file so the next start replays nothing.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use lodestone_engine::Engine;
use tokio::sync::watch;
use tokio::time::Instant;

/// How long shutdown waits for in-flight requests before closing the engine anyway.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// How long, once the listeners have stopped, closing waits for the last request tasks to
/// let go of the engine.
pub const RELEASE_TIMEOUT: Duration = Duration::from_secs(5);

/// Completes on the first SIGINT (Ctrl-C) or SIGTERM.
pub async fn signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = match signal(SignalKind::terminate()) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM; stopping on Ctrl-C only");
                let _ = ctrl_c.await;
                return;
            }
        };
        tokio::select! {
            _ = ctrl_c => tracing::info!("SIGINT received"),
            _ = term.recv() => tracing::info!("SIGTERM received"),
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

/// A shutdown notice shared by every task of the server (mini-redis's `Shutdown`): cheap to
/// clone, triggered once, observed by all.
#[derive(Debug, Clone)]
pub struct Shutdown {
    tx: Arc<watch::Sender<bool>>,
    rx: watch::Receiver<bool>,
}

impl Shutdown {
    /// A token that triggers when `cause` completes (or when [`Shutdown::trigger`] is
    /// called). Must be called inside a tokio runtime: it spawns the task awaiting `cause`.
    pub fn on(cause: impl Future<Output = ()> + Send + 'static) -> Shutdown {
        let (tx, rx) = watch::channel(false);
        let token = Shutdown {
            tx: Arc::new(tx),
            rx,
        };
        let trigger = token.clone();
        tokio::spawn(async move {
            cause.await;
            trigger.trigger();
        });
        token
    }

    /// Starts the shutdown now (a server part that failed stops the others this way).
    pub fn trigger(&self) {
        self.tx.send_replace(true);
    }

    /// True once shutdown has started.
    pub fn is_triggered(&self) -> bool {
        *self.rx.borrow()
    }

    /// Completes once shutdown has started.
    pub async fn triggered(&self) {
        let mut rx = self.rx.clone();
        // An error means every sender is gone, which only happens when shutting down anyway.
        let _ = rx.wait_for(|stop| *stop).await;
    }
}

/// Why the engine could not be closed cleanly.
#[derive(Debug, thiserror::Error)]
pub enum CloseError {
    /// Closing failed; acknowledged points are still in the WAL and replay on the next start.
    #[error("closing the engine: {0}")]
    Engine(#[from] lodestone_engine::Error),
    /// Requests still held the engine after the drain timeout; it was dropped without a
    /// flush (acknowledged points are in the WAL and replay on the next start).
    #[error("requests still used the engine {0:?} after shutdown began; closed without flush")]
    StillInUse(Duration),
}

/// Waits (up to `patience`) until `engine` is no longer shared with any request, then closes
/// it off the async runtime: flush, stop its threads, release the folder lock.
pub async fn close_engine(engine: Arc<Engine>, patience: Duration) -> Result<(), CloseError> {
    let started = Instant::now();
    let mut engine = engine;
    let engine = loop {
        match Arc::try_unwrap(engine) {
            Ok(e) => break e,
            Err(shared) if started.elapsed() < patience => {
                engine = shared;
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            Err(_) => return Err(CloseError::StillInUse(patience)),
        }
    };
    tracing::info!("flushing the head and closing the engine");
    match tokio::task::spawn_blocking(move || engine.close()).await {
        Ok(closed) => Ok(closed?),
        Err(_) => Err(CloseError::Engine(lodestone_engine::Error::Poisoned {
            reason: "the engine panicked while closing".into(),
        })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_clone_sees_the_trigger() {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let a = Shutdown::on(async {
            let _ = rx.await;
        });
        let b = a.clone();
        assert!(!b.is_triggered());
        tx.send(()).unwrap();
        b.triggered().await;
        assert!(a.is_triggered());
    }

    #[tokio::test(start_paused = true)]
    async fn an_engine_still_in_use_is_reported_after_the_patience_runs_out() {
        let dir = tempfile::tempdir().unwrap();
        let engine = Arc::new(Engine::open(dir.path(), Default::default()).unwrap());
        let held = engine.clone();
        let e = close_engine(engine, Duration::from_secs(1))
            .await
            .unwrap_err();
        assert!(matches!(e, CloseError::StillInUse(_)), "{e}");
        drop(held);
    }
}
