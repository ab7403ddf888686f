//! The client's one error type: what went wrong, in terms a caller can act on, mapped from
//! gRPC status codes in one place.

use tonic::{Code, Status};

/// Result alias for client calls.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything a call to a Lodestone server can fail with.
///
/// The server's message is kept as it was sent: for rejected input it names the series, the
/// point index and the field involved.
#[derive(Debug, thiserror::Error)]
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
}

impl Error {
    /// The gRPC code this error came from, if it came from a status.
    pub fn code(&self) -> Option<Code> {
        Some(match self {
            Error::InvalidArgument(_) => Code::InvalidArgument,
            Error::NotFound(_) => Code::NotFound,
            Error::Overloaded(_) => Code::ResourceExhausted,
            Error::FailedPrecondition(_) => Code::FailedPrecondition,
            Error::Unavailable(_) => Code::Unavailable,
            Error::Internal(_) => Code::Internal,
            Error::Timeout(_) => Code::DeadlineExceeded,
            Error::Other { code, .. } => *code,
            Error::InvalidEndpoint { .. } | Error::Connect { .. } | Error::Protocol(_) => {
                return None
            }
        })
    }
}

impl From<Status> for Error {
    fn from(s: Status) -> Self {
        let message = s.message().to_string();
        match s.code() {
            Code::InvalidArgument | Code::OutOfRange => Error::InvalidArgument(message),
            Code::NotFound => Error::NotFound(message),
            Code::ResourceExhausted => Error::Overloaded(message),
            Code::FailedPrecondition => Error::FailedPrecondition(message),
            Code::Unavailable => Error::Unavailable(message),
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
}
