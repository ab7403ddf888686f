//! The client's one error type: what went wrong, in terms a caller can act on, mapped from
//! gRPC status codes in one place, and which errors a retry may cure
//! ([`Error::is_retryable`]).

use std::time::Duration;

use tonic::{Code, Status};

/// Metadata key of a not-leader refusal: the leader's gRPC address.
pub const LEADER_HEADER: &str = "lodestone-leader";

/// Result alias for client calls.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything a call to a Lodestone server can fail with.
///
/// The server's message is kept as it was sent: for rejected input it names the series, the
/// point index and the field involved.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// The endpoint is not a valid URI.
    #[error("invalid endpoint {endpoint:?}: {reason}")]
    InvalidEndpoint {
        /// The endpoint as given.
        endpoint: String,
        /// Why it was refused.
        reason: String,
    },
    /// No connection could be made to the server.
    #[error("cannot connect to {endpoint}: {reason}")]
    Connect {
        /// The endpoint.
        endpoint: String,
        /// The transport's explanation.
        reason: String,
    },
    /// The request was rejected as invalid and changed nothing (INVALID_ARGUMENT): an empty
    /// batch, a bad series key, a type change, a point without value, `start > end`.
    #[error("rejected: {0}")]
    InvalidArgument(String),
    /// The series does not exist (NOT_FOUND).
    #[error("not found: {0}")]
    NotFound(String),
    /// The server is over a memory bound; retry later (RESOURCE_EXHAUSTED).
    #[error("server overloaded, retry later: {0}")]
    Overloaded(String),
    /// The server cannot do this in its present state (FAILED_PRECONDITION).
    #[error("failed precondition: {0}")]
    FailedPrecondition(String),
    /// The server is shutting down or the connection was lost (UNAVAILABLE); a batch in
    /// flight may or may not have been stored.
    #[error("server unavailable: {0}")]
    Unavailable(String),
    /// The node asked is a cluster node that is not the leader (UNAVAILABLE naming it, in
    /// the `lodestone-leader` metadata, when one is known): nothing was done; send the
    /// request to the leader.
    #[error("not the leader: {message}")]
    NotLeader {
        /// The server's message.
        message: String,
        /// The leader's gRPC address, when the node knows it.
        leader: Option<String>,
    },
    /// The server failed internally (INTERNAL); details are in the server's log.
    #[error("server error: {0}")]
    Internal(String),
    /// The call did not finish in time (DEADLINE_EXCEEDED or CANCELLED).
    #[error("call did not complete: {0}")]
    Timeout(String),
    /// Any other status code.
    #[error("{code:?}: {message}")]
    Other {
        /// The gRPC status code.
        code: Code,
        /// The server's message.
        message: String,
    },
    /// The server sent a reply this client cannot interpret (a required field missing).
    #[error("malformed reply: {0}")]
    Protocol(String),
    /// A [`crate::Writer`] batch was refused as invalid (INVALID_ARGUMENT) and not stored;
    /// it is never sent again. The reason is the server's, naming the series, the point's
    /// index within that series in the batch, and the field.
    #[error("batch {sequence} ({points} points) rejected: {reason}")]
    Rejected {
        /// The batch's sequence number.
        sequence: u64,
        /// Points in the batch, all of them not stored.
        points: usize,
        /// The server's message.
        reason: String,
    },
    /// The [`crate::Writer`] was closed and accepts no more points.
    #[error("the writer is closed")]
    WriterClosed,
    /// The [`crate::Writer`] kept failing for longer than its retry budget and stopped;
    /// points not acknowledged before were not stored.
    #[error(
        "gave up after {attempts} attempts over {elapsed:?} with {unacknowledged} points \
         not acknowledged; last error: {last}"
    )]
    GaveUp {
        /// Consecutive failed attempts.
        attempts: u32,
        /// How long the writer kept failing.
        elapsed: Duration,
        /// Points pushed but not acknowledged, dropped.
        unacknowledged: usize,
        /// The last failure.
        last: Box<Error>,
    },
    /// Writer options that cannot work (a zero bound, a batch above the server's limit).
    #[error("invalid writer options: {0}")]
    InvalidOptions(String),
    /// A [`crate::Writer`] runs a background task and so must be made inside a Tokio runtime.
    #[error("a writer must be created inside a Tokio runtime")]
    NoRuntime,
}

