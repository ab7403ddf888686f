//! What a [`super::Writer`] may hold and how long it waits: batch bounds, the memory bound,
//! pipelining depth, and the retry schedule.

use std::time::Duration;

use crate::error::{Error, Result};

/// Largest batch the server accepts, in points (its `MAX_BATCH_POINTS`).
pub const SERVER_MAX_BATCH_POINTS: usize = 1_000_000;

/// How a [`super::Writer`] cuts batches, bounds memory and retries.
///
/// ```
/// use std::time::Duration;
/// use lodestone_client::WriterOptions;
/// let opts = WriterOptions {
///     linger: Duration::from_millis(20),
///     ..WriterOptions::default()
/// };
/// assert_eq!(opts.batch_points, 10_000);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct WriterOptions {
    /// A batch is sent once it holds this many points (at most 1,000,000, the server's
    /// limit). Default 10,000: about 300 KB on the wire.
    pub batch_points: usize,
    /// A batch that is not full is sent this long after its first point, so a slow feed is
    /// still stored promptly. Default 100 ms.
    pub linger: Duration,
    /// Points pushed and not yet acknowledged (waiting, in flight, or being re-sent), at
    /// most; `push` waits while the writer holds this many. At least `batch_points`.
    /// Default 200,000 (about 10 MB).
    pub max_buffered_points: usize,
    /// Batches sent and not yet acknowledged, at most; those in flight share the server's
    /// fsyncs. Default 8.
    pub max_in_flight: usize,
    /// The wait between attempts after a failure.
    pub backoff: Backoff,
    /// How long the writer keeps retrying without any acknowledgement before it gives up
    /// ([`Error::GaveUp`]); `None` retries forever. Default 60 s.
    pub retry_for: Option<Duration>,
}

impl Default for WriterOptions {
    fn default() -> Self {
        WriterOptions {
            batch_points: 10_000,
            linger: Duration::from_millis(100),
            max_buffered_points: 200_000,
            max_in_flight: 8,
            backoff: Backoff::default(),
            retry_for: Some(Duration::from_secs(60)),
        }
    }
}

impl WriterOptions {
    /// Checks that the options can work.
    pub fn validate(&self) -> Result<()> {
        let fail = |reason: String| Err(Error::InvalidOptions(reason));
        if self.batch_points == 0 || self.batch_points > SERVER_MAX_BATCH_POINTS {
            return fail(format!(
                "batch_points is {}; it must be 1 to {SERVER_MAX_BATCH_POINTS}",
                self.batch_points
            ));
        }
        if self.max_buffered_points < self.batch_points {
            return fail(format!(
                "max_buffered_points ({}) is below batch_points ({}): no batch could fill",
                self.max_buffered_points, self.batch_points
            ));
        }
        if self.max_buffered_points > u32::MAX as usize {
            return fail(format!(
                "max_buffered_points ({}) is above {}",
                self.max_buffered_points,
                u32::MAX
            ));
        }
        if self.max_in_flight == 0 {
            return fail("max_in_flight is 0; at least one batch must be in flight".into());
        }
        self.backoff.validate()
    }
}

/// Exponential backoff with jitter: the wait before retry `n` (0-based) is
/// `initial * multiplier^n`, capped at `max`, less a random part of up to `jitter` of it, so
/// that many writers cut off at once do not all come back at the same instant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    /// The first wait. Default 50 ms.
    pub initial: Duration,
    /// The longest wait. Default 5 s.
    pub max: Duration,
    /// Growth per attempt, at least 1. Default 2.
    pub multiplier: f64,
    /// Share of each wait that is random, 0 to 1. Default 0.5: waits fall between half and
    /// all of the exponential value.
    pub jitter: f64,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            initial: Duration::from_millis(50),
            max: Duration::from_secs(5),
            multiplier: 2.0,
            jitter: 0.5,
        }
    }
}

impl Backoff {
    /// The wait before retry `attempt` (0 = the first retry) without jitter.
    pub fn base_delay(&self, attempt: u32) -> Duration {
        let exp = self.multiplier.powi(attempt.min(64) as i32);
        let secs = self.initial.as_secs_f64() * exp;
        if !secs.is_finite() || secs >= self.max.as_secs_f64() {
            return self.max;
        }
        Duration::from_secs_f64(secs)
    }

    /// The wait before retry `attempt`, with `unit` (uniform in `[0, 1)`) choosing the
    /// jitter: `base * (1 - jitter * unit)`.
    pub fn delay(&self, attempt: u32, unit: f64) -> Duration {
        let unit = if unit.is_finite() {
            unit.clamp(0.0, 1.0)
        } else {
            0.0
        };
        self.base_delay(attempt)
            .mul_f64(1.0 - self.jitter.clamp(0.0, 1.0) * unit)
    }

    fn validate(&self) -> Result<()> {
        let ok = self.multiplier.is_finite()
            && self.multiplier >= 1.0
            && (0.0..=1.0).contains(&self.jitter)
            && self.initial <= self.max;
        if ok {
            Ok(())
        } else {
            Err(Error::InvalidOptions(format!(
                "backoff {self:?}: the multiplier must be at least 1, jitter 0 to 1, and \
                 initial no longer than max"
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    #[test]
    fn waits_double_from_the_initial_one_up_to_the_cap() {
        let b = Backoff::default();
        let base: Vec<Duration> = (0..10).map(|n| b.base_delay(n)).collect();
        assert_eq!(
            base,
            [
                MS(50),
                MS(100),
                MS(200),
                MS(400),
                MS(800),
                MS(1600),
                MS(3200),
                MS(5000),
                MS(5000),
                MS(5000)
            ]
        );
        assert_eq!(b.base_delay(u32::MAX), MS(5000), "no overflow");
    }

    #[test]
    fn jitter_takes_off_at_most_its_share_of_the_wait() {
        let b = Backoff::default();
        assert_eq!(b.delay(3, 0.0), MS(400));
        assert_eq!(b.delay(3, 0.5), MS(300));
        assert!(b.delay(3, 0.999_999) > MS(200));
        assert_eq!(
            b.delay(3, f64::NAN),
            MS(400),
            "a bad random number is no jitter"
        );
        let none = Backoff {
            jitter: 0.0,
            ..Backoff::default()
        };
        assert_eq!(none.delay(2, 0.9), MS(200));
    }

    #[test]
    fn options_that_cannot_work_are_refused_with_the_reason() {
        let ok = WriterOptions::default();
        assert!(ok.validate().is_ok());
        let cases = [
            (
                WriterOptions {
                    batch_points: 0,
                    ..ok.clone()
                },
                "batch_points is 0",
            ),
            (
                WriterOptions {
                    batch_points: 2_000_000,
                    max_buffered_points: 4_000_000,
                    ..ok.clone()
                },
                "1 to 1000000",
            ),
            (
                WriterOptions {
                    max_buffered_points: 10,
                    ..ok.clone()
                },
                "no batch could fill",
            ),
            (
                WriterOptions {
                    max_in_flight: 0,
                    ..ok.clone()
                },
                "max_in_flight is 0",
            ),
            (
                WriterOptions {
                    backoff: Backoff {
                        multiplier: 0.5,
                        ..Backoff::default()
                    },
                    ..ok.clone()
                },
                "multiplier",
            ),
        ];
        for (opts, reason) in cases {
            let e = opts.validate().unwrap_err();
            assert!(matches!(e, Error::InvalidOptions(_)), "{e:?}");
            assert!(e.to_string().contains(reason), "{e}");
        }
    }
}
