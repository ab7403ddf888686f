//! Managing one series rather than its points: deleting a time range, and reading or setting
//! its metadata (unit, description, and the value type it is declared with), over the
//! client's connection.

use lodestone_proto::v1 as pb;

use crate::error::Result;
use crate::Client;

impl Client {
    /// Deletes the points of `series` with `start_ns <= ts < end_ns` written before this
    /// call; points written afterwards stay. Returns once the delete is durable under the
    /// server's durability mode. The series stays known with its type even when no point is
    /// left. `start_ns > end_ns` is [`crate::Error::InvalidArgument`]; an unknown series is
    /// [`crate::Error::NotFound`].
    pub async fn delete(&self, series: pb::SeriesKey, start_ns: i64, end_ns: i64) -> Result<()> {
        let req = pb::DeleteRequest {
            series: Some(series),
            start_ns,
            end_ns,
        };
        self.rpc().delete(req).await?;
        Ok(())
    }

    /// The value type, unit and description of `series` (unit and description are empty
    /// when never set); an unknown series is [`crate::Error::NotFound`].
    pub async fn get_metadata(
        &self,
        series: pb::SeriesKey,
    ) -> Result<pb::GetSeriesMetadataResponse> {
        let req = pb::GetSeriesMetadataRequest {
            series: Some(series),
            stale_ok: self.reads_stale(),
        };
        Ok(self.rpc().get_series_metadata(req).await?.into_inner())
    }

    /// Sets the unit and description of a series, durably, and returns what is stored.
    ///
    /// With `value_type` set the series is declared if it is new, so a tag can be registered
    /// before its first point; a type other than the series' own is
    /// [`crate::Error::FailedPrecondition`]. With `value_type` UNSPECIFIED an unknown series is
    /// [`crate::Error::NotFound`]. A unit over 64 bytes or a description over 1024 is
    /// [`crate::Error::InvalidArgument`], naming the limit.
    pub async fn put_metadata(
        &self,
        req: pb::PutSeriesMetadataRequest,
    ) -> Result<pb::PutSeriesMetadataResponse> {
        Ok(self.rpc().put_series_metadata(req).await?.into_inner())
    }
}
