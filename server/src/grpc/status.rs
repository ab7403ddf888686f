//! The one mapping from engine errors to gRPC status codes. Messages about the caller's
//! input are passed on; internal details (paths, offsets, OS errors) are logged, not leaked.

use lodestone_engine::Error;
use tonic::Status;

/// The status a client sees for an engine error.
pub fn to_status(e: Error) -> Status {
    match &e {
        Error::InvalidSeries { .. }
        | Error::InvalidBatch { .. }
        | Error::TypeMismatch { .. }
        | Error::InvalidRange { .. } => Status::invalid_argument(e.to_string()),
        Error::UnknownSeries { .. } => Status::not_found(e.to_string()),
        Error::Overloaded { .. } => Status::resource_exhausted(e.to_string()),
        Error::Closed => Status::unavailable("server is shutting down"),
        Error::Locked { .. } => Status::failed_precondition(e.to_string()),
        Error::Io { .. }
        | Error::Corrupt { .. }
        | Error::UnsupportedVersion { .. }
        | Error::Poisoned { .. } => {
            tracing::error!(error = %e, "storage error");
            Status::internal("storage error; see the server log")
        }
    }
}
