//! `Delete`, `GetSeriesMetadata` and `PutSeriesMetadata`: managing one series rather than
//! its points. Each is one engine call; errors map through [`super::status::to_status`].

use std::sync::Arc;

use lodestone_engine::{Engine, Error, SeriesKey, SeriesMetadata, ValueType};
use lodestone_proto::v1 as pb;
use tonic::Status;

use super::blocking;
use super::convert::{key_from_proto, key_to_proto, value_type_from_proto, value_type_to_proto};
use super::status::to_status;

/// Deletes `[start_ns, end_ns)` of one series; answers once durable.
pub(crate) async fn delete(
    engine: &Engine,
    req: pb::DeleteRequest,
) -> Result<pb::DeleteResponse, Status> {
    let key = key_from_proto(req.series.as_ref())?;
    engine
        .delete_range_async(&key, req.start_ns, req.end_ns)
        .await
        .map_err(to_status)?;
    Ok(pb::DeleteResponse {})
}

/// The value type and metadata of one series.
pub(super) async fn get_metadata(
    engine: Arc<Engine>,
    req: pb::GetSeriesMetadataRequest,
) -> Result<pb::GetSeriesMetadataResponse, Status> {
    let key = key_from_proto(req.series.as_ref())?;
    let (key, vt, m) = blocking(move || described(&engine, key)).await?;
    Ok(pb::GetSeriesMetadataResponse {
        series: Some(key_to_proto(&key)),
        value_type: value_type_to_proto(vt) as i32,
        unit: m.unit,
        description: m.description,
    })
}

/// Sets the metadata of one series, declaring it first when a value type is given.
pub(crate) async fn put_metadata(
    engine: Arc<Engine>,
    req: pb::PutSeriesMetadataRequest,
) -> Result<pb::PutSeriesMetadataResponse, Status> {
    let key = key_from_proto(req.series.as_ref())?;
    let declared = value_type_from_proto(req.value_type)?;
    let metadata = SeriesMetadata::new(req.unit, req.description);
    let stored = tokio::task::spawn_blocking(move || {
        match declared {
            Some(vt) => engine.declare_series(&key, vt, metadata),
            None => engine.set_metadata(&key, metadata),
        }?;
        described(&engine, key)
    })
    .await;
    let (key, vt, m) = match stored {
        Ok(Ok(done)) => done,
        Ok(Err(e @ Error::UnknownSeries { .. })) if declared.is_none() => {
            return Err(Status::not_found(format!(
                "{e}; give a value_type to declare it"
            )))
        }
        Ok(Err(e)) => return Err(to_status(e)),
        Err(e) => {
            tracing::error!(error = %e, "engine call panicked");
            return Err(Status::internal("engine call failed; see the server log"));
        }
    };
    Ok(pb::PutSeriesMetadataResponse {
        series: Some(key_to_proto(&key)),
        value_type: value_type_to_proto(vt) as i32,
        unit: m.unit,
        description: m.description,
    })
}

/// The answer to a `PutSeriesMetadata` already applied (replicated): what is stored now.
pub(crate) async fn stored_metadata(
    engine: Arc<Engine>,
    req: pb::PutSeriesMetadataRequest,
) -> Result<pb::PutSeriesMetadataResponse, Status> {
    let key = key_from_proto(req.series.as_ref())?;
    let got = get_metadata(
        engine,
        pb::GetSeriesMetadataRequest {
            series: Some(key_to_proto(&key)),
            stale_ok: true,
        },
    )
    .await?;
    Ok(pb::PutSeriesMetadataResponse {
        series: got.series,
        value_type: got.value_type,
        unit: got.unit,
        description: got.description,
    })
}

/// The series with its type and metadata (empty when none was set).
fn described(
    engine: &Engine,
    key: SeriesKey,
) -> Result<(SeriesKey, ValueType, SeriesMetadata), Error> {
    let vt = engine.value_type(&key)?;
    let m = engine.metadata(&key)?.unwrap_or_default();
    Ok((key, vt, m))
}
