//! Managing one series rather than its points: deleting a time range, and reading or setting
//! its metadata (unit, description, and the value type it is declared with).
//!
//! These calls are rare (an engineer cleaning up a bad import, registering a tag), so each
//! opens its own short-lived connection to [`Client::endpoint`] rather than share the
//! client's; that keeps this file independent of how `connection.rs` holds its channel.

use lodestone_proto::v1 as pb;
use pb::lodestone_client::LodestoneClient;
use tonic::transport::{Channel, Endpoint};

use crate::connection::{CONNECT_TIMEOUT, MAX_REPLY_BYTES, MAX_REQUEST_BYTES};
use crate::error::{Error, Result};
use crate::Client;

impl Client {
    /// Deletes the points of `series` with `start_ns <= ts < end_ns` written before this
    /// call; points written afterwards stay. Returns once the delete is durable under the
    /// server's durability mode. The series stays known with its type even when no point is
    /// left. `start_ns > end_ns` is [`Error::InvalidArgument`]; an unknown series is
    /// [`Error::NotFound`].
    pub async fn delete(&self, series: pb::SeriesKey, start_ns: i64, end_ns: i64) -> Result<()> {
        let req = pb::DeleteRequest {
            series: Some(series),
            start_ns,
            end_ns,
        };
        self.admin_rpc().await?.delete(req).await?;
        Ok(())
    }

    /// The value type, unit and description of `series` (unit and description are empty
    /// when never set); an unknown series is [`Error::NotFound`].
    pub async fn get_metadata(
        &self,
        series: pb::SeriesKey,
    ) -> Result<pb::GetSeriesMetadataResponse> {
        let req = pb::GetSeriesMetadataRequest {
            series: Some(series),
        };
        Ok(self
            .admin_rpc()
            .await?
            .get_series_metadata(req)
            .await?
            .into_inner())
    }

    /// Sets the unit and description of a series, durably, and returns what is stored.
    ///
    /// With `value_type` set the series is declared if it is new, so a tag can be registered
    /// before its first point; a type other than the series' own is
    /// [`Error::FailedPrecondition`]. With `value_type` UNSPECIFIED an unknown series is
    /// [`Error::NotFound`]. A unit over 64 bytes or a description over 1024 is
    /// [`Error::InvalidArgument`], naming the limit.
    pub async fn put_metadata(
        &self,
        req: pb::PutSeriesMetadataRequest,
    ) -> Result<pb::PutSeriesMetadataResponse> {
        Ok(self
            .admin_rpc()
            .await?
            .put_series_metadata(req)
            .await?
            .into_inner())
    }

    /// A connection to the endpoint this client talks to, with the same timeouts and
    /// message size bounds.
    async fn admin_rpc(&self) -> Result<LodestoneClient<Channel>> {
        let endpoint = self.endpoint();
        let channel = Endpoint::from_shared(endpoint.to_string())
            .map_err(|e| Error::InvalidEndpoint {
                endpoint: endpoint.to_string(),
                reason: e.to_string(),
            })?
            .connect_timeout(CONNECT_TIMEOUT)
            .connect()
            .await
            .map_err(|e| Error::Connect {
                endpoint: endpoint.to_string(),
                reason: with_causes(&e),
            })?;
        Ok(LodestoneClient::new(channel)
            .max_decoding_message_size(MAX_REPLY_BYTES)
            .max_encoding_message_size(MAX_REQUEST_BYTES))
    }
}

/// The transport error with its causes: tonic's own message says only "transport error".
fn with_causes(e: &tonic::transport::Error) -> String {
    let mut reason = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        reason.push_str(": ");
        reason.push_str(&s.to_string());
        source = s.source();
    }
    reason
}