impl Error {
    /// The gRPC code this error came from, if it came from a status.
    pub fn code(&self) -> Option<Code> {
        Some(match self {
            Error::InvalidArgument(_) => Code::InvalidArgument,
            Error::NotFound(_) => Code::NotFound,
            Error::Overloaded(_) => Code::ResourceExhausted,
            Error::FailedPrecondition(_) => Code::FailedPrecondition,
            Error::Unavailable(_) | Error::NotLeader { .. } => Code::Unavailable,
            Error::Internal(_) => Code::Internal,
            Error::Timeout(_) => Code::DeadlineExceeded,
            Error::Other { code, .. } => *code,
            Error::Rejected { .. } => Code::InvalidArgument,
            Error::InvalidEndpoint { .. }
            | Error::Connect { .. }
            | Error::Protocol(_)
            | Error::WriterClosed
            | Error::GaveUp { .. }
            | Error::InvalidOptions(_)
            | Error::NoRuntime => return None,
        })
    }

    /// True when sending the same request again later may succeed: the connection failed or
    /// was lost, the server was shutting down or overloaded, or the call timed out. Never
    /// for rejected input, which fails the same way every time.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Connect { .. }
            | Error::Unavailable(_)
            | Error::NotLeader { .. }
            | Error::Overloaded(_)
            | Error::Timeout(_) => true,
            Error::Other { code, .. } => matches!(code, Code::Unknown | Code::Aborted),
            _ => false,
        }
    }
}

/// Metadata key the server sets on a refusal that retrying will not help.
const REFUSAL_HEADER: &str = "lodestone-refusal";

