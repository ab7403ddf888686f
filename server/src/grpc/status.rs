//! The one mapping from engine errors to gRPC status codes. Messages about the caller's
//! input are passed on; internal details (paths, offsets, OS errors) are logged, not leaked.

use lodestone_engine::Error;
use tonic::Status;

/// Metadata key of a status that refuses the request for good (retrying will not help).
pub const REFUSAL_KEY: &str = "lodestone-refusal";
/// Its value when the series limit refused the request.
pub const SERIES_LIMIT: &str = "series-limit";

/// True when `s` refuses a request that retrying would not help, although its code says
/// RESOURCE_EXHAUSTED (the series limit).
pub fn is_final_refusal(s: &Status) -> bool {
    s.metadata()
        .get(REFUSAL_KEY)
        .is_some_and(|v| v.as_bytes() == SERIES_LIMIT.as_bytes())
}

/// The status a client sees for an engine error.
pub fn to_status(e: Error) -> Status {
    match &e {
        Error::InvalidSeries { .. }
        | Error::InvalidBatch { .. }
        | Error::TypeMismatch { .. }
        | Error::InvalidMetadata { .. }
        | Error::InvalidRange { .. }
        | Error::InvalidQuery { .. } => Status::invalid_argument(e.to_string()),
        Error::UnknownSeries { .. } => Status::not_found(e.to_string()),
        // The request is well formed but the series' existing type contradicts it.
        Error::TypeConflict { .. } => Status::failed_precondition(e.to_string()),
        Error::Overloaded { .. } => Status::resource_exhausted(e.to_string()),
        // Retrying does not help: marked so that HTTP answers 400 (collectors then stop
        // resending the batch) and a cluster's apply refuses instead of waiting it out.
        Error::SeriesLimit { .. } => {
            let mut s = Status::resource_exhausted(e.to_string());
            s.metadata_mut().insert(
                REFUSAL_KEY,
                tonic::metadata::MetadataValue::from_static(SERIES_LIMIT),
            );
            s
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use lodestone_engine::ValueType;
    use tonic::Code;

    #[test]
    fn caller_mistakes_are_passed_on_and_storage_details_are_not() {
        let cases = [
            (
                Error::TypeMismatch {
                    series: "t".into(),
                    index: 3,
                    expected: ValueType::F64,
                    got: ValueType::Bool,
                },
                Code::InvalidArgument,
                "series t: point 3 has type bool",
            ),
            (
                Error::InvalidRange { start: 9, end: 1 },
                Code::InvalidArgument,
                "start 9 is after end 1",
            ),
            (
                Error::UnknownSeries { series: "t".into() },
                Code::NotFound,
                "unknown series t",
            ),
            (
                Error::Overloaded {
                    what: "head full".into(),
                },
                Code::ResourceExhausted,
                "head full",
            ),
            (
                Error::Locked {
                    path: "/data".into(),
                },
                Code::FailedPrecondition,
                "locked",
            ),
            (Error::Closed, Code::Unavailable, "shutting down"),
            (
                Error::InvalidMetadata {
                    series: "t".into(),
                    reason: "unit is 65 bytes, at most 64 allowed".into(),
                },
                Code::InvalidArgument,
                "unit is 65 bytes, at most 64 allowed",
            ),
            (
                Error::TypeConflict {
                    series: "t".into(),
                    existing: ValueType::F64,
                    requested: ValueType::Bool,
                },
                Code::FailedPrecondition,
                "series t holds f64 values; it cannot be declared as bool",
            ),
        ];
        for (e, code, needle) in cases {
            let s = to_status(e);
            assert_eq!(s.code(), code, "{s:?}");
            assert!(s.message().contains(needle), "{s:?}");
        }
        let secret = [
            Error::Io {
                op: "fsync",
                path: "/srv/secret/wal/000001.wal".into(),
                source: std::io::Error::other("EIO"),
            },
            Error::Corrupt {
                path: "/srv/secret/segments/1.seg".into(),
                offset: 4096,
                what: "crc".into(),
            },
            Error::Poisoned {
                reason: "fsync of /srv/secret failed".into(),
            },
        ];
        for e in secret {
            let s = to_status(e);
            assert_eq!(s.code(), Code::Internal);
            assert!(!s.message().contains("secret"), "{s:?}");
        }
    }
}