impl From<Status> for Error {
    fn from(s: Status) -> Self {
        let message = s.message().to_string();
        // A status with a source was made on this side from a transport failure (a reset
        // connection, an HTTP/2 error), not sent by the server: tonic labels those INTERNAL or
        // UNKNOWN, but what happened is that the connection was lost.
        if let Some(source) = std::error::Error::source(&s) {
            if matches!(
                s.code(),
                Code::Internal | Code::Unknown | Code::OutOfRange | Code::Aborted
            ) {
                return Error::Unavailable(format!("connection lost: {message} ({source})"));
            }
        }
        match s.code() {
            Code::InvalidArgument | Code::OutOfRange => Error::InvalidArgument(message),
            Code::NotFound => Error::NotFound(message),
            // The series limit says RESOURCE_EXHAUSTED too, but retrying cannot help.
            Code::ResourceExhausted
                if s.metadata()
                    .get(REFUSAL_HEADER)
                    .is_some_and(|v| v.as_bytes() == b"series-limit") =>
            {
                Error::Other {
                    code: Code::ResourceExhausted,
                    message,
                }
            }
            Code::ResourceExhausted => Error::Overloaded(message),
            Code::FailedPrecondition => Error::FailedPrecondition(message),
            Code::Unavailable => match s.metadata().get(LEADER_HEADER) {
                Some(leader) => Error::NotLeader {
                    message,
                    leader: leader.to_str().ok().map(str::to_string),
                },
                None if message.contains("is not the leader") => Error::NotLeader {
                    message,
                    leader: None,
                },
                None => Error::Unavailable(message),
            },
            Code::Internal | Code::DataLoss => Error::Internal(message),
            Code::DeadlineExceeded | Code::Cancelled => Error::Timeout(message),
            code => Error::Other { code, message },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_not_leader_refusal_names_the_leader_and_may_be_retried_there() {
        let mut md = tonic::metadata::MetadataMap::new();
        md.insert(LEADER_HEADER, "127.0.0.1:7410".parse().unwrap());
        let s = Status::with_metadata(Code::Unavailable, "node 2 is not the leader", md);
        let e = Error::from(s);
        assert!(
            matches!(&e, Error::NotLeader { leader: Some(l), .. } if l == "127.0.0.1:7410"),
            "{e:?}"
        );
        assert!(e.is_retryable());
        assert_eq!(e.code(), Some(Code::Unavailable));
        let unknown = Error::from(Status::unavailable(
            "node 2 is not the leader and no leader is known yet",
        ));
        assert!(
            matches!(unknown, Error::NotLeader { leader: None, .. }),
            "{unknown:?}"
        );
        let plain = Error::from(Status::unavailable("server is shutting down"));
        assert!(matches!(plain, Error::Unavailable(_)), "{plain:?}");
    }

    #[test]
    fn status_codes_map_to_errors_that_keep_the_servers_message() {
        let cases = [
            (
                Code::InvalidArgument,
                "rejected: series t: point 1 has type i64",
            ),
            (Code::NotFound, "not found: series t: point 1 has type i64"),
            (
                Code::ResourceExhausted,
                "server overloaded, retry later: series t",
            ),
            (Code::Unavailable, "server unavailable: series t"),
            (Code::Internal, "server error: series t"),
            (Code::FailedPrecondition, "failed precondition: series t"),
        ];
        for (code, shown) in cases {
            let e = Error::from(Status::new(code, "series t: point 1 has type i64"));
            assert_eq!(e.code(), Some(code));
            assert!(e.to_string().starts_with(shown), "{code:?}: {e}");
        }
        let e = Error::from(Status::new(Code::PermissionDenied, "no"));
        assert_eq!(e.code(), Some(Code::PermissionDenied));
        assert!(e.to_string().contains("no"), "{e}");
    }

    #[test]
    fn a_transport_failure_is_a_lost_connection_not_a_server_error() {
        let reset = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset by peer");
        let e = Error::from(Status::from_error(Box::new(reset)));
        assert!(matches!(e, Error::Unavailable(_)), "{e:?}");
        assert!(e.to_string().contains("reset by peer"), "{e}");
        assert!(e.is_retryable());
        // The same code sent by the server stays what the server said.
        let e = Error::from(Status::internal("storage error"));
        assert!(matches!(e, Error::Internal(_)), "{e:?}");
    }

    #[test]
    fn only_transient_failures_are_retried() {
        let retry = [
            Code::Unavailable,
            Code::ResourceExhausted,
            Code::DeadlineExceeded,
            Code::Cancelled,
            Code::Unknown,
            Code::Aborted,
        ];
        for code in retry {
            assert!(
                Error::from(Status::new(code, "x")).is_retryable(),
                "{code:?}"
            );
        }
        let fatal = [
            Code::InvalidArgument,
            Code::OutOfRange,
            Code::NotFound,
            Code::FailedPrecondition,
            Code::Internal,
            Code::PermissionDenied,
            Code::Unauthenticated,
            Code::Unimplemented,
        ];
        for code in fatal {
            assert!(
                !Error::from(Status::new(code, "x")).is_retryable(),
                "{code:?}"
            );
        }
        let mut md = tonic::metadata::MetadataMap::new();
        md.insert(REFUSAL_HEADER, "series-limit".parse().unwrap());
        let limit = Error::from(Status::with_metadata(
            Code::ResourceExhausted,
            "series limit reached: max_series is 3",
            md,
        ));
        assert!(!limit.is_retryable(), "{limit:?}");
        assert_eq!(limit.code(), Some(Code::ResourceExhausted));
        let connect = Error::Connect {
            endpoint: "http://a:1".into(),
            reason: "refused".into(),
        };
        assert!(connect.is_retryable());
        let rejected = Error::Rejected {
            sequence: 3,
            points: 10,
            reason: "series t: point 2 has no value".into(),
        };
        assert!(!rejected.is_retryable());
        assert_eq!(rejected.code(), Some(Code::InvalidArgument));
        assert_eq!(
            rejected.to_string(),
            "batch 3 (10 points) rejected: series t: point 2 has no value"
        );
    }
}
